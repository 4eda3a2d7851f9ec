package fsm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/fsm"
)

// These tests state the responder's transitions as literal expectations written from the RFC
// text, not read from fsm's responder table: RFC 6733 §5.6.1's responder rows
//
//	Closed     R-Conn-CER    R-Accept, Process-CER, R-Snd-CEA   R-Open
//	R-Open     R-Rcv-Message Process                            R-Open
//	R-Open     R-Rcv-DWR     Process-DWR, R-Snd-DWA             R-Open
//	R-Open     R-Rcv-DWA     Process-DWA                        R-Open
//	R-Open     R-Conn-CER    R-Reject                           R-Open
//	R-Open     Stop          R-Snd-DPR                          Closing
//	R-Open     R-Rcv-DPR     R-Snd-DPA                          Closing
//	R-Open     R-Peer-Disc   R-Disc                             Closed
//	Closing    R-Rcv-DPA     R-Disc                             Closed
//	Closing    Timeout       Error                              Closed
//	Closing    R-Peer-Disc   R-Disc                             Closed
//
// with §5.3 (a CER that fails Process-CER is answered with the error and the transport closed),
// merged with RFC 3539 Appendix A as a responder runs it: OKAY, SUSPECT (no answer to our DWR
// within Tw; Failover() and Failback() are nothing, it routes no requests) and DOWN, which for
// a responder is "close the connection" (it does not reconnect, so there is no REOPEN).
//
// How the terms map: R-Open with Pending=FALSE is ROpen, with Pending=TRUE RDWRSent, SUSPECT is
// RSuspect; R-Disc, Error and CloseConnection() are ActClose, after which the connection is
// RDisconnecting until the transport is gone (RClosed).

var respConfig = fsm.Config{
	Tw:         30 * time.Second,
	TwJitter:   -1,
	CERTimeout: 9 * time.Second,
	DPATimeout: 3 * time.Second,
	DPRGrace:   4 * time.Second,
}

const cerWait = 9 * time.Second

var (
	rAccepted = []fsm.EventKind{fsm.EvStart}                         // WaitCER
	rOkay     = join(rAccepted, fsm.EvCEROK)                         // Open
	rPending  = join(rOkay, fsm.EvTimeout)                           // DWRSent
	rSuspect  = join(rPending, fsm.EvTimeout)                        // Suspect
	rStopped  = join(rOkay, fsm.EvStop)                              // Closing, our DPR sent
	rPeerDPR  = join(rOkay, fsm.EvDPR)                               // Closing, their DPR answered
	rDown     = join(rSuspect, fsm.EvTimeout)                        // Disconnecting after SUSPECT
	rRejected = join(rAccepted, fsm.EvCERRejected)                   // Disconnecting after a bad CER
	rGone     = join(rOkay, fsm.EvTransportLost)                     // Closed
	rClosingT = join(rStopped, fsm.EvStop, fsm.EvDWR, fsm.EvMessage) // still Closing
)

func driveResponder(t *testing.T, path []fsm.EventKind) *fsm.Responder {
	t.Helper()
	m := fsm.NewResponder(respConfig, 1)
	for _, k := range path {
		out := m.Step(fsm.Event{Kind: k, Gen: m.Gen()})
		require.False(t, out.Ignore, "path %v: %s ignored in %s", path, k, out.From)
	}
	return m
}

type respRow struct {
	rfc     string
	path    []fsm.EventKind
	ev      fsm.EventKind
	to      fsm.RState
	do      fsm.Action
	timer   deadline
	pending bool
	ignored bool
}

func (r respRow) check(t *testing.T) {
	m := driveResponder(t, r.path)
	from, gen := m.State(), m.Gen()
	out := m.Step(fsm.Event{Kind: r.ev, Gen: gen})
	assert.Equal(t, from, out.From)
	assert.Equal(t, r.to, out.To, "next state")
	assert.Equal(t, r.to, m.State())
	assert.Equal(t, r.do.String(), out.Do.String(), "actions")
	assert.Equal(t, r.ignored, out.Ignore, "ignored")
	switch {
	case r.timer.keep:
		assert.False(t, out.Arm || out.Cancel, "the deadline stays")
		assert.Equal(t, gen, m.Gen(), "the deadline stays")
	case r.timer.cancel:
		assert.True(t, out.Cancel, "no deadline")
		assert.False(t, out.Arm)
	default:
		assert.True(t, out.Arm, "a deadline is armed")
		assert.Equal(t, r.timer.arm, out.After, "the deadline armed")
	}
	if r.to == fsm.ROpen || r.to == fsm.RDWRSent || r.to == fsm.RSuspect {
		assert.Equal(t, r.pending, m.Pending(), "Pending")
	}
}

