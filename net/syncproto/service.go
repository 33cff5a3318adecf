package syncproto

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// Service runs the sync protocol on a host: it serves the registered replicas to
// peers and starts sessions with them (Sync). Safe for concurrent use.
type Service struct {
	h    host.Host
	opts Options

	ctx     context.Context // canceled by Close; every session derives from it
	cancel  context.CancelFunc
	wg      sync.WaitGroup // sessions and handlers
	inbound chan struct{}  // semaphore of inbound sessions

	mu       sync.Mutex
	closed   bool
	replicas map[cid.Cid]Replica
	sets     map[cid.Cid]*Set // last Set prepared per space, reused while Items is unchanged
	calls    map[sessionKey]*call
	serving  map[sessionKey]chan struct{} // inbound sessions running; closed when they end
	peers    map[peer.ID]*peerState
}

type sessionKey struct {
	p     peer.ID
	space cid.Cid
}

// call is one outbound session that concurrent Sync calls share.
type call struct {
	done    chan struct{}
	res     Result
	err     error
	waiters int
	cancel  context.CancelFunc
}

// An inbound peer must send its hello within helloTimeout (or the session timeout
// if shorter), in at most maxHelloSize bytes.
const (
	helloTimeout = 10 * time.Second
	maxHelloSize = 1 << 20
	// busyWait bounds how long an inbound session waits for the previous one of the
	// same peer and space to end.
	busyWait = 5 * time.Second
)

// maxPeers bounds the per-peer state kept; the least recently seen peers that are
// not refused are forgotten first.
const maxPeers = 4096

type peerState struct {
	limiter     *rate.Limiter
	score       float64
	scoreAt     time.Time
	bannedUntil time.Time
	lastSeen    time.Time
	spaces      map[cid.Cid]*SpaceStatus
}

// Result is the outcome of one session.
type Result struct {
	Peer  peer.ID
	Space cid.Cid
	// RoundTrips: for the initiator, the answers it waited for, hello included; for
	// the responder, the initiator's turns it answered after the hello.
	RoundTrips int
	// Bytes and nodes that crossed the stream, both directions, framing included.
	BytesSent, BytesReceived int64
	NodesSent, NodesReceived int
	Applied                  int  // nodes received that the replica stored
	Rejected                 int  // nodes received that the replica rejected
	Behind                   int  // nodes the peer had that we lacked (announced or received)
	Ahead                    int  // nodes we had that the peer lacked (sent)
	Snapshot                 bool // we started from the peer's snapshot
	InSync                   bool // both sides' heads were equal at the end
	Duration                 time.Duration
}

// PeerStatus is what the service knows of one peer.
type PeerStatus struct {
	Peer        peer.ID
	Score       float64   // misbehaviour score now (decayed)
	BannedUntil time.Time // zero unless refused for misbehaviour
	Spaces      []SpaceStatus
}

// SpaceStatus is the sync state of one space with one peer.
type SpaceStatus struct {
	Space     cid.Cid
	LastSync  time.Time // end of the last session, either direction
	LastError string    // "" if the last session succeeded
	InSync    bool      // heads were equal at the end of the last session
	Behind    int       // nodes the peer had that we lacked at the last reconciliation
	Ahead     int       // nodes we had that the peer lacked at the last reconciliation
	Sessions  int
	// Totals over every session.
	BytesSent, BytesReceived int64
	NodesSent, NodesReceived int64
	NodesApplied             int64 // received nodes the replica stored
	NodesRejected            int64 // received nodes the replica found invalid
	RoundTrips               int64 // of the sessions we initiated
}

// New returns a Service on h and registers its stream handler. opts may be nil.
func New(h host.Host, opts *Options) *Service {
	o := opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		h: h, opts: o, ctx: ctx, cancel: cancel,
		inbound:  make(chan struct{}, o.MaxInbound),
		replicas: map[cid.Cid]Replica{},
		sets:     map[cid.Cid]*Set{},
		calls:    map[sessionKey]*call{},
		serving:  map[sessionKey]chan struct{}{},
		peers:    map[peer.ID]*peerState{},
	}
	h.SetStreamHandler(ProtocolID, s.handle)
	return s
}

