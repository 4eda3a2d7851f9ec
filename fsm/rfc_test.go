package fsm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
)

// These tests state the transitions of RFC 3539 Appendix A (the watchdog) and RFC 6733 §5.6.1
// (the initiator's rows) as literal expectations, written from the RFC tables (PROTOCOL.md §3.1
// and §4.2), not read from fsm's own table: a row changed by mistake fails here, and a row
// changed on purpose is changed in both places. They use only the package's exported API and
// reach every state by driving a Machine with events from New, never by setting its fields.
//
// How the RFCs' terms map onto this machine:
//
//	INITIAL            not yet usable for the first time: Connecting, CERSent, and Reconnecting
//	                   between failed first attempts, whose timer (the backoff) is AttemptOpen()'s
//	OKAY, Pending=F    Open
//	OKAY, Pending=T    DWRSent
//	SUSPECT            Suspect
//	DOWN               Reconnecting (Failed while the transport is being closed)
//	REOPEN             Reopen
//	Connection up      EvCEAOK (RFC 3539's "connection up" is RFC 6733's I-Open)
//	Connection down    EvTransportLost
//	SetWatchdog()      the deadline armed for Tw
//	SendWatchdog()     ActSendDWR
//	Failover()         ActFailover (with ActMarkUnusable: stop routing first)
//	Failback()         ActMarkUsable
//	CloseConnection()  ActClose (nothing to close when the transport is already gone)
//	AttemptOpen()      ActDial
//	Throwaway()        no ActProcess

// rfcConfig has distinct timer values, so each expectation names which timer a row arms, and no
// jitter, so the values are exact.
var rfcConfig = fsm.Config{
	Tw:                30 * time.Second,
	TwJitter:          -1,
	ConnectTimeout:    11 * time.Second,
	CEATimeout:        7 * time.Second,
	DPATimeout:        3 * time.Second,
	DPRGrace:          4 * time.Second,
	BackoffInitial:    5 * time.Second,
	BackoffMultiplier: 2,
	BackoffMax:        60 * time.Second,
	BackoffJitter:     -1,
	LongBackoff:       45 * time.Second,
}

const (
	tw      = 30 * time.Second
	connect = 11 * time.Second
	cea     = 7 * time.Second
	dpa     = 3 * time.Second
	grace   = 4 * time.Second
	backoff = 5 * time.Second // the first reconnect delay
)

// Deadline expectations: arm for a duration, cancel, or leave as it is.
type deadline struct {
	arm          time.Duration
	cancel, keep bool
}

func arm(d time.Duration) deadline { return deadline{arm: d} }

var (
	cancel = deadline{cancel: true}
	keep   = deadline{keep: true}
)

// Paths from New to a state, as the events that lead there.
var (
	pInitial     = []fsm.EventKind{fsm.EvStart, fsm.EvConnected}     // CERSent, first connection
	pOkay        = join(pInitial, fsm.EvCEAOK)                       // Open
	pPending     = join(pOkay, fsm.EvTimeout)                        // DWRSent
	pSuspect     = join(pPending, fsm.EvTimeout)                     // Suspect
	pDown        = join(pOkay, fsm.EvTransportLost)                  // Reconnecting, after an Open
	pDownInitial = []fsm.EventKind{fsm.EvStart, fsm.EvConnectFailed} // Reconnecting, never open
	pReconnected = join(pDown, fsm.EvTimeout, fsm.EvConnected)       // CERSent after an Open
	pReopen      = join(pReconnected, fsm.EvCEAOK)                   // Reopen, NumDWA = 0
	pReopen1     = join(pReopen, fsm.EvDWA)                          // NumDWA = 1
	pReopen2     = join(pReopen1, fsm.EvDWA)                         // NumDWA = 2
	pReopenLapse = join(pReopen, fsm.EvTimeout)                      // NumDWA = -1
	pClosing     = join(pOkay, fsm.EvStop)                           // Closing, our DPR sent
	pPeerDPR     = join(pOkay, fsm.EvDPR)                            // Closing, their DPR answered
	pConnecting  = []fsm.EventKind{fsm.EvStart}                      // Connecting
	pClosed      = []fsm.EventKind(nil)                              // Disconnected
	pAfterReopen = join(pReopen2, fsm.EvDWA)                         // Open again after REOPEN
)

