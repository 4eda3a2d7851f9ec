// Package fsm is the per-connection peer state machine of Diameter, as data: a table of
// (state, event, guard) -> (next state, actions, effects, timer) rows and a pure Step function,
// for each role. Machine is the client's (initiator's); Responder, with its own table
// (ResponderRows), is the server's: RFC 6733 §5.6.1's responder rows merged with the watchdog as
// a responder runs it, with the same timers and jitter, so RFC 3539 is read once.
//
// It merges the initiator side of the RFC 6733 §5.6 peer state machine (Closed, Wait-Conn-Ack,
// Wait-I-CEA, I-Open, Closing) with the RFC 3539 watchdog (INITIAL, OKAY, SUSPECT, DOWN,
// REOPEN), as freeDiameter's p_psm.c does, because the two interleave at the ends of a
// connection: a watchdog only runs on an open connection, and a reconnect must pass through
// REOPEN before it carries traffic again. Each table row cites the RFC row it implements.
//
// The package is pure: no I/O, no clock, no goroutines. Timers are events: Step says "arm the
// deadline for d with generation g" and the caller delivers EvTimeout{Gen: g} when it expires;
// a stale generation is ignored. Randomness (watchdog jitter, backoff jitter) comes from a
// seeded generator inside the Machine, so a run is reproducible.
//
// A Machine or Responder is not safe for concurrent use; it belongs to the goroutine that owns
// the connection (the engine's or the server's event loop).
package fsm
