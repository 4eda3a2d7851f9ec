// Package link is the connection kit shared by the two gnet loops, the client (engine) and the
// responder (server): what a Diameter connection needs whichever side of it we are on.
//
//   - Reassembler cuts a TCP byte stream into messages, in place, copying only a message cut by
//     the end of a read.
//   - Batch and Queue are the outbound side: a connection's batch buffer, the loop's set of
//     connections touched in a round (each queued once), the flush that hands each batch to its
//     connection for one Write, and the rule that drops a buffer a burst grew past MaxIdleBatch.
//   - Publish makes loop-owned counters visible to other goroutines once per round.
//   - DWA, DPA, Unsupported and SecondCER are the answers both sides give to the base
//     protocol's requests.
//   - QuietLogger, SetRST and the shared constants (Tick, MinDWRInterval, DefaultProductName,
//     DefaultDPATimeout).
//
// Each loop keeps its own policy (what to do when the outbound budget is exceeded, when to
// close) and its own connection logic. The package is pure like framing: it does no I/O of its
// own and imports no gnet; the loops pass their gnet connections in through small interfaces.
// Nothing here is safe for concurrent use unless its doc says so: it all belongs to one loop.
package link
