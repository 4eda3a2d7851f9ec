package engine

import (
	"crypto/tls"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/alarm"
	"github.com/hsdfat8/diam-gw/internal/inbox"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
)

// Tick is the timing wheel's resolution: timers fire at most about this late.
const Tick = link.Tick

// Engine is the S13 client. Create it with New, then Start it; Check, Go and Stats may be called
// from any goroutine; Close ends it.
//
// Its state is held in parts, each in the file of its concern and documenting who owns which of
// its fields: the lifecycle (lifecycle.go), the wake-up of the loop (wake.go), the routing over
// the usable connections (route.go), the dials (dial.go), the failed-over requests
// (failover.go) and the requests' free list (request.go).
type Engine struct {
	// Set by New, read-only after.
	cfg    Config
	log    *slog.Logger
	epoch  time.Time
	sessHi uint32 // high part of generated Session-Ids: the start time
	fsmCfg fsm.Config
	dras   []*dra
	peers  []*draConn // every connection, DRA by DRA
	inbox  *inbox.Ring[submission]

	life    lifecycle
	wk      waker
	routes  router
	dials   dialer
	retries resendQueue
	parked  parkedReqs
	reqs    requestPool

	// Shared with callers, for Stats and LoopTime.
	outstanding    atomic.Int64 // accepted, not yet completed
	callbackPanics atomic.Uint64
	callbackExits  atomic.Uint64
	loopNow        atomic.Int64 // the loop's last clock reading, for LoopTime
	inboxDepth     atomic.Int64 // the inbox's backlog when the loop last drained it (Snapshot.InboxDepth)
	refusedBusy    atomic.Uint64
	refusedNoConn  atomic.Uint64
	alarm          *alarm.Alarm // wakes the loop when its wheel's next timer is due (Set by the loop)

	// Loop-owned (between two loops, the recovery goroutine's: see recover.go).
	wheel   *wheel.Wheel
	touched link.Queue[*draConn] // connections with a batch to write this round
	dirty   []*draConn           // connections whose counters changed since they were last published
	sessLo  uint32               // low part of the next generated Session-Id
	e2e     framing.EndToEndClock
	answer  s13.Answer // the answer being delivered; its fields alias the read buffer
	rng     *rand.Rand
}

// dra is one configured DRA and its connections.
type dra struct {
	cfg   DRA
	name  string
	addr  string
	tls   *tls.Config // nil: plain TCP
	group *group
	peers []*draConn
}

// New checks cfg (after applying opts and filling defaults) and builds an Engine. Nothing is
// dialled before Start. Safe for concurrent use (it shares nothing).
func New(cfg Config, opts ...Option) (*Engine, error) {
	if err := applyOptions(&cfg, opts); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now()
	link.DefaultOriginStateID(&cfg.OriginStateID, now)
	e := newEngine(cfg, now)
	for _, dc := range cfg.DRAs {
		e.addDRA(dc)
	}
	sort.SliceStable(e.routes.groups, func(i, j int) bool {
		return e.routes.groups[i].priority < e.routes.groups[j].priority
	})
	return e, nil
}

// newEngine builds an Engine without connections: its parts, clocks and random source.
func newEngine(cfg Config, now time.Time) *Engine {
	seed := cfg.seed
	if seed == 0 {
		seed = uint64(now.UnixNano())
	}
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		epoch:  now,
		sessHi: uint32(now.Unix()),
		fsmCfg: fsmConfig(&cfg),
		inbox:  inbox.NewRing[submission](cfg.InboxSize),
		e2e:    framing.NewEndToEndClock(now.UnixNano()),
		rng:    rand.New(rand.NewPCG(seed, seed^0x5DEECE66D)),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.life.init()
	e.wk.init()
	e.routes.init()
	e.dials.init()
	e.reqs.init()
	e.wheel = wheel.New(Tick, 2048, e.now())
	e.alarm = alarm.New(e.now, e.wake)
	return e
}

