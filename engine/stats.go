package engine

import (
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/s13"
)

// Counters are the per-connection counters; DRA and engine totals are their sums.
type Counters struct {
	MessagesIn, MessagesOut uint64 // every Diameter message, base protocol included
	BytesIn, BytesOut       uint64
	Requests                uint64 // ECRs written, resends included
	Retransmits             uint64 // ECRs written with the T flag after a failover
	AlternateRetries        uint64 // requests this DRA answered 3002/3004 that were resent via another DRA
	Answers                 AnswerCounts
	Timeouts                uint64 // requests that got no answer in time on this connection
	UnknownAnswers          uint64 // answers with an unknown or stale Hop-by-Hop id: dropped
	MalformedAnswers        uint64 // answers matched to a request but not decodable
	Failovers               uint64 // requests moved off this connection when it failed
	Reconnects              uint64 // connections opened after the first
	ProtocolErrors          uint64 // framing violations (connection reset)
	CEARejects              uint64 // capabilities exchanges that failed
	PeerReboots             uint64 // Origin-State-Id changes seen
	DWRSent, DWRReceived    uint64
	DWAReceived             uint64
	InFlight                int // requests waiting for an answer now
}

// AnswerCounts splits answers by Result-Code class. Experimental counts answers carrying an
// Experimental-Result instead (5422 DIAMETER_ERROR_EQUIPMENT_UNKNOWN, say).
type AnswerCounts struct {
	Success        uint64 // 2xxx
	ProtocolError  uint64 // 3xxx, usually with the E bit from a DRA
	TransientError uint64 // 4xxx
	PermanentError uint64 // 5xxx
	Experimental   uint64
	Other          uint64 // 1xxx and codes outside the RFC classes
}

// Total returns the number of answers.
func (a AnswerCounts) Total() uint64 {
	return a.Success + a.ProtocolError + a.TransientError + a.PermanentError + a.Experimental + a.Other
}

func (c *Counters) add(o *Counters) {
	c.MessagesIn += o.MessagesIn
	c.MessagesOut += o.MessagesOut
	c.BytesIn += o.BytesIn
	c.BytesOut += o.BytesOut
	c.Requests += o.Requests
	c.Retransmits += o.Retransmits
	c.AlternateRetries += o.AlternateRetries
	c.Answers.Success += o.Answers.Success
	c.Answers.ProtocolError += o.Answers.ProtocolError
	c.Answers.TransientError += o.Answers.TransientError
	c.Answers.PermanentError += o.Answers.PermanentError
	c.Answers.Experimental += o.Answers.Experimental
	c.Answers.Other += o.Answers.Other
	c.Timeouts += o.Timeouts
	c.UnknownAnswers += o.UnknownAnswers
	c.MalformedAnswers += o.MalformedAnswers
	c.Failovers += o.Failovers
	c.Reconnects += o.Reconnects
	c.ProtocolErrors += o.ProtocolErrors
	c.CEARejects += o.CEARejects
	c.PeerReboots += o.PeerReboots
	c.DWRSent += o.DWRSent
	c.DWRReceived += o.DWRReceived
	c.DWAReceived += o.DWAReceived
	c.InFlight += o.InFlight
}

// ConnStats describes one connection slot.
type ConnStats struct {
	DRA             string
	Index           int // 1-based within the DRA
	Address         string
	LocalAddr       string // of the current or last transport
	RemoteAddr      string
	OriginHost      string // ours on this connection
	PeerOriginHost  string // from the last CEA
	PeerOriginRealm string
	State           string
	StateSince      time.Time
	Usable          bool
	RTT             time.Duration // moving average of ECR round trips
	LastError       string
	LastErrorAt     time.Time
	Counters
}

// DRAStats sums a DRA's connections.
type DRAStats struct {
	Name        string
	Address     string
	Priority    int
	Connections int
	Usable      int
	Counters
}

// Snapshot is a consistent-enough copy of the statistics: each counter is read atomically, the
// set is not read at one instant.
type Snapshot struct {
	Time           time.Time
	Conns          []ConnStats
	DRAs           []DRAStats
	Total          Counters
	Usable         int   // usable connections
	Outstanding    int64 // requests submitted and not yet completed
	CallbackPanics uint64
}

// StateChange is one connection state transition, as passed to Config.OnStateChange.
type StateChange struct {
	DRA      string
	Conn     int // 1-based within the DRA
	From, To fsm.State
	Event    fsm.EventKind // what caused it
	Time     time.Time
}

// notify runs a state-change hook, keeping a panic in it from killing the loop.
func (e *Engine) notify(f func(StateChange), sc StateChange) {
	defer func() {
		if v := recover(); v != nil {
			e.callbackPanics.Add(1)
			e.log.Error("OnStateChange panicked", "panic", v)
		}
	}()
	f(sc)
}

