package fsm

import (
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/link"
)

// Config holds the timer values a Machine arms. Zero fields take the defaults below.
type Config struct {
	Tw             time.Duration // RFC 3539 TwInit; default 30 s
	TwJitter       time.Duration // ± around Tw each time it is armed; default 2 s (RFC 3539 §3.4.1)
	TwFloor        time.Duration // an armed Tw is never shorter; default 6 s (RFC 3539: TwInit >= 6 s)
	DWATimeout     time.Duration // wait for the DWA after a DWR; default 0: a whole Tw, as RFC 3539
	ConnectTimeout time.Duration // Wait-Conn-Ack; default 10 s
	CEATimeout     time.Duration // Wait-I-CEA; default 5 s
	CERTimeout     time.Duration // responder: an accepted connection's wait for its CER; default 10 s
	DPATimeout     time.Duration // our DPR's answer; default 2 s
	DPRGrace       time.Duration // after our DPA the peer should close; default 1 s

	BackoffInitial    time.Duration // first reconnect delay; default 5 s
	BackoffMultiplier float64       // growth per failed attempt; default 1.5
	BackoffMax        time.Duration // cap; default 5 min
	BackoffJitter     float64       // ± fraction of each delay; default 0.25, negative means none
	LongBackoff       time.Duration // after DPR BUSY / DO_NOT_WANT_TO_TALK_TO_YOU; default BackoffMax
}

// Defaults of Config, declared once in internal/link and shared with engine and server.
const (
	DefaultTw                = link.DefaultDWRInterval
	DefaultTwJitter          = link.DefaultTwJitter
	DefaultTwFloor           = link.MinDWRInterval
	DefaultConnectTimeout    = link.DefaultConnectTimeout
	DefaultCEATimeout        = link.DefaultCEATimeout
	DefaultCERTimeout        = link.DefaultCERTimeout
	DefaultDPATimeout        = link.DefaultDPATimeout
	DefaultDPRGrace          = link.DefaultDPRGrace
	DefaultBackoffInitial    = link.DefaultBackoffInitial
	DefaultBackoffMultiplier = link.DefaultBackoffMultiplier
	DefaultBackoffMax        = link.DefaultBackoffMax
	DefaultBackoffJitter     = 0.25
)

func (c *Config) normalize() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Tw, DefaultTw)
	if c.TwJitter < 0 {
		c.TwJitter = 0
	} else if c.TwJitter == 0 {
		c.TwJitter = DefaultTwJitter
	}
	def(&c.TwFloor, DefaultTwFloor)
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.CEATimeout, DefaultCEATimeout)
	def(&c.CERTimeout, DefaultCERTimeout)
	def(&c.DPATimeout, DefaultDPATimeout)
	def(&c.DPRGrace, DefaultDPRGrace)
	def(&c.BackoffInitial, DefaultBackoffInitial)
	if c.BackoffMultiplier < 1 {
		c.BackoffMultiplier = DefaultBackoffMultiplier
	}
	def(&c.BackoffMax, DefaultBackoffMax)
	if c.BackoffJitter == 0 {
		c.BackoffJitter = DefaultBackoffJitter
	} else if c.BackoffJitter < 0 {
		c.BackoffJitter = 0
	}
	def(&c.LongBackoff, c.BackoffMax)
}

// Event is one input to Step.
type Event struct {
	Kind EventKind
	// Gen is the generation of the deadline that expired (EvTimeout).
	Gen uint32
	// OriginStateID is the peer's Origin-State-Id in a CEA, DWR or DWA, when HasOriginStateID.
	OriginStateID    uint32
	HasOriginStateID bool
	// Cause is the Disconnect-Cause of a received DPR (EvDPR).
	Cause framing.DisconnectCause
}