func join(p []fsm.EventKind, more ...fsm.EventKind) []fsm.EventKind {
	return append(append([]fsm.EventKind(nil), p...), more...)
}

// drive builds a Machine and feeds it path; every step must be handled by a row.
func drive(t *testing.T, path []fsm.EventKind) *fsm.Machine {
	t.Helper()
	m := fsm.New(rfcConfig, 1)
	for _, k := range path {
		out := m.Step(fsm.Event{Kind: k, Gen: m.Gen()})
		require.False(t, out.Ignore, "path %v: %s ignored in %s", path, k, out.From)
	}
	return m
}

// rfcRow is one row of an RFC table: from the state path leads to, the event ev gives to, do,
// the deadline, and afterwards Pending and whether the connection is usable.
type rfcRow struct {
	rfc     string // the RFC row, as the RFC words it
	path    []fsm.EventKind
	ev      fsm.EventKind
	to      fsm.State
	do      fsm.Action
	timer   deadline
	pending bool
	ignored bool // no row: the event changes nothing
}

func (r rfcRow) check(t *testing.T) {
	m := drive(t, r.path)
	from := m.State()
	gen := m.Gen()
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
	if watched(r.to) { // RFC 3539 defines Pending in these; DOWN and the closing states ignore it
		assert.Equal(t, r.pending, m.Pending(), "Pending")
	}
	assert.Equal(t, r.to == fsm.Open || r.to == fsm.DWRSent, m.State().Usable(), "usable")
}

func watched(s fsm.State) bool {
	return s == fsm.Open || s == fsm.DWRSent || s == fsm.Suspect || s == fsm.Reopen
}

func runRows(t *testing.T, rows []rfcRow) {
	for _, r := range rows {
		t.Run(strings.ReplaceAll(r.rfc, " ", "_")+"/"+r.ev.String(), func(t *testing.T) { r.check(t) })
	}
}

