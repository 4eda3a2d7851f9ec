package framing

import "sync/atomic"

// EndToEndSeed returns the first End-to-End Identifier per RFC 6733 §3: the low 12 bits of the
// current time (seconds) in the high 12 bits, random bits in the low 20, so ids stay unique across
// a restart for the 4 minutes the RFC asks. The caller supplies both inputs: this package reads
// no clock and no random source.
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
