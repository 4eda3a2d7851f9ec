package engine

import (
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
)

// sentReq is a base request of ours awaiting its answer. The answer must carry both of its ids
// (RFC 6733 §6.2); one that does not answers something else and is dropped (§3).
type sentReq struct {
	hbh, e2e uint32
	pending  bool
}

// sentReqs are the base requests a connection can have outstanding: at most one of each, as the
// state machine sends a CER, DWR or DPR only once the previous one is answered or moot.
type sentReqs struct{ cer, dwr, dpr sentReq }

// issue gives a new base request its ids and remembers them in s, replacing an earlier request
// of the same kind: its answer would come too late to mean anything.
func (p *draConn) issue(s *sentReq) (hbh, e2e uint32) {
	*s = sentReq{hbh: p.slots.baseID(), e2e: p.e.nextE2E(), pending: true}
	return s.hbh, s.e2e
}

// answeredBy reports whether h answers s, and forgets s when it does: one answer per request.
func (s *sentReq) answeredBy(h *framing.Header) bool {
	if !s.pending || h.HopByHop != s.hbh || h.EndToEnd != s.e2e {
		return false
	}
	s.pending = false
	return true
}

// unknownBase handles a CEA, DWA or DPA that answers no CER, DWR or DPR of ours: its ids are
// not those of our outstanding request of that kind. It is counted and dropped (RFC 6733 §3: an
// answer "received with an unknown Hop-by-Hop Identifier MUST be discarded"; a known Hop-by-Hop
// with another End-to-End is no better), so it neither completes a capabilities exchange, clears
// a pending DWR, counts toward REOPEN's three DWAs, nor ends a connection. It is still a message
// received, as an ECA nobody asked for is: the state machine sees EvMessage (RFC 3539 §3.4.1:
// any message resets Tw). The warning is rate-limited: a peer can send these in a loop.
func (p *draConn) unknownBase(h *framing.Header, now int64) {
	p.stats.inc(cUnknownBase)
	if ok, n := p.allow(recUnknownBase, now); ok {
		err := &Error{Err: ErrUnknownAnswer, DRA: p.dra.name, Conn: p.index,
			Cause: fmt.Errorf("command %d, Hop-by-Hop %#x, End-to-End %#x", h.Code, h.HopByHop, h.EndToEnd)}
		p.stats.setError(err)
		p.log.Warn("base answer dropped", "err", err, "suppressed", n)
	}
	p.step(fsm.Event{Kind: fsm.EvMessage}, nil)
}
