package gossip

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/korup2p/korup2p/distinctions"
)

// DefaultMaxMessageSize bounds a gossip message; larger nodes are announced by CID.
const DefaultMaxMessageSize = 1 << 20

// maxAnnounced bounds the CIDs of one heads or CID announcement.
const maxAnnounced = 1024

// Verdict is what a Handler makes of a gossiped node.
type Verdict int

const (
	Accept Verdict = iota // new and valid: deliver it and forward it
	Ignore                // held already (or not wanted now): drop it quietly
	Reject                // invalid: drop it and penalise the peer that sent it
)

// Handler receives one space's gossip. Its methods are called concurrently.
type Handler interface {
	// ValidateNode checks a node's bytes (format, signature, and whether it is held)
	// before the node is delivered or forwarded. The value it returns with Accept is
	// passed to Node, so the node is decoded once.
	ValidateNode(from peer.ID, block []byte) (Verdict, any)
	// Node delivers an accepted node. via forwarded it to us; from, who published
	// it, is not known ("": messages are not signed, the nodes in them are).
	Node(from, via peer.ID, block []byte, decoded any)
	// Heads delivers a heads announcement, and CIDs an announcement of nodes too
	// large for a message: the caller fetches what it lacks from from (or via).
	Heads(from, via peer.ID, heads []cid.Cid)
	CIDs(from, via peer.ID, cids []cid.Cid)
}

// Options configure a Service; nil means the defaults.
type Options struct {
	// MaxMessageSize bounds a message (default DefaultMaxMessageSize).
	MaxMessageSize int
	// Warn receives warnings (alternating keys and values); default none.
	Warn func(msg string, keyvals ...any)
	// Faults simulate a lossy, slow network on the messages this peer receives
	// (tests and the testnet); the zero value injects none.
	Faults Faults
	// PeerFilter, if set, says whether peer p may be in a space's mesh: pubsub
	// neither grafts, gossips to, nor answers IWANTs of a peer it refuses, and
	// publishing goes to mesh peers only (flood publishing, which ignores the
	// filter, is off). Restricted spaces serve their nodes only to readers this
	// way. It is called often (every heartbeat, per peer and topic): keep it cheap.
	PeerFilter func(p peer.ID, space cid.Cid) bool
}

// Faults are injected network faults: each received message is dropped with
// probability Drop, and the others are delivered Latency late (in order).
type Faults struct {
	Drop    float64
	Latency time.Duration
	// Rand returns a uniform value in [0, 1) for the drop decisions; default
	// math/rand/v2's Float64. Safe for concurrent use.
	Rand func() float64
}

// Service is the gossip of one host: the spaces it joined.
type Service struct {
	h    host.Host
	ps   *pubsub.PubSub
	mesh *meshTracer
	opts Options
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	topics map[cid.Cid]*joined
	wg     sync.WaitGroup
	seq    atomic.Uint64 // of heads announcements; starts at the time of New
}

type joined struct {
	topic   *pubsub.Topic
	sub     *pubsub.Subscription
	handler Handler
	cancel  context.CancelFunc
}

// message is the wire form of every message.
type message struct {
	T     string              `cbor:"t"`
	Node  []byte              `cbor:"node,omitempty"`
	CIDs  []distinctions.Link `cbor:"cids,omitempty"`
	Heads []distinctions.Link `cbor:"heads,omitempty"`
	// Seq makes each heads announcement a new message: IDs are content hashes, and
	// a peer that joined since the last one must get the next.
	Seq uint64 `cbor:"seq,omitempty"`
}

