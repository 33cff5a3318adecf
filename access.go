package korup2p

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/crdt"
	"github.com/korup2p/korup2p/dag"
	"github.com/korup2p/korup2p/distinctions"
	"github.com/korup2p/korup2p/lca"
)

// Access control of restricted spaces (see the package doc, "Access").
//
// Tokens and revocations are written into the space itself, one per reserved key,
// so they sync like data: _korup2p/caps/<token CID> and _korup2p/revocations/<CID>,
// whose value is the token's (or revocation's) bytes as a base64url JSON string.

const (
	capKeyPrefix = dag.SysNamespace + "/caps/"
	revKeyPrefix = dag.SysNamespace + "/revocations/"
)

var b64 = base64.RawURLEncoding

// capOp returns the op that writes tok into a space.
func capOp(tok *caps.Token) (dag.Op, error) {
	return sysOp(capKeyPrefix+tok.CID().String(), tok.Bytes())
}

// revOp returns the op that writes r into a space.
func revOp(r *caps.Revocation) (dag.Op, error) {
	return sysOp(revKeyPrefix+r.CID().String(), r.Bytes())
}

func sysOp(key string, b []byte) (dag.Op, error) {
	v, err := distinctions.EncodeValue(b64.EncodeToString(b), distinctions.DefaultLimits)
	if err != nil {
		return dag.Op{}, err
	}
	return dag.Op{Key: key, Kind: dag.KindSet, Value: v.Bytes}, nil
}

// sysBytes returns the bytes a reserved op of a token or revocation carries.
func sysBytes(op dag.Op) ([]byte, error) {
	if op.Kind != dag.KindSet {
		return nil, fmt.Errorf("%s: want a set, not a %s", op.Key, op.Kind)
	}
	v, err := distinctions.DecodeValue(op.Value, distinctions.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.Key, err)
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s: the value is not a string", op.Key)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.Key, err)
	}
	return b, nil
}

// tokenOf decodes the token a reserved op carries and checks that its key names it.
func tokenOf(op dag.Op) (*caps.Token, error) {
	b, err := sysBytes(op)
	if err != nil {
		return nil, err
	}
	t, err := caps.Decode(b, distinctions.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.Key, err)
	}
	if op.Key != capKeyPrefix+t.CID().String() {
		return nil, fmt.Errorf("%s holds token %s", op.Key, t.CID())
	}
	return t, nil
}

// revocationOf decodes the revocation a reserved op carries.
func revocationOf(op dag.Op) (*caps.Revocation, error) {
	b, err := sysBytes(op)
	if err != nil {
		return nil, err
	}
	r, err := caps.DecodeRevocation(b, distinctions.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.Key, err)
	}
	if op.Key != revKeyPrefix+r.CID().String() {
		return nil, fmt.Errorf("%s holds revocation %s", op.Key, r.CID())
	}
	return r, nil
}

// revRec is a revocation held in a space and the node that carries it.
type revRec struct {
	rev    *caps.Revocation
	node   cid.Cid
	height uint64
	clock  int64   // the node's wall clock: when the revoker's right is checked
	leaf   cid.Cid // the node's capability: the revoker's chain
}

// access is the access state of a restricted space: the tokens and revocations it
// holds, which revocations count, and verdicts derived from them. The store is the
// truth; access indexes it and is rebuilt from it on open.
type access struct {
	space cid.Cid
	owner peer.ID
	self  peer.ID
	store dag.Store
	cache *caps.Cache

	mu      sync.RWMutex
	tokens  map[cid.Cid]*caps.Token
	order   []cid.Cid             // tokens as first held
	byAud   map[peer.ID][]cid.Cid // tokens by audience
	revs    []revRec              // every revocation held, by (height, node CID)
	counted map[cid.Cid][]revRec  // revocations that count, by revoked token
	gen     uint64                // bumped on every change of tokens or counted
	void    map[cid.Cid]bool      // Void verdicts at gen
	readers map[peer.ID]readVerdict
	shown   map[peer.ID][]*caps.Token // chains peers presented (capability exchange), leaf first
}

type readVerdict struct {
	err   error
	gen   uint64
	until time.Time
}

// readVerdictTTL bounds how long a read verdict is reused (expiry is the only
// change that does not bump gen).
const readVerdictTTL = 5 * time.Second

