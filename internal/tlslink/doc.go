// Package tlslink runs crypto/tls on a gnet event loop: TLS-on-connect (RFC 6733 §13, port
// 5868) for both loops, the engine's DRA connections and the server's clients, under the same
// reassembler, batches and state machines as TCP.
//
// A Session is one connection's TLS. crypto/tls drives it through an in-memory net.Conn
// stand-in (adapter.go): once the handshake is done its Read returns the ciphertext the loop's
// OnTraffic handed in and, when that is used up, a temporary net.Error, which crypto/tls's
// record layer does not latch (conn.go readRecordOrCCS: c.in.setErrorLocked only for
// non-temporary errors); its Write appends to the flush's ciphertext. So in steady state a read
// is one decryption into the session's plaintext buffer, handed to the connection's
// reassembler, and a flush is one tls.Conn.Write of the whole plaintext batch (many messages a
// record) and one gnet Write of the records: no goroutine, no lock contention, no allocation.
//
// The handshake cannot run that way: tls.Conn latches any error its handshake returns
// (handshakeContext stores c.handshakeErr and returns it on every later call), a temporary one
// included, and the handshake state machine cannot be resumed. So each Session runs its
// handshake on a goroutine of its own, over the same adapter in its blocking mode: Read waits
// for ciphertext the loop hands in, Write queues the flights for the loop to write, and each
// step wakes the loop (the caller's wake function, gnet's Conn.Wake). When Handshake returns the
// goroutine ends, and the loop takes the adapter over. Plaintext flushed before then (the
// engine's CER) waits in the session and goes out right after the handshake.
//
// The package does no socket I/O and imports no gnet: the loops pass bytes in and write what
// it returns. A Session is loop-owned except where a doc says otherwise; the only state shared
// with the handshake goroutine is the adapter's handshake half, under its mutex.
package tlslink
