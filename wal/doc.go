// Package wal is korup2p's write-ahead log, the source of truth for nodes: a
// segmented, append-only log of opaque blocks (the caller's node bytes) that survives
// crashes. It owns the segment files in one directory and nothing else there.
//
// # Format
//
// Segments are files named by a zero-padded sequence number from 1
// (00000000000000000001.wal). Each starts with an 8-byte header, the magic "KWAL"
// and the format version (uint32, big-endian), followed by records back to back:
//
//	length uint32 BE | crc32c (Castagnoli) of block, uint32 BE | block
//
// A Pos names a record by segment and byte offset. Blocks are never empty (a zero
// length is what an unwritten, zero-filled tail looks like) nor longer than
// Options.MaxBlock. A segment is sealed when the next call's records would take it
// past Options.SegmentSize; one call's records always share a segment.
//
// # Durability
//
// Options.Sync chooses when Append returns: SyncAlways (the default) once the blocks
// are fsynced, with concurrent Appends sharing one fsync (group commit); SyncInterval
// once they are written, fsyncing at most every Options.Interval; SyncNone once they
// are written, fsyncing only when a segment is sealed and on Close. A new segment is
// fsynced with its directory before it takes records; a sealed one before the next
// one is created. A failed fsync is never retried: every later Append fails, because
// the kernel may have dropped the data it could not write.
//
// # Recovery
//
// A segment is read as its longest valid prefix. A torn record (cut short by a crash)
// or a corrupt one (bad checksum, impossible length) ends its segment: readers report
// it through Options.Warn, naming the file and the offset, and go on with the next
// segment, whose records still load. Open scans only the last segment: it truncates a
// torn tail so that new records follow valid data, and seals a segment with a corrupt
// record as it is — never destroying bytes that might be acknowledged records — so
// that appends go to a new segment. Older segments are not read at Open, unless the
// last one holds no valid record: then LastPos is looked for in the ones before it.
//
// # Ordering rule
//
// Persist before publish: a caller indexes or announces a block only after Append
// returned its position, and rebuilds its index with Replay from the last position it
// indexed. A record appended during a crash may or may not survive, so recovery
// treats every replayed block as possibly new.
//
// # Concurrency
//
// A Log's methods are safe for concurrent use. Appends write one at a time, each
// call's records with one write. With SyncAlways, a waiting Append becomes the leader
// and fsyncs everything written so far while later Appends keep writing, so one fsync
// acknowledges every call that waited for it; no goroutine is involved. SyncInterval
// has one flusher goroutine, which Open starts and Close stops and waits for. Only
// one Log may have a directory open at a time: the caller ensures it (see
// internal/dirlock).
//
// Usage:
//
//	warn := func(msg string, kv ...any) { logger.Warn(msg, kv...) } // charmbracelet/log
//	l, err := wal.Open(dir, &wal.Options{Warn: warn})
//	if err != nil { ... }
//	defer l.Close()
//	pos, err := l.Append(block1, block2) // durable once it returns
//	b, err := l.ReadAt(pos[0])
//	err = l.Replay(indexedUpTo, func(p wal.Pos, block []byte) error {
//		return index.Add(p, block)
//	})
//	err = l.Remove(oldestNeeded.Segment) // drop sealed segments before it
package wal
