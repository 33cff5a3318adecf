package wal

// The cold tier: sealed segments compressed with zstd, still read like the others.
//
// # Layout
//
// Compress replaces segment NNN.wal by NNN.wal.zst, which holds the segment's exact
// bytes — header, records and any damage, so positions, Size and what readers make of
// the records do not change — cut into chunks that are compressed one by one:
//
//	header  magic "KWZS" | version uint32 BE
//	chunks  one zstd frame per chunk (with its content checksum), back to back
//	index   per chunk: uncompressed offset uint64 BE | file offset of its frame uint64 BE
//	footer  size uint64 BE | chunks uint32 BE | version uint32 BE |
//	        crc32c (Castagnoli) of index and footer up to here, uint32 BE | magic "KWZT"
//
// size is the uncompressed size of the segment. Chunks are cut at record boundaries,
// at most Options.ColdChunk bytes each; a record larger than that is cut into pieces
// of that size, and so are the bytes after damage that ends the segment's records (a
// skipped record is a record boundary like any other). The frames tile the file
// from the header to the index, and the chunks the segment from 0 to size: a reader
// checks both, and that no chunk is larger than MaxColdChunk, so a damaged or hostile
// file never makes it allocate more than that per chunk.
//
// # Reading
//
// A cold segment's trailer (index and footer) is read and checked at Open and kept.
// ReadAt decompresses the chunks covering the record it reads and keeps the last
// coldCacheChunks of them in a cache shared by the Log, so a walk through history
// does not decompress the same chunk again; Replay decompresses one chunk at a time
// and leaves the cache to the random reads. A chunk that fails to decompress (bad
// zstd frame, frame checksum, length) is damage at the chunk's uncompressed offset,
// which is a record boundary: ReadAt fails with ErrCorrupt for the records in it and
// Replay ends that segment there with a warning, as for damage that ends a warm
// segment. Damage in the segment's own bytes reads as it did warm: where the chunks
// decompress, a record whose checksum alone fails is skipped (see the package doc's
// Recovery) and one whose next record is in a chunk that does not decompress ends
// the segment. A damaged trailer makes the whole segment unreadable: Open warns, the
// segment is listed with Size 0, ReadAt fails with ErrCorrupt and Replay warns and
// skips it. Offsets in warnings about a cold segment are offsets in the uncompressed
// segment, like positions.
//
// # Crash safety
//
// Compress writes NNN.wal.zst.tmp, fsyncs it, renames it to NNN.wal.zst, fsyncs the
// directory, and only then switches readers over and deletes NNN.wal. Each chunk is
// decompressed and compared with its source before it is written, so the source of
// truth is never replaced by something that does not read back. Open deletes a
// leftover .tmp; of a .wal.zst beside its .wal (a crash between rename and delete) it
// keeps the .wal.zst if its trailer checks and every chunk decompresses to the .wal's
// bytes, deleting the .wal, and otherwise deletes the .wal.zst, with a warning either
// way.
//
// # Handles
//
// Compress closes the .wal's handle that readers share, so readers pin the segment
// they read (handle ... unpin): a handle replaced while pinned is closed by the last
// unpin, and a ReadAt or Replay that started on the .wal finishes on it.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// Chunk sizes of cold segments.
const (
	// DefaultColdChunk is the default Options.ColdChunk.
	DefaultColdChunk = 64 << 10
	// MaxColdChunk is the largest Options.ColdChunk, and the largest chunk a reader
	// of a cold segment accepts, whatever ColdChunk it was written with.
	MaxColdChunk = 1 << 20
	// minColdChunk is the smallest Options.ColdChunk.
	minColdChunk = 256
)

// ErrActive is matched by Compress for the segment that takes the appends (the last
// one): only segments sealed by a later one can be compressed.
var ErrActive = errors.New("segment is the active one")

