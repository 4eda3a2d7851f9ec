package engine

import (
	"crypto/tls"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/s13"
)

// Counters are the per-connection counters; DRA and engine totals are their sums.
type Counters struct {
	MessagesIn, MessagesOut uint64 // every Diameter message, base protocol included; out: handed to the socket
	BytesIn, BytesOut       uint64 // wire bytes: over TLS the records (handshake included), not the plaintext
	Requests                uint64 // ECRs handed to the socket, resends included
	Retransmits             uint64 // ECRs handed to the socket with the T flag after a failover
	AlternateRetries        uint64 // requests this DRA answered 3002/3004 that were resent via another DRA
	Answers                 AnswerCounts
	Timeouts                uint64 // requests that got no answer in time on this connection
	UnknownAnswers          uint64 // ECAs matching no pending request (Hop-by-Hop and End-to-End): dropped
	UnknownBaseAnswers      uint64 // CEAs, DWAs and DPAs answering no CER, DWR or DPR of ours: dropped
	MalformedAnswers        uint64 // answers matched to a request but not decodable
	Failovers               uint64 // requests moved off this connection when it failed
	Reconnects              uint64 // connections opened after the first
	FramingResets           uint64 // streams reset because the peer broke the framing rules (ErrProtocol)
	SlowPeerCloses          uint64 // connections reset because the peer did not read: answering its requests would have gone past MaxOutboundBytes
	CEARejects              uint64 // capabilities exchanges that failed
	PeerReboots             uint64 // Origin-State-Id changes seen
	PeerReopens             uint64 // connections the peer put in its REOPEN (a DWR right after the CEA): held until it was over
	DWRSent, DWRReceived    uint64
	DWAReceived             uint64
	InFlight                int // requests waiting for an answer now
	Latency                 Latency

	// Deprecated: use FramingResets (this is not Answers.ProtocolError, the 3xxx answers).
	// Still filled, with the same value.
	ProtocolErrors uint64
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
	// EquipmentUnknown counts, of Experimental, the answers with 3GPP's 5422
	// DIAMETER_ERROR_EQUIPMENT_UNKNOWN (TS 29.272 §7.4.3.1), S13's one Experimental-Result; the
	// rest of Experimental is any other code or vendor. Not in Total: it is part of Experimental.
	EquipmentUnknown uint64
}

// LatencyBuckets is the number of buckets of a Latency histogram: LatencyBound(i) for i <
// LatencyBuckets-1, and the last one for everything longer.
const LatencyBuckets = 26

// Latency is a histogram of answer round trips (an ECR handed to the socket to its answer read
// on the same connection), in power-of-two buckets from about a microsecond to about 17 s:
// counting one is a shift and two adds on the loop, and sums of histograms are histograms.
type Latency struct {
	Buckets  [LatencyBuckets]uint64 // Buckets[i]: round trips under LatencyBound(i) and not under LatencyBound(i-1)
	SumNanos uint64                 // the round trips' sum
}