// New starts gossipsub on h.
func New(h host.Host, opts *Options) (*Service, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.Warn == nil {
		o.Warn = func(string, ...any) {}
	}
	if o.Faults.Rand == nil {
		o.Faults.Rand = rand.Float64
	}
	ctx, stop := context.WithCancel(context.Background())
	mesh := newMeshTracer()
	opt := []pubsub.Option{
		pubsub.WithFloodPublish(true), // our own writes reach every topic peer at once
	}
	if o.PeerFilter != nil {
		var names sync.Map // topic → space
		opt = []pubsub.Option{pubsub.WithFloodPublish(false), pubsub.WithPeerFilter(func(p peer.ID, topic string) bool {
			if sp, ok := names.Load(topic); ok {
				return o.PeerFilter(p, sp.(cid.Cid))
			}
			sp, err := cid.Decode(strings.TrimPrefix(topic, topicPrefix))
			if err != nil {
				return false
			}
			names.Store(topic, sp)
			return o.PeerFilter(p, sp)
		})}
	}
	ps, err := pubsub.NewGossipSub(ctx, h, append(opt,
		pubsub.WithRawTracer(mesh),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			sum := sha256.Sum256(m.Data)
			return string(sum[:])
		}),
		pubsub.WithMaxMessageSize(o.MaxMessageSize+4096), // room for the envelope
		pubsub.WithPeerExchange(false),
		// Nodes carry their author's signature already; signing every message again
		// would cost a signature per write and a verification per message and peer.
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
	)...)
	if err != nil {
		stop()
		return nil, fmt.Errorf("gossip: %w", err)
	}
	s := &Service{h: h, ps: ps, mesh: mesh, opts: o, ctx: ctx, stop: stop, topics: map[cid.Cid]*joined{}}
	s.seq.Store(uint64(time.Now().UnixNano())) // unique across restarts of this peer
	return s, nil
}

// Topic returns the topic name of a space.
func Topic(space cid.Cid) string { return topicPrefix + space.String() }

const topicPrefix = "/korup2p/space/"

// Join subscribes to the space's topic and delivers its messages to handler until
// Leave or Close. Joining a space twice is an error.
func (s *Service) Join(space cid.Cid, handler Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics == nil {
		return errors.New("gossip: closed")
	}
	if _, ok := s.topics[space]; ok {
		return fmt.Errorf("gossip: space %s joined already", space)
	}
	name := Topic(space)
	if err := s.ps.RegisterTopicValidator(name, s.validator(handler)); err != nil {
		return fmt.Errorf("gossip: join %s: %w", space, err)
	}
	topic, err := s.ps.Join(name)
	if err == nil {
		var sub *pubsub.Subscription
		if sub, err = topic.Subscribe(); err == nil {
			ctx, cancel := context.WithCancel(s.ctx)
			j := &joined{topic: topic, sub: sub, handler: handler, cancel: cancel}
			s.topics[space] = j
			s.wg.Add(1)
			go s.deliver(ctx, j)
			return nil
		}
		topic.Close()
	}
	s.ps.UnregisterTopicValidator(name)
	return fmt.Errorf("gossip: join %s: %w", space, err)
}

// Leave unsubscribes from the space's topic.
func (s *Service) Leave(space cid.Cid) error {
	s.mu.Lock()
	j, ok := s.topics[space]
	delete(s.topics, space)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("gossip: space %s not joined", space)
	}
	return s.leave(space, j)
}

func (s *Service) leave(space cid.Cid, j *joined) error {
	j.cancel()
	j.sub.Cancel()
	err := j.topic.Close()
	s.ps.UnregisterTopicValidator(Topic(space))
	return err
}

// Close leaves every space and stops gossipsub.
func (s *Service) Close() error {
	s.mu.Lock()
	topics := s.topics
	s.topics = nil
	s.mu.Unlock()
	var errs []error
	for space, j := range topics {
		errs = append(errs, s.leave(space, j))
	}
	s.stop()
	s.wg.Wait()
	return errors.Join(errs...)
}

// Peers returns the peers known to be subscribed to the space's topic.
func (s *Service) Peers(space cid.Cid) []peer.ID {
	if j := s.joined(space); j != nil {
		return j.topic.ListPeers()
	}
	return nil
}

// MeshPeers returns the peers in our gossipsub mesh for the space: those that
// forward its messages to us as they come. Gossipsub builds the mesh on its
// heartbeat (about a second after peers meet); until then only our own
// publications reach them directly.
func (s *Service) MeshPeers(space cid.Cid) []peer.ID {
	return s.mesh.peers(Topic(space), s.Peers(space))
}

func (s *Service) joined(space cid.Cid) *joined {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[space]
}

// PublishNode publishes a new node of the space: whole if it fits a message, by CID
// otherwise.
func (s *Service) PublishNode(ctx context.Context, space, c cid.Cid, block []byte) error {
	m := message{T: "n", Node: block}
	if len(block) > s.opts.MaxMessageSize {
		m = message{T: "c", CIDs: []distinctions.Link{{Cid: c}}}
	}
	return s.publish(ctx, space, m)
}

