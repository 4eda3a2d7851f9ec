package fsm

// ResponderRow is one transition of the responder's table.
type ResponderRow struct {
	From    RState
	On      EventKind
	If      Guard
	To      RState
	Do      Action
	Effects Effect
	Timer   Timer
	Cite    string // the RFC row (or the reason for a deviation) this row implements
}

// Sources cited below:
//
//	6733: RFC 6733 §5.6.1, responder rows of the peer state machine, "state  event  action  next".
//	3539: RFC 3539 Appendix A, the watchdog state table, "state  event  actions  new state".
//
// RFC 6733's R-Conn-CER is one event, a connection with its CER; here the accept (EvStart) and
// the CER (EvCEROK/EvCERRejected, Process-CER's verdict) are two, and the wait between them is
// RWaitCER. RFC 3539's Failover() and Failback() are nothing on a responder: it routes no
// requests to the peer. Its DOWN is RDisconnecting: a responder closes and does not reconnect.
var responderTable = []ResponderRow{
	// Accept and capabilities exchange.
	{RClosed, EvStart, Always, RWaitCER, 0, 0, TimerCER,
		"6733 Closed  R-Conn-CER: the transport is accepted, its CER awaited for CERTimeout"},
	{RWaitCER, EvCEROK, Always, ROpen, ActSendCEA, SetEverOpen | ClearPending, TimerWatchdog,
		"6733 Closed  R-Conn-CER  R-Accept, Process-CER, R-Snd-CEA  R-Open; 3539 INITIAL  Connection up  SetWatchdog()  OKAY"},
	{RWaitCER, EvCERRejected, Always, RDisconnecting, ActSendCEA | ActClose, 0, TimerCancel,
		"6733 §5.3: a CER that fails Process-CER gets a CEA with the error (5010, 3010, 5012, 5xxx) and the transport is closed"},
	{RWaitCER, EvDWR, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 §5.3: the first message must be a CER; deviation: §5.6.1 has no row for another message on an " +
			"accepted transport, it is closed unanswered (freeDiameter; the initiator's Wait-I-CEA  I-Rcv-Non-CEA  Error)"},
	{RWaitCER, EvDWA, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 §5.3: the first message must be a CER; closed unanswered, as Wait-I-CEA  I-Rcv-Non-CEA  Error"},
	{RWaitCER, EvDPR, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 §5.3: the first message must be a CER; closed unanswered, as Wait-I-CEA  I-Rcv-Non-CEA  Error"},
	{RWaitCER, EvDPA, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 §5.3: the first message must be a CER; closed unanswered, as Wait-I-CEA  I-Rcv-Non-CEA  Error"},
	{RWaitCER, EvMessage, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 §5.3: the first message must be a CER; closed unanswered, as Wait-I-CEA  I-Rcv-Non-CEA  Error"},
	{RWaitCER, EvTimeout, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"no CER within CERTimeout: Error, Closed (as the initiator's Wait-I-CEA  Timeout  Error  Closed)"},
	{RWaitCER, EvStop, Always, RDisconnecting, ActClose, SetStopping, TimerCancel,
		"Stop before the CER: no DPR without capabilities, just close"},
	{RWaitCER, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"6733 R-Peer-Disc  R-Disc  Closed"},

	// OKAY without a DWR pending.
	{ROpen, EvMessage, Always, ROpen, ActProcess, 0, TimerWatchdog,
		"6733 R-Open  R-Rcv-Message  Process  R-Open (a second CER: R-Conn-CER  R-Reject, answered 5012); " +
			"3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY"},
	{ROpen, EvDWR, Always, ROpen, ActSendDWA, 0, TimerWatchdog,
		"6733 R-Open  R-Rcv-DWR  Process-DWR, R-Snd-DWA  R-Open; 3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY"},
	{ROpen, EvDWA, Always, ROpen, 0, ClearPending, TimerWatchdog,
		"6733 R-Open  R-Rcv-DWA  Process-DWA  R-Open; 3539 OKAY  Receive DWA  Pending=FALSE, SetWatchdog()  OKAY"},
	{ROpen, EvDPA, Always, ROpen, 0, 0, TimerWatchdog,
		"a DPA to no DPR of ours: counted and dropped (RFC 6733 §6.2.1); 3539 OKAY  Receive non-DWA  SetWatchdog()"},
	{ROpen, EvTimeout, Always, RDWRSent, ActSendDWR, SetPending, TimerDWA,
		"3539 OKAY  Timer expires & !Pending  SendWatchdog(), SetWatchdog(), Pending=TRUE  OKAY"},
	{ROpen, EvDPR, Always, RClosing, ActSendDPA, 0, TimerGrace,
		"6733 R-Open  R-Rcv-DPR  R-Snd-DPA  Closing; the DPR sender closes (§5.4), one that does not is closed after DPRGrace"},
	{ROpen, EvStop, Always, RClosing, ActSendDPR, SetStopping, TimerDPA,
		"6733 R-Open  Stop  R-Snd-DPR  Closing"},
	{ROpen, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"6733 R-Open  R-Peer-Disc  R-Disc  Closed; 3539 OKAY  Connection down  DOWN (nothing to fail over)"},

	// OKAY with our DWR pending.
	{RDWRSent, EvMessage, Always, RDWRSent, ActProcess, 0, TimerWatchdog,
		"6733 R-Open  R-Rcv-Message  Process; 3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY (Pending stays TRUE)"},
	{RDWRSent, EvDWR, Always, RDWRSent, ActSendDWA, 0, TimerWatchdog,
		"6733 R-Open  R-Rcv-DWR  Process-DWR, R-Snd-DWA; 3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY"},
	{RDWRSent, EvDWA, Always, ROpen, 0, ClearPending, TimerWatchdog,
		"6733 R-Open  R-Rcv-DWA  Process-DWA; 3539 OKAY  Receive DWA  Pending=FALSE, SetWatchdog()  OKAY"},
	{RDWRSent, EvDPA, Always, RDWRSent, 0, 0, TimerWatchdog,
		"a DPA to no DPR of ours: counted and dropped; 3539 OKAY  Receive non-DWA  SetWatchdog()  OKAY"},
	{RDWRSent, EvTimeout, Always, RSuspect, 0, 0, TimerWatchdog,
		"3539 OKAY  Timer expires & Pending  Failover(), SetWatchdog()  SUSPECT; a responder has nothing to fail over"},
	{RDWRSent, EvDPR, Always, RClosing, ActSendDPA, 0, TimerGrace,
		"6733 R-Open  R-Rcv-DPR  R-Snd-DPA  Closing"},
	{RDWRSent, EvStop, Always, RClosing, ActSendDPR, SetStopping, TimerDPA,
		"6733 R-Open  Stop  R-Snd-DPR  Closing"},
	{RDWRSent, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"6733 R-Open  R-Peer-Disc  R-Disc  Closed; 3539 OKAY  Connection down  DOWN"},

	// SUSPECT: still answered; any message brings it back, another silent Tw closes it.
	{RSuspect, EvDWA, Always, ROpen, 0, ClearPending, TimerWatchdog,
		"3539 SUSPECT  Receive DWA  Pending=FALSE, Failback(), SetWatchdog()  OKAY"},
	{RSuspect, EvMessage, Always, RDWRSent, ActProcess, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY (Pending stays TRUE); 6733 R-Rcv-Message  Process"},
	{RSuspect, EvDWR, Always, RDWRSent, ActSendDWA, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY; 6733 R-Rcv-DWR  R-Snd-DWA"},
	{RSuspect, EvDPA, Always, RDWRSent, 0, 0, TimerWatchdog,
		"3539 SUSPECT  Receive non-DWA  Failback(), SetWatchdog()  OKAY"},
	{RSuspect, EvTimeout, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"3539 SUSPECT  Timer expires  CloseConnection(), SetWatchdog()  DOWN; a responder does not reconnect"},
	{RSuspect, EvDPR, Always, RClosing, ActSendDPA, 0, TimerGrace,
		"6733 R-Open  R-Rcv-DPR  R-Snd-DPA  Closing"},
	{RSuspect, EvStop, Always, RClosing, ActSendDPR, SetStopping, TimerDPA,
		"6733 R-Open  Stop  R-Snd-DPR  Closing"},
	{RSuspect, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"3539 SUSPECT  Connection down  CloseConnection(), SetWatchdog()  DOWN; 6733 R-Peer-Disc  R-Disc  Closed"},

	// Closing: our DPR waits for its DPA, or our DPA waits for the peer to close.
	{RClosing, EvDPA, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 Closing  R-Rcv-DPA  R-Disc  Closed"},
	{RClosing, EvTimeout, Always, RDisconnecting, ActClose, 0, TimerCancel,
		"6733 Closing  Timeout  Error  Closed: no DPA within DPATimeout, or no close within DPRGrace of our DPA"},
	{RClosing, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"6733 Closing  R-Peer-Disc  R-Disc  Closed"},
	{RClosing, EvMessage, Always, RClosing, ActProcess, 0, TimerKeep,
		"requests that crossed the DPR are still answered (RFC 6733 §5.4)"},
	{RClosing, EvDWR, Always, RClosing, ActSendDWA, 0, TimerKeep,
		"6733 R-Rcv-DWR  R-Snd-DWA: a peer that is still talking gets its DWA"},
	{RClosing, EvDPR, Always, RClosing, ActSendDPA, 0, TimerKeep,
		"6733 R-Rcv-DPR  R-Snd-DPA: DPRs crossed"},
	{RClosing, EvStop, Always, RClosing, 0, SetStopping, TimerKeep,
		"already closing: remember that the end is ours too"},

	// Disconnecting: the close is issued.
	{RDisconnecting, EvTransportLost, Always, RClosed, 0, 0, TimerCancel,
		"6733 R-Disc / Error  Closed"},
	{RDisconnecting, EvStop, Always, RDisconnecting, 0, SetStopping, TimerKeep,
		"already closing"},
}

// rignored lists the responder's (state, event) pairs that have no row, deliberately. Every pair
// is either in responderTable or here (the tests check it); an initiator's event (dial, CEA,
// Origin-State-Id) is ignored in every state.
var rignored = []ignoredPair[RState]{
	{RClosed, []EventKind{EvCEROK, EvCERRejected, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTimeout, EvStop, EvTransportLost},
		"no transport: the connection is being released; a late timer is stale"},
	{RWaitCER, []EventKind{EvStart},
		"already accepted"},
	{ROpen, []EventKind{EvStart, EvCEROK, EvCERRejected},
		"capabilities are exchanged once: a later CER is EvMessage (R-Conn-CER  R-Reject)"},
	{RDWRSent, []EventKind{EvStart, EvCEROK, EvCERRejected},
		"capabilities are exchanged once: a later CER is EvMessage (R-Conn-CER  R-Reject)"},
	{RSuspect, []EventKind{EvStart, EvCEROK, EvCERRejected},
		"capabilities are exchanged once: a later CER is EvMessage (R-Conn-CER  R-Reject)"},
	{RClosing, []EventKind{EvStart, EvCEROK, EvCERRejected, EvDWA},
		"closing: the watchdog is over, nothing but the end matters"},
	{RDisconnecting, []EventKind{EvStart, EvCEROK, EvCERRejected, EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTimeout},
		"the close is issued: nothing more is read or sent; only the transport's end moves on"},
}

// ResponderRows returns a copy of the responder's transition table, for documentation and tests.
func ResponderRows() []ResponderRow { return append([]ResponderRow(nil), responderTable...) }

// IsIgnoredByResponder reports whether (s, e) is one of the responder's deliberately ignored
// pairs, and why.
func IsIgnoredByResponder(s RState, e EventKind) (string, bool) {
	if e.initiatorOnly() {
		return "an initiator's event: a responder neither dials nor gets a CEA (one that comes is any other message)", true
	}
	return whyIgnored(rignored, s, e)
}

// rindex maps (state, event) to the responder's rows for it, in table order.
var rindex [numRStates][numEvents][]int16

func init() {
	for i, r := range responderTable {
		rindex[r.From][r.On] = append(rindex[r.From][r.On], int16(i))
	}
}
