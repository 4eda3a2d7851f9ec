package fsm

// Guard is a condition on the machine's data that selects among rows with the same
// (state, event) pair. Rows are tried in table order; the first whose guard holds applies.
type Guard uint8

// Guards.
const (
	Always         Guard = iota
	IfPending            // RFC 3539 Pending = TRUE
	IfNotPending         // Pending = FALSE
	IfFirstOpen          // this machine never reached Open: RFC 3539 INITIAL -> OKAY
	IfReconnected        // it did: RFC 3539 DOWN -> REOPEN
	IfDWACounting        // REOPEN with NumDWA < 2
	IfDWALast            // REOPEN with NumDWA == 2: this DWA is the third
	IfPendingAlive       // REOPEN, Pending and NumDWA >= 0
	IfPendingDead        // REOPEN, Pending and NumDWA < 0
	IfStopping           // Stop was requested
	IfNotStopping        // it was not
)

// Effect is a change to the machine's own data, as bits, applied in bit order.
type Effect uint16

// Effects.
const (
	SetPending    Effect = 1 << iota // a DWR is now outstanding
	ClearPending                     // no DWR outstanding
	ResetDWA                         // NumDWA = 0
	IncDWA                           // NumDWA++
	KillDWA                          // NumDWA = -1: one more expiry with a DWR pending closes
	SetStopping                      // remember Stop: the end is Disconnected, not Reconnecting
	SetEverOpen                      // later connections must pass REOPEN
	ResetAttempts                    // the backoff starts over
	CountAttempt                     // one more failed attempt, for the backoff
	RecordCause                      // keep the DPR's Disconnect-Cause for the backoff choice
)

// Timer says what to do with the connection's single deadline.
type Timer uint8

// Timers.
const (
	TimerKeep     Timer = iota // leave the deadline as it is
	TimerCancel                // no deadline
	TimerConnect               // Config.ConnectTimeout
	TimerCEA                   // Config.CEATimeout
	TimerWatchdog              // Tw: Config.Tw with jitter (RFC 3539 SetWatchdog)
	TimerDWA                   // after sending a DWR: Config.DWATimeout, or Tw when it is zero
	TimerDPA                   // Config.DPATimeout: our DPR's answer
	TimerGrace                 // Config.DPRGrace: after our DPA, the peer should close
	TimerBackoff               // reconnect backoff (long after DPR BUSY/DO_NOT_WANT_TO_TALK_TO_YOU)
	TimerCER                   // responder: Config.CERTimeout, the wait for an accepted connection's CER
)

// Row is one transition.
type Row struct {
	From    State
	On      EventKind
	If      Guard
	To      State
	Do      Action
	Effects Effect
	Timer   Timer
	Cite    string // the RFC row (or the reason for a deviation) this row implements
}

