package syncproto

import (
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Options configure a Service. nil means the defaults; the zero value of each field
// means its default. Out-of-range values are clamped to the documented range.
type Options struct {
	// SessionTimeout bounds one session, either direction (default 30 s).
	SessionTimeout time.Duration
	// MaxRounds bounds the round trips of one session (default 64, at least 4).
	MaxRounds int
	// MaxInbound caps the sessions peers run with us at once (default 16); beyond it,
	// new streams are reset.
	MaxInbound int
	// InboundRate and InboundBurst are the token bucket of sessions one peer may start
	// with us: InboundRate sessions per second (default 4; negative: unlimited), bursts
	// of InboundBurst (default 16). A peer over it is refused ("rate-limited").
	InboundRate  float64
	InboundBurst int
	// BatchBytes and BatchNodes bound the nodes sent in one message (defaults 1 MiB
	// and 512; BatchNodes at most MaxBlocks). A node larger than BatchBytes goes alone.
	BatchBytes int
	BatchNodes int
	// MaxSnapshotBytes bounds a snapshot received from a peer (default 1 GiB).
	MaxSnapshotBytes int64
	// Params tune the reconciliation (see Params).
	Params Params

	// BanThreshold is the misbehaviour score at which a peer is refused for
	// BanDuration (defaults 100 and 10 minutes). A message that breaks the protocol
	// scores PenaltyViolation (25), a node the replica rejects PenaltyRejected (5),
	// at most PenaltyViolation per batch. Scores halve every ScoreHalfLife (default
	// 10 minutes).
	BanThreshold  float64
	BanDuration   time.Duration
	ScoreHalfLife time.Duration
	// OnBan, if set, is called (without locks held) when a peer starts being refused,
	// with the end of its ban and why: the caller may cut the peer off beyond this
	// protocol (korup2p closes its connections and refuses new ones until then).
	OnBan func(p peer.ID, until time.Time, why string)

	// Authorize, if set, decides whether peer p may sync space (read it): a non-nil
	// error refuses the session ("forbidden"). It is called for inbound sessions.
	Authorize func(p peer.ID, space cid.Cid) error
	// Progress, if set, is called as nodes arrive: done nodes received so far in the
	// session with p on space, of total announced so far. It must not block.
	Progress func(p peer.ID, space cid.Cid, done, total int)
	// Warn receives warnings (a peer refused for misbehaviour, a failed inbound
	// session); keyvals alternate keys and values, as charmbracelet/log and log/slog
	// take them. Default: discarded.
	Warn func(msg string, keyvals ...any)
	// Now is the clock of rate limits, scores and status (default time.Now).
	Now func() time.Time
}

// Penalties added to a peer's misbehaviour score.
const (
	PenaltyViolation = 25.0
	PenaltyRejected  = 5.0
)

// Defaults of Options.
const (
	DefaultSessionTimeout   = 30 * time.Second
	DefaultMaxRounds        = 64
	DefaultMaxInbound       = 16
	DefaultInboundRate      = 4.0
	DefaultInboundBurst     = 16
	DefaultBatchBytes       = 1 << 20
	DefaultBatchNodes       = 512
	DefaultMaxSnapshotBytes = 1 << 30
	DefaultBanThreshold     = 100.0
	DefaultBanDuration      = 10 * time.Minute
	DefaultScoreHalfLife    = 10 * time.Minute
)

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.SessionTimeout <= 0 {
		v.SessionTimeout = DefaultSessionTimeout
	}
	if v.MaxRounds <= 0 {
		v.MaxRounds = DefaultMaxRounds
	}
	v.MaxRounds = max(v.MaxRounds, 4)
	if v.MaxInbound <= 0 {
		v.MaxInbound = DefaultMaxInbound
	}
	if v.InboundRate == 0 {
		v.InboundRate = DefaultInboundRate
	}
	if v.InboundBurst <= 0 {
		v.InboundBurst = DefaultInboundBurst
	}
	if v.BatchBytes <= 0 {
		v.BatchBytes = DefaultBatchBytes
	}
	v.BatchBytes = min(max(v.BatchBytes, 1<<10), MaxMessageSize/2)
	if v.BatchNodes <= 0 {
		v.BatchNodes = DefaultBatchNodes
	}
	v.BatchNodes = min(v.BatchNodes, MaxBlocks)
	if v.MaxSnapshotBytes <= 0 {
		v.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	}
	v.Params = v.Params.withDefaults()
	if v.BanThreshold <= 0 {
		v.BanThreshold = DefaultBanThreshold
	}
	if v.BanDuration <= 0 {
		v.BanDuration = DefaultBanDuration
	}
	if v.ScoreHalfLife <= 0 {
		v.ScoreHalfLife = DefaultScoreHalfLife
	}
	if v.Warn == nil {
		v.Warn = func(string, ...any) {}
	}
	if v.Now == nil {
		v.Now = time.Now
	}
	return v
}