// RFC 3539 Appendix A, "state  event  actions  new state", one expectation per row and event.
func TestRFC3539AppendixA(t *testing.T) {
	runRows(t, []rfcRow{
		// INITIAL
		{rfc: "INITIAL Connection up: SetWatchdog() OKAY",
			path: pInitial, ev: fsm.EvCEAOK, to: fsm.Open, do: fsm.ActMarkUsable, timer: arm(tw)},
		{rfc: "INITIAL Timer expires: AttemptOpen() SetWatchdog() INITIAL",
			path: pDownInitial, ev: fsm.EvTimeout, to: fsm.Connecting, do: fsm.ActDial, timer: arm(connect)},
		{rfc: "INITIAL/DOWN Receive DWA: Pending=FALSE Throwaway() unchanged",
			path: pDownInitial, ev: fsm.EvDWA, to: fsm.Reconnecting, timer: keep, ignored: true},
		{rfc: "INITIAL/DOWN Receive DWA: Pending=FALSE Throwaway() unchanged",
			path: pDown, ev: fsm.EvDWA, to: fsm.Reconnecting, timer: keep, ignored: true},
		{rfc: "INITIAL/DOWN Receive non-DWA: Throwaway() unchanged",
			path: pDown, ev: fsm.EvMessage, to: fsm.Reconnecting, timer: keep, ignored: true},
		{rfc: "INITIAL/DOWN Receive non-DWA: Throwaway() unchanged",
			path: pDown, ev: fsm.EvDWR, to: fsm.Reconnecting, timer: keep, ignored: true},

		// OKAY
		{rfc: "OKAY Receive DWA: Pending=FALSE SetWatchdog() OKAY",
			path: pPending, ev: fsm.EvDWA, to: fsm.Open, timer: arm(tw)},
		{rfc: "OKAY Receive DWA: Pending=FALSE SetWatchdog() OKAY",
			path: pOkay, ev: fsm.EvDWA, to: fsm.Open, timer: arm(tw)},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: pOkay, ev: fsm.EvMessage, to: fsm.Open, do: fsm.ActProcess, timer: arm(tw)},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: pOkay, ev: fsm.EvDWR, to: fsm.Open, do: fsm.ActSendDWA, timer: arm(tw)},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: pPending, ev: fsm.EvMessage, to: fsm.DWRSent, do: fsm.ActProcess, timer: arm(tw), pending: true},
		{rfc: "OKAY Receive non-DWA: SetWatchdog() OKAY",
			path: pPending, ev: fsm.EvDWR, to: fsm.DWRSent, do: fsm.ActSendDWA, timer: arm(tw), pending: true},
		{rfc: "OKAY Timer expires & !Pending: SendWatchdog() SetWatchdog() Pending=TRUE OKAY",
			path: pOkay, ev: fsm.EvTimeout, to: fsm.DWRSent, do: fsm.ActSendDWR, timer: arm(tw), pending: true},
		{rfc: "OKAY Timer expires & Pending: Failover() SetWatchdog() SUSPECT",
			path: pPending, ev: fsm.EvTimeout, to: fsm.Suspect, do: fsm.ActMarkUnusable | fsm.ActFailover, timer: arm(tw), pending: true},
		{rfc: "OKAY Connection down: CloseConnection() Failover() SetWatchdog() DOWN",
			path: pOkay, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActMarkUnusable | fsm.ActFailover, timer: arm(backoff)},
		{rfc: "OKAY Connection down: CloseConnection() Failover() SetWatchdog() DOWN",
			path: pPending, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActMarkUnusable | fsm.ActFailover, timer: arm(backoff)},

		// SUSPECT
		{rfc: "SUSPECT Receive DWA: Pending=FALSE Failback() SetWatchdog() OKAY",
			path: pSuspect, ev: fsm.EvDWA, to: fsm.Open, do: fsm.ActMarkUsable, timer: arm(tw)},
		{rfc: "SUSPECT Receive non-DWA: Failback() SetWatchdog() OKAY",
			path: pSuspect, ev: fsm.EvMessage, to: fsm.DWRSent, do: fsm.ActProcess | fsm.ActMarkUsable, timer: arm(tw), pending: true},
		{rfc: "SUSPECT Receive non-DWA: Failback() SetWatchdog() OKAY",
			path: pSuspect, ev: fsm.EvDWR, to: fsm.DWRSent, do: fsm.ActSendDWA | fsm.ActMarkUsable, timer: arm(tw), pending: true},
		{rfc: "SUSPECT Timer expires: CloseConnection() SetWatchdog() DOWN",
			path: pSuspect, ev: fsm.EvTimeout, to: fsm.Failed, do: fsm.ActClose, timer: cancel},
		{rfc: "SUSPECT Timer expires: CloseConnection() SetWatchdog() DOWN",
			path: join(pSuspect, fsm.EvTimeout), ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActFailover, timer: arm(backoff)},
		// Failover is a no-op here: SUSPECT failed everything over already and routed nothing new.
		{rfc: "SUSPECT Connection down: CloseConnection() SetWatchdog() DOWN",
			path: pSuspect, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActFailover, timer: arm(backoff)},

		// DOWN
		{rfc: "DOWN Connection up: NumDWA=0 SendWatchdog() SetWatchdog() Pending=TRUE REOPEN",
			path: pReconnected, ev: fsm.EvCEAOK, to: fsm.Reopen, do: fsm.ActSendDWR, timer: arm(tw), pending: true},
		{rfc: "DOWN Timer expires: AttemptOpen() SetWatchdog() DOWN",
			path: pDown, ev: fsm.EvTimeout, to: fsm.Connecting, do: fsm.ActDial, timer: arm(connect)},

		// REOPEN. Deviation (fsm's Cite, freeDiameter p_dw.c): a DWA sends the next DWR at once
		// instead of at the next expiry, so Pending stays TRUE and "Timer expires & !Pending"
		// cannot happen (TestRFC3539ReopenIsAlwaysPending).
		{rfc: "REOPEN Receive DWA & NumDWA<2: Pending=FALSE NumDWA++ REOPEN",
			path: pReopen, ev: fsm.EvDWA, to: fsm.Reopen, do: fsm.ActSendDWR, timer: arm(tw), pending: true},
		{rfc: "REOPEN Receive DWA & NumDWA<2: Pending=FALSE NumDWA++ REOPEN",
			path: pReopen1, ev: fsm.EvDWA, to: fsm.Reopen, do: fsm.ActSendDWR, timer: arm(tw), pending: true},
		{rfc: "REOPEN Receive DWA & NumDWA==2: Pending=FALSE NumDWA++ Failback() OKAY",
			path: pReopen2, ev: fsm.EvDWA, to: fsm.Open, do: fsm.ActMarkUsable, timer: arm(tw)},
		{rfc: "REOPEN Receive non-DWA: Throwaway() REOPEN",
			path: pReopen, ev: fsm.EvDPA, to: fsm.Reopen, timer: keep, pending: true},
		// A DWR is still answered in REOPEN (OTP diameter_watchdog; the RFC is silent).
		{rfc: "REOPEN Receive non-DWA: Throwaway() REOPEN",
			path: pReopen1, ev: fsm.EvDWR, to: fsm.Reopen, do: fsm.ActSendDWA, timer: keep, pending: true},
		{rfc: "REOPEN Timer expires & Pending & NumDWA>=0: NumDWA=-1 SetWatchdog() REOPEN",
			path: pReopen1, ev: fsm.EvTimeout, to: fsm.Reopen, timer: arm(tw), pending: true},
		{rfc: "REOPEN Timer expires & Pending & NumDWA<0: CloseConnection() SetWatchdog() DOWN",
			path: pReopenLapse, ev: fsm.EvTimeout, to: fsm.Failed, do: fsm.ActClose, timer: cancel},
		{rfc: "REOPEN Connection down: CloseConnection() SetWatchdog() DOWN",
			path: pReopen, ev: fsm.EvTransportLost, to: fsm.Reconnecting, timer: arm(2 * backoff)},
	})
}

