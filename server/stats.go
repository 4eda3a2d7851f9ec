package server

import "sync/atomic"

// Stats are the server's counters since Start, summed over its event loops.
type Stats struct {
	Connections int64  // transport connections open now
	Peers       int64  // of those, past a successful CER/CEA
	Accepted    uint64 // connections accepted

	CERs       uint64 // CERs received (the first message of a connection)
	CERRejects uint64 // CERs answered with an error (5010, 3010, 5012, malformed), then closed
	NoCER      uint64 // connections closed because the first message was not a CER, or none came within CERTimeout

	Requests       uint64 // requests other than CER, DWR and DPR
	Answers        uint64 // answers sent to them, delayed ones included, 3001s included
	Unsupported    uint64 // of those, E-bit 3001 answers (no Handler)
	NoAnswer       uint64 // requests the Handler chose not to answer
	Delayed        uint64 // answers the Handler asked to delay
	DelayedDropped uint64 // delayed answers dropped: their connection closed first, or MaxDelayedPerConn was reached

	DWRReceived uint64 // each answered with a DWA
	DWRSent     uint64 // our own, on idle connections
	DWAReceived uint64 // absorbed
	DPRReceived uint64 // each answered with a DPA
	DPRSent     uint64 // on Close
	DPAReceived uint64

	UnexpectedAnswers  uint64 // answers to requests we did not send (or CEAs): counted and dropped
	FramingErrors      uint64 // streams reset because a header was invalid
	HandlerPanics      uint64 // recovered; the connection was closed
	HandlerErrors      uint64 // Handler output that was not whole Diameter messages: dropped
	WatchdogCloses     uint64 // connections closed by the watchdog: no answer to our DWR for Tw (SUSPECT), then Tw more (DOWN)
	SlowConsumerCloses uint64 // connections closed because more than MaxOutboundBytes of answers were unread
	// TLSHandshakeFailures: TLS connections closed before their handshake completed (a failed
	// handshake, an alert from the client, no handshake within CERTimeout) or refused by the
	// client's alert before any message arrived.
	TLSHandshakeFailures uint64

	MessagesIn uint64 // whole messages received
	BytesIn    uint64
	BytesOut   uint64
	Writes     uint64 // conn.Write calls; BytesOut/Writes shows how well answers were batched

	// TimerWakeups counts the times a loop was woken because a timer on its wheel was due (a
	// delayed answer, the watchdog, a CER or DPA wait), not by traffic: an idle server is woken
	// only when something is due, not every Tick.
	TimerWakeups uint64
}

// counter indexes the per-loop counters.
type counter int

const (
	cAccepted counter = iota
	cCERs
	cCERRejects
	cNoCER
	cRequests
	cAnswers
	cUnsupported
	cNoAnswer
	cDelayed
	cDelayedDropped
	cDWRReceived
	cDWRSent
	cDWAReceived
	cDPRReceived
	cDPRSent
	cDPAReceived
	cUnexpectedAnswers
	cFramingErrors
	cHandlerPanics
	cHandlerErrors
	cWatchdogCloses
	cSlowConsumerCloses
	cMessagesIn
	cBytesIn
	cBytesOut
	cWrites
	cTLSHandshakeFailures
	numCounters
)

// counters are a loop's published counts. The loop counts into a plain array while it works and
// stores the cumulative values here once per event (link.Publish), so a batch of requests costs a
// few atomic stores, not several atomic adds each.
type counters struct {
	_ [64]byte // keep the hot atomics of different loops off each other's cache line
	v [numCounters]atomic.Uint64
}

func (s *Stats) add(c *counters) {
	s.Accepted += c.v[cAccepted].Load()
	s.CERs += c.v[cCERs].Load()
	s.CERRejects += c.v[cCERRejects].Load()
	s.NoCER += c.v[cNoCER].Load()
	s.Requests += c.v[cRequests].Load()
	s.Answers += c.v[cAnswers].Load()
	s.Unsupported += c.v[cUnsupported].Load()
	s.NoAnswer += c.v[cNoAnswer].Load()
	s.Delayed += c.v[cDelayed].Load()
	s.DelayedDropped += c.v[cDelayedDropped].Load()
	s.DWRReceived += c.v[cDWRReceived].Load()
	s.DWRSent += c.v[cDWRSent].Load()
	s.DWAReceived += c.v[cDWAReceived].Load()
	s.DPRReceived += c.v[cDPRReceived].Load()
	s.DPRSent += c.v[cDPRSent].Load()
	s.DPAReceived += c.v[cDPAReceived].Load()
	s.UnexpectedAnswers += c.v[cUnexpectedAnswers].Load()
	s.FramingErrors += c.v[cFramingErrors].Load()
	s.HandlerPanics += c.v[cHandlerPanics].Load()
	s.HandlerErrors += c.v[cHandlerErrors].Load()
	s.WatchdogCloses += c.v[cWatchdogCloses].Load()
	s.SlowConsumerCloses += c.v[cSlowConsumerCloses].Load()
	s.MessagesIn += c.v[cMessagesIn].Load()
	s.BytesIn += c.v[cBytesIn].Load()
	s.BytesOut += c.v[cBytesOut].Load()
	s.Writes += c.v[cWrites].Load()
	s.TLSHandshakeFailures += c.v[cTLSHandshakeFailures].Load()
}