const (
	coldExt         = ".zst" // after the segment's name
	coldTmpExt      = ".tmp" // after the cold segment's name, while Compress writes it
	coldHeaderSize  = 8
	coldFooterSize  = 24
	coldEntrySize   = 16
	coldVersion     = 1
	coldCacheChunks = 8 // decompressed chunks kept for ReadAt
)

var (
	coldMagic    = [4]byte{'K', 'W', 'Z', 'S'}
	coldEndMagic = [4]byte{'K', 'W', 'Z', 'T'}
)

// maxFrame bounds the compressed size of a chunk of n bytes: zstd stores what it
// cannot compress in raw blocks, 3 bytes of header per 128 KiB, plus at most 18 of
// frame header and 4 of checksum.
func maxFrame(n int64) int64 { return n + n/8 + 512 }

// coldTier is the Log's state for cold segments.
type coldTier struct {
	compressMu sync.Mutex    // one Compress at a time; Close waits for it
	enc        *zstd.Encoder // created by the first Compress, under compressMu

	decMu sync.RWMutex // dec is used under RLock and closed under Lock
	dec   *zstd.Decoder

	cache   chunkCache
	decodes atomic.Uint64 // chunks decompressed, for tests and benchmarks

	// Under Log.state.
	segs    map[uint64]*coldSeg // by sequence number
	pins    map[uint64]int      // readers using a segment's handle
	retired map[uint64]*os.File // handles replaced while pinned, closed by the last unpin
}

// coldSeg is a cold segment's checked trailer, or why it could not be read.
type coldSeg struct {
	ix   *coldIndex // nil if err is set
	err  error      // a *damage: the trailer is damaged
	disk int64      // size of the file
}

// coldIndex is a cold segment's decoded trailer. Chunk i holds the segment's bytes
// [uoff[i], uoff[i+1]) compressed in the file's bytes [coff[i], coff[i+1]).
type coldIndex struct {
	uoff []int64 // len chunks+1; the last is the segment's size
	coff []int64 // len chunks+1; the last is the offset of the index
}

func (ix *coldIndex) size() int64 { return ix.uoff[len(ix.uoff)-1] }
func (ix *coldIndex) chunks() int { return len(ix.uoff) - 1 }

// chunkAt returns the chunk holding byte off, which is in [0, size).
func (ix *coldIndex) chunkAt(off int64) int {
	i, found := slices.BinarySearch(ix.uoff, off)
	if !found {
		i--
	}
	return i
}

func (l *Log) coldPath(seq uint64) string { return l.path(seq) + coldExt }
func (l *Log) segmentPath(s SegmentInfo) string {
	if s.Cold {
		return l.coldPath(s.Seq)
	}
	return l.path(s.Seq)
}

// newDecoder returns the zstd decoder of cold chunks: stateless decodes only
// (DecodeAll, so no goroutines), none larger than MaxColdChunk.
func newDecoder() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0), // GOMAXPROCS concurrent DecodeAlls
		zstd.WithDecoderMaxMemory(MaxColdChunk),
		zstd.WithDecoderMaxWindow(MaxColdChunk),
		zstd.WithDecodeAllCapLimit(true))
}

// coldDefaults validates and defaults Options.ColdChunk.
func (o *Options) coldDefaults() error {
	switch {
	case o.ColdChunk == 0:
		o.ColdChunk = DefaultColdChunk
	case o.ColdChunk < minColdChunk || o.ColdChunk > MaxColdChunk:
		return fmt.Errorf("wal options: ColdChunk %d out of range [%d, %d]", o.ColdChunk, minColdChunk, MaxColdChunk)
	}
	return nil
}

