// Package server is a fast Diameter responder on gnet: it accepts TCP connections, performs the
// responder side of the base protocol (CER/CEA, DWR/DWA, DPR/DPA, the RFC 3539 watchdog, DPR on
// shutdown), each connection driven by fsm.Responder, the same table-driven machine and timers as
// the client's, and hands every other request to a Handler, such as package s13/eir's. It is the load
// target of the benchmarks and of `diamload serve`, so its steady state allocates nothing per
// answered request and writes once per connection per event.
//
// Threading: everything about a connection is owned by the gnet event loop it was accepted on
// (Config.Loops loops, default 1). Handlers run on that loop and must not block. A timing wheel per
// loop drives the watchdog, the disconnect timers and delayed answers; a ticker only hops onto the
// loop with EventLoop.Execute and never touches connection state itself. The exported methods of
// Server say whether they are safe for concurrent use.
package server
