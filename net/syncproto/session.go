package syncproto

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/dag"
)

// byeTimeout bounds how long a responder waits for the initiator's bye after done.
const byeTimeout = 5 * time.Second

// session is one run of the protocol on one stream, either role. Its methods run on
// one goroutine; a reader goroutine reads and decodes the next message meanwhile, so
// that a batch of nodes is ingested while the next one arrives and, when the replica
// is a Preparer, is checked.
type session struct {
	svc       *Service
	rep       Replica
	space     cid.Cid
	peer      peer.ID
	initiator bool
	p         Params

	st         network.Stream
	c          *conn
	in         chan inbound
	quit       chan struct{}
	readerDone chan struct{}

	set           *Set
	theirs        *helloMsg
	peerDistilled bool // the peer's items may miss nodes it Has: offer rather than push

	sendQ   []cid.Cid // nodes to send next turn: our pushes and the peer's wants
	offerQ  []cid.Cid // nodes to offer next turn (a distilled peer filters them)
	wantQ   []cid.Cid // nodes to ask for next turn
	sent    map[cid.Cid]struct{}
	offered map[cid.Cid]struct{}
	wanted  map[cid.Cid]struct{}
	missing map[cid.Cid]struct{} // dependencies the replica reported missing

	// snapshot being received
	snapRoot   cid.Cid
	snapBlocks map[cid.Cid][]byte
	snapBytes  int64

	res       Result
	announced int  // nodes the peer announced it sends us, this session
	turnStart bool // the next blocks message is the first of the peer's turn
}

func (s *Service) newSession(rep Replica, p peer.ID, initiator bool) *session {
	return &session{
		svc: s, rep: rep, space: rep.Space(), peer: p, initiator: initiator, p: s.opts.Params,
		sent: map[cid.Cid]struct{}{}, offered: map[cid.Cid]struct{}{},
		wanted: map[cid.Cid]struct{}{}, missing: map[cid.Cid]struct{}{},
		res: Result{Peer: p, Space: rep.Space()},
	}
}

func (ss *session) attach(st network.Stream) { ss.attachConn(st, newConn(st)) }

// attachConn starts the reader on st, read through c.
func (ss *session) attachConn(st network.Stream, c *conn) {
	ss.st, ss.c = st, c
	ss.in = make(chan inbound, 1)
	ss.quit = make(chan struct{})
	ss.readerDone = make(chan struct{})
	prep, _ := ss.rep.(Preparer)
	go func() {
		defer close(ss.readerDone)
		for {
			m := c.read()
			if b, ok := m.v.(*blocksMsg); ok && m.err == nil && prep != nil {
				m.prepared = prep.Prepare(ss.peer, b.Blocks)
			}
			select {
			case ss.in <- m:
			case <-ss.quit:
				return
			}
			if m.err != nil {
				return
			}
		}
	}()
}

// detach closes the stream, or resets it if the session did not end cleanly, and
// waits for the reader.
func (ss *session) detach(clean bool) {
	if ss.st == nil {
		return
	}
	close(ss.quit)
	if !clean || ss.st.Close() != nil {
		_ = ss.st.Reset()
	}
	<-ss.readerDone
}

// finish fills in the result's totals.
func (ss *session) finish(start time.Time) Result {
	r := ss.res
	if ss.c != nil {
		r.BytesSent, r.BytesReceived = ss.c.sent, ss.c.recv
	}
	r.Behind = max(ss.announced, r.NodesReceived)
	r.Ahead = r.NodesSent
	r.Duration = ss.svc.opts.Now().Sub(start)
	return r
}

func (ss *session) next() inbound {
	m := <-ss.in
	return m
}

func (ss *session) send(t msgType, body any) error { return ss.c.send(t, body) }

// loadSet prepares the replica's items.
func (ss *session) loadSet() error {
	items, err := ss.rep.Items()
	if err != nil {
		return fmt.Errorf("items: %w", err)
	}
	ss.set = ss.svc.setFor(ss.space, items)
	return nil
}

// hello describes our replica; theirs is the initiator's hello when we respond.
func (ss *session) hello(theirs *helloMsg) (*helloMsg, error) {
	if err := ss.loadSet(); err != nil {
		return nil, err
	}
	heads, err := ss.rep.Heads()
	if err != nil {
		return nil, fmt.Errorf("heads: %w", err)
	}
	h := &helloMsg{V: ProtocolVersion, Space: linkOf(ss.space), Heads: toLinks(dag.SortCIDs(heads)), Count: uint64(ss.set.Len())}
	root, cut, err := ss.rep.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if root.Defined() {
		l := linkOf(root)
		h.Snap, h.Cut, h.CutServed = &l, toLinks(dag.SortCIDs(cut)), true
		for _, c := range cut {
			if _, err := ss.rep.Block(c); err != nil {
				h.CutServed = false
				break
			}
		}
	}
	if theirs != nil {
		if h.NeedSnap, err = ss.needSnapshot(theirs, root); err != nil {
			return nil, err
		}
		if h.NeedSnap {
			ss.snapRoot = theirs.Snap.Cid
		}
	}
	if len(h.Heads) > MaxHeads || len(h.Cut) > MaxHeads {
		return nil, fmt.Errorf("more than %d heads", MaxHeads)
	}
	return h, nil
}