// Compress turns sealed segment seq into a cold one, NNN.wal.zst: compressed in
// chunks of Options.ColdChunk bytes, and read as before by ReadAt, Replay and Remove,
// at the same positions. It writes NNN.wal.zst.tmp, checks that every chunk
// decompresses to its bytes, fsyncs it, renames it to NNN.wal.zst and fsyncs the
// directory; then readers switch over and NNN.wal is deleted. A crash at any point
// leaves the warm segment or a complete cold one, and Open settles a crash that left
// both. A damaged segment is compressed as it is, damage included. Compressing a cold
// segment does nothing. It fails with ErrActive for the segment taking appends,
// ErrNotFound for one that does not exist, ErrClosed after Close, or with the error
// that stopped it, leaving the warm segment as it was. One Compress runs at a time;
// reads and appends go on meanwhile.
func (l *Log) Compress(seq uint64) error {
	l.cold.compressMu.Lock()
	defer l.cold.compressMu.Unlock()
	if err := l.compress(seq); err != nil {
		return fmt.Errorf("compress segment %d: %w", seq, err)
	}
	return nil
}

// CompressSealed compresses every sealed segment that is not cold yet, oldest first,
// and returns how many it compressed. It stops at the first failure.
func (l *Log) CompressSealed() (int, error) {
	l.state.Lock()
	if l.files == nil {
		l.state.Unlock()
		return 0, ErrClosed
	}
	var todo []uint64
	for _, s := range l.segs[:max(len(l.segs)-1, 0)] {
		if s.Sealed && !s.Cold {
			todo = append(todo, s.Seq)
		}
	}
	l.state.Unlock()
	n := 0
	for _, seq := range todo {
		err := l.Compress(seq)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (l *Log) compress(seq uint64) error {
	l.state.Lock()
	if l.files == nil {
		l.state.Unlock()
		return ErrClosed
	}
	i, ok := l.segIndex(seq)
	switch {
	case !ok:
		l.state.Unlock()
		return ErrNotFound
	case l.segs[i].Cold:
		l.state.Unlock()
		return nil
	case i == len(l.segs)-1 || !l.segs[i].Sealed:
		l.state.Unlock()
		return ErrActive
	}
	l.state.Unlock()

	r, size, err := l.handle(seq, true)
	if err != nil {
		return err
	}
	defer l.unpin(seq)

	path := l.coldPath(seq)
	tmp := path + coldTmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ix, disk, err := l.writeCold(f, r, size)
	if err == nil {
		err = l.fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return l.readErr(err)
	}
	if err := l.syncDir(); err != nil {
		return err // both files stay; Open settles it
	}

	// Switch readers over: from now on handle gives the cold segment. The warm file's
	// handle is pinned by this call at least, so the last unpin closes it.
	l.state.Lock()
	if l.files == nil {
		l.state.Unlock()
		return ErrClosed // unreachable: Close waits for Compress
	}
	i, ok = l.segIndex(seq)
	if !ok { // removed meanwhile
		l.state.Unlock()
		os.Remove(path)
		return ErrNotFound
	}
	l.segs[i].Cold, l.segs[i].DiskSize = true, disk
	l.cold.segs[seq] = &coldSeg{ix: ix, disk: disk}
	if f := l.files[seq]; f != nil {
		delete(l.files, seq)
		l.cold.retired[seq] = f
	}
	l.state.Unlock()
	if err := os.Remove(l.path(seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // a stale .wal, which the next Open removes
	}
	return l.syncDir()
}

// segIndex finds segment seq in l.segs. l.state is held.
func (l *Log) segIndex(seq uint64) (int, bool) {
	return slices.BinarySearchFunc(l.segs, seq, func(s SegmentInfo, seq uint64) int {
		return cmp.Compare(s.Seq, seq)
	})
}

// writeCold writes the cold form of the segment held in src[0:size) to w and returns
// its index and the bytes written. Every chunk is decompressed and compared with its
// source before it is written.
func (l *Log) writeCold(w io.Writer, src io.ReaderAt, size int64) (*coldIndex, int64, error) {
	enc, err := l.encoder()
	if err != nil {
		return nil, 0, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	ix := &coldIndex{}
	off := int64(0) // bytes written
	write := func(b []byte) error {
		n, err := bw.Write(b)
		off += int64(n)
		return err
	}
	if err := write(binary.BigEndian.AppendUint32(coldMagic[:], coldVersion)); err != nil {
		return nil, 0, err
	}
	var raw, frame, check []byte
	emit := func(start, end int64) error {
		raw = slices.Grow(raw[:0], int(end-start))[:end-start]
		if err := readFullAt(src, raw, start); err != nil {
			return err
		}
		frame = enc.EncodeAll(raw, frame[:0])
		if int64(len(frame)) > maxFrame(int64(len(raw))) {
			return fmt.Errorf("chunk at %d: zstd frame of %d bytes for %d", start, len(frame), len(raw))
		}
		var err error
		check, err = l.decodeFrame(frame, slices.Grow(check[:0], len(raw)))
		if err != nil || !bytes.Equal(check, raw) {
			return fmt.Errorf("chunk at %d does not decompress to its bytes (%v)", start, err)
		}
		ix.uoff = append(ix.uoff, start)
		ix.coff = append(ix.coff, off)
		return write(frame)
	}
	c := cutter{max: int64(l.opts.ColdChunk), emit: emit}
	sr := newSegmentReader(src, size, l.opts.MaxBlock, scanBufSize)
	err = sr.header()
	for err == nil {
		var rec int64
		rec, _, err = sr.Next()
		if err == nil || skipped(err) != nil { // a skipped record is a record boundary too
			err = c.at(rec)
		}
	}
	var d *damage
	if err != io.EOF && !errors.As(err, &d) && !errors.Is(err, ErrVersion) {
		return nil, 0, err // a read failure; damage is kept as it is
	}
	if err := c.at(size); err != nil {
		return nil, 0, err
	}
	if c.start < size {
		if err := emit(c.start, size); err != nil {
			return nil, 0, err
		}
	}
	ix.uoff = append(ix.uoff, size)
	ix.coff = append(ix.coff, off)
	if err := write(ix.encodeTrailer()); err != nil {
		return nil, 0, err
	}
	return ix, off, bw.Flush()
}

// encoder returns the zstd encoder of cold chunks, creating it on first use: stateless
// encodes only (EncodeAll, so no goroutines). l.cold.compressMu is held.
func (l *Log) encoder() (*zstd.Encoder, error) {
	if l.cold.enc == nil {
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithWindowSize(MaxColdChunk),
			zstd.WithEncoderCRC(true))
		if err != nil {
			return nil, err
		}
		l.cold.enc = enc
	}
	return l.cold.enc, nil
}

// cutter cuts a segment into chunks of at most max bytes, at the boundaries it is
// given if it can.
type cutter struct {
	max   int64
	start int64 // of the chunk being gathered
	last  int64 // the last boundary given
	emit  func(start, end int64) error
}

// at takes the next boundary, x > every earlier one, and emits the chunks that end
// before it.
func (c *cutter) at(x int64) error {
	for x-c.start > c.max {
		end := c.last
		if end <= c.start {
			end = c.start + c.max
		}
		if err := c.emit(c.start, end); err != nil {
			return err
		}
		c.start = end
	}
	c.last = x
	return nil
}

// encodeTrailer returns the index and footer of ix.
func (ix *coldIndex) encodeTrailer() []byte {
	n := ix.chunks()
	b := make([]byte, 0, n*coldEntrySize+coldFooterSize)
	for i := range n {
		b = binary.BigEndian.AppendUint64(b, uint64(ix.uoff[i]))
		b = binary.BigEndian.AppendUint64(b, uint64(ix.coff[i]))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(ix.size()))
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, coldVersion)
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return append(b, coldEndMagic[:]...)
}

// readColdIndex reads and checks the trailer of a cold segment file of fileSize bytes.
// It fails with a *damage for a damaged or foreign file, an error matching ErrVersion
// for another format version, or the read error.
func readColdIndex(r io.ReaderAt, fileSize int64) (*coldIndex, error) {
	bad := func(format string, args ...any) error {
		return &damage{off: 0, reason: "cold segment trailer: " + fmt.Sprintf(format, args...)}
	}
	readAt := func(p []byte, off int64) error {
		if err := readFullAt(r, p, off); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return bad("file shorter than its size")
			}
			return err
		}
		return nil
	}
	if fileSize < coldHeaderSize+coldFooterSize {
		return nil, bad("file of %d bytes", fileSize)
	}
	var foot [coldFooterSize]byte
	if err := readAt(foot[:], fileSize-coldFooterSize); err != nil {
		return nil, err
	}
	if !bytes.Equal(foot[20:], coldEndMagic[:]) {
		return nil, bad("bad magic")
	}
	if v := binary.BigEndian.Uint32(foot[12:]); v != coldVersion {
		return nil, fmt.Errorf("%w %d (cold)", ErrVersion, v)
	}
	n := int64(binary.BigEndian.Uint32(foot[8:]))
	if n > (fileSize-coldHeaderSize-coldFooterSize)/coldEntrySize {
		return nil, bad("%d chunks do not fit", n)
	}
	indexAt := fileSize - coldFooterSize - n*coldEntrySize
	trailer := make([]byte, n*coldEntrySize+coldFooterSize)
	if err := readAt(trailer, indexAt); err != nil {
		return nil, err
	}
	body := trailer[:len(trailer)-8]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(trailer[len(trailer)-8:]) {
		return nil, bad("checksum mismatch")
	}
	var head [coldHeaderSize]byte
	if err := readAt(head[:], 0); err != nil {
		return nil, err
	}
	if !bytes.Equal(head[:4], coldMagic[:]) || binary.BigEndian.Uint32(head[4:]) != coldVersion {
		return nil, bad("bad header")
	}
	size := binary.BigEndian.Uint64(body[n*coldEntrySize:])
	if size > uint64(n)*MaxColdChunk {
		return nil, bad("size %d for %d chunks", size, n)
	}
	ix := &coldIndex{uoff: make([]int64, n+1), coff: make([]int64, n+1)}
	for i := range n {
		e := body[i*coldEntrySize:]
		u, c := binary.BigEndian.Uint64(e), binary.BigEndian.Uint64(e[8:])
		if u > size || c > uint64(indexAt) {
			return nil, bad("chunk %d out of bounds", i)
		}
		ix.uoff[i], ix.coff[i] = int64(u), int64(c)
	}
	ix.uoff[n], ix.coff[n] = int64(size), indexAt
	if ix.uoff[0] != 0 || ix.coff[0] != coldHeaderSize {
		return nil, bad("chunks do not start at the beginning")
	}
	for i := range n {
		u, c := ix.uoff[i+1]-ix.uoff[i], ix.coff[i+1]-ix.coff[i]
		if u <= 0 || u > MaxColdChunk || c <= 0 || c > maxFrame(u) {
			return nil, bad("chunk %d of %d bytes compressed to %d", i, u, c)
		}
	}
	return ix, nil
}