// REOPEN's "Receive non-DWA" for other messages: whatever traffic handling makes of them, they
// do not count as DWAs, do not make the connection usable and do not move the deadline.
func TestRFC3539ReopenThrowsTrafficAway(t *testing.T) {
	m := drive(t, pReopen1)
	gen := m.Gen()
	out := m.Step(fsm.Event{Kind: fsm.EvMessage})
	assert.Equal(t, fsm.Reopen, out.To)
	assert.False(t, out.Do.Has(fsm.ActMarkUsable))
	assert.False(t, out.Arm || out.Cancel)
	assert.Equal(t, gen, m.Gen())
	// Still two more DWAs to go (NumDWA is still 1): the message counted for nothing.
	m.Step(fsm.Event{Kind: fsm.EvDWA})
	assert.Equal(t, fsm.Reopen, m.State())
	assert.Equal(t, fsm.Open, m.Step(fsm.Event{Kind: fsm.EvDWA}).To)
}

// With the next DWR sent as each DWA arrives, REOPEN always has a DWR outstanding.
func TestRFC3539ReopenIsAlwaysPending(t *testing.T) {
	for _, path := range [][]fsm.EventKind{pReopen, pReopen1, pReopen2, pReopenLapse, join(pReopenLapse, fsm.EvDWA)} {
		m := drive(t, path)
		require.Equal(t, fsm.Reopen, m.State(), "%v", path)
		assert.True(t, m.Pending(), "%v", path)
	}
}