// needSnapshot reports whether we must start from the peer's snapshot: it has one
// whose cut it cannot serve whole, and we lack part of the cut.
func (ss *session) needSnapshot(theirs *helloMsg, ours cid.Cid) (bool, error) {
	if theirs.Snap == nil || theirs.CutServed || theirs.Snap.Cid.Equals(ours) {
		return false, nil
	}
	if t, ok := ss.rep.(SnapshotTruster); ok && !t.TrustSnapshot(ss.peer) {
		return false, nil
	}
	for _, l := range theirs.Cut {
		ok, err := ss.rep.Has(l.Cid)
		if err != nil {
			return false, fmt.Errorf("has: %w", err)
		}
		if !ok {
			return true, nil
		}
	}
	return false, nil
}

func (ss *session) checkHello(h *helloMsg) error {
	if h.V != ProtocolVersion {
		return violationf("hello of version %d, want %d", h.V, ProtocolVersion)
	}
	if !h.Space.Equals(ss.space) {
		return violationf("hello for space %s, want %s", h.Space.Cid, ss.space)
	}
	ss.theirs = h
	ss.peerDistilled = h.Snap != nil
	return nil
}

func (ss *session) runInitiator() error {
	ours, err := ss.hello(nil)
	if err != nil {
		return err
	}
	if err := ss.send(msgHello, ours); err != nil {
		return err
	}
	if err := ss.c.flush(); err != nil {
		return err
	}
	m := ss.next()
	if m.err != nil {
		return m.err
	}
	ss.res.RoundTrips++
	switch m.t {
	case msgRefuse:
		r := m.v.(*refuseMsg)
		return &RefusedError{Code: r.Code, Reason: r.Reason}
	case msgHello:
	default:
		return violationf("answer to hello is %s", m.t)
	}
	theirs := m.v.(*helloMsg)
	if err := ss.checkHello(theirs); err != nil {
		return err
	}
	if sameLinks(ours.Heads, theirs.Heads) {
		ss.res.InSync = true
		return nil
	}
	if theirs.NeedSnap {
		if ours.Snap == nil {
			return violationf("peer asks for a snapshot we do not have")
		}
		if err := ss.sendSnapshot(ours.Snap.Cid); err != nil {
			return err
		}
		ss.peerDistilled = true
	}
	need, err := ss.needSnapshot(theirs, linkOrUndef(ours.Snap))
	if err != nil {
		return err
	}
	if need {
		ss.snapRoot = theirs.Snap.Cid
		if err := ss.send(msgSnapGet, &snapGetMsg{Root: *theirs.Snap}); err != nil {
			return err
		}
		if err := ss.c.flush(); err != nil {
			return err
		}
		m, err := ss.readTurn()
		if err != nil {
			return err
		}
		ss.res.RoundTrips++
		if m.t != msgSnapBlocks {
			return violationf("answer to snapget is %s", m.t)
		}
		ss.res.Snapshot = true
	}
	out := ss.set.Initial(ss.p)
	for {
		if len(out) == 0 {
			if err := ss.wantMissing(); err != nil {
				return err
			}
		}
		if err := ss.writeTurn(out); err != nil {
			return err
		}
		m, err := ss.readTurn()
		if err != nil {
			return err
		}
		ss.res.RoundTrips++
		switch m.t {
		case msgDone:
			heads, err := ss.rep.Heads()
			if err != nil {
				return fmt.Errorf("heads: %w", err)
			}
			mine := toLinks(dag.SortCIDs(heads))
			ss.res.InSync = sameLinks(mine, m.v.(*headsMsg).Heads)
			if err := ss.send(msgBye, &headsMsg{Heads: mine}); err != nil {
				return err
			}
			return ss.c.flush()
		case msgRecon:
			if ss.res.RoundTrips >= ss.svc.opts.MaxRounds {
				return ErrTooManyRounds
			}
			if out, err = ss.process(m.v.(*reconIn)); err != nil {
				return err
			}
		default:
			return violationf("unexpected %s from responder", m.t)
		}
	}
}