func TestResponderRFC6733Rows(t *testing.T) {
	rows := []respRow{
		{rfc: "Closed R-Conn-CER (accepted): CER awaited",
			path: nil, ev: fsm.EvStart, to: fsm.RWaitCER, timer: arm(cerWait)},
		{rfc: "Closed R-Conn-CER: R-Accept Process-CER R-Snd-CEA R-Open",
			path: rAccepted, ev: fsm.EvCEROK, to: fsm.ROpen, do: fsm.ActSendCEA, timer: arm(tw)},
		{rfc: "§5.3 Process-CER fails: CEA with the error, then close",
			path: rAccepted, ev: fsm.EvCERRejected, to: fsm.RDisconnecting, do: fsm.ActSendCEA | fsm.ActClose, timer: cancel},
		{rfc: "§5.3 first message not a CER: closed unanswered",
			path: rAccepted, ev: fsm.EvMessage, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "§5.3 first message not a CER: closed unanswered",
			path: rAccepted, ev: fsm.EvDWR, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "no CER in time: Error Closed",
			path: rAccepted, ev: fsm.EvTimeout, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "R-Peer-Disc before the CER: R-Disc Closed",
			path: rAccepted, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},

		{rfc: "R-Open R-Rcv-Message: Process R-Open",
			path: rOkay, ev: fsm.EvMessage, to: fsm.ROpen, do: fsm.ActProcess, timer: arm(tw)},
		{rfc: "R-Open R-Rcv-DWR: Process-DWR R-Snd-DWA R-Open",
			path: rOkay, ev: fsm.EvDWR, to: fsm.ROpen, do: fsm.ActSendDWA, timer: arm(tw)},
		{rfc: "R-Open R-Rcv-DWA: Process-DWA R-Open",
			path: rPending, ev: fsm.EvDWA, to: fsm.ROpen, timer: arm(tw)},
		{rfc: "R-Open R-Conn-CER: R-Reject R-Open (a second CER is a message)",
			path: rOkay, ev: fsm.EvCEROK, to: fsm.ROpen, timer: keep, ignored: true},
		{rfc: "R-Open Stop: R-Snd-DPR Closing",
			path: rOkay, ev: fsm.EvStop, to: fsm.RClosing, do: fsm.ActSendDPR, timer: arm(dpa)},
		{rfc: "R-Open Stop: R-Snd-DPR Closing",
			path: rSuspect, ev: fsm.EvStop, to: fsm.RClosing, do: fsm.ActSendDPR, timer: arm(dpa)},
		{rfc: "R-Open R-Rcv-DPR: R-Snd-DPA Closing",
			path: rOkay, ev: fsm.EvDPR, to: fsm.RClosing, do: fsm.ActSendDPA, timer: arm(grace)},
		{rfc: "R-Open R-Rcv-DPR: R-Snd-DPA Closing",
			path: rPending, ev: fsm.EvDPR, to: fsm.RClosing, do: fsm.ActSendDPA, timer: arm(grace)},
		{rfc: "R-Open R-Peer-Disc: R-Disc Closed",
			path: rOkay, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},

		{rfc: "Closing R-Rcv-DPA: R-Disc Closed",
			path: rStopped, ev: fsm.EvDPA, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "Closing Timeout: Error Closed (no DPA)",
			path: rStopped, ev: fsm.EvTimeout, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "Closing Timeout: Error Closed (the client kept the connection after our DPA)",
			path: rPeerDPR, ev: fsm.EvTimeout, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "Closing R-Peer-Disc: R-Disc Closed",
			path: rPeerDPR, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},
		{rfc: "Closing R-Peer-Disc: R-Disc Closed",
			path: rClosingT, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},
		// §5.4: the DPR does not cut off answers to requests that crossed it.
		{rfc: "Closing R-Rcv-Message: still answered",
			path: rPeerDPR, ev: fsm.EvMessage, to: fsm.RClosing, do: fsm.ActProcess, timer: keep},
		{rfc: "Closing R-Rcv-DPR: DPRs crossed, R-Snd-DPA",
			path: rStopped, ev: fsm.EvDPR, to: fsm.RClosing, do: fsm.ActSendDPA, timer: keep},

		{rfc: "after the close: R-Disc Closed",
			path: rRejected, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},
		{rfc: "after the close: nothing more is read",
			path: rDown, ev: fsm.EvMessage, to: fsm.RDisconnecting, timer: keep, ignored: true},
		{rfc: "Closed: a late timer changes nothing",
			path: rGone, ev: fsm.EvTimeout, to: fsm.RClosed, timer: keep, ignored: true},
	}
	runResp(t, rows)
}

