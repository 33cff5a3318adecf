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
// A segment is read as its valid records, in order. This refines DESIGN.md's "longest
// valid prefix" by one exception, a record skipped alone:
//
//   - A record whose checksum fails but whose frame is intact is skipped, and reading
//     goes on with the record after it. Its frame is intact if its length is
//     plausible (not zero, at most Options.MaxBlock, within the segment) and either it
//     ends exactly at the end of the segment or the record right after it passes its
//     own checks. That record is what tells a damaged block or checksum from a
//     damaged length: a wrong length puts the next record in the middle of data,
//     where it fails its checks (but for odds of 2^-32, or a length that lands on a
//     later record, which then skips the records before it with the damaged one).
//   - Any other damage ends the segment where it starts: a torn record (cut short by
//     a crash), an impossible length, a zeroed tail, a bad record whose next record
//     cannot be checked — two bad records in a row end the segment at the first.
//
// Readers report both through Options.Warn, naming the file and the offset (and for a
// skipped record its length), and go on: after a skipped record with the next record,
// after the end of a segment with the next segment, whose records still load. ReadAt
// of a skipped record fails with ErrCorrupt; the records after it read as usual. Open
// scans only the last segment: it reports skipped records and keeps appending after
// the valid records that follow them; it truncates a torn tail so that new records
// follow valid data — a last record whose checksum fails counts as torn, since a write
// cut short can leave a record's length written but not all of its block, and nothing
// after it vouches for it; and it seals a segment with other damage as it is — never
// destroying bytes that might be acknowledged records — so that appends go to a new
// segment. Older segments are not read at Open, unless the last one holds no valid
// record: then LastPos is looked for in the ones before it. Compress keeps a damaged
// segment's bytes as they are, so a cold segment reads the same, as long as its
// chunks decompress.
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