func (ss *session) runResponder(theirs *helloMsg) error {
	if err := ss.checkHello(theirs); err != nil {
		return err
	}
	ours, err := ss.hello(theirs)
	if err != nil {
		return err
	}
	if err := ss.send(msgHello, ours); err != nil {
		return err
	}
	if err := ss.c.flush(); err != nil {
		return err
	}
	if sameLinks(ours.Heads, theirs.Heads) {
		ss.res.InSync = true
		return nil
	}
	for {
		m, err := ss.readTurn()
		if err != nil {
			return err
		}
		ss.res.RoundTrips++
		if ss.res.RoundTrips > ss.svc.opts.MaxRounds {
			return ErrTooManyRounds
		}
		switch m.t {
		case msgSnapGet:
			if ours.Snap == nil || !ours.Snap.Equals(m.v.(*snapGetMsg).Root.Cid) {
				return violationf("snapget for a snapshot we did not offer")
			}
			if err := ss.sendSnapshot(ours.Snap.Cid); err != nil {
				return err
			}
			if err := ss.c.flush(); err != nil {
				return err
			}
			continue
		case msgRecon:
		default:
			return violationf("unexpected %s from initiator", m.t)
		}
		r := m.v.(*reconIn)
		out, err := ss.process(r)
		if err != nil {
			return err
		}
		if len(out) == 0 {
			if err := ss.wantMissing(); err != nil {
				return err
			}
		}
		if len(out) > 0 || len(ss.wantQ) > 0 || len(ss.offerQ) > 0 || r.More {
			if err := ss.writeTurn(out); err != nil {
				return err
			}
			continue
		}
		// Nothing left on either side: send what was asked for, then done.
		if err := ss.sendBlocks(); err != nil {
			return err
		}
		heads, err := ss.rep.Heads()
		if err != nil {
			return fmt.Errorf("heads: %w", err)
		}
		mine := toLinks(dag.SortCIDs(heads))
		if err := ss.send(msgDone, &headsMsg{Heads: mine}); err != nil {
			return err
		}
		if err := ss.c.flush(); err != nil {
			return err
		}
		_ = ss.st.SetReadDeadline(time.Now().Add(byeTimeout))
		m = ss.next()
		if m.err == nil && m.t != msgBye {
			m.err = violationf("unexpected %s after done", m.t)
		}
		if m.err != nil {
			return m.err
		}
		ss.res.InSync = sameLinks(mine, m.v.(*headsMsg).Heads)
		return nil
	}
}

// readTurn reads the peer's turn: blocks (ingested as they come) and snapshot blocks,
// up to the message that ends it, which it returns.
func (ss *session) readTurn() (inbound, error) {
	ss.turnStart = true
	for {
		m := ss.next()
		if m.err != nil {
			return m, m.err
		}
		switch m.t {
		case msgBlocks:
			if err := ss.ingest(m.v.(*blocksMsg), m.prepared); err != nil {
				return m, err
			}
		case msgSnapBlocks:
			end, err := ss.receiveSnapshot(m.v.(*snapBlocksMsg))
			if err != nil || (end && ss.initiator) { // the answer to our snapget
				return m, err
			}
		default:
			return m, nil
		}
	}
}

// ingest hands a batch to the replica, checked already if prepared is not nil.
func (ss *session) ingest(m *blocksMsg, prepared any) error {
	if ss.turnStart {
		ss.announced += len(m.Blocks) + int(m.Left)
		ss.turnStart = false
	}
	var r IngestResult
	var err error
	if prep, ok := ss.rep.(Preparer); ok && prepared != nil {
		r, err = prep.IngestPrepared(ss.peer, prepared)
	} else {
		r, err = ss.rep.Ingest(ss.peer, m.Blocks)
	}
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	ss.res.NodesReceived += len(m.Blocks)
	ss.res.Applied += r.Applied
	ss.res.Rejected += r.Rejected
	for _, c := range r.Missing {
		ss.missing[c] = struct{}{}
	}
	if pr := ss.svc.opts.Progress; pr != nil {
		pr(ss.peer, ss.space, ss.res.NodesReceived, max(ss.announced, ss.res.NodesReceived))
	}
	if r.Rejected > 0 {
		pts := min(PenaltyRejected*float64(r.Rejected), PenaltyViolation)
		if ss.svc.penalize(ss.peer, pts, fmt.Sprintf("%d invalid nodes", r.Rejected)) {
			return fmt.Errorf("%w: it sent %d invalid nodes", ErrBanned, ss.res.Rejected)
		}
	}
	return nil
}