func newAccess(st dag.Store, space cid.Cid, owner, self peer.ID) (*access, error) {
	a := &access{space: space, owner: owner, self: self, store: st, cache: caps.NewCache(caps.DefaultCacheSize),
		tokens: map[cid.Cid]*caps.Token{}, byAud: map[peer.ID][]cid.Cid{}, counted: map[cid.Cid][]revRec{},
		void: map[cid.Cid]bool{}, readers: map[peer.ID]readVerdict{}, shown: map[peer.ID][]*caps.Token{}}
	for _, prefix := range []string{capKeyPrefix, revKeyPrefix} {
		keys, err := st.Keys(prefix, "", 0)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			hist, err := st.KeyHistory(k)
			if err != nil {
				return nil, err
			}
			for _, c := range hist {
				n, err := st.Get(c)
				if err != nil {
					return nil, err
				}
				a.note(n)
			}
		}
	}
	return a, nil
}

// note indexes the tokens and revocations node n carries (n is stored, or about to
// be). A distilled stand-in carries the folded state of the keys it was a head of,
// which for these set-once keys is the token or revocation itself. It reports
// whether the revocations that count changed.
func (a *access) note(n *dag.Node) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	revs := false
	for _, op := range n.Ops {
		switch {
		case strings.HasPrefix(op.Key, capKeyPrefix):
			t, err := tokenOf(op)
			if err != nil || a.tokens[t.CID()] != nil {
				continue
			}
			a.tokens[t.CID()] = t
			a.order = append(a.order, t.CID())
			a.byAud[t.Audience] = append(a.byAud[t.Audience], t.CID())
			a.gen++
			revs = revs || len(a.revs) > 0 // a revocation may count now that its target is known
		case strings.HasPrefix(op.Key, revKeyPrefix):
			r, err := revocationOf(op)
			if err != nil || slices.ContainsFunc(a.revs, func(x revRec) bool { return x.rev.CID().Equals(r.CID()) }) {
				continue
			}
			rec := revRec{rev: r, node: n.CID(), height: n.Height, clock: n.Clock.Wall, leaf: n.Cap}
			i, _ := slices.BinarySearchFunc(a.revs, rec, func(x, y revRec) int {
				return cmp.Or(cmp.Compare(x.height, y.height), strings.Compare(x.node.KeyString(), y.node.KeyString()))
			})
			a.revs = slices.Insert(a.revs, i, rec)
			revs = true
		}
	}
	if !revs {
		return false
	}
	return a.recount()
}

// recount decides which revocations count: in (height, node) order, a revocation
// counts if CheckRevocation accepts it given the ones counted before it (so a
// revoked admin's later revocations do not). a.mu is held.
func (a *access) recount() bool {
	counted := map[cid.Cid][]revRec{}
	revoked := func(c cid.Cid) bool { return len(counted[c]) > 0 }
	for _, r := range a.revs {
		// The revoker's chain is the one its node names; a distilled stand-in names
		// none, so any the revoker holds may show its right.
		leaves := []cid.Cid{r.leaf}
		if !r.leaf.Defined() {
			leaves = append(leaves, a.byAud[r.rev.Issuer]...)
		}
		for _, leaf := range leaves {
			in := caps.RevocationInput{Space: a.space, Owner: a.owner, Revocation: r.rev, Target: a.tokens[r.rev.Token],
				Now: r.clock, Leaf: leaf, Resolve: a.resolveHeld, Revoked: revoked}
			if err := caps.CheckRevocation(in); err == nil {
				counted[r.rev.Token] = append(counted[r.rev.Token], r)
				break
			}
		}
	}
	same := len(counted) == len(a.counted)
	for t, rs := range counted {
		same = same && len(a.counted[t]) == len(rs)
	}
	if same {
		return false
	}
	a.counted = counted
	a.gen++
	clear(a.void)
	clear(a.readers)
	return true
}

// resolveHeld returns a token held in the space. a.mu is held.
func (a *access) resolveHeld(c cid.Cid) (*caps.Token, error) {
	if t := a.tokens[c]; t != nil {
		return t, nil
	}
	return nil, fmt.Errorf("token %s is not held in the space", c)
}

// tokenInStore looks token c up in st: the node that wrote its key.
func tokenInStore(st dag.Store, c cid.Cid) (*caps.Token, error) {
	heads, err := st.KeyHeads(capKeyPrefix + c.String())
	if err != nil {
		return nil, err
	}
	for _, h := range heads {
		n, err := st.Get(h)
		if err != nil {
			return nil, err
		}
		if op, ok := n.Op(capKeyPrefix + c.String()); ok {
			return tokenOf(op)
		}
	}
	return nil, fmt.Errorf("token %s is not held in the space", c)
}