// PublishHeads announces the space's heads (at most 1,024 of them).
func (s *Service) PublishHeads(ctx context.Context, space cid.Cid, heads []cid.Cid) error {
	m := message{T: "h", Seq: s.seq.Add(1)}
	for _, h := range heads[:min(len(heads), maxAnnounced)] {
		m.Heads = append(m.Heads, distinctions.Link{Cid: h})
	}
	return s.publish(ctx, space, m)
}

func (s *Service) publish(ctx context.Context, space cid.Cid, m message) error {
	j := s.joined(space)
	if j == nil {
		return fmt.Errorf("gossip: space %s not joined", space)
	}
	b, err := distinctions.Marshal(m)
	if err != nil {
		return fmt.Errorf("gossip: %w", err)
	}
	if err := j.topic.Publish(ctx, b); err != nil {
		return fmt.Errorf("gossip: publish to %s: %w", space, err)
	}
	return nil
}

// validated is a message that passed the validator, with what ValidateNode made of
// it and when it arrived.
type validated struct {
	m       message
	decoded any
	at      time.Time
}

// received returns when the validator saw pm.
func received(pm *pubsub.Message) time.Time {
	if v, ok := pm.ValidatorData.(validated); ok {
		return v.at
	}
	return time.Now()
}

func (s *Service) validator(h Handler) pubsub.ValidatorEx {
	limits := distinctions.Limits{MaxBytes: s.opts.MaxMessageSize + 4096}
	return func(_ context.Context, from peer.ID, pm *pubsub.Message) pubsub.ValidationResult {
		var m message
		if err := distinctions.Decode(pm.Data, &m, limits); err != nil {
			s.opts.Warn("gossip: malformed message", "from", from, "err", err)
			return pubsub.ValidationReject
		}
		v := validated{m: m, at: time.Now()}
		switch {
		case m.T == "n" && len(m.Node) > 0 && len(m.CIDs) == 0 && len(m.Heads) == 0 && m.Seq == 0:
			if from == s.h.ID() {
				return pubsub.ValidationAccept // our own: held, and checked when made
			}
			verdict, decoded := h.ValidateNode(from, m.Node)
			switch verdict {
			case Reject:
				return pubsub.ValidationReject
			case Ignore:
				return pubsub.ValidationIgnore
			}
			v.decoded = decoded
		case m.T == "c" && len(m.Node) == 0 && len(m.CIDs) > 0 && len(m.CIDs) <= maxAnnounced && len(m.Heads) == 0 && m.Seq == 0:
		case m.T == "h" && len(m.Node) == 0 && len(m.CIDs) == 0 && len(m.Heads) <= maxAnnounced:
		default:
			return pubsub.ValidationReject
		}
		pm.ValidatorData = v
		return pubsub.ValidationAccept
	}
}

// deliver hands the messages of one space to its handler, skipping our own.
func (s *Service) deliver(ctx context.Context, j *joined) {
	defer s.wg.Done()
	self := s.h.ID()
	for {
		pm, err := j.sub.Next(ctx)
		if err != nil {
			return // canceled by Leave or Close
		}
		if pm.ReceivedFrom == self {
			continue
		}
		v, ok := pm.ValidatorData.(validated)
		if !ok {
			continue
		}
		if f := s.opts.Faults; f.Drop > 0 && f.Rand() < f.Drop {
			continue
		} else if f.Latency > 0 {
			select {
			case <-time.After(f.Latency - time.Since(received(pm))):
			case <-ctx.Done():
				return
			}
		}
		from, via := pm.GetFrom(), pm.ReceivedFrom
		switch v.m.T {
		case "n":
			j.handler.Node(from, via, v.m.Node, v.decoded)
		case "c":
			j.handler.CIDs(from, via, links(v.m.CIDs))
		case "h":
			j.handler.Heads(from, via, links(v.m.Heads))
		}
	}
}

func links(ls []distinctions.Link) []cid.Cid {
	out := make([]cid.Cid, len(ls))
	for i, l := range ls {
		out[i] = l.Cid
	}
	return out
}