// RFC 6733 §5.6.1, the initiator's rows, "state  event  action  next state" (the election and
// R- rows do not apply to a client that only dials out).
func TestRFC6733Initiator(t *testing.T) {
	runRows(t, []rfcRow{
		{rfc: "Closed Start: I-Snd-Conn-Req Wait-Conn-Ack",
			path: pClosed, ev: fsm.EvStart, to: fsm.Connecting, do: fsm.ActDial, timer: arm(connect)},
		{rfc: "Wait-Conn-Ack I-Rcv-Conn-Ack: I-Snd-CER Wait-I-CEA",
			path: pConnecting, ev: fsm.EvConnected, to: fsm.CERSent, do: fsm.ActSendCER, timer: arm(cea)},
		// Closed, and the next attempt after the backoff (RFC 6733 §2.1: Tc between attempts).
		{rfc: "Wait-Conn-Ack I-Rcv-Conn-Nack: Cleanup Closed",
			path: pConnecting, ev: fsm.EvConnectFailed, to: fsm.Reconnecting, timer: arm(backoff)},
		{rfc: "Wait-Conn-Ack Timeout: Error Closed",
			path: pConnecting, ev: fsm.EvTimeout, to: fsm.Reconnecting, do: fsm.ActCancelDial, timer: arm(backoff)},
		{rfc: "Wait-I-CEA I-Rcv-CEA: Process-CEA I-Open",
			path: pInitial, ev: fsm.EvCEAOK, to: fsm.Open, do: fsm.ActMarkUsable, timer: arm(tw)},
		// §5.3 / PROTOCOL.md §3.2: a failed CEA is an Error; the retry comes after the backoff.
		{rfc: "Wait-I-CEA I-Rcv-CEA (failure): Error Closed",
			path: pInitial, ev: fsm.EvCEAFailed, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA I-Peer-Disc: I-Disc Closed",
			path: pInitial, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActMarkUnusable, timer: arm(backoff)},
		{rfc: "Wait-I-CEA I-Rcv-Non-CEA: Error Closed",
			path: pInitial, ev: fsm.EvMessage, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA I-Rcv-Non-CEA: Error Closed",
			path: pInitial, ev: fsm.EvDWR, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA I-Rcv-Non-CEA: Error Closed",
			path: pInitial, ev: fsm.EvDWA, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA I-Rcv-Non-CEA: Error Closed",
			path: pInitial, ev: fsm.EvDPR, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA I-Rcv-Non-CEA: Error Closed",
			path: pInitial, ev: fsm.EvDPA, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "Wait-I-CEA Timeout: Error Closed",
			path: pInitial, ev: fsm.EvTimeout, to: fsm.Failed, do: fsm.ActMarkUnusable | fsm.ActClose, timer: cancel},
		{rfc: "I-Open I-Rcv-Message: Process I-Open",
			path: pOkay, ev: fsm.EvMessage, to: fsm.Open, do: fsm.ActProcess, timer: arm(tw)},
		{rfc: "I-Open I-Rcv-DWR: Process-DWR I-Snd-DWA I-Open",
			path: pOkay, ev: fsm.EvDWR, to: fsm.Open, do: fsm.ActSendDWA, timer: arm(tw)},
		{rfc: "I-Open I-Rcv-DWA: Process-DWA I-Open",
			path: pPending, ev: fsm.EvDWA, to: fsm.Open, timer: arm(tw)},
		{rfc: "I-Open Stop: I-Snd-DPR Closing",
			path: pOkay, ev: fsm.EvStop, to: fsm.Closing, do: fsm.ActMarkUnusable | fsm.ActSendDPR, timer: arm(dpa)},
		{rfc: "I-Open I-Rcv-DPR: I-Snd-DPA Closing",
			path: pOkay, ev: fsm.EvDPR, to: fsm.Closing, do: fsm.ActMarkUnusable | fsm.ActSendDPA, timer: arm(grace)},
		{rfc: "I-Open I-Peer-Disc: I-Disc Closed",
			path: pOkay, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActMarkUnusable | fsm.ActFailover, timer: arm(backoff)},
		{rfc: "Closing I-Rcv-DPA: I-Disc Closed",
			path: pClosing, ev: fsm.EvDPA, to: fsm.Closing, do: fsm.ActClose, timer: arm(grace)},
		{rfc: "Closing Timeout: Error Closed",
			path: pClosing, ev: fsm.EvTimeout, to: fsm.Closing, do: fsm.ActClose, timer: arm(grace)},
		// Stop was asked for: Closed for good.
		{rfc: "Closing I-Peer-Disc: I-Disc Closed",
			path: pClosing, ev: fsm.EvTransportLost, to: fsm.Disconnected, do: fsm.ActFailover, timer: cancel},
		// The peer's DPR (REBOOTING by default): Closed, then reconnect after the backoff (§5.4.3).
		{rfc: "Closing I-Peer-Disc: I-Disc Closed",
			path: pPeerDPR, ev: fsm.EvTransportLost, to: fsm.Reconnecting, do: fsm.ActFailover, timer: arm(backoff)},
	})
}