// chainOf returns the chain from leaf (leaf first) as far as resolve finds it.
func chainOf(leaf cid.Cid, resolve func(cid.Cid) (*caps.Token, error)) []cid.Cid {
	var out []cid.Cid
	for c := leaf; c.Defined() && len(out) <= caps.MaxDepth; {
		t, err := resolve(c)
		if err != nil {
			break
		}
		out = append(out, c)
		c = t.Proof
	}
	return out
}

// authorize is the Ingester's Authorize hook: may n's author write what n writes,
// given the store st holding n's causal past? Every peer decides the same from the
// same nodes: the tokens n names must be held (in st or in n itself), are checked at
// n's clock, and revocations count by the causal order of the DAG (see the package
// doc). A node using a revoked chain is refused when the revocation is in its
// causal past; when the two are concurrent, the node is stored but void (Void).
func (a *access) authorize(st dag.Store, n *dag.Node) error {
	resolve, carried, err := a.precheck(st, n)
	if err != nil {
		return err
	}
	if n.Author != a.owner {
		if err := a.revokedBefore(st, n, chainOf(n.Cap, resolve)); err != nil {
			return err
		}
	}
	if err := a.checkRevocations(n, resolve); err != nil {
		return err
	}
	if len(carried) > 0 || needNote(n) {
		a.note(n) // later nodes of the same batch may name what it carries
	}
	return nil
}

// needNote reports whether n carries a revocation.
func needNote(n *dag.Node) bool {
	return slices.ContainsFunc(n.Ops, func(op dag.Op) bool { return strings.HasPrefix(op.Key, revKeyPrefix) })
}

// precheck is what can be decided of n without its causal past (gossip's
// validator, and the first half of authorize): its reserved ops, and its author's
// chain at n's clock, without revocations. It returns the tokens n carries and a
// resolver of tokens in n and in st.
func (a *access) precheck(st dag.Store, n *dag.Node) (func(cid.Cid) (*caps.Token, error), map[cid.Cid]*caps.Token, error) {
	need, keys, carried, err := a.inspect(n)
	if err != nil {
		return nil, nil, err
	}
	resolve := a.resolver(st, carried)
	if n.Author == a.owner {
		return resolve, carried, nil
	}
	if !n.Cap.Defined() {
		return nil, nil, &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: fmt.Sprintf("author %s names no capability", short(n.Author))}
	}
	err = a.cache.Check(caps.CheckInput{Space: a.space, Owner: a.owner, Actor: n.Author, Need: need, Keys: keys,
		Now: n.Clock.Wall, Leaf: n.Cap, Resolve: resolve})
	return resolve, carried, err
}

// resolver looks tokens up in carried (a node's own), then in the space.
func (a *access) resolver(st dag.Store, carried map[cid.Cid]*caps.Token) func(cid.Cid) (*caps.Token, error) {
	return func(c cid.Cid) (*caps.Token, error) {
		if t := carried[c]; t != nil {
			return t, nil
		}
		a.mu.RLock()
		t := a.tokens[c]
		a.mu.RUnlock()
		if t != nil {
			return t, nil
		}
		return tokenInStore(st, c)
	}
}

// inspect returns the ability n needs, the application keys it writes, and the
// tokens it carries; or why its reserved ops are malformed.
func (a *access) inspect(n *dag.Node) (caps.Ability, []string, map[cid.Cid]*caps.Token, error) {
	need := caps.Read // publishing tokens and revocations: any member
	var keys []string
	var carried map[cid.Cid]*caps.Token
	for _, op := range n.Ops {
		switch {
		case strings.HasPrefix(op.Key, capKeyPrefix):
			t, err := tokenOf(op)
			if err != nil {
				return 0, nil, nil, &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: err.Error()}
			}
			if !t.Space.Equals(a.space) {
				return 0, nil, nil, &caps.Denied{Reason: caps.ReasonWrongSpace, Token: t.CID(), Detail: "a token of another space"}
			}
			if carried == nil {
				carried = map[cid.Cid]*caps.Token{}
			}
			carried[t.CID()] = t
		case strings.HasPrefix(op.Key, revKeyPrefix):
			r, err := revocationOf(op)
			if err != nil {
				return 0, nil, nil, &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: err.Error()}
			}
			if r.Issuer != n.Author {
				return 0, nil, nil, &caps.Denied{Reason: caps.ReasonWrongAudience, Token: r.Token,
					Detail: fmt.Sprintf("revocation %s is signed by %s, not by the node's author", r.CID(), short(r.Issuer))}
			}
		case dag.IsSysKey(op.Key):
			return 0, nil, nil, &caps.Denied{Reason: caps.ReasonPatternMismatch, Detail: fmt.Sprintf("%s is reserved", op.Key)}
		default:
			need = caps.Write
			keys = append(keys, op.Key)
		}
	}
	return need, keys, carried, nil
}

