package main

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressDelay is how long work runs before its progress bar appears: short work
// shows none.
const progressDelay = 500 * time.Millisecond

// progress is the progress bar of long work (export, import) on stderr. It shows
// only when stderr is a terminal and --json is not given, and only once the work
// has run for progressDelay. Its methods are called from the goroutine doing the
// work; the bar starts no goroutine of its own (no spinner ticker). The zero
// value and nil show nothing.
type progress struct {
	w     io.Writer
	desc  string
	bytes bool  // count bytes, not nodes
	max   int64 // -1: unknown
	start time.Time
	bar   *progressbar.ProgressBar
}

// newProgress returns a progress bar for work counting bytes or nodes up to max
// (-1 if unknown), or nil when none is to be shown.
func (c *cli) newProgress(desc string, max int64, bytes bool) *progress {
	if c.json || !isTerminal(c.stderr) {
		return nil
	}
	return &progress{w: c.stderr, desc: desc, bytes: bytes, max: max, start: time.Now()}
}

// set records done of max (max -1: unknown, 0: unchanged).
func (p *progress) set(done, max int64) {
	if p == nil {
		return
	}
	if max != 0 && max != p.max {
		p.max = max
		if p.bar != nil {
			p.bar.ChangeMax64(max)
		}
	}
	if p.bar == nil {
		if time.Since(p.start) < progressDelay {
			return
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.desc),
			progressbar.OptionSetSpinnerChangeInterval(0), // no ticker goroutine
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowElapsedTimeOnFinish(),
		}
		if p.bytes {
			opts = append(opts, progressbar.OptionShowBytes(true), progressbar.OptionShowCount())
		} else {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString("nodes"))
		}
		p.bar = progressbar.NewOptions64(p.max, opts...)
	}
	p.bar.Set64(done)
}

// done clears the bar, if it showed, so that what follows starts a clean line.
func (p *progress) done() {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Clear()
	p.bar.Exit()
}

// countingWriter counts the bytes written through it into a progress bar.
type countingWriter struct {
	w io.Writer
	n int64
	p *progress
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.p.set(c.n, 0)
	return n, err
}

// countingReader counts the bytes read through it into a progress bar.
type countingReader struct {
	r io.Reader
	n int64
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.p.set(c.n, 0)
	return n, err
}