// The silent peer, end to end in the machine's own time: the DWR goes out after Tw of silence,
// SUSPECT (and failover) comes Tw later, DOWN one Tw after that (RFC 3539 §3.4.1; PROTOCOL.md
// §4.1: ~Tw, ~2·Tw, ~3·Tw), then the reconnect, REOPEN and three DWAs back to OKAY.
func TestRFC3539SilentPeerTimeline(t *testing.T) {
	m := drive(t, pOkay)
	var now time.Duration
	expire := func(want fsm.State, do fsm.Action) fsm.Output {
		t.Helper()
		out := m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: m.Gen()})
		require.Equal(t, want, out.To, "at %v", now)
		require.Equal(t, do.String(), out.Do.String(), "at %v", now)
		return out
	}
	now += tw
	expire(fsm.DWRSent, fsm.ActSendDWR)
	assert.Equal(t, tw, now, "DWR after Tw of silence")
	now += tw
	expire(fsm.Suspect, fsm.ActMarkUnusable|fsm.ActFailover)
	assert.Equal(t, 2*tw, now, "SUSPECT and failover at 2·Tw")
	now += tw
	expire(fsm.Failed, fsm.ActClose)
	assert.Equal(t, 3*tw, now, "closed at 3·Tw")

	out := m.Step(fsm.Event{Kind: fsm.EvTransportLost})
	require.Equal(t, fsm.Reconnecting, out.To)
	require.Equal(t, backoff, out.After)
	expire(fsm.Connecting, fsm.ActDial)
	m.Step(fsm.Event{Kind: fsm.EvConnected})
	out = m.Step(fsm.Event{Kind: fsm.EvCEAOK})
	require.Equal(t, fsm.Reopen, out.To, "a reconnect goes through REOPEN")
	for i := 1; i <= 3; i++ {
		require.False(t, m.State().Usable(), "no traffic before DWA %d", i)
		out = m.Step(fsm.Event{Kind: fsm.EvDWA})
	}
	assert.Equal(t, fsm.Open, out.To, "the third DWA in a row makes it usable")
	assert.Equal(t, fsm.ActMarkUsable, out.Do)
	assert.Zero(t, m.Attempts(), "usable again: the backoff starts over")
}

// A lapse in REOPEN (a Tw without the DWA) sets NumDWA to -1: the count starts over, so four
// DWAs bring it back (-1 → 0 → 1 → 2 → OKAY); a second lapse before a DWA closes it.
func TestRFC3539ReopenCountsAgainAfterALapse(t *testing.T) {
	m := drive(t, pReopen1)
	require.Equal(t, fsm.Reopen, m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: m.Gen()}).To) // NumDWA = -1
	for i := 1; i <= 3; i++ {
		require.Equal(t, fsm.Reopen, m.Step(fsm.Event{Kind: fsm.EvDWA}).To, "DWA %d after the lapse", i)
	}
	assert.Equal(t, fsm.Open, m.Step(fsm.Event{Kind: fsm.EvDWA}).To, "the fourth")

	m = drive(t, pReopenLapse)
	out := m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: m.Gen()})
	assert.Equal(t, fsm.Failed, out.To, "two silent periods in REOPEN: DOWN")
	assert.Equal(t, fsm.ActClose, out.Do)
}

// The reconnect delay grows by BackoffMultiplier per failed attempt up to BackoffMax, whatever
// failed (the dial, the CEA, REOPEN), and starts over once the connection was usable; after a
// DPR saying BUSY it is LongBackoff (RFC 6733 §5.4.3, PROTOCOL.md §3.3).
func TestRFC6733BackoffGrowth(t *testing.T) {
	m := drive(t, pConnecting)
	var got []time.Duration
	for i := 0; i < 3; i++ { // dials refused
		got = append(got, m.Step(fsm.Event{Kind: fsm.EvConnectFailed}).After)
		m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: m.Gen()})
	}
	for i := 0; i < 2; i++ { // CEAs refused
		m.Step(fsm.Event{Kind: fsm.EvConnected})
		m.Step(fsm.Event{Kind: fsm.EvCEAFailed})
		got = append(got, m.Step(fsm.Event{Kind: fsm.EvTransportLost}).After)
		m.Step(fsm.Event{Kind: fsm.EvTimeout, Gen: m.Gen()})
	}
	got = append(got, m.Step(fsm.Event{Kind: fsm.EvConnectFailed}).After)
	assert.Equal(t, []time.Duration{5e9, 10e9, 20e9, 40e9, 60e9, 60e9}, got)

	m = drive(t, pReopen) // REOPEN never made it usable: no reset
	assert.Equal(t, 10*time.Second, m.Step(fsm.Event{Kind: fsm.EvTransportLost}).After, "second attempt since usable")

	m = drive(t, pAfterReopen) // usable again: from the start
	assert.Equal(t, backoff, m.Step(fsm.Event{Kind: fsm.EvTransportLost}).After)

	m = drive(t, pOkay)
	m.Step(fsm.Event{Kind: fsm.EvDPR, Cause: framing.Busy})
	assert.Equal(t, 45*time.Second, m.Step(fsm.Event{Kind: fsm.EvTransportLost}).After)
}
