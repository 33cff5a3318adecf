package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
)

// space is the open space the devices share: peers that open one name meet.
const space = "notes"

// Deadlines: one for the whole run, one for each wait on the network, one for
// closing a device.
const (
	runTimeout   = 60 * time.Second
	waitTimeout  = 20 * time.Second
	closeTimeout = 10 * time.Second
)

// pollEvery is how often a wait checks its condition.
const pollEvery = 50 * time.Millisecond

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}

// device is one replica of the notes.
type device struct {
	name string
	node *korup2p.Node
}

// run plays the three acts, printing to out, and fails unless both devices end
// with the same notes. It removes its data directories before returning.
func run(ctx context.Context, out io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "korup2p-notes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	laptop, err := openDevice(ctx, "laptop", filepath.Join(dir, "laptop"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, laptop.close()) }()
	phone, err := openDevice(ctx, "phone", filepath.Join(dir, "phone"))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, phone.close()) }()
	devices := []*device{laptop, phone}
	for _, d := range devices {
		fmt.Fprintf(out, "%-6s  peer %s\n", d.name, d.node.ID())
	}

	// 1. Online.
	fmt.Fprintln(out, "\n== 1. online: the phone connects to the laptop; each writes a note")
	if err := connect(ctx, phone, laptop); err != nil {
		return err
	}
	if err := laptop.put(ctx, "notes/groceries", map[string]any{"title": "Groceries", "body": "milk, eggs"}); err != nil {
		return err
	}
	if err := phone.put(ctx, "notes/ideas", map[string]any{"title": "Ideas", "body": "a notes app that works offline"}); err != nil {
		return err
	}
	if err := waitConverged(ctx, devices); err != nil {
		return err
	}
	if err := printNotes(ctx, out, devices); err != nil {
		return err
	}

	// 2. Offline: the same note edited on both devices, different fields.
	fmt.Fprintln(out, "\n== 2. offline: both devices edit notes/groceries, different fields")
	if err := setOffline(ctx, laptop, phone, true); err != nil {
		return err
	}
	if err := laptop.patch(ctx, "notes/groceries", map[string]any{"title": "Groceries for Saturday"}); err != nil {
		return err
	}
	if err := phone.patch(ctx, "notes/groceries", map[string]any{"body": "milk, eggs, bread, coffee"}); err != nil {
		return err
	}
	if err := laptop.put(ctx, "notes/books", map[string]any{"title": "Books", "body": "The Dispossessed"}); err != nil {
		return err
	}
	if err := phone.put(ctx, "notes/todo", map[string]any{"title": "To do", "body": "call the plumber"}); err != nil {
		return err
	}
	if err := printNotes(ctx, out, devices); err != nil {
		return err
	}

	// 3. Back online.
	fmt.Fprintln(out, "\n== 3. back online: the devices sync and converge")
	if err := setOffline(ctx, laptop, phone, false); err != nil {
		return err
	}
	if err := connect(ctx, phone, laptop); err != nil {
		return err
	}
	if err := waitConverged(ctx, devices); err != nil {
		return err
	}
	if err := printNotes(ctx, out, devices); err != nil {
		return err
	}
	a, err := laptop.render(ctx)
	if err != nil {
		return err
	}
	b, err := phone.render(ctx)
	if err != nil {
		return err
	}
	if !slices.Equal(a, b) {
		return fmt.Errorf("the devices did not converge:\nlaptop %q\nphone  %q", a, b)
	}
	heads, err := laptop.node.Heads(space)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nconverged: both devices hold the same %d notes; the space has %d heads (the offline branches, until a write joins them)\n",
		len(a), len(heads))
	return nil
}