// decodeFrame decompresses one chunk's frame into dst, which has room for the chunk
// and no more: a frame decoding to more fails.
func (l *Log) decodeFrame(frame, dst []byte) ([]byte, error) {
	l.cold.decMu.RLock()
	defer l.cold.decMu.RUnlock()
	if l.cold.dec == nil {
		return nil, ErrClosed
	}
	return l.cold.dec.DecodeAll(frame, dst)
}

// coldReader reads a cold segment's uncompressed bytes, decompressing the chunks it
// needs. A point reader (ReadAt) shares decompressed chunks through the Log's cache;
// a scan reader (Replay) keeps the chunk it reads to itself.
type coldReader struct {
	l    *Log
	seq  uint64
	f    io.ReaderAt // the .wal.zst
	ix   *coldIndex
	scan bool

	cur   int    // chunk in data, for a scan reader; -1 for none
	data  []byte // decompressed chunk, for a scan reader
	frame []byte // compressed chunk
}

// ReadAt reads the segment's bytes at off. At a chunk that does not decompress it
// returns the bytes before it and a *damage at the chunk's offset.
//
// Unlike io.ReaderAt, a point reader returns fewer bytes than asked, with no error,
// when the rest is in a chunk that is not in the cache: the bufio.Reader that a
// segmentReader reads through asks for a buffer's worth, and a record rarely needs
// the chunk after its own. Reads of up to headerSize bytes (readFullAt's) are whole.
func (r *coldReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("cold segment %d: negative offset %d", r.seq, off)
	}
	n := 0
	for n < len(p) {
		if off >= r.ix.size() {
			return n, io.EOF
		}
		i := r.ix.chunkAt(off)
		data, err := r.chunk(i, r.scan || n < headerSize)
		if data == nil && err == nil {
			return n, nil // a short read; the caller reads again if it needs more
		}
		if err != nil {
			return n, err
		}
		c := copy(p[n:], data[min(off-r.ix.uoff[i], int64(len(data))):])
		if c == 0 { // a chunk shorter than its index says: a bug, not damage
			return n, fmt.Errorf("cold segment %d: chunk %d of %d bytes, want %d", r.seq, i, len(data), r.ix.uoff[i+1]-r.ix.uoff[i])
		}
		n += c
		off += int64(c)
	}
	return n, nil
}

