package framing

import "sync/atomic"

// EndToEndSeed returns the first End-to-End Identifier per RFC 6733 §3: the low 12 bits of the
// current time (seconds) in the high 12 bits, random bits in the low 20, so ids stay unique across
// a restart for the 4 minutes the RFC asks while fewer than 2^20 are issued per second (faster
// senders use EndToEndClock). The caller supplies both inputs: this package reads no clock and no
// random source.
func EndToEndSeed(unixSeconds int64, random uint32) uint32 {
	return uint32(unixSeconds&0xFFF)<<20 | random&0xFFFFF
}

// EndToEndIDs hands out End-to-End Identifiers by incrementing from a seed. Next is safe for
// concurrent use.
type EndToEndIDs struct{ next atomic.Uint32 }

// NewEndToEndIDs starts the sequence at seed (see EndToEndSeed).
func NewEndToEndIDs(seed uint32) *EndToEndIDs {
	e := &EndToEndIDs{}
	e.next.Store(seed)
	return e
}

// Next returns the next identifier; the sequence wraps at 2^32.
func (e *EndToEndIDs) Next() uint32 { return e.next.Add(1) - 1 }

// HopByHopIDs hands out Hop-by-Hop Identifiers for one connection: unique among that
// connection's outstanding requests, increasing from a random start (RFC 6733 §3). Not safe for
// concurrent use: a connection's ids belong to the goroutine that writes on it.
type HopByHopIDs struct{ next uint32 }

// NewHopByHopIDs starts the sequence at a random value supplied by the caller.
func NewHopByHopIDs(random uint32) HopByHopIDs { return HopByHopIDs{next: random} }

// Next returns the next identifier; the sequence wraps at 2^32.
func (h *HopByHopIDs) Next() uint32 {
	id := h.next
	h.next++
	return id
}

// EndToEndRate is how fast the clock floor of an EndToEndClock advances: 2^22 identifiers per
// second of wall-clock time. The 2^32 space then comes round every 1024 s (17 min), over four
// times the 4 minutes of RFC 6733 §3, and a sender of up to 4,194,304 requests per second never
// gets ahead of the clock.
const EndToEndRate = 1 << 22

// EndToEndFloor is the clock floor at unixNano (nanoseconds since the Unix epoch, not before
// it): unixNano·EndToEndRate/10^9, not reduced modulo 2^32.
func EndToEndFloor(unixNano int64) uint64 {
	t := uint64(unixNano)
	return t/1e9*EndToEndRate + t%1e9*EndToEndRate/1e9
}

// EndToEndClock hands out End-to-End Identifiers that stay unique for 4 minutes across restarts
// (RFC 6733 §3) at high request rates. Each identifier is one more than the previous one, or the
// clock floor (EndToEndFloor of the current time) when that is higher, modulo 2^32. A sender that
// issues fewer than EndToEndRate identifiers per second is held to the floor: what it issued by
// time t lies below the floor at t plus its last burst (the identifiers issued at one clock
// reading). A process that restarts, in the same second or later, starts at the floor of its
// start time, past everything the previous one issued unless it restarts sooner than that burst
// takes at EndToEndRate (an event loop's batch of some thousands: milliseconds). Within one
// process the identifiers are a counter, unique until the floor or the counter has moved 2^32
// on.
//
// Limits: two processes that share an Origin-Host at the same time issue the same identifiers
// (RFC 6733 gives each node its own Origin-Host); a sender that keeps above EndToEndRate gets
// ahead of the floor, and a restart then lands in what it issued; the identifiers are as good
// as the wall clock at start, and one set back across a restart moves the floor back with it.
//
// The RFC's own suggestion (EndToEndSeed: the low 12 bits of the time in seconds above a
// counter started at a random 20-bit value) holds up to 2^20 identifiers per second only: at
// higher rates the counter runs into the time bits of the seconds to come, where a restarted
// process starts.
//
// Not safe for concurrent use: one event loop owns it.
type EndToEndClock struct {
	start int64  // the Unix time in nanoseconds at elapsed 0
	last  uint64 // the last identifier, not reduced modulo 2^32
	at    int64  // the elapsed time floor is for: callers pass the same reading many times
	floor uint64
}

// NewEndToEndClock returns a clock whose elapsed time 0 is the Unix time start (nanoseconds);
// its first identifier is the floor at start.
func NewEndToEndClock(start int64) EndToEndClock {
	f := EndToEndFloor(start)
	return EndToEndClock{start: start, last: f - 1, floor: f}
}

// Next returns the identifier for a request sent at elapsed nanoseconds after the clock's start,
// as read on a monotonic clock. An earlier reading than the previous call's is harmless: it only
// has a lower floor. Not safe for concurrent use.
func (c *EndToEndClock) Next(elapsed int64) uint32 {
	if elapsed != c.at {
		c.at, c.floor = elapsed, EndToEndFloor(c.start+elapsed)
	}
	n := c.last + 1
	if n < c.floor {
		n = c.floor
	}
	c.last = n
	return uint32(n)
}