// Output is the result of a Step: what changed and what the owner must do.
type Output struct {
	From, To State
	Do       Action
	// Arm: (re)arm the connection's deadline After from now with generation Gen. Cancel: no
	// deadline. Neither: leave it.
	Arm    bool
	Cancel bool
	After  time.Duration
	Gen    uint32
	Row    int  // index of the applied row in Rows(), -1 when none applied
	Ignore bool // a deliberately ignored pair (see IsIgnored), or a stale timeout
	Stale  bool // EvTimeout with an old generation
	// Rebooted: the peer's Origin-State-Id changed since it was last seen (CEA, DWR, DWA).
	Rebooted bool
}

// core is what both roles' machines share: the timer values, the deadline's generation, the
// jitter generator, RFC 3539's Pending flag and the Stop request. Both arm their timers through
// it, so Tw and its jitter mean the same on either side of a connection.
type core struct {
	cfg      Config
	gen      uint32
	pending  bool // RFC 3539 Pending: a DWR is outstanding
	stopping bool
	everOpen bool
	rng      uint64
}

func newCore(cfg Config, seed uint64) core {
	cfg.normalize()
	return core{cfg: cfg, rng: seed | 1}
}

// Machine is the state of one connection slot. It survives reconnects: the REOPEN rule and the
// backoff need to remember earlier connections.
type Machine struct {
	core
	state    State
	numDWA   int8 // RFC 3539 NumDWA, in REOPEN
	attempts int  // failed attempts since the connection was last usable
	cause    framing.DisconnectCause
	hasCause bool
	stateID  uint32 // the peer's last Origin-State-Id
	hasState bool
}