// chunk returns chunk i decompressed, not to be modified; or if it is not in the
// cache and !decode, nil.
func (r *coldReader) chunk(i int, decode bool) ([]byte, error) {
	if r.scan && r.cur == i {
		return r.data, nil
	}
	if data := r.l.cold.cache.get(r.seq, i); data != nil || !decode {
		return data, nil
	}
	size := int(r.ix.uoff[i+1] - r.ix.uoff[i])
	var dst []byte
	if r.scan {
		r.cur = -1
		dst = slices.Grow(r.data[:0], size)[:0:size]
	} else {
		dst = make([]byte, 0, size)
	}
	data, err := r.decode(i, dst)
	if err != nil {
		return nil, err
	}
	if r.scan {
		r.cur, r.data = i, data
	} else {
		r.l.cold.cache.put(r.seq, i, data)
	}
	return data, nil
}

// decode reads chunk i's frame and decompresses it into dst.
func (r *coldReader) decode(i int, dst []byte) ([]byte, error) {
	at, end := r.ix.coff[i], r.ix.coff[i+1]
	r.frame = slices.Grow(r.frame[:0], int(end-at))[:end-at]
	bad := func(reason string) error {
		return &damage{off: r.ix.uoff[i], reason: fmt.Sprintf("cold chunk %d (file offset %d): %s", i, at, reason)}
	}
	if err := readFullAt(r.f, r.frame, at); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("file cut short")
		}
		return nil, err
	}
	r.l.cold.decodes.Add(1)
	data, err := r.l.decodeFrame(r.frame, dst)
	switch {
	case errors.Is(err, ErrClosed):
		return nil, err
	case err != nil:
		return nil, bad(err.Error())
	case len(data) != cap(dst):
		return nil, bad(fmt.Sprintf("%d bytes decompressed, want %d", len(data), cap(dst)))
	}
	return data, nil
}

