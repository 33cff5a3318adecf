package korup2p

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
)

// spaceMetaPrefix prefixes the metadata key of each space: its genesis node's bytes.
const spaceMetaPrefix = "space/"

// SpaceInfo describes a space this node holds.
type SpaceInfo struct {
	Name  string  // the local name
	ID    cid.Cid // the space ID: its genesis CID
	Open  bool    // anyone may read and write
	Owner peer.ID // the creator of a restricted space
}

// space is one open space: its store, the ingest state and the writer queue.
type space struct {
	n     *Node
	ord   uint32 // this space's number in the node, for the hot tier's keys
	name  string
	g     *dag.Node
	info  dag.SpaceInfo
	store dag.Store

	// mu serialises changes to the store (local writes, and later remote ingest)
	// with the cache updates they cause; cache misses compute under the read lock.
	mu    sync.RWMutex
	clock dag.Clock

	queue chan *writeReq

	cut atomic.Pointer[SpaceCut] // the last distillation's cut; nil if none

	ingester *dag.Ingester // nodes from peers; guarded by mu
	items    items         // the node set, for reconciliation

	acc *access // a restricted space's access state; nil for an open space
}

func (sp *space) id() cid.Cid { return sp.g.CID() }

func (sp *space) infoPublic() SpaceInfo {
	return SpaceInfo{Name: sp.name, ID: sp.id(), Open: sp.info.Open, Owner: sp.info.Owner}
}

// validSpaceName: 1..64 printable characters, no slash or space.
func validSpaceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("invalid space name: empty")
	case len(name) > 64:
		return fmt.Errorf("invalid space name %q: longer than 64 bytes", name[:64])
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' }) >= 0:
		return fmt.Errorf("invalid space name %q: only printable characters, no spaces or slashes", name)
	}
	return nil
}

// CreateSpace creates a space called name: open (anyone who knows the name can read
// and write; its ID depends on the name alone, so peers that open the same name
// meet) or restricted (owned by this peer).
func (n *Node) CreateSpace(name string, open bool) (SpaceInfo, error) {
	if err := validSpaceName(name); err != nil {
		return SpaceInfo{}, err
	}
	var g *dag.Node
	var err error
	if open {
		g, err = dag.NewOpenGenesis(name)
	} else {
		var c dag.Clock
		var now dag.Timestamp
		if now, err = c.Now(n.opts.Now().UnixNano()); err == nil { // a fresh clock: never exhausted
			g, err = dag.NewRestrictedGenesis(name, n.ownerKey(), now)
		}
	}
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("create space %q: %w", name, err)
	}
	sp, err := n.addSpace(name, g)
	if err != nil {
		return SpaceInfo{}, fmt.Errorf("create space %q: %w", name, err)
	}
	if err := n.adopt(n.ctx, sp); err != nil {
		return SpaceInfo{}, fmt.Errorf("create space %q: %w", name, err)
	}
	return sp.infoPublic(), nil
}

// addSpace attaches the space whose genesis is g under name and records it, unless
// the name is taken or the space is held already (ErrSpaceExists).
func (n *Node) addSpace(name string, g *dag.Node) (*space, error) {
	if err := validSpaceName(name); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, ErrClosed
	}
	if _, ok := n.spaces[name]; ok {
		return nil, fmt.Errorf("%w: the name %q is taken", ErrSpaceExists, name)
	}
	for other, sp := range n.spaces {
		if sp.id().Equals(g.CID()) {
			return nil, fmt.Errorf("%w: space %s is held as %q", ErrSpaceExists, g.CID(), other)
		}
	}
	sp, err := n.attach(name, g)
	if err != nil {
		return nil, err
	}
	if err := n.store.SetMeta(spaceMetaPrefix+name, g.Bytes()); err != nil {
		return nil, err
	}
	return sp, nil
}

// Spaces lists the spaces this node holds, by name.
func (n *Node) Spaces() []SpaceInfo {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]SpaceInfo, 0, len(n.spaces))
	for _, sp := range n.spaces {
		out = append(out, sp.infoPublic())
	}
	slices.SortFunc(out, func(a, b SpaceInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// loadSpaces opens every space recorded in the metadata.
func (n *Node) loadSpaces() error {
	keys, err := n.store.MetaKeys(spaceMetaPrefix)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, k := range keys {
		b, err := n.store.Meta(k)
		if err != nil {
			return err
		}
		g, err := dag.DecodeTrusted(b, distinctions.DefaultLimits)
		if err != nil || !g.IsGenesis() {
			return fmt.Errorf("space %s: bad genesis: %v", k, err)
		}
		if _, err := n.attach(strings.TrimPrefix(k, spaceMetaPrefix), g); err != nil {
			return err
		}
	}
	return nil
}

// attach opens the store of genesis g under name and starts its writer. n.mu is held.
func (n *Node) attach(name string, g *dag.Node) (*space, error) {
	info, err := g.SpaceInfo()
	if err != nil {
		return nil, err
	}
	st, err := n.store.Space(g)
	if err != nil {
		return nil, err
	}
	n.nextOrd++
	sp := &space{n: n, ord: n.nextOrd, name: name, g: g, info: info, store: st, queue: make(chan *writeReq, writeQueue)}
	if ok, err := st.Has(g.CID()); err != nil {
		return nil, err
	} else if !ok {
		if err := st.PutVerified(g); err != nil {
			return nil, err
		}
		if err := n.store.Sync(); err != nil {
			return nil, err
		}
	}
	authorize := openAuthorize
	if !info.Open {
		if sp.acc, err = newAccess(st, g.CID(), info.Owner, n.id); err != nil {
			return nil, err
		}
		authorize = sp.acc.authorize
		n.accs.Store(g.CID(), sp.acc)
	}
	sp.ingester = dag.NewIngester(st, g.CID(), &dag.IngestOptions{Limits: distinctions.Limits{MaxBytes: n.maxNodeBytes()}, Authorize: authorize})
	if err := sp.loadCut(); err != nil {
		return nil, err
	}
	heads, err := st.Heads()
	if err != nil {
		return nil, err
	}
	for _, h := range heads { // later local clocks follow everything stored
		hn, err := st.Get(h)
		if err != nil {
			return nil, err
		}
		sp.clock.Observe(hn.Clock)
	}
	if n.net != nil {
		if err := n.net.join(sp); err != nil {
			return nil, err
		}
	}
	n.spaces[name] = sp
	n.wg.Add(1)
	go sp.run(n.ctx)
	return sp, nil
}

// maxNodeBytes bounds a node's encoding: a batch may carry many values.
func (n *Node) maxNodeBytes() int {
	return max(4*n.opts.MaxValueSize, distinctions.DefaultLimits.MaxBytes)
}

// openAuthorize is the Ingester's Authorize hook of an open space: anyone may write
// anything but the reserved keys, which only korup2p writes, and only in a
// restricted space.
func openAuthorize(_ dag.Store, n *dag.Node) error {
	for _, op := range n.Ops {
		if dag.IsSysKey(op.Key) {
			return fmt.Errorf("%s is reserved: an open space holds no capabilities", op.Key)
		}
	}
	return nil
}

// voidReader is a restricted space's store as package crdt reads it: nodes that
// access control voids write nothing (crdt.Voider).
type voidReader struct {
	dag.Store
	acc *access
}

func (r voidReader) Void(n *dag.Node) (bool, error) { return r.acc.Void(n) }

// view returns the store as reads see it.
func (sp *space) view() crdt.Reader {
	if sp.acc == nil {
		return sp.store
	}
	return voidReader{sp.store, sp.acc}
}