// checkRevocations refuses n if a revocation it carries does not count.
func (a *access) checkRevocations(n *dag.Node, resolve func(cid.Cid) (*caps.Token, error)) error {
	for _, op := range n.Ops {
		if !strings.HasPrefix(op.Key, revKeyPrefix) {
			continue
		}
		r, _ := revocationOf(op) // inspect checked it
		target, _ := resolve(r.Token)
		a.mu.RLock()
		counted := a.counted // recount replaces the map, never changes it
		a.mu.RUnlock()
		err := caps.CheckRevocation(caps.RevocationInput{Space: a.space, Owner: a.owner, Revocation: r, Target: target,
			Now: n.Clock.Wall, Leaf: n.Cap, Resolve: resolve, Revoked: func(c cid.Cid) bool { return len(counted[c]) > 0 }})
		if err != nil {
			return err
		}
	}
	return nil
}

// revokedBefore refuses n if a revocation that counts withdraws a token of its
// chain and is in n's causal past (n's parents are stored, n is not).
func (a *access) revokedBefore(st dag.Store, n *dag.Node, chain []cid.Cid) error {
	a.mu.RLock()
	var recs []revRec
	for _, c := range chain {
		recs = append(recs, a.counted[c]...)
	}
	a.mu.RUnlock()
	g := crdt.SpaceGraph(st)
	for _, r := range recs {
		for _, p := range n.Parents {
			ok, err := lca.IsAncestor(g, r.node, p)
			if err != nil {
				return err
			}
			if ok {
				return &caps.Denied{Reason: caps.ReasonRevoked, Token: r.rev.Token,
					Detail: fmt.Sprintf("revoked by %s, which the write builds on", r.rev.CID())}
			}
		}
	}
	return nil
}

// Void reports whether n is void: written under a chain that a counting revocation
// withdraws, and not before that revocation (n is not in its causal past). A void
// node stays in the DAG but writes nothing (crdt.Voider).
func (a *access) Void(n *dag.Node) (bool, error) {
	if n.Author == a.owner || !n.Cap.Defined() || n.IsDistilled() {
		return false, nil
	}
	a.mu.RLock()
	if len(a.counted) == 0 {
		a.mu.RUnlock()
		return false, nil
	}
	v, ok := a.void[n.CID()]
	gen := a.gen
	var recs []revRec
	if !ok {
		for _, c := range chainOf(n.Cap, a.resolveHeld) {
			recs = append(recs, a.counted[c]...)
		}
	}
	a.mu.RUnlock()
	if ok {
		return v, nil
	}
	g := crdt.SpaceGraph(a.store)
	for _, r := range recs {
		before, err := lca.IsAncestor(g, n.CID(), r.node)
		if err != nil {
			return false, err
		}
		if !before {
			v = true
			break
		}
	}
	a.mu.Lock()
	if a.gen == gen {
		a.void[n.CID()] = v
	}
	a.mu.Unlock()
	return v, nil
}

// revokedNow reports whether token c is withdrawn by a revocation that counts.
// a.mu is held.
func (a *access) revokedNow(c cid.Cid) bool { return len(a.counted[c]) > 0 }

// mayRead reports whether peer p may be served the space (nil) or why not: the
// owner may; anyone else needs a valid token of ability Read or more, held in the
// space or presented in the capability exchange. Key patterns limit writes only:
// the unit of replication is the node, which may carry any keys.
func (a *access) mayRead(p peer.ID, now time.Time) error {
	if p == a.owner {
		return nil
	}
	a.mu.RLock()
	v, ok := a.readers[p]
	if ok && v.gen == a.gen && now.Before(v.until) {
		a.mu.RUnlock()
		return v.err
	}
	gen := a.gen
	leaves := slices.Clone(a.byAud[p])
	shown := a.shown[p]
	a.mu.RUnlock()
	err := a.readCheck(p, now, leaves, shown)
	a.mu.Lock()
	if a.gen == gen {
		a.readers[p] = readVerdict{err: err, gen: gen, until: now.Add(readVerdictTTL)}
	}
	a.mu.Unlock()
	return err
}