// chunkCache keeps the last few chunks ReadAt decompressed, by segment and chunk.
type chunkCache struct {
	mu      sync.Mutex
	entries []cachedChunk // least recently used first
}

type cachedChunk struct {
	seq   uint64
	chunk int
	data  []byte
}

func (c *chunkCache) get(seq uint64, chunk int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.seq == seq && e.chunk == chunk {
			copy(c.entries[i:], c.entries[i+1:])
			c.entries[len(c.entries)-1] = e
			return e.data
		}
	}
	return nil
}

func (c *chunkCache) put(seq uint64, chunk int, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.seq == seq && e.chunk == chunk {
			return // another reader was first
		}
	}
	if len(c.entries) == coldCacheChunks {
		c.entries = slices.Delete(c.entries, 0, 1)
	}
	c.entries = append(c.entries, cachedChunk{seq, chunk, data})
}

// drop forgets the chunks of segment seq, or of every segment if all.
func (c *chunkCache) drop(seq uint64, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = slices.DeleteFunc(c.entries, func(e cachedChunk) bool { return all || e.seq == seq })
}

// pin marks segment s as read through f and returns what to read it with: f itself,
// or a reader decompressing a cold segment. l.state is held.
func (l *Log) pin(s SegmentInfo, f *os.File, scan bool) (io.ReaderAt, int64, error) {
	var r io.ReaderAt = f
	if s.Cold {
		c := l.cold.segs[s.Seq]
		switch {
		case c == nil: // unreachable: segs and cold.segs change together
			return nil, 0, fmt.Errorf("segment %d: no cold index", s.Seq)
		case c.err != nil:
			return nil, 0, fmt.Errorf("segment %d: %w", s.Seq, c.err)
		}
		r = &coldReader{l: l, seq: s.Seq, f: f, ix: c.ix, scan: scan, cur: -1}
	}
	l.cold.pins[s.Seq]++
	return r, s.Size, nil
}

