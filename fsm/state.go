package fsm

import "strconv"

// State is a connection's state.
type State uint8

// States, with the RFC states they stand for.
const (
	Disconnected State = iota // RFC 6733 Closed, not started or stopped: no transport, no retry
	Connecting                // RFC 6733 Wait-Conn-Ack: a dial is in flight
	CERSent                   // RFC 6733 Wait-I-CEA
	Reopen                    // RFC 3539 REOPEN: CEA ok after a reconnect, counting DWAs; no traffic
	Open                      // RFC 6733 I-Open, RFC 3539 OKAY with no DWR pending: usable
	DWRSent                   // RFC 3539 OKAY with Pending=TRUE: usable, a DWR is outstanding
	Suspect                   // RFC 3539 SUSPECT: pending requests failed over, no traffic
	Closing                   // RFC 6733 Closing: DPR sent (ours or theirs), waiting for the end
	Failed                    // closing abortively after an error; waiting for the transport to go
	Reconnecting              // RFC 3539 DOWN: no transport, waiting out the backoff
	numStates
)

var stateNames = [numStates]string{
	"Disconnected", "Connecting", "CERSent", "Reopen", "Open", "DWRSent", "Suspect", "Closing",
	"Failed", "Reconnecting",
}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Usable reports whether requests may be routed to a connection in state s.
func (s State) Usable() bool { return s == Open || s == DWRSent }

// States lists every state, for tests and documentation.
func States() []State {
	out := make([]State, numStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// EventKind says what happened.
type EventKind uint8

// Events.
const (
	EvStart         EventKind = iota // the engine starts this connection
	EvConnected                      // the dial succeeded and the socket is enrolled
	EvConnectFailed                  // the dial failed
	EvCEAOK                          // CEA with 2001 and a common application (S13 or Relay)
	EvCEAFailed                      // CEA with another code, the E bit, or no common application
	EvDWR                            // Device-Watchdog-Request received
	EvDWA                            // Device-Watchdog-Answer received
	EvDPR                            // Disconnect-Peer-Request received (Cause set)
	EvDPA                            // Disconnect-Peer-Answer received
	EvMessage                        // any other message received (answers, other requests)
	EvTimeout                        // the connection's deadline expired (Gen set)
	EvStop                           // the engine is shutting this connection down
	EvTransportLost                  // the transport closed, for whatever reason
	EvPeerRebooted                   // derived by Step: Origin-State-Id changed in a DWR or DWA
	EvCEROK                          // responder: a CER that passed Process-CER (RFC 6733 §5.3)
	EvCERRejected                    // responder: a CER answered with an error (5010, 3010, 5012, malformed)
	numEvents
)

var eventNames = [numEvents]string{
	"Start", "Connected", "ConnectFailed", "CEAOK", "CEAFailed", "DWR", "DWA", "DPR", "DPA",
	"Message", "Timeout", "Stop", "TransportLost", "PeerRebooted", "CEROK", "CERRejected",
}

func (e EventKind) String() string {
	if e < numEvents {
		return eventNames[e]
	}
	return "Event(" + strconv.Itoa(int(e)) + ")"
}

// responderOnly reports whether only a responder has e: an initiator sends the CER.
func (e EventKind) responderOnly() bool { return e == EvCEROK || e == EvCERRejected }

// initiatorOnly reports whether only an initiator has e: a responder neither dials nor receives
// a CEA (one that comes is any other message), and does not track the peer's Origin-State-Id.
func (e EventKind) initiatorOnly() bool {
	switch e {
	case EvConnected, EvConnectFailed, EvCEAOK, EvCEAFailed, EvPeerRebooted:
		return true
	}
	return false
}

// EventKinds lists every event kind, both roles'.
func EventKinds() []EventKind {
	out := make([]EventKind, numEvents)
	for i := range out {
		out[i] = EventKind(i)
	}
	return out
}

// Action is a set of things the owner of the connection must do after a step, as bits. They are
// executed in bit order, lowest first, which is the order that makes sense when several are set:
// stop routing before failing over, answer before closing, close before redialling.
type Action uint16

// Actions.
const (
	ActMarkUnusable Action = 1 << iota // stop routing new requests here
	ActFailover                        // resend pending requests elsewhere (T flag), or fail them
	ActProcess                         // hand the received message to traffic handling
	ActSendDWA                         // answer the received DWR
	ActSendDPA                         // answer the received DPR
	ActSendCEA                         // responder: answer the CER (with the Result-Code Process-CER chose)
	ActSendCER
	ActSendDWR
	ActSendDPR
	ActClose      // close the transport
	ActCancelDial // abandon the dial in flight
	ActDial       // start a dial (off the loop)
	ActMarkUsable // route requests here
	numActions    = iota
)

var actionNames = [numActions]string{
	"MarkUnusable", "Failover", "Process", "SendDWA", "SendDPA", "SendCEA", "SendCER", "SendDWR", "SendDPR",
	"Close", "CancelDial", "Dial", "MarkUsable",
}

// Has reports whether all of b are in a.
func (a Action) Has(b Action) bool { return a&b == b }

func (a Action) String() string {
	if a == 0 {
		return "-"
	}
	s := ""
	for i := 0; i < numActions; i++ {
		if a&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += actionNames[i]
		}
	}
	return s
}