// connStats is a connection's live counters: written by the loop, read by Stats.
type connStats struct {
	state                                            atomic.Uint32
	since                                            atomic.Int64
	msgsIn, msgsOut, bytesIn, bytesOut               atomic.Uint64
	requests, retransmits, altRetries                atomic.Uint64
	success, proto, transient, permanent, exp, other atomic.Uint64
	timeouts, unknownAnswers, malformed, failovers   atomic.Uint64
	reconnects, opens, protocolErrors, ceaRejects    atomic.Uint64
	peerReboots, dwrSent, dwrReceived, dwaReceived   atomic.Uint64
	inFlight                                         atomic.Int64
	rttNs                                            atomic.Int64
	info                                             atomic.Pointer[connInfo]
	lastErr                                          atomic.Pointer[errInfo]
}

type connInfo struct{ local, remote, peerHost, peerRealm string }

type errInfo struct {
	msg string
	at  time.Time
}

func (s *connStats) setState(st fsm.State) {
	s.state.Store(uint32(st))
	s.since.Store(timeNow().UnixNano())
}

func (s *connStats) setError(err error) {
	s.lastErr.Store(&errInfo{msg: err.Error(), at: timeNow()})
}

func (s *connStats) connected(local, remote string) {
	s.info.Store(&connInfo{local: local, remote: remote})
}

func (s *connStats) setPeer(host, realm string) {
	old := s.info.Load()
	n := &connInfo{peerHost: host, peerRealm: realm}
	if old != nil {
		n.local, n.remote = old.local, old.remote
	}
	s.info.Store(n)
}

// rtt folds one round trip into the moving average (weight 1/8, as TCP's SRTT). Loop only.
func (s *connStats) rtt(ns int64) {
	old := s.rttNs.Load()
	if old == 0 {
		s.rttNs.Store(ns)
		return
	}
	s.rttNs.Store(old + (ns-old)/8)
}

func (s *connStats) countAnswer(a *s13.Answer) {
	if a.HasExperimentalResult {
		s.exp.Add(1)
		return
	}
	switch a.ResultCode.Class() {
	case 2:
		s.success.Add(1)
	case 3:
		s.proto.Add(1)
	case 4:
		s.transient.Add(1)
	case 5:
		s.permanent.Add(1)
	default:
		s.other.Add(1)
	}
}

func (s *connStats) counters() Counters {
	return Counters{
		MessagesIn:       s.msgsIn.Load(),
		MessagesOut:      s.msgsOut.Load(),
		BytesIn:          s.bytesIn.Load(),
		BytesOut:         s.bytesOut.Load(),
		Requests:         s.requests.Load(),
		Retransmits:      s.retransmits.Load(),
		AlternateRetries: s.altRetries.Load(),
		Answers: AnswerCounts{
			Success:        s.success.Load(),
			ProtocolError:  s.proto.Load(),
			TransientError: s.transient.Load(),
			PermanentError: s.permanent.Load(),
			Experimental:   s.exp.Load(),
			Other:          s.other.Load(),
		},
		Timeouts:         s.timeouts.Load(),
		UnknownAnswers:   s.unknownAnswers.Load(),
		MalformedAnswers: s.malformed.Load(),
		Failovers:        s.failovers.Load(),
		Reconnects:       s.reconnects.Load(),
		ProtocolErrors:   s.protocolErrors.Load(),
		CEARejects:       s.ceaRejects.Load(),
		PeerReboots:      s.peerReboots.Load(),
		DWRSent:          s.dwrSent.Load(),
		DWRReceived:      s.dwrReceived.Load(),
		DWAReceived:      s.dwaReceived.Load(),
		InFlight:         int(s.inFlight.Load()),
	}
}

// Stats returns the statistics of every connection, per DRA and in total. Safe for concurrent
// use; it reads atomics and never waits for the loop.
func (e *Engine) Stats() Snapshot {
	s := Snapshot{
		Time:           timeNow(),
		Usable:         int(e.usable.Load()),
		Outstanding:    e.outstanding.Load(),
		CallbackPanics: e.callbackPanics.Load(),
	}
	for _, d := range e.dras {
		ds := DRAStats{Name: d.name, Address: d.addr, Priority: d.cfg.Priority, Connections: len(d.peers)}
		for _, p := range d.peers {
			st := fsm.State(p.stats.state.Load())
			c := ConnStats{
				DRA:        d.name,
				Index:      p.index,
				Address:    d.addr,
				OriginHost: p.id.OriginHost,
				State:      st.String(),
				StateSince: time.Unix(0, p.stats.since.Load()),
				Usable:     st.Usable(),
				RTT:        time.Duration(p.stats.rttNs.Load()),
				Counters:   p.stats.counters(),
			}
			if in := p.stats.info.Load(); in != nil {
				c.LocalAddr, c.RemoteAddr, c.PeerOriginHost, c.PeerOriginRealm = in.local, in.remote, in.peerHost, in.peerRealm
			}
			if le := p.stats.lastErr.Load(); le != nil {
				c.LastError, c.LastErrorAt = le.msg, le.at
			}
			if c.Usable {
				ds.Usable++
			}
			ds.Counters.add(&c.Counters)
			s.Conns = append(s.Conns, c)
		}
		s.Total.add(&ds.Counters)
		s.DRAs = append(s.DRAs, ds)
	}
	return s
}