// Close removes the stream handler, ends every session and waits for them.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.h.RemoveStreamHandler(ProtocolID)
	s.cancel()
	s.wg.Wait()
}

// Register serves r (replacing a replica of the same space). Sessions already
// running keep the replica they started with.
func (s *Service) Register(r Replica) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := r.Space()
	s.replicas[sp] = r
	delete(s.sets, sp)
}

// Unregister stops serving space.
func (s *Service) Unregister(space cid.Cid) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.replicas, space)
	delete(s.sets, space)
}

// Sync runs one session with p on space, initiated by us: afterwards both sides hold
// the union of their nodes (we fetch what we lack and push what they lack). Calls for
// the same peer and space while one runs share its session and result; the session
// ends early only when every caller's ctx is done.
func (s *Service) Sync(ctx context.Context, p peer.ID, space cid.Cid) (Result, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Result{}, ErrClosed
	}
	rep := s.replicas[space]
	if rep == nil {
		s.mu.Unlock()
		return Result{}, fmt.Errorf("sync %s with %s: %w", space, p, ErrUnknownSpace)
	}
	if until := s.bannedLocked(p); !until.IsZero() {
		s.mu.Unlock()
		return Result{}, fmt.Errorf("sync %s with %s: %w until %s", space, p, ErrBanned, until.Format(time.RFC3339))
	}
	key := sessionKey{p, space}
	c := s.calls[key]
	if c == nil {
		sctx, cancel := context.WithCancel(s.ctx)
		c = &call{done: make(chan struct{}), cancel: cancel}
		s.calls[key] = c
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.res, c.err = s.initiate(sctx, p, rep)
			cancel()
			s.mu.Lock()
			if s.calls[key] == c {
				delete(s.calls, key)
			}
			s.mu.Unlock()
			close(c.done)
		}()
	}
	c.waiters++
	s.mu.Unlock()

	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		s.mu.Lock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			if s.calls[key] == c {
				delete(s.calls, key) // a new Sync starts afresh
			}
		}
		s.mu.Unlock()
		return Result{}, ctx.Err()
	}
}

// initiate opens a stream to p and runs a session as initiator.
func (s *Service) initiate(ctx context.Context, p peer.ID, rep Replica) (res Result, err error) {
	start := s.opts.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.SessionTimeout)
	defer cancel()
	ss := s.newSession(rep, p, true)
	defer func() {
		res = ss.finish(start)
		if ctx.Err() != nil && err != nil && !errors.Is(err, ErrProtocol) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		if err != nil {
			err = fmt.Errorf("sync %s with %s: %w", rep.Space(), p, err)
		}
		s.record(p, rep.Space(), res, err)
	}()
	st, err := s.h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return res, err
	}
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(d)
	}
	ss.attach(st)
	err = s.blame(p, ss.runInitiator())
	ss.detach(err == nil)
	return res, err
}