// process handles a recon message: the peer's wants and offers, and its ranges
// against our set. It returns our ranges for the reply.
func (ss *session) process(r *reconIn) ([]Range, error) {
	ss.sendQ = append(ss.sendQ, r.Want...)
	for _, c := range r.Offer {
		if err := ss.want(c); err != nil {
			return nil, err
		}
	}
	o, err := ss.set.Reconcile(r.Ranges, ss.p)
	if err != nil {
		return nil, &violation{err}
	}
	for _, it := range o.Have {
		if ss.peerDistilled {
			if _, ok := ss.offered[it.CID]; !ok {
				ss.offered[it.CID] = struct{}{}
				ss.offerQ = append(ss.offerQ, it.CID)
			}
		} else {
			ss.sendQ = append(ss.sendQ, it.CID)
		}
	}
	for _, c := range o.Need {
		if err := ss.want(c); err != nil {
			return nil, err
		}
	}
	return o.Ranges, nil
}

// want queues c to ask for, unless we have it or asked already.
func (ss *session) want(c cid.Cid) error {
	if _, ok := ss.wanted[c]; ok {
		return nil
	}
	ok, err := ss.rep.Has(c)
	if err != nil {
		return fmt.Errorf("has: %w", err)
	}
	if !ok {
		ss.wanted[c] = struct{}{}
		ss.wantQ = append(ss.wantQ, c)
	}
	return nil
}

// wantMissing asks for the dependencies the replica still lacks: once reconciliation
// is over, they are what the peer holds outside its items (or nothing it can serve).
func (ss *session) wantMissing() error {
	cs := make([]cid.Cid, 0, len(ss.missing))
	for c := range ss.missing {
		cs = append(cs, c)
	}
	clear(ss.missing)
	for _, c := range dag.SortCIDs(cs) {
		if err := ss.want(c); err != nil {
			return err
		}
	}
	return nil
}

// writeTurn sends our turn: the queued nodes, then a recon message with out, wants
// and offers (at most MaxIDs of each; more says there are more to come).
func (ss *session) writeTurn(out []Range) error {
	if err := ss.sendBlocks(); err != nil {
		return err
	}
	want := take(&ss.wantQ, MaxIDs)
	offer := take(&ss.offerQ, MaxIDs)
	m := &reconMsg{Ranges: rangesToWire(out), Want: toLinks(want), Offer: toLinks(offer), More: len(ss.wantQ)+len(ss.offerQ) > 0}
	if err := ss.send(msgRecon, m); err != nil {
		return err
	}
	return ss.c.flush()
}

func take(q *[]cid.Cid, n int) []cid.Cid {
	k := min(n, len(*q))
	out := (*q)[:k:k]
	*q = (*q)[k:]
	return out
}

// sendBlocks sends the queued nodes we hold, once each, in (Height, CID) order so
// that parents precede children, in batches of BatchBytes and BatchNodes.
func (ss *session) sendBlocks() error {
	q := ss.sendQ
	ss.sendQ = nil
	items := make([]Item, 0, len(q))
	for _, c := range q {
		if _, ok := ss.sent[c]; ok {
			continue
		}
		ss.sent[c] = struct{}{}
		it, ok := ss.set.Lookup(c)
		if !ok {
			it = Item{Height: math.MaxUint64, CID: c} // not among our items: last
		}
		items = append(items, it)
	}
	slices.SortFunc(items, CompareItems)
	opts := &ss.svc.opts
	var batch [][]byte
	size := 0
	flush := func(left int) error {
		if len(batch) == 0 {
			return nil
		}
		if err := ss.send(msgBlocks, &blocksMsg{Blocks: batch, Left: uint64(left)}); err != nil {
			return err
		}
		ss.res.NodesSent += len(batch)
		batch, size = nil, 0
		return nil
	}
	for i, it := range items {
		b, err := ss.rep.Block(it.CID)
		if errors.Is(err, dag.ErrNotFound) {
			continue // distilled or never held: the peer does without
		}
		if err != nil {
			return fmt.Errorf("block %s: %w", it.CID, err)
		}
		if len(b) > MaxMessageSize-64 {
			ss.svc.opts.Warn("sync: node too large to send", "cid", it.CID, "bytes", len(b))
			continue
		}
		if len(batch) > 0 && (size+len(b) > opts.BatchBytes || len(batch) >= opts.BatchNodes) {
			if err := flush(len(items) - i); err != nil {
				return err
			}
		}
		batch = append(batch, b)
		size += len(b)
	}
	return flush(0)
}

func sameLinks(a, b []linkT) bool {
	return slices.EqualFunc(a, b, func(x, y linkT) bool { return x.Equals(y.Cid) })
}

func linkOrUndef(l *linkT) cid.Cid {
	if l == nil {
		return cid.Undef
	}
	return l.Cid
}