// fsmConfig is the connections' state machine configuration: the timers of cfg.
func fsmConfig(cfg *Config) fsm.Config {
	fc := fsm.Config{
		Tw:                cfg.DWRInterval,
		TwFloor:           min(MinDWRInterval, cfg.DWRInterval),
		DWATimeout:        cfg.DWATimeout,
		ConnectTimeout:    cfg.ConnectTimeout,
		CEATimeout:        cfg.CEATimeout,
		DPATimeout:        cfg.DPATimeout,
		DPRGrace:          cfg.DPATimeout,
		BackoffInitial:    cfg.BackoffInitial,
		BackoffMultiplier: cfg.BackoffMultiplier,
		BackoffMax:        cfg.BackoffMax,
		LongBackoff:       cfg.BackoffMax,
	}
	if cfg.noJitter {
		fc.TwJitter, fc.BackoffJitter = -1, -1
	}
	return fc
}

// addDRA adds dc, its connections and, for a priority not seen before, its group.
func (e *Engine) addDRA(dc DRA) {
	d := &dra{cfg: dc, name: dc.Name, addr: dc.Address, group: e.routes.group(dc.Priority), tls: draTLS(dc)}
	for k := 1; k <= dc.Connections; k++ {
		p := e.newConn(d, k)
		d.peers = append(d.peers, p)
		e.peers = append(e.peers, p)
	}
	e.dras = append(e.dras, d)
}

// newConn builds connection k (1-based) of d, Disconnected.
func (e *Engine) newConn(d *dra, k int) *draConn {
	cfg := &e.cfg
	p := &draConn{
		e:     e,
		dra:   d,
		index: k,
		id: framing.Identity{
			OriginHost:    ConnectionIdentity(cfg.OriginHost, d.cfg.Identity, k),
			OriginRealm:   cfg.OriginRealm,
			OriginStateID: cfg.OriginStateID,
		},
		m:        fsm.New(e.fsmCfg, e.rng.Uint64()),
		slots:    newSlotTable(cfg.MaxInFlight, e.rng.Uint32()),
		usableAt: -1,
		frames:   link.Reassembler{Max: cfg.MaxMessageSize},
	}
	p.stats.p, p.frag.p, p.hold.p = p, p, p
	p.baseLog = connLogger(e.log, d.name, k)
	p.log = p.baseLog
	p.tmpl = s13.NewECRTemplate(p.id.OriginHost, p.id.OriginRealm, cfg.DestinationRealm, cfg.DestinationHost, e.sessHi)
	p.stats.setState(fsm.Disconnected)
	return p
}

// timeNow is the wall clock for statistics; the loop's own clock is Engine.now.
var timeNow = time.Now

// Config returns the configuration in use, defaults filled in. Safe for concurrent use.
func (e *Engine) Config() Config { return e.cfg }

// now is the loop clock: monotonic nanoseconds since New. Safe for concurrent use.
func (e *Engine) now() int64 { return int64(time.Since(e.epoch)) }

// readClock reads the clock for the loop and publishes it for LoopTime. Loop only.
func (e *Engine) readClock() int64 {
	now := e.now()
	e.loopNow.Store(now)
	return now
}

// LoopTime is the time at which the event loop last read its clock. In a Go callback it is when
// the answer being delivered was read from the socket (or its timeout fired): a latency probe can
// use it instead of reading the clock once more per answer. Its monotonic reading is exact, so
// Sub against another time.Time measures intervals. It equals Epoch().Add(LoopElapsed()).
// Safe for concurrent use.
func (e *Engine) LoopTime() time.Time { return e.epoch.Add(e.LoopElapsed()) }

// LoopElapsed is LoopTime as the time since Epoch: one atomic load, for a probe that converts
// Epoch to its own clock once and then pays nothing per answer. Safe for concurrent use.
func (e *Engine) LoopElapsed() time.Duration { return time.Duration(e.loopNow.Load()) }

// Epoch is when the engine's clock started (New). Safe for concurrent use.
func (e *Engine) Epoch() time.Time { return e.epoch }

// nextE2E returns the next End-to-End id: one more than the last, held to a floor that follows
// the wall clock, so ids stay unique for 4 minutes across a restart at our rates (RFC 6733 §3;
// see framing.EndToEndClock). The time is the loop's last clock reading: no clock read per id.
// Loop only.
func (e *Engine) nextE2E() uint32 { return e.e2e.Next(e.loopNow.Load()) }