// unpin ends a read of segment seq that handle started, closing its handle if Compress
// replaced it meanwhile and no one else reads it.
func (l *Log) unpin(seq uint64) {
	l.state.Lock()
	var f *os.File
	if l.cold.pins[seq]--; l.cold.pins[seq] <= 0 {
		delete(l.cold.pins, seq)
		f = l.cold.retired[seq]
		delete(l.cold.retired, seq)
	}
	l.state.Unlock()
	if f != nil {
		f.Close()
	}
}

// forgetCold drops what the Log keeps of segment seq, which Remove deleted. l.state is
// held.
func (l *Log) forgetCold(seq uint64) {
	if _, ok := l.cold.segs[seq]; ok {
		delete(l.cold.segs, seq)
		l.cold.cache.drop(seq, false)
	}
}

// closeCold releases the handles that readers still pin and the decoder. l.state is
// held.
func (l *Log) closeCold() error {
	var errs []error
	for seq, f := range l.cold.retired {
		errs = append(errs, f.Close())
		delete(l.cold.retired, seq)
	}
	l.cold.cache.drop(0, true)
	l.cold.decMu.Lock()
	if l.cold.dec != nil {
		l.cold.dec.Close()
		l.cold.dec = nil
	}
	l.cold.decMu.Unlock()
	return errors.Join(errs...)
}

// warnDamage reports d, found in segment seq: a record skipped, or where the
// segment's records end.
func (l *Log) warnDamage(seq uint64, d *damage) {
	l.state.Lock()
	path := l.path(seq)
	if i, ok := l.segIndex(seq); ok && l.segs[i].Cold {
		path = l.coldPath(seq)
	}
	l.state.Unlock()
	if d.skipped {
		l.opts.Warn("wal record damaged; skipped",
			"file", path, "offset", d.off, "length", d.n, "reason", d.reason+"; record skipped")
		return
	}
	l.opts.Warn("wal segment damaged; later records in it are skipped",
		"file", path, "offset", d.off, "reason", d.reason)
}

// coldInfo describes cold segment seq, if it is one. Used by Open.
func (l *Log) coldInfo(seq uint64) (SegmentInfo, bool) {
	c, ok := l.cold.segs[seq]
	if !ok {
		return SegmentInfo{}, false
	}
	s := SegmentInfo{Seq: seq, Sealed: true, Cold: true, DiskSize: c.disk}
	if c.ix != nil {
		s.Size = c.ix.size()
	}
	return s, true
}

func (l *Log) isCold(seq uint64) bool {
	_, ok := l.cold.segs[seq]
	return ok
}

// initCold readies the cold tier of a Log being opened.
func (l *Log) initCold() error {
	l.cold.segs = make(map[uint64]*coldSeg)
	l.cold.pins = make(map[uint64]int)
	l.cold.retired = make(map[uint64]*os.File)
	var err error
	l.cold.dec, err = newDecoder()
	return err
}