func (a *access) readCheck(p peer.ID, now time.Time, leaves []cid.Cid, shown []*caps.Token) error {
	revoked := func(c cid.Cid) bool {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.revokedNow(c)
	}
	resolve := func(c cid.Cid) (*caps.Token, error) {
		a.mu.RLock()
		t := a.tokens[c]
		a.mu.RUnlock()
		if t != nil {
			return t, nil
		}
		for _, t := range shown {
			if t.CID().Equals(c) {
				return t, nil
			}
		}
		return nil, fmt.Errorf("token %s is not held in the space", c)
	}
	if len(shown) > 0 {
		leaves = append(leaves, shown[0].CID())
	}
	var last error = &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: fmt.Sprintf("peer %s holds no capability for the space", short(p))}
	for _, leaf := range leaves {
		err := a.cache.Check(caps.CheckInput{Space: a.space, Owner: a.owner, Actor: p, Need: caps.Read,
			Now: now.UnixNano(), Leaf: leaf, Resolve: resolve, Revoked: revoked})
		if err == nil {
			return nil
		}
		last = err
	}
	return last
}

// present records a chain peer p presented for the space (leaf first); it is used
// to decide reads (mayRead), never writes. It returns the verdict on it.
func (a *access) present(p peer.ID, chain []*caps.Token, now time.Time) error {
	if len(chain) == 0 {
		return &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: "no token presented"}
	}
	if err := a.readCheck(p, now, nil, chain); err != nil {
		return err
	}
	a.mu.Lock()
	a.shown[p] = chain
	delete(a.readers, p)
	a.mu.Unlock()
	return nil
}

// leafFor returns the leaf of a valid chain held in the space that lets actor use
// need on keys (or cover scope) now; or the most telling refusal.
func (a *access) leafFor(actor peer.ID, need caps.Ability, keys, scope []string, now time.Time) (cid.Cid, error) {
	if actor == a.owner {
		return cid.Undef, nil
	}
	a.mu.RLock()
	leaves := slices.Clone(a.byAud[actor])
	a.mu.RUnlock()
	var last error = &caps.Denied{Reason: caps.ReasonBrokenChain, Detail: fmt.Sprintf("peer %s holds no capability for the space", short(actor))}
	for i := len(leaves) - 1; i >= 0; i-- { // the newest first
		err := a.cache.Check(caps.CheckInput{Space: a.space, Owner: a.owner, Actor: actor, Need: need, Keys: keys, Scope: scope,
			Now: now.UnixNano(), Leaf: leaves[i], Resolve: a.resolve, Revoked: a.revoked})
		if err == nil {
			return leaves[i], nil
		}
		last = err
	}
	return cid.Undef, last
}

func (a *access) resolve(c cid.Cid) (*caps.Token, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.resolveHeld(c)
}

func (a *access) revoked(c cid.Cid) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.revokedNow(c)
}

// short abbreviates a peer ID for messages.
func short(p peer.ID) string {
	s := p.String()
	if len(s) > 16 {
		return s[:6] + "…" + s[len(s)-6:]
	}
	return s
}

// denials counts the nodes from peers that access control refused, by reason, and
// those it stored void (AccessStats).
type denials struct {
	mu       sync.Mutex
	rejected map[caps.Reason]int64
	voided   int64
}

func (d *denials) add(r caps.Reason, void bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if void {
		d.voided++
		return
	}
	if d.rejected == nil {
		d.rejected = map[caps.Reason]int64{}
	}
	d.rejected[r]++
}

// reasonOf names why the Ingester rejected a node: a capability reason, or
// "invalid" for any other rule.
func reasonOf(err error) caps.Reason {
	var d *caps.Denied
	if errors.As(err, &d) {
		return d.Reason
	}
	return "invalid"
}

// AccessStats are the nodes from peers that access control refused since Open.
type AccessStats struct {
	// Rejected counts refused nodes by reason: a caps.Reason, or "invalid" for a
	// node that broke another rule (format, signature, space).
	Rejected map[caps.Reason]int64
	// Voided counts nodes stored without effect: written concurrently with a
	// revocation of their capability.
	Voided int64
}

// AccessStats returns the counts of refused and voided nodes.
func (n *Node) AccessStats() AccessStats {
	n.denials.mu.Lock()
	defer n.denials.mu.Unlock()
	st := AccessStats{Rejected: map[caps.Reason]int64{}, Voided: n.denials.voided}
	for r, c := range n.denials.rejected {
		st.Rejected[r] = c
	}
	return st
}
