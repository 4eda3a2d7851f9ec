// Package faultproxy is a TCP proxy that injects transport faults between a Diameter client and
// its peer, for tests and soaks: added latency with jitter, a blackhole (bytes vanish, nothing
// is closed: half-open TCP), a FIN or an RST of every connection, slicing into small writes, a
// bandwidth limit, refusing new connections, and a timeline of those at given offsets.
//
// It forwards with plain blocking I/O, four goroutines per proxied connection (a reader and a
// writer each way); it is test and soak tooling, not a data path. Faults are set per direction
// and apply to every connection, current and future, from the next chunk read.
package faultproxy