// handle serves one inbound stream.
func (s *Service) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	if until := s.bannedLocked(p); !until.IsZero() {
		s.mu.Unlock()
		_ = st.Reset()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	select {
	case s.inbound <- struct{}{}:
		defer func() { <-s.inbound }()
	default:
		_ = st.Reset()
		return
	}
	stop := context.AfterFunc(s.ctx, func() { _ = st.Reset() })
	defer stop()
	start := s.opts.Now()
	deadline := time.Now().Add(s.opts.SessionTimeout)
	_ = st.SetDeadline(time.Now().Add(min(s.opts.SessionTimeout, helloTimeout)))

	c := newConn(st)
	c.max = maxHelloSize
	m := c.read()
	c.max = 0
	_ = st.SetDeadline(deadline)
	if m.err == nil && m.t != msgHello {
		m.err = violationf("first message is %s, want hello", m.t)
	}
	if m.err != nil {
		if err := s.blame(p, m.err); errors.Is(err, ErrProtocol) {
			s.opts.Warn("sync: bad hello from peer", "peer", p, "err", err)
		}
		_ = st.Reset()
		return
	}
	hello := m.v.(*helloMsg)
	refuse := func(code, reason string) {
		if c.send(msgRefuse, &refuseMsg{Code: code, Reason: reason}) == nil && c.flush() == nil {
			_ = st.Close()
			return
		}
		_ = st.Reset()
	}
	if hello.V != ProtocolVersion {
		refuse(RefuseVersion, fmt.Sprintf("this peer speaks version %d", ProtocolVersion))
		return
	}
	space := hello.Space.Cid
	s.mu.Lock()
	rep := s.replicas[space]
	limited := !s.peerLocked(p).limiter.AllowN(s.opts.Now(), 1)
	// Both peers may start a session of the same space at once (each heard the
	// other's heads): one session moves everything both ways, so the peer with
	// the smaller ID keeps its own and refuses the other's.
	_, crossing := s.calls[sessionKey{p, space}]
	crossing = crossing && s.h.ID() < p
	s.mu.Unlock()
	switch {
	case rep == nil:
		refuse(RefuseUnknownSpace, "")
		return
	case limited:
		refuse(RefuseRateLimited, "")
		return
	case crossing:
		refuse(RefuseBusy, "a session of this space with you runs the other way")
		return
	}
	release, ok := s.claim(sessionKey{p, space})
	if !ok {
		refuse(RefuseBusy, "")
		return
	}
	defer release()
	if s.opts.Authorize != nil {
		if err := s.opts.Authorize(p, space); err != nil {
			refuse(RefuseForbidden, err.Error())
			return
		}
	}
	ss := s.newSession(rep, p, false)
	ss.attachConn(st, c)
	err := s.blame(p, ss.runResponder(hello))
	ss.detach(err == nil)
	res := ss.finish(start)
	if err != nil {
		err = fmt.Errorf("serve sync %s to %s: %w", space, p, err)
		s.opts.Warn("sync: inbound session failed", "peer", p, "space", space, "err", err)
	}
	s.record(p, space, res, err)
}

// claim makes the caller the one inbound session for key, waiting up to busyWait for
// a running one to end (the initiator of the last one may already be starting the
// next). release ends the claim.
func (s *Service) claim(key sessionKey) (release func(), ok bool) {
	timer := time.NewTimer(busyWait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		running, busy := s.serving[key]
		if !busy {
			ch := make(chan struct{})
			s.serving[key] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.serving, key)
				s.mu.Unlock()
				close(ch)
			}, true
		}
		s.mu.Unlock()
		select {
		case <-running:
		case <-timer.C:
			return nil, false
		case <-s.ctx.Done():
			return nil, false
		}
	}
}

// blame scores p down for a protocol violation in err and returns err, wrapped in
// ErrBanned if that crossed the threshold.
func (s *Service) blame(p peer.ID, err error) error {
	if err == nil || !errors.Is(err, ErrProtocol) {
		return err
	}
	if s.penalize(p, PenaltyViolation, err.Error()) {
		return fmt.Errorf("%w: %w", ErrBanned, err)
	}
	return err
}

// Penalize adds points to p's misbehaviour score, as a rejected node in a session
// would (see Options), for what p did elsewhere — a node it gossiped that the
// replica refused, say — and reports whether p is now refused.
func (s *Service) Penalize(p peer.ID, points float64, why string) bool {
	return s.penalize(p, points, why)
}

// penalize adds points to p's score and reports whether p is now refused.
func (s *Service) penalize(p peer.ID, points float64, why string) bool {
	until, banned, now := s.score(p, points, why)
	if now && s.opts.OnBan != nil {
		s.opts.OnBan(p, until, why)
	}
	return banned
}

// score adds points to p's score. It reports whether p is refused, until when, and
// whether these points started the ban.
func (s *Service) score(p peer.ID, points float64, why string) (until time.Time, banned, started bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	ps := s.peerLocked(p)
	if now.Before(ps.bannedUntil) {
		return ps.bannedUntil, true, false
	}
	ps.score = ps.scoreNow(now, s.opts.ScoreHalfLife) + points
	ps.scoreAt = now
	// Within 0.1% of the threshold counts, so that the decay over the moments between
	// quick penalties does not spare a peer one of them.
	if ps.score < s.opts.BanThreshold*(1-1e-3) {
		return time.Time{}, false, false
	}
	ps.bannedUntil = now.Add(s.opts.BanDuration)
	ps.score = 0
	s.opts.Warn("sync: refusing peer for misbehaviour", "peer", p, "until", ps.bannedUntil, "reason", why)
	return ps.bannedUntil, true, true
}