// LatencyBound returns the upper bound (exclusive) of bucket i: 2^(10+i) ns. The last bucket
// has none; LatencyBound returns the largest Duration for it. Safe for concurrent use.
func LatencyBound(i int) time.Duration {
	if i >= LatencyBuckets-1 {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(1) << (10 + i)
}

// latDirty is a uint32 mask of the buckets.
var _ [32 - LatencyBuckets]struct{}

// latencyBucket returns the bucket of a round trip of ns nanoseconds.
func latencyBucket(ns uint64) int {
	return min(bits.Len64(ns>>10), LatencyBuckets-1)
}

// Count returns the number of round trips in the histogram.
func (l Latency) Count() uint64 {
	var n uint64
	for _, b := range l.Buckets {
		n += b
	}
	return n
}

func (l *Latency) add(o *Latency) {
	for i, b := range o.Buckets {
		l.Buckets[i] += b
	}
	l.SumNanos += o.SumNanos
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
	c.Answers.EquipmentUnknown += o.Answers.EquipmentUnknown
	c.Answers.Other += o.Answers.Other
	c.Timeouts += o.Timeouts
	c.UnknownAnswers += o.UnknownAnswers
	c.UnknownBaseAnswers += o.UnknownBaseAnswers
	c.MalformedAnswers += o.MalformedAnswers
	c.Failovers += o.Failovers
	c.Reconnects += o.Reconnects
	c.FramingResets += o.FramingResets
	c.ProtocolErrors += o.ProtocolErrors
	c.SlowPeerCloses += o.SlowPeerCloses
	c.CEARejects += o.CEARejects
	c.PeerReboots += o.PeerReboots
	c.PeerReopens += o.PeerReopens
	c.DWRSent += o.DWRSent
	c.DWRReceived += o.DWRReceived
	c.DWAReceived += o.DWAReceived
	c.InFlight += o.InFlight
	c.Latency.add(&o.Latency)
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
	// TLS is what the connection's TLS handshake agreed, set with the CEA it protected; the
	// zero value for a TCP connection (and before its CEA).
	TLS        TLSInfo
	State      string
	StateSince time.Time
	Usable     bool // routed to: a usable state and not held
	// Settling: just after its CEA (or the peer's REOPEN), the connection is held for a moment
	// before it is routed to (peerSettle: OTP drops requests sent right after its CEA).
	Settling bool
	// PeerReopening: the peer put the connection in its REOPEN (RFC 3539: after an unclean
	// close of ours, it sent a DWR right after the CEA) and drops our requests until it has had
	// three DWAs; the connection is held until then.
	PeerReopening bool
	RTT           time.Duration // moving average of ECR round trips
	// LastErr is the connection's last error as a value, for errors.Is and errors.As: most are an
	// *Error wrapping a sentinel (ErrCEARejected, ErrProtocol, ErrSlowPeer, ErrUnknownAnswer,
	// ErrLoopExited) and its cause; a failed dial or a closed socket gives the network's error.
	// Nil when there has been none.
	LastErr     error
	LastError   string // LastErr's text, "" when none
	LastErrorAt time.Time
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
	Usable         int    // usable connections
	Outstanding    int64  // requests submitted and not yet completed
	CallbackPanics uint64 // panics recovered in Go callbacks, OnStateChange and HealthReport
	// CallbackExits counts callbacks that called runtime.Goexit: on the event loop each one
	// ended the loop, which was then replaced (see ErrLoopExited).
	CallbackExits uint64
	// TimerWakeups counts the times the loop was woken because a timer on its wheel was due
	// (watchdog, backoff, answer timeout...), not by traffic or a caller: an idle engine is woken
	// only when something is due, not every Tick.
	TimerWakeups uint64
	// InboxDepth is the number of requests the loop found waiting in the inbox when it last took
	// from it (a backlog: the loop takes at most a batch a round).
	InboxDepth int
	// Busy and NoConnection count the requests Check and Go refused with ErrBusy and
	// ErrNoConnection (nothing was sent).
	Busy, NoConnection uint64
}

// StateChange is one connection state transition, as passed to Config.OnStateChange.
type StateChange struct {
	DRA      string
	Conn     int // 1-based within the DRA
	From, To fsm.State
	Event    fsm.EventKind // what caused it
	Time     time.Time
}

// notify runs a state-change hook, keeping a panic in it from killing the loop; a
// runtime.Goexit is noticed and the loop replaced (recover.go).
func (e *Engine) notify(f func(StateChange), sc StateChange) {
	returned := false
	defer func() {
		if v := recover(); v != nil {
			e.callbackPanics.Add(1)
			e.log.Error("OnStateChange panicked", "panic", v)
		} else if !returned {
			e.callbackExited("OnStateChange")
		}
	}()
	f(sc)
	returned = true
}

// Counter indexes of connStats. The loop counts in plain memory and publishes to atomics once per
// service round: an atomic add per event was a dozen locked instructions per request.
const (
	cMsgsIn = iota
	cMsgsOut
	cBytesIn
	cBytesOut
	cRequests
	cRetransmits
	cAltRetries
	cSuccess
	cProto
	cTransient
	cPermanent
	cExp
	cExpEquipmentUnknown
	cOther
	cTimeouts
	cUnknownAnswers
	cUnknownBase
	cMalformed
	cFailovers
	cReconnects
	cOpens
	cFramingResets
	cSlowPeerCloses
	cCEARejects
	cPeerReboots
	cPeerReopens
	cDWRSent
	cDWRReceived
	cDWAReceived
	cInFlight   // a level, stored as its two's complement
	cRTT        // moving average of round trips, ns
	cLatSum     // sum of round trips, ns
	cLat0       // the first of LatencyBuckets latency buckets
	numCounters = cLat0 + LatencyBuckets
)

// connStats is a connection's statistics: counters written by the loop in c and published in pub
// (see publish), plus state and descriptive fields that change rarely and are stored directly.
type connStats struct {
	p     *draConn
	c     [numCounters]uint64 // loop-owned
	dirty bool                // c changed since the last publish
	// latDirty has bit i set when latency bucket i changed since the last publish: a round
	// publishes the one or two buckets it touched, not all LatencyBuckets.
	latDirty uint32
	pub      [numCounters]atomic.Uint64

	state   atomic.Uint32
	hold    atomic.Uint32 // a holdState
	since   atomic.Int64
	info    atomic.Pointer[connInfo]
	lastErr atomic.Pointer[errInfo]
}

type connInfo struct {
	local, remote, peerHost, peerRealm string
	tls                                TLSInfo
}

// TLSInfo is the protocol version and cipher suite a TLS handshake agreed (crypto/tls's
// values); the zero value: no TLS.
type TLSInfo struct {
	Version     uint16 // tls.VersionTLS12, tls.VersionTLS13
	CipherSuite uint16 // e.g. tls.TLS_AES_128_GCM_SHA256
}

// String is "TLS 1.3 TLS_AES_128_GCM_SHA256", or "" for no TLS. Safe for concurrent use.
func (t TLSInfo) String() string {
	if t == (TLSInfo{}) {
		return ""
	}
	return tls.VersionName(t.Version) + " " + tls.CipherSuiteName(t.CipherSuite)
}

type errInfo struct {
	err error
	msg string
	at  time.Time
}

// add counts n at counter i. Loop only.
func (s *connStats) add(i int, n uint64) {
	s.c[i] += n
	if !s.dirty {
		s.dirty = true
		s.p.e.dirty = append(s.p.e.dirty, s.p)
	}
}

func (s *connStats) inc(i int) { s.add(i, 1) }

// inFlight moves the level of outstanding requests by d. Loop only.
func (s *connStats) inFlight(d int64) { s.add(cInFlight, uint64(d)) }

// publish makes the loop's counters visible to Stats. Loop only (or the closing goroutine once
// the loop has stopped).
func (s *connStats) publish() {
	link.Publish(s.c[:cLat0], s.pub[:cLat0])
	for m := s.latDirty; m != 0; m &= m - 1 {
		i := cLat0 + bits.TrailingZeros32(m)
		s.pub[i].Store(s.c[i])
	}
	s.latDirty = 0
	s.dirty = false
}

// publishStats publishes the counters of every connection that changed.
func (e *Engine) publishStats() {
	for i, p := range e.dirty {
		p.stats.publish()
		e.dirty[i] = nil
	}
	e.dirty = e.dirty[:0]
}

func (s *connStats) setState(st fsm.State) {
	s.state.Store(uint32(st))
	s.since.Store(timeNow().UnixNano())
}

func (s *connStats) setHold(h holdState) { s.hold.Store(uint32(h)) }

func (s *connStats) setError(err error) {
	s.lastErr.Store(&errInfo{err: err, msg: err.Error(), at: timeNow()})
}

func (s *connStats) connected(local, remote string) {
	s.info.Store(&connInfo{local: local, remote: remote})
}

func (s *connStats) setPeer(host, realm string, t TLSInfo) {
	old := s.info.Load()
	n := &connInfo{peerHost: host, peerRealm: realm, tls: t}
	if old != nil {
		n.local, n.remote = old.local, old.remote
	}
	s.info.Store(n)
}

// rtt folds one round trip into the moving average (weight 1/8, as TCP's SRTT). Loop only.
func (s *connStats) rtt(ns int64) {
	ns = max(ns, 0)
	s.c[cLatSum] += uint64(ns)
	b := latencyBucket(uint64(ns))
	s.c[cLat0+b]++ // dirty: the add below marks it
	s.latDirty |= 1 << b
	old := int64(s.c[cRTT])
	if old == 0 {
		s.add(cRTT, uint64(ns))
		return
	}
	s.add(cRTT, uint64((ns-old)/8))
}

func (s *connStats) countAnswer(a *s13.Answer) {
	if a.HasExperimentalResult {
		s.inc(cExp)
		if a.ExperimentalResult == (s13.ExperimentalResult{VendorID: s13.VendorID, Code: s13.EquipmentUnknown}) {
			s.inc(cExpEquipmentUnknown)
		}
		return
	}
	switch a.ResultCode.Class() {
	case 2:
		s.inc(cSuccess)
	case 3:
		s.inc(cProto)
	case 4:
		s.inc(cTransient)
	case 5:
		s.inc(cPermanent)
	default:
		s.inc(cOther)
	}
}

// counters reads the published counters. Safe for concurrent use.
func (s *connStats) counters() Counters {
	v := func(i int) uint64 { return s.pub[i].Load() }
	c := Counters{
		MessagesIn:       v(cMsgsIn),
		MessagesOut:      v(cMsgsOut),
		BytesIn:          v(cBytesIn),
		BytesOut:         v(cBytesOut),
		Requests:         v(cRequests),
		Retransmits:      v(cRetransmits),
		AlternateRetries: v(cAltRetries),
		Answers: AnswerCounts{
			Success:          v(cSuccess),
			ProtocolError:    v(cProto),
			TransientError:   v(cTransient),
			PermanentError:   v(cPermanent),
			Experimental:     v(cExp),
			EquipmentUnknown: v(cExpEquipmentUnknown),
			Other:            v(cOther),
		},
		Timeouts:         v(cTimeouts),
		UnknownAnswers:   v(cUnknownAnswers),
		MalformedAnswers: v(cMalformed),
		Failovers:        v(cFailovers),
		Reconnects:       v(cReconnects),
		FramingResets:    v(cFramingResets),
		SlowPeerCloses:   v(cSlowPeerCloses),
		CEARejects:       v(cCEARejects),
		PeerReboots:      v(cPeerReboots),
		PeerReopens:      v(cPeerReopens),
		DWRSent:          v(cDWRSent),
		DWRReceived:      v(cDWRReceived),
		DWAReceived:      v(cDWAReceived),
		InFlight:         int(int64(v(cInFlight))),

		UnknownBaseAnswers: v(cUnknownBase),
		ProtocolErrors:     v(cFramingResets),
	}
	for i := range c.Latency.Buckets {
		c.Latency.Buckets[i] = v(cLat0 + i)
	}
	c.Latency.SumNanos = v(cLatSum)
	return c
}

// Stats returns the statistics of every connection, per DRA and in total. Safe for concurrent
// use; it reads atomics and never waits for the loop. Counters are as of the loop's last round of
// work (microseconds old under load); states and errors are current.
func (e *Engine) Stats() Snapshot {
	s := Snapshot{
		Time:           timeNow(),
		Usable:         int(e.routes.usable.Load()),
		Outstanding:    e.outstanding.Load(),
		CallbackPanics: e.callbackPanics.Load(),
		CallbackExits:  e.callbackExits.Load(),
		TimerWakeups:   e.alarm.Rings(),
		InboxDepth:     int(e.inboxDepth.Load()),
		Busy:           e.refusedBusy.Load(),
		NoConnection:   e.refusedNoConn.Load(),
	}
	for _, d := range e.dras {
		ds := DRAStats{Name: d.name, Address: d.addr, Priority: d.cfg.Priority, Connections: len(d.peers)}
		for _, p := range d.peers {
			st := fsm.State(p.stats.state.Load())
			hold := holdState(p.stats.hold.Load())
			c := ConnStats{
				DRA:           d.name,
				Index:         p.index,
				Address:       d.addr,
				OriginHost:    p.id.OriginHost,
				State:         st.String(),
				StateSince:    time.Unix(0, p.stats.since.Load()),
				Usable:        st.Usable() && hold == holdNone,
				Settling:      hold == holdSettle,
				PeerReopening: hold == holdReopen,
				RTT:           time.Duration(p.stats.pub[cRTT].Load()),
				Counters:      p.stats.counters(),
			}
			if in := p.stats.info.Load(); in != nil {
				c.LocalAddr, c.RemoteAddr, c.PeerOriginHost, c.PeerOriginRealm = in.local, in.remote, in.peerHost, in.peerRealm
				c.TLS = in.tls
			}
			if le := p.stats.lastErr.Load(); le != nil {
				c.LastErr, c.LastError, c.LastErrorAt = le.err, le.msg, le.at
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