// listAll lists the segments in l.dir, warm and cold, ascending, after settling what
// a Compress cut short by a crash left behind, and reads the cold segments' trailers.
// Used by Open.
func (l *Log) listAll() ([]uint64, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	var cold []uint64
	removed := false
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		if base, ok := strings.CutSuffix(name, coldExt+coldTmpExt); ok {
			if _, ok := parseSegmentName(base); ok {
				path := filepath.Join(l.dir, name)
				l.opts.Warn("wal: removing an unfinished compressed segment", "file", path)
				if err := os.Remove(path); err != nil {
					return nil, err
				}
				removed = true
			}
			continue
		}
		if base, ok := strings.CutSuffix(name, coldExt); ok {
			if seq, ok := parseSegmentName(base); ok {
				cold = append(cold, seq)
			}
		}
	}
	for _, seq := range cold {
		rm, err := l.openCold(seq)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", seq, err)
		}
		removed = removed || rm
	}
	if removed {
		if err := l.syncDir(); err != nil {
			return nil, err
		}
	}
	seqs, err := listSegments(l.dir)
	if err != nil {
		return nil, err
	}
	for seq := range l.cold.segs {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// openCold reads the trailer of cold segment seq. If the warm segment is there too (a
// crash stopped Compress between rename and delete), it keeps the one that reads
// back: the cold one if it is whole and holds the warm one's bytes, else the warm one.
// It reports whether it removed a file.
func (l *Log) openCold(seq uint64) (removed bool, err error) {
	path := l.coldPath(seq)
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return false, err
	}
	ix, ierr := readColdIndex(f, fi.Size())
	warm, err := os.Open(l.path(seq))
	if errors.Is(err, fs.ErrNotExist) {
		f.Close()
		var d *damage
		switch {
		case ierr == nil:
			l.cold.segs[seq] = &coldSeg{ix: ix, disk: fi.Size()}
		case errors.As(ierr, &d):
			l.opts.Warn("wal segment damaged; its records are skipped",
				"file", path, "offset", d.off, "reason", d.reason)
			l.cold.segs[seq] = &coldSeg{err: d, disk: fi.Size()}
		default:
			return false, ierr
		}
		return false, nil
	}
	if err != nil {
		f.Close()
		return false, err
	}
	if ierr == nil {
		ierr = l.sameAs(f, ix, warm)
	}
	f.Close()
	warm.Close()
	if ierr != nil {
		l.opts.Warn("wal: removing an unfinished compressed segment; keeping the uncompressed one",
			"file", path, "reason", ierr.Error())
		return true, os.Remove(path)
	}
	l.opts.Warn("wal: removing a segment left beside its compressed copy", "file", l.path(seq))
	l.cold.segs[seq] = &coldSeg{ix: ix, disk: fi.Size()}
	return true, os.Remove(l.path(seq))
}

// sameAs checks that every chunk of the cold segment in f decompresses to the bytes of
// the warm segment in warm.
func (l *Log) sameAs(f io.ReaderAt, ix *coldIndex, warm *os.File) error {
	fi, err := warm.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != ix.size() {
		return fmt.Errorf("%d bytes, the segment %d", ix.size(), fi.Size())
	}
	r := &coldReader{l: l, f: f, ix: ix, scan: true, cur: -1}
	var want []byte
	for i := range ix.chunks() {
		got, err := r.chunk(i, true)
		if err != nil {
			return err
		}
		want = slices.Grow(want[:0], len(got))[:len(got)]
		if err := readFullAt(warm, want, ix.uoff[i]); err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("chunk %d differs from the segment", i)
		}
	}
	return nil
}

// findLastCold sets l.last to the last valid record of cold segment seq, if any. Used
// by Open.
func (l *Log) findLastCold(seq uint64) error {
	r, size, err := l.handle(seq, true)
	if errors.Is(err, ErrCorrupt) {
		return nil // a damaged trailer: no record
	}
	if err != nil {
		return err
	}
	defer l.unpin(seq)
	if err := l.findLastIn(seq, r, size); err != nil {
		return fmt.Errorf("segment %d: %w", seq, err)
	}
	return nil
}