// Sources cited below:
//
//	6733: RFC 6733 §5.6.1, initiator rows of the peer state machine, "state  event  action  next".
//	3539: RFC 3539 Appendix A, the watchdog state table, "state  event  actions  new state".
//
// The watchdog's DOWN state is Reconnecting here, and INITIAL is the first pass through CERSent.
// Failover happens when the transport is gone (EvTransportLost) or at SUSPECT; CER, DWR and DPR
// are never failed over (RFC 6733 §5.5.4).
var table = []Row{
	// Starting and dialling.
	{Disconnected, EvStart, Always, Connecting, ActDial, 0, TimerConnect,
		"6733 Closed  Start  I-Snd-Conn-Req  Wait-Conn-Ack"},
	{Disconnected, EvStop, Always, Disconnected, 0, SetStopping, TimerCancel,
		"not started: nothing to close"},
	{Connecting, EvConnected, Always, CERSent, ActSendCER, 0, TimerCEA,
		"6733 Wait-Conn-Ack  I-Rcv-Conn-Ack  I-Snd-CER  Wait-I-CEA"},
	{Connecting, EvConnectFailed, Always, Reconnecting, 0, CountAttempt, TimerBackoff,
		"6733 Wait-Conn-Ack  I-Rcv-Conn-Nack  Cleanup  Closed; 3539 DOWN  Timer expires  AttemptOpen()"},
	{Connecting, EvTimeout, Always, Reconnecting, ActCancelDial, CountAttempt, TimerBackoff,
		"6733 Wait-Conn-Ack  Timeout  Error  Closed"},
	{Connecting, EvStop, Always, Disconnected, ActCancelDial, SetStopping, TimerCancel,
		"6733 Wait-Conn-Ack, Stop: abandon the attempt"},

	// Capabilities exchange.
	{CERSent, EvCEAOK, IfFirstOpen, Open, ActMarkUsable, SetEverOpen | ResetAttempts | ClearPending, TimerWatchdog,
		"6733 Wait-I-CEA  I-Rcv-CEA  Process-CEA  I-Open; 3539 INITIAL  Connection up  SetWatchdog()  OKAY"},
	{CERSent, EvCEAOK, IfReconnected, Reopen, ActSendDWR, SetPending | ResetDWA, TimerDWA,
		"3539 DOWN  Connection up  NumDWA=0, SendWatchdog(), SetWatchdog(), Pending=TRUE  REOPEN"},
	{CERSent, EvCEAFailed, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-CEA (failure)  Error  Closed; RFC 6733 §5.3: no hot loop, back off"},
	{CERSent, EvDWR, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed"},
	{CERSent, EvDWA, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed"},
	{CERSent, EvDPR, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed"},
	{CERSent, EvDPA, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed"},
	{CERSent, EvMessage, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed"},
	{CERSent, EvPeerRebooted, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  I-Rcv-Non-CEA  Error  Closed: a DWR or DWA before the CEA, whatever its Origin-State-Id"},
	{CERSent, EvTimeout, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"6733 Wait-I-CEA  Timeout  Error  Closed"},
	{CERSent, EvTransportLost, Always, Reconnecting, ActMarkUnusable, CountAttempt, TimerBackoff,
		"6733 Wait-I-CEA  I-Peer-Disc  I-Disc  Closed"},
	{CERSent, EvStop, Always, Failed, ActMarkUnusable | ActClose, SetStopping, TimerCancel,
		"6733 Wait-I-CEA, Stop: no DPR before the CEA, just close"},

	// REOPEN: three DWAs in a row before the connection carries traffic again.
	{Reopen, EvDWA, IfDWACounting, Reopen, ActSendDWR, IncDWA, TimerDWA,
		"3539 REOPEN  Receive DWA & NumDWA<2  Pending=FALSE, NumDWA++  REOPEN; non-standard: the " +
			"next DWR goes out at once (freeDiameter p_dw.c), so REOPEN takes three round trips, not 3·Tw"},
	{Reopen, EvDWA, IfDWALast, Open, ActMarkUsable, ClearPending | IncDWA | ResetAttempts, TimerWatchdog,
		"3539 REOPEN  Receive DWA & NumDWA==2  Pending=FALSE, NumDWA++, Failback()  OKAY"},
	{Reopen, EvMessage, Always, Reopen, ActProcess, 0, TimerKeep,
		"3539 REOPEN  Receive non-DWA  Throwaway()  REOPEN: an answer finds nothing pending (none is routed " +
			"here) and is dropped; a request from the peer gets the E-bit 3001 it gets in Open (RFC 6733 §7.1.3), " +
			"as freeDiameter answers in REOPEN: it would be refused in any state, and unanswered the peer " +
			"waits out its own timeout. Neither re-arms the watchdog nor counts towards the three DWAs"},
	{Reopen, EvDWR, Always, Reopen, ActSendDWA, 0, TimerKeep,
		"3539 REOPEN  Receive non-DWA  Throwaway()  REOPEN; a DWR is still answered (OTP diameter_watchdog)"},
	{Reopen, EvDPA, Always, Reopen, 0, 0, TimerKeep,
		"3539 REOPEN  Receive non-DWA  Throwaway()  REOPEN"},
	{Reopen, EvTimeout, IfNotPending, Reopen, ActSendDWR, SetPending, TimerDWA,
		"3539 REOPEN  Timer expires & !Pending  SendWatchdog(), SetWatchdog(), Pending=TRUE  REOPEN"},
	{Reopen, EvTimeout, IfPendingAlive, Reopen, 0, KillDWA, TimerWatchdog,
		"3539 REOPEN  Timer expires & Pending & NumDWA>=0  NumDWA=-1, SetWatchdog()  REOPEN"},
	{Reopen, EvTimeout, IfPendingDead, Failed, ActClose, 0, TimerCancel,
		"3539 REOPEN  Timer expires & Pending & NumDWA<0  CloseConnection(), SetWatchdog()  DOWN"},
	{Reopen, EvDPR, Always, Closing, ActSendDPA, RecordCause, TimerGrace,
		"6733 I-Open  I-Rcv-DPR  I-Snd-DPA  Closing"},
	{Reopen, EvTransportLost, Always, Reconnecting, 0, CountAttempt, TimerBackoff,
		"3539 REOPEN  Connection down  CloseConnection(), SetWatchdog()  DOWN"},
	{Reopen, EvStop, Always, Closing, ActSendDPR, SetStopping, TimerDPA,
		"6733 I-Open  Stop  I-Snd-DPR  Closing"},
	{Reopen, EvPeerRebooted, Always, Failed, ActClose, 0, TimerCancel,
		"RFC 6733 §8.16: a new Origin-State-Id means the peer lost its state; start afresh (freeDiameter check_state_id)"},

	// OKAY without a DWR pending.
	{Open, EvMessage, Always, Open, ActProcess, 0, TimerWatchdog,
		"6733 I-Open  I-Rcv-Message  Process  I-Open; 3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY"},
	{Open, EvDWR, Always, Open, ActSendDWA, 0, TimerWatchdog,
		"6733 I-Open  I-Rcv-DWR  Process-DWR, I-Snd-DWA  I-Open; 3539 OKAY  Receive non-DWA  SetWatchdog()"},
	{Open, EvDWA, Always, Open, 0, ClearPending, TimerWatchdog,
		"6733 I-Open  I-Rcv-DWA  Process-DWA  I-Open; 3539 OKAY  Receive DWA  Pending=FALSE, SetWatchdog()  OKAY"},
	{Open, EvDPA, Always, Open, ActProcess, 0, TimerWatchdog,
		"an unsolicited DPA is an answer with an unknown Hop-by-Hop: discarded and counted (RFC 6733 §6.2.1)"},
	{Open, EvTimeout, Always, DWRSent, ActSendDWR, SetPending, TimerDWA,
		"3539 OKAY  Timer expires & !Pending  SendWatchdog(), SetWatchdog(), Pending=TRUE  OKAY; " +
			"non-standard when Config.DWATimeout is set: the DWA wait is that, not a whole Tw"},
	{Open, EvDPR, Always, Closing, ActMarkUnusable | ActSendDPA, RecordCause, TimerGrace,
		"6733 I-Open  I-Rcv-DPR  I-Snd-DPA  Closing"},
	{Open, EvTransportLost, Always, Reconnecting, ActMarkUnusable | ActFailover, CountAttempt, TimerBackoff,
		"6733 I-Open  I-Peer-Disc  I-Disc  Closed; 3539 OKAY  Connection down  CloseConnection(), Failover(), SetWatchdog()  DOWN"},
	{Open, EvStop, Always, Closing, ActMarkUnusable | ActSendDPR, SetStopping, TimerDPA,
		"6733 I-Open  Stop  I-Snd-DPR  Closing"},
	{Open, EvPeerRebooted, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"RFC 6733 §8.16: a new Origin-State-Id means the peer lost its state; start afresh (freeDiameter check_state_id)"},

	// OKAY with a DWR pending.
	{DWRSent, EvMessage, Always, DWRSent, ActProcess, 0, TimerWatchdog,
		"3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY (Pending stays TRUE)"},
	{DWRSent, EvDWR, Always, DWRSent, ActSendDWA, 0, TimerWatchdog,
		"6733 I-Open  I-Rcv-DWR  I-Snd-DWA; 3539 OKAY  Receive non-DWA  SetWatchdog(): our DWR stays pending"},
	{DWRSent, EvDWA, Always, Open, 0, ClearPending, TimerWatchdog,
		"3539 OKAY  Receive DWA  Pending=FALSE, SetWatchdog()  OKAY"},
	{DWRSent, EvDPA, Always, DWRSent, ActProcess, 0, TimerWatchdog,
		"an unsolicited DPA is an answer with an unknown Hop-by-Hop: discarded and counted (RFC 6733 §6.2.1)"},
	{DWRSent, EvTimeout, Always, Suspect, ActMarkUnusable | ActFailover, 0, TimerWatchdog,
		"3539 OKAY  Timer expires & Pending  Failover(), SetWatchdog()  SUSPECT"},
	{DWRSent, EvDPR, Always, Closing, ActMarkUnusable | ActSendDPA, RecordCause, TimerGrace,
		"6733 I-Open  I-Rcv-DPR  I-Snd-DPA  Closing"},
	{DWRSent, EvTransportLost, Always, Reconnecting, ActMarkUnusable | ActFailover, CountAttempt, TimerBackoff,
		"3539 OKAY  Connection down  CloseConnection(), Failover(), SetWatchdog()  DOWN"},
	{DWRSent, EvStop, Always, Closing, ActMarkUnusable | ActSendDPR, SetStopping, TimerDPA,
		"6733 I-Open  Stop  I-Snd-DPR  Closing"},
	{DWRSent, EvPeerRebooted, Always, Failed, ActMarkUnusable | ActClose, 0, TimerCancel,
		"RFC 6733 §8.16: a new Origin-State-Id means the peer lost its state; start afresh (freeDiameter check_state_id)"},

	// SUSPECT.
	{Suspect, EvDWA, Always, Open, ActMarkUsable, ClearPending, TimerWatchdog,
		"3539 SUSPECT  Receive DWA  Pending=FALSE, Failback(), SetWatchdog()  OKAY"},
	{Suspect, EvMessage, Always, DWRSent, ActProcess | ActMarkUsable, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY (Pending stays TRUE)"},
	{Suspect, EvDWR, Always, DWRSent, ActSendDWA | ActMarkUsable, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY; the DWR is answered"},
	{Suspect, EvDPA, Always, DWRSent, ActProcess | ActMarkUsable, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY"},
	{Suspect, EvTimeout, Always, Failed, ActClose, 0, TimerCancel,
		"3539 SUSPECT  Timer expires  CloseConnection(), SetWatchdog()  DOWN"},
	{Suspect, EvDPR, Always, Closing, ActSendDPA, RecordCause, TimerGrace,
		"6733 I-Open  I-Rcv-DPR  I-Snd-DPA  Closing"},
	{Suspect, EvTransportLost, Always, Reconnecting, ActFailover, CountAttempt, TimerBackoff,
		"3539 SUSPECT  Connection down  CloseConnection(), SetWatchdog()  DOWN"},
	{Suspect, EvStop, Always, Closing, ActSendDPR, SetStopping, TimerDPA,
		"6733 I-Open  Stop  I-Snd-DPR  Closing"},
	{Suspect, EvPeerRebooted, Always, Failed, ActClose, 0, TimerCancel,
		"RFC 6733 §8.16: a new Origin-State-Id means the peer lost its state; start afresh (freeDiameter check_state_id)"},

	// Closing: our DPR waits for its DPA, or our DPA waits for the peer to close.
	{Closing, EvDPA, Always, Closing, ActClose, 0, TimerGrace,
		"6733 Closing  I-Rcv-DPA  I-Disc  Closed"},
	{Closing, EvTimeout, Always, Closing, ActClose, 0, TimerGrace,
		"6733 Closing  Timeout  Error  Closed"},
	{Closing, EvTransportLost, IfStopping, Disconnected, ActFailover, 0, TimerCancel,
		"6733 Closing  I-Peer-Disc  I-Disc  Closed"},
	{Closing, EvTransportLost, IfNotStopping, Reconnecting, ActFailover, CountAttempt, TimerBackoff,
		"6733 Closing  I-Peer-Disc  I-Disc  Closed; RFC 6733 §5.4.3: reconnect after REBOOTING, stay away after BUSY"},
	{Closing, EvMessage, Always, Closing, ActProcess, 0, TimerKeep,
		"answers still in flight when the DPR crossed them are delivered (RFC 6733 §5.4)"},
	{Closing, EvDWR, Always, Closing, ActSendDWA, 0, TimerKeep,
		"6733 I-Rcv-DWR  I-Snd-DWA: a peer that is still talking gets its DWA"},
	{Closing, EvDPR, Always, Closing, ActSendDPA, RecordCause, TimerKeep,
		"6733 I-Rcv-DPR  I-Snd-DPA: DPRs crossed"},
	{Closing, EvStop, Always, Closing, 0, SetStopping, TimerKeep,
		"already closing: remember that the end is final"},

	// Failed: the transport is being closed after an error.
	{Failed, EvTransportLost, IfStopping, Disconnected, ActFailover, 0, TimerCancel,
		"6733 Error/Disc  Closed"},
	{Failed, EvTransportLost, IfNotStopping, Reconnecting, ActFailover, CountAttempt, TimerBackoff,
		"3539 DOWN  Timer expires  AttemptOpen(); RFC 6733 §2.1 Tc between attempts"},
	{Failed, EvStop, Always, Failed, 0, SetStopping, TimerKeep,
		"already closing: remember that the end is final"},

	// Reconnecting (DOWN).
	{Reconnecting, EvTimeout, Always, Connecting, ActDial, 0, TimerConnect,
		"3539 DOWN  Timer expires  AttemptOpen(), SetWatchdog()  DOWN; 6733 Closed  Start  I-Snd-Conn-Req"},
	{Reconnecting, EvStop, Always, Disconnected, 0, SetStopping, TimerCancel,
		"stopping while down: nothing to close"},
}

// ignored lists the (state, event) pairs that have no row, deliberately: Step leaves the machine
// as it is and reports Ignored. Every pair is either in the table or here (the tests check it).
var ignored = []ignoredPair[State]{
	{Disconnected, []EventKind{EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTimeout, EvTransportLost, EvPeerRebooted},
		"no transport and no deadline: a late dial result or timer is stale"},
	{Connecting, []EventKind{EvStart, EvCEAOK, EvCEAFailed, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTransportLost, EvPeerRebooted},
		"no transport yet"},
	{CERSent, []EventKind{EvStart, EvConnected, EvConnectFailed},
		"the dial is over"},
	{Reopen, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed},
		"a second CEA or a stale dial result"},
	{Open, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed},
		"a second CEA or a stale dial result"},
	{DWRSent, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed},
		"a second CEA or a stale dial result"},
	{Suspect, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed},
		"a second CEA or a stale dial result"},
	{Closing, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed, EvDWA, EvPeerRebooted},
		"closing: nothing but the end matters"},
	{Failed, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTimeout, EvPeerRebooted},
		"the transport is already being closed; only its loss moves on"},
	{Reconnecting, []EventKind{EvStart, EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTransportLost, EvPeerRebooted},
		"no transport: only the backoff timer or Stop move on"},
}

// Rows returns a copy of the transition table, for documentation and tests.
func Rows() []Row { return append([]Row(nil), table...) }

// IsIgnored reports whether (s, e) is one of the deliberately ignored pairs, and why.
func IsIgnored(s State, e EventKind) (string, bool) {
	if e.responderOnly() {
		return "a responder's event: the initiator sends the CER, it never receives one", true
	}
	return whyIgnored(ignored, s, e)
}

// index maps (state, event) to the table rows for it, in table order.
var index [numStates][numEvents][]int16

func init() {
	for i, r := range table {
		index[r.From][r.On] = append(index[r.From][r.On], int16(i))
	}
}