// New returns a Machine in Disconnected. seed feeds the jitter generator; equal seeds give
// equal timer sequences.
func New(cfg Config, seed uint64) *Machine {
	return &Machine{core: newCore(cfg, seed)}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Attempts returns the failed connection attempts since the connection was last usable.
func (m *Machine) Attempts() int { return m.attempts }

// Pending reports whether a DWR is outstanding.
func (m *Machine) Pending() bool { return m.pending }

// Stopping reports whether Stop was requested.
func (m *Machine) Stopping() bool { return m.stopping }

// PeerStateID returns the peer's last Origin-State-Id, if one was seen.
func (m *Machine) PeerStateID() (uint32, bool) { return m.stateID, m.hasState }

// Gen returns the generation of the current deadline.
func (m *Machine) Gen() uint32 { return m.gen }

// Step applies ev and returns what to do. It never fails: pairs without a row are either
// deliberately ignored (Output.Ignore) or a programming error caught by the table tests.
func (m *Machine) Step(ev Event) Output {
	out := Output{From: m.state, To: m.state, Row: -1}
	if ev.Kind == EvTimeout && ev.Gen != m.gen {
		out.Ignore, out.Stale = true, true
		return out
	}
	if ev.HasOriginStateID && (ev.Kind == EvDWR || ev.Kind == EvDWA || ev.Kind == EvCEAOK) {
		if m.hasState && ev.OriginStateID != m.stateID {
			out.Rebooted = true
			if ev.Kind != EvCEAOK {
				ev.Kind = EvPeerRebooted
			}
		}
		m.stateID, m.hasState = ev.OriginStateID, true
	}
	for _, i := range index[m.state][ev.Kind] {
		r := &table[i]
		if !m.holds(r.If) {
			continue
		}
		m.apply(r.Effects, ev)
		m.state = r.To
		out.To, out.Do, out.Row = r.To, r.Do, int(i)
		m.timer(r.Timer, &out)
		return out
	}
	out.Ignore = true
	return out
}

// holds evaluates the guards on the shared data; false for the rest.
func (b *core) holds(g Guard) bool {
	switch g {
	case Always:
		return true
	case IfPending:
		return b.pending
	case IfNotPending:
		return !b.pending
	case IfStopping:
		return b.stopping
	case IfNotStopping:
		return !b.stopping
	}
	return false
}

func (m *Machine) holds(g Guard) bool {
	switch g {
	case IfFirstOpen:
		return !m.everOpen
	case IfReconnected:
		return m.everOpen
	case IfDWACounting:
		return m.numDWA < 2
	case IfDWALast:
		return m.numDWA >= 2
	case IfPendingAlive:
		return m.pending && m.numDWA >= 0
	case IfPendingDead:
		return m.pending && m.numDWA < 0
	}
	return m.core.holds(g)
}

// apply carries out the effects on the shared data; the others are the initiator's.
func (b *core) apply(e Effect) {
	if e&SetPending != 0 {
		b.pending = true
	}
	if e&ClearPending != 0 {
		b.pending = false
	}
	if e&SetStopping != 0 {
		b.stopping = true
	}
	if e&SetEverOpen != 0 {
		b.everOpen = true
	}
}

func (m *Machine) apply(e Effect, ev Event) {
	m.core.apply(e)
	if e&ResetDWA != 0 {
		m.numDWA = 0
	}
	if e&IncDWA != 0 {
		m.numDWA++
	}
	if e&KillDWA != 0 {
		m.numDWA = -1
	}
	if e&ResetAttempts != 0 {
		m.attempts = 0
		m.hasCause = false
	}
	if e&CountAttempt != 0 {
		m.attempts++
	}
	if e&RecordCause != 0 {
		m.cause, m.hasCause = ev.Cause, true
	}
}

func (m *Machine) timer(t Timer, out *Output) {
	var backoff time.Duration
	if t == TimerBackoff {
		backoff = m.backoff()
	}
	out.Arm, out.Cancel, out.After, out.Gen = m.deadline(t, backoff)
}

// deadline turns a row's Timer into what the owner does with its deadline: arm it for after
// with generation gen, cancel it, or neither (keep). backoff is the delay TimerBackoff arms,
// which only the initiator computes.
func (b *core) deadline(t Timer, backoff time.Duration) (arm, cancel bool, after time.Duration, gen uint32) {
	var d time.Duration
	switch t {
	case TimerKeep:
		return false, false, 0, b.gen
	case TimerCancel:
		b.gen++
		return false, true, 0, b.gen
	case TimerConnect:
		d = b.cfg.ConnectTimeout
	case TimerCEA:
		d = b.cfg.CEATimeout
	case TimerCER:
		d = b.cfg.CERTimeout
	case TimerWatchdog:
		d = b.watchdog()
	case TimerDWA:
		d = b.cfg.DWATimeout
		if d <= 0 {
			d = b.watchdog()
		}
	case TimerDPA:
		d = b.cfg.DPATimeout
	case TimerGrace:
		d = b.cfg.DPRGrace
	case TimerBackoff:
		d = backoff
	}
	b.gen++
	return true, false, d, b.gen
}

// watchdog returns Tw ± TwJitter, never below TwFloor (RFC 3539 §3.4.1).
func (b *core) watchdog() time.Duration {
	d := b.cfg.Tw
	if j := b.cfg.TwJitter; j > 0 {
		d += time.Duration(b.next()%uint64(2*j+1)) - j
	}
	return max(d, b.cfg.TwFloor)
}

// backoff returns the delay before the next dial: BackoffInitial·Multiplier^(attempts-1), capped
// at BackoffMax, ± BackoffJitter. After a DPR saying BUSY or DO_NOT_WANT_TO_TALK_TO_YOU it is
// LongBackoff instead (RFC 6733 §5.4.3: do not come straight back).
func (m *Machine) backoff() time.Duration {
	if m.hasCause && m.cause.ShouldNotReconnect() {
		m.hasCause = false
		return m.cfg.LongBackoff
	}
	m.hasCause = false
	d := float64(m.cfg.BackoffInitial)
	for i := 1; i < m.attempts && d < float64(m.cfg.BackoffMax); i++ {
		d *= m.cfg.BackoffMultiplier
	}
	if j := m.cfg.BackoffJitter; j > 0 {
		u := float64(m.next()>>11) / (1 << 53) // [0,1)
		d *= 1 - j + 2*j*u
	}
	return min(time.Duration(d), m.cfg.BackoffMax)
}

// next is splitmix64: tiny, seedable, good enough for jitter.
func (b *core) next() uint64 {
	b.rng += 0x9E3779B97F4A7C15
	z := b.rng
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
