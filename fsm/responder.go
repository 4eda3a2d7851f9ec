package fsm

import (
	"strconv"
	"time"
)

// RState is a responder connection's state: the responder side of RFC 6733 §5.6.1 merged with
// the RFC 3539 watchdog as a responder runs it. A responder has no failover and does not
// reconnect: SUSPECT means "no answer to our DWR within Tw", DOWN means "close the connection".
type RState uint8

// Responder states, with the RFC states they stand for.
const (
	RClosed        RState = iota // RFC 6733 Closed: no transport (not yet accepted, or gone)
	RWaitCER                     // RFC 6733 Closed with the transport accepted: R-Conn-CER awaited
	ROpen                        // RFC 6733 R-Open, RFC 3539 OKAY with no DWR pending
	RDWRSent                     // R-Open, OKAY with Pending=TRUE: our DWR is outstanding
	RSuspect                     // R-Open, RFC 3539 SUSPECT: no answer to our DWR within Tw
	RClosing                     // RFC 6733 Closing: DPR sent (ours or theirs), waiting for the end
	RDisconnecting               // the close was issued (R-Disc, Error, RFC 3539 DOWN): waiting for the transport to go
	numRStates
)

var rstateNames = [numRStates]string{
	"Closed", "WaitCER", "Open", "DWRSent", "Suspect", "Closing", "Disconnecting",
}

func (s RState) String() string {
	if s < numRStates {
		return rstateNames[s]
	}
	return "RState(" + strconv.Itoa(int(s)) + ")"
}

// Okay reports whether s is RFC 3539 OKAY: open with the watchdog content. In these states any
// message other than a DWA maps to the same state (it only re-arms Tw).
func (s RState) Okay() bool { return s == ROpen || s == RDWRSent }

// RStates lists every responder state, for tests and documentation.
func RStates() []RState {
	out := make([]RState, numRStates)
	for i := range out {
		out[i] = RState(i)
	}
	return out
}

// ResponderOutput is the result of a Responder's Step: what changed and what the owner must do.
type ResponderOutput struct {
	From, To RState
	Do       Action
	// Arm: (re)arm the connection's deadline After from now with generation Gen. Cancel: no
	// deadline. Neither: leave it.
	Arm    bool
	Cancel bool
	After  time.Duration
	Gen    uint32
	Row    int  // index of the applied row in ResponderRows(), -1 when none applied
	Ignore bool // a deliberately ignored pair (see IsIgnoredByResponder), or a stale timeout
	Stale  bool // EvTimeout with an old generation
}

// Responder is the state of one accepted connection. It shares Config, the timers and their
// jitter with the initiator's Machine. Not safe for concurrent use: it belongs to the event loop
// that owns the connection.
type Responder struct {
	core
	state RState
}

// NewResponder returns a Responder in RClosed; EvStart (the transport was accepted) arms the CER
// wait. seed feeds the jitter generator; equal seeds give equal timer sequences.
func NewResponder(cfg Config, seed uint64) *Responder {
	return &Responder{core: newCore(cfg, seed)}
}

// State returns the current state.
func (r *Responder) State() RState { return r.state }

// Pending reports whether our DWR is outstanding.
func (r *Responder) Pending() bool { return r.pending }

// Stopping reports whether Stop was requested: a Closing that is ours, not the peer's.
func (r *Responder) Stopping() bool { return r.stopping }

// Opened reports whether the capabilities exchange succeeded on this connection.
func (r *Responder) Opened() bool { return r.everOpen }

// Gen returns the generation of the current deadline.
func (r *Responder) Gen() uint32 { return r.gen }

// Step applies ev and returns what to do. ActProcess and ActSendCEA are the owner's to carry out
// with the message in hand (the Result-Code of a CEA is Process-CER's). It never fails: pairs
// without a row are deliberately ignored (Output.Ignore), which the table tests check.
func (r *Responder) Step(ev Event) ResponderOutput {
	out := ResponderOutput{From: r.state, To: r.state, Row: -1}
	if ev.Kind == EvTimeout && ev.Gen != r.gen {
		out.Ignore, out.Stale = true, true
		return out
	}
	for _, i := range rindex[r.state][ev.Kind] {
		row := &responderTable[i]
		if !r.holds(row.If) {
			continue
		}
		r.apply(row.Effects)
		r.state = row.To
		out.To, out.Do, out.Row = row.To, row.Do, int(i)
		out.Arm, out.Cancel, out.After, out.Gen = r.deadline(row.Timer, 0)
		return out
	}
	out.Ignore = true
	return out
}
