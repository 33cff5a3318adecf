package korup2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/internal/dirlock"
	"github.com/korup2p/korup2p/internal/lru"
	"github.com/korup2p/korup2p/tiers"
)

// Node is one korup2p peer's replica: its spaces, their stores, the write path and
// the hot cache. It is safe for concurrent use. Open it with Open; Close it with Close.
type Node struct {
	opts    Options
	dir     string
	log     *log.Logger
	key     crypto.PrivKey
	id      peer.ID
	user    crypto.PrivKey // the user key (userkey.go); nil if none
	userID  peer.ID
	store   storage
	lock    *dirlock.Lock // nil in memory
	hot     *lru.Cache[cacheKey, *entryState]
	subs    *hub
	denials denials  // nodes from peers that access control refused
	accs    sync.Map // space ID → *access of each restricted space attached

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // writer goroutines and the distiller

	distillMu sync.Mutex // one distillation at a time

	net *network // nil without Options.Network

	mu      sync.RWMutex
	spaces  map[string]*space // by name
	nextOrd uint32            // the last space ordinal given
	closed  bool
}

// openStorage opens the disk tiers in dir: the WAL in dir/wal, the index in
// dir/index. Of the memory budget, a quarter goes to the tiers' decoded-node cache and
// the rest to the hot tier of materialised values.
func openStorage(dir string, o Options) (storage, error) {
	var interval time.Duration
	if o.Durability == DurabilityInterval {
		interval = o.SyncInterval
	}
	return tiers.Open(dir, &tiers.Options{
		Durability:   string(o.Durability),
		SyncInterval: interval,
		CacheBytes:   o.MemoryBudget / 4,
		DiskBudget:   o.DiskBudget,
		SegmentSize:  o.SegmentSize,
		Warn:         func(msg string, kv ...any) { o.Logger.Warn(msg, kv...) },
	})
}

// Open opens (creating if needed) the replica in dir. opts may be nil for defaults.
// On first start it creates the directory, the peer identity and the restricted
// space "default" owned by this peer.
func Open(dir string, opts *Options) (*Node, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{opts: o, dir: dir, log: o.Logger, spaces: map[string]*space{}, subs: newHub()}
	n.hot = lru.New[cacheKey, *entryState](o.hotBudget())
	if o.InMemory {
		n.store = newMemStorage()
		if n.key, _, err = crypto.GenerateEd25519Key(nil); err != nil {
			return nil, err
		}
	} else {
		if dir == "" {
			return nil, errors.New("open: no data directory (set one, or Options.InMemory)")
		}
		if n.lock, err = dirlock.Acquire(dir); err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		if n.lock.Unclean() {
			n.log.Warn("the previous process did not close the data directory cleanly; recovering", "dir", dir)
		}
		if err := n.openDisk(); err != nil {
			n.lock.Unlock()
			return nil, err
		}
	}
	if n.id, err = peer.IDFromPrivateKey(n.key); err != nil {
		n.Close(context.Background())
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.loadSpaces(); err != nil {
		n.Close(context.Background())
		return nil, fmt.Errorf("open: %w", err)
	}
	for _, sp := range n.spaceList() {
		if err := n.adopt(n.ctx, sp); err != nil {
			n.Close(context.Background())
			return nil, fmt.Errorf("open: %w", err)
		}
	}
	if _, ok := n.spaces[DefaultSpace]; !ok {
		if _, err := n.CreateSpace(DefaultSpace, false); err != nil {
			n.Close(context.Background())
			return nil, fmt.Errorf("open: create the default space: %w", err)
		}
	}
	if !o.Retention.IsZero() && !o.InMemory {
		n.wg.Add(1)
		go n.distiller()
	}
	if o.Network != nil {
		if err := n.startNetwork(); err != nil {
			n.Close(context.Background())
			return nil, fmt.Errorf("open: %w", err)
		}
	}
	return n, nil
}

func (n *Node) openDisk() error {
	var created bool
	var err error
	if n.key, created, err = loadIdentity(n.dir); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if created {
		n.log.Info("created a new peer identity", "dir", n.dir)
	}
	if n.user, err = loadUserKey(n.dir); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if n.user != nil {
		if n.userID, err = peer.IDFromPrivateKey(n.user); err != nil {
			return fmt.Errorf("open: user key: %w", err)
		}
	}
	if n.store, err = openStorage(n.dir, n.opts); err != nil {
		return fmt.Errorf("open: %w", err)
	}
	return nil
}

// ID returns this peer's ID: the author of its writes.
func (n *Node) ID() peer.ID { return n.id }

// Close stops the writers (failing queued writes with ErrClosed), ends every
// subscription, closes the stores and releases the data directory. It waits for the
// writers until ctx is done.
func (n *Node) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	if n.cancel != nil {
		n.cancel()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("close: writers still running: %w", ctx.Err()))
	}
	if n.net != nil {
		if err := n.net.close(); err != nil {
			errs = append(errs, fmt.Errorf("close network: %w", err))
		}
	}
	n.subs.closeAll()
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close storage: %w", err))
		}
	}
	if n.lock != nil {
		if err := n.lock.Unlock(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// space returns the open space called name.
func (n *Node) space(name string) (*space, error) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		return nil, ErrClosed
	}
	sp, ok := n.spaces[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownSpace, name)
	}
	return sp, nil
}

// Heads returns the space's heads, sorted: they name its whole state.
func (n *Node) Heads(spaceName string) ([]cid.Cid, error) {
	sp, err := n.space(spaceName)
	if err != nil {
		return nil, err
	}
	return sp.store.Heads()
}