// openDevice opens a Node in dir, networked on loopback only, and joins the
// open space.
func openDevice(ctx context.Context, name, dir string) (*device, error) {
	logger := log.NewWithOptions(os.Stderr, log.Options{Prefix: name, Level: log.ErrorLevel})
	n, err := korup2p.Open(dir, &korup2p.Options{
		Logger: logger,
		Network: &korup2p.NetworkOptions{
			Listen:        []string{"/ip4/127.0.0.1/tcp/0"},
			NoMDNS:        true,
			HeadsInterval: 250 * time.Millisecond,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d := &device{name: name, node: n}
	if _, err := n.Join(ctx, space, ""); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", name, err), d.close())
	}
	return d, nil
}

func (d *device) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := d.node.Close(ctx); err != nil {
		return fmt.Errorf("close %s: %w", d.name, err)
	}
	return nil
}

func (d *device) put(ctx context.Context, key string, note map[string]any) error {
	if _, err := d.node.Put(ctx, space, key, note); err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	return nil
}

func (d *device) patch(ctx context.Context, key string, fields map[string]any) error {
	if _, err := d.node.Patch(ctx, space, key, fields); err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	return nil
}

// render returns the device's notes, one line each, in key order: the key, the
// value, and how many concurrent versions were merged into it, with any field
// they changed differently.
func (d *device) render(ctx context.Context) ([]string, error) {
	listed, err := d.node.List(ctx, space, "notes/", "", 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	var lines []string
	for _, l := range listed {
		e, err := d.node.Get(ctx, space, l.Key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		line := fmt.Sprintf("%-16s %s", e.Key, e.Value)
		if len(e.Heads) > 1 {
			line += fmt.Sprintf("  (merged from %d concurrent versions)", len(e.Heads))
		}
		for _, c := range e.Conflicts {
			line += fmt.Sprintf("  (conflict on %q)", strings.Join(c.Path, "."))
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// printNotes prints every device's notes, each line after the device's name.
func printNotes(ctx context.Context, out io.Writer, devices []*device) error {
	for _, d := range devices {
		lines, err := d.render(ctx)
		if err != nil {
			return err
		}
		for _, l := range lines {
			fmt.Fprintf(out, "%-6s  %s\n", d.name, l)
		}
	}
	return nil
}

// connect connects from to to, over to's first loopback address.
func connect(ctx context.Context, from, to *device) error {
	addrs := to.node.Addrs()
	if len(addrs) == 0 {
		return fmt.Errorf("%s has no address", to.name)
	}
	cctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := from.node.Connect(cctx, addrs[0]); err != nil {
		return fmt.Errorf("%s: %w", from.name, err)
	}
	return nil
}

// setOffline cuts the link between a and b both ways (each refuses the other,
// as if out of reach) and waits until it is down, or lifts the cut.
func setOffline(ctx context.Context, a, b *device, offline bool) error {
	for _, p := range [][2]*device{{a, b}, {b, a}} {
		var err error
		if offline {
			err = p[0].node.BlockPeer(p[1].node.ID())
		} else {
			err = p[0].node.UnblockPeer(p[1].node.ID())
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p[0].name, err)
		}
	}
	if !offline {
		return nil
	}
	return waitFor(ctx, "the link to go down", func() (bool, error) {
		return !slices.Contains(a.node.NetworkStats().Connected, b.node.ID()) &&
			!slices.Contains(b.node.NetworkStats().Connected, a.node.ID()), nil
	})
}

// waitConverged waits until every device holds the same heads and the same
// state.
func waitConverged(ctx context.Context, devices []*device) error {
	return waitFor(ctx, "the devices to converge", func() (bool, error) {
		var first []cid.Cid
		var firstDigest string
		for i, d := range devices {
			heads, err := d.node.Heads(space)
			if err != nil {
				return false, err
			}
			digest, err := d.node.StateDigest(ctx, space)
			if err != nil {
				return false, err
			}
			if i == 0 {
				first, firstDigest = heads, digest
			} else if !slices.EqualFunc(heads, first, cid.Cid.Equals) || digest != firstDigest {
				return false, nil
			}
		}
		return true, nil
	})
}

// waitFor polls cond until it holds, fails, or waitTimeout passes.
func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}
