// Package engine is the S13 client: one gnet event loop that owns every DRA connection, a
// table-driven peer state machine per connection (package fsm) driven by a timing wheel, and a
// lock-free inbox through which callers hand in ME-Identity-Check requests.
//
// # Data flow
//
// A caller's Check or Go copies its request into a slot of the inbox (a bounded MPSC ring of
// request slots; full means ErrBusy at once). Only the push that finds the loop idle wakes it:
// through gnet while a loop runs, else with one byte on a socketpair the next loop watches. The
// loop drains the inbox in batches, reading each slot in place into a request from its own free
// list, routes each request to a usable connection (round-robin within the most preferred DRA
// priority that has one), takes a slot in that connection's fixed pending table (the Hop-by-Hop
// id encodes the slot), arms one wheel timer, and appends the encoded ECR to the connection's
// batch buffer; each connection gets one write per drain. Answers are cut from the stream by the
// framing splitter, matched by Hop-by-Hop id (unknown or stale ids are counted and dropped, RFC
// 6733 §6.2.1), decoded in place and completed.
//
// # Threading contract
//
// Everything mutable belongs to the event loop. The methods that other goroutines may call say
// so in their doc comments: New, Start, WaitReady, Check, Go, Stats and Close are safe for
// concurrent use. Callbacks given to Go run on the loop and must not block; an Answer passed to a
// callback aliases the loop's read buffer and is valid only during the call (Answer.Clone keeps
// it). Dialling happens off the loop; gnet's Client.Dial and Enroll are never called on it.
//
// # Exactly once
//
// Every request accepted by Check or Go completes exactly once: with the ECA (whatever its
// Result-Code; a DRA's E-bit answer-message included), or with an *Error wrapping ErrTimeout,
// ErrConnectionLost, ErrNoConnection, ErrBusy, ErrClosed or ErrMalformedAnswer.
package engine