func (ps *peerState) scoreNow(now time.Time, halfLife time.Duration) float64 {
	if ps.score == 0 {
		return 0
	}
	dt := now.Sub(ps.scoreAt)
	if dt <= 0 {
		return ps.score
	}
	return ps.score * math.Exp2(-float64(dt)/float64(halfLife))
}

// bannedLocked returns the end of p's cooling-off period, or zero.
func (s *Service) bannedLocked(p peer.ID) time.Time {
	ps := s.peers[p]
	if ps == nil || !s.opts.Now().Before(ps.bannedUntil) {
		return time.Time{}
	}
	return ps.bannedUntil
}

// peerLocked returns p's state, creating it (and forgetting an old peer if there
// are too many).
func (s *Service) peerLocked(p peer.ID) *peerState {
	now := s.opts.Now()
	if ps := s.peers[p]; ps != nil {
		ps.lastSeen = now
		return ps
	}
	if len(s.peers) >= maxPeers {
		var oldest peer.ID
		var at time.Time
		for id, ps := range s.peers {
			if now.Before(ps.bannedUntil) {
				continue
			}
			if oldest == "" || ps.lastSeen.Before(at) {
				oldest, at = id, ps.lastSeen
			}
		}
		delete(s.peers, oldest)
	}
	lim := rate.Limit(s.opts.InboundRate)
	if s.opts.InboundRate < 0 {
		lim = rate.Inf
	}
	ps := &peerState{limiter: rate.NewLimiter(lim, s.opts.InboundBurst), lastSeen: now, spaces: map[cid.Cid]*SpaceStatus{}}
	s.peers[p] = ps
	return ps
}

// record adds a session's outcome to the status.
func (s *Service) record(p peer.ID, space cid.Cid, res Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.peerLocked(p)
	st := ps.spaces[space]
	if st == nil {
		st = &SpaceStatus{Space: space}
		ps.spaces[space] = st
	}
	st.LastSync = s.opts.Now()
	st.LastError = ""
	if err != nil {
		st.LastError = err.Error()
	}
	st.InSync = err == nil && res.InSync
	if err == nil || res.Behind > 0 || res.Ahead > 0 {
		st.Behind, st.Ahead = res.Behind, res.Ahead
	}
	st.Sessions++
	st.BytesSent += res.BytesSent
	st.BytesReceived += res.BytesReceived
	st.NodesSent += int64(res.NodesSent)
	st.NodesReceived += int64(res.NodesReceived)
	st.NodesApplied += int64(res.Applied)
	st.NodesRejected += int64(res.Rejected)
	st.RoundTrips += int64(res.RoundTrips)
}

// Status reports every peer the service has dealt with, sorted by peer ID, with its
// spaces sorted by ID.
func (s *Service) Status() []PeerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	out := make([]PeerStatus, 0, len(s.peers))
	for p, ps := range s.peers {
		st := PeerStatus{Peer: p, Score: ps.scoreNow(now, s.opts.ScoreHalfLife)}
		if now.Before(ps.bannedUntil) {
			st.BannedUntil = ps.bannedUntil
		}
		for _, sp := range ps.spaces {
			st.Spaces = append(st.Spaces, *sp)
		}
		slices.SortFunc(st.Spaces, func(a, b SpaceStatus) int { return strings.Compare(a.Space.KeyString(), b.Space.KeyString()) })
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b PeerStatus) int { return strings.Compare(string(a.Peer), string(b.Peer)) })
	return out
}

// setFor returns the reconciliation set of items, reusing the last one prepared for
// space while the replica returns the same snapshot.
func (s *Service) setFor(space cid.Cid, items []Item) *Set {
	s.mu.Lock()
	set := s.sets[space]
	s.mu.Unlock()
	if set != nil && sameSlice(set.items, items) {
		return set
	}
	set = NewSet(items)
	if !sameSlice(set.items, items) { // NewSet sorted a copy: do not cache
		return set
	}
	s.mu.Lock()
	if s.replicas[space] != nil {
		s.sets[space] = set
	}
	s.mu.Unlock()
	return set
}

func sameSlice(a, b []Item) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