func TestResponderRFC3539Rows(t *testing.T) {
	rows := []respRow{
		{rfc: "OKAY Receive DWA: Pending=FALSE SetWatchdog() OKAY",
			path: rOkay, ev: fsm.EvDWA, to: fsm.ROpen, timer: arm(tw)},
		{rfc: "OKAY Receive DWA: Pending=FALSE SetWatchdog() OKAY",
			path: rPending, ev: fsm.EvDWA, to: fsm.ROpen, timer: arm(tw)},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: rPending, ev: fsm.EvMessage, to: fsm.RDWRSent, do: fsm.ActProcess, timer: arm(tw), pending: true},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: rPending, ev: fsm.EvDWR, to: fsm.RDWRSent, do: fsm.ActSendDWA, timer: arm(tw), pending: true},
		{rfc: "OKAY Timer expires & !Pending: SendWatchdog() SetWatchdog() Pending=TRUE OKAY",
			path: rOkay, ev: fsm.EvTimeout, to: fsm.RDWRSent, do: fsm.ActSendDWR, timer: arm(tw), pending: true},
		{rfc: "OKAY Timer expires & Pending: Failover() SetWatchdog() SUSPECT",
			path: rPending, ev: fsm.EvTimeout, to: fsm.RSuspect, timer: arm(tw), pending: true},
		{rfc: "OKAY Connection down: DOWN",
			path: rPending, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},

		{rfc: "SUSPECT Receive DWA: Pending=FALSE Failback() SetWatchdog() OKAY",
			path: rSuspect, ev: fsm.EvDWA, to: fsm.ROpen, timer: arm(tw)},
		{rfc: "SUSPECT Receive non-DWA: Failback() SetWatchdog() OKAY",
			path: rSuspect, ev: fsm.EvMessage, to: fsm.RDWRSent, do: fsm.ActProcess, timer: arm(tw), pending: true},
		{rfc: "SUSPECT Receive non-DWA: Failback() SetWatchdog() OKAY",
			path: rSuspect, ev: fsm.EvDWR, to: fsm.RDWRSent, do: fsm.ActSendDWA, timer: arm(tw), pending: true},
		{rfc: "SUSPECT Timer expires: CloseConnection() SetWatchdog() DOWN",
			path: rSuspect, ev: fsm.EvTimeout, to: fsm.RDisconnecting, do: fsm.ActClose, timer: cancel},
		{rfc: "SUSPECT Connection down: CloseConnection() DOWN",
			path: rSuspect, ev: fsm.EvTransportLost, to: fsm.RClosed, timer: cancel},
	}
	runResp(t, rows)
}

func runResp(t *testing.T, rows []respRow) {
	for _, r := range rows {
		t.Run(strings.ReplaceAll(r.rfc, " ", "_")+"/"+r.ev.String(), func(t *testing.T) { r.check(t) })
	}
}

// A silent client, in the machine's own time: our DWR after Tw of silence, SUSPECT a Tw later,
// the close a Tw after that (RFC 3539 §3.4.1; PROTOCOL.md §4.1: ~Tw, ~2·Tw, ~3·Tw).
func TestResponderSilentClientTimeline(t *testing.T) {
	m := driveResponder(t, rOkay)
	var now time.Duration
	for _, want := range []struct {
		to fsm.RState
		do fsm.Action
	}{{fsm.RDWRSent, fsm.ActSendDWR}, {fsm.RSuspect, 0}, {fsm.RDisconnecting, fsm.ActClose}} {
		gen := m.Gen()
		out := m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: gen})
		require.Equal(t, want.to, out.To, "at %v", now)
		require.Equal(t, want.do.String(), out.Do.String(), "at %v", now)
		if out.Arm {
			now += out.After
		}
	}
	assert.Equal(t, 2*tw, now, "the close is armed 2·Tw after the DWR, which went out at Tw")
}

// The responder's Tw is the initiator's: the same jitter around Tw and the same floor.
func TestResponderWatchdogIsTheInitiators(t *testing.T) {
	cfg := fsm.Config{Tw: 30 * time.Second}
	for seed := uint64(1); seed < 50; seed++ {
		r := fsm.NewResponder(cfg, seed)
		r.Step(fsm.Event{Kind: fsm.EvStart})
		i := fsm.New(cfg, seed)
		i.Step(fsm.Event{Kind: fsm.EvStart})
		i.Step(fsm.Event{Kind: fsm.EvConnected})
		ro, io := r.Step(fsm.Event{Kind: fsm.EvCEROK}), i.Step(fsm.Event{Kind: fsm.EvCEAOK})
		for k := 0; k < 5; k++ {
			assert.Equal(t, io.After, ro.After, "seed %d, arming %d", seed, k)
			assert.GreaterOrEqual(t, ro.After, 28*time.Second)
			assert.LessOrEqual(t, ro.After, 32*time.Second)
			ro, io = r.Step(fsm.Event{Kind: fsm.EvMessage}), i.Step(fsm.Event{Kind: fsm.EvMessage})
		}
	}
	r := fsm.NewResponder(fsm.Config{Tw: 6 * time.Second}, 3)
	r.Step(fsm.Event{Kind: fsm.EvStart})
	r.Step(fsm.Event{Kind: fsm.EvCEROK})
	for k := 0; k < 100; k++ {
		assert.GreaterOrEqual(t, r.Step(fsm.Event{Kind: fsm.EvMessage}).After, 6*time.Second, "never below the floor")
	}
}

// A stale deadline (armed before the latest re-arm) changes nothing.
func TestResponderStaleTimeout(t *testing.T) {
	m := driveResponder(t, rOkay)
	old := m.Gen()
	m.Step(fsm.Event{Kind: fsm.EvMessage})
	out := m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: old})
	assert.True(t, out.Stale)
	assert.Equal(t, fsm.ROpen, m.State())
	assert.False(t, m.Pending())
}
