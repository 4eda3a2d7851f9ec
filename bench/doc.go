// Package bench holds the project's `go test -bench` suites. It has no code of its own: every
// benchmark is in a _test.go file. Run them all with
//
//	go test -run='^$' -bench=. -benchmem -count=5 ./bench
//
// (minutes, not seconds, on a small machine; add -benchtime=300ms for a quicker look, or
// -bench=Engine to pick some) and compare runs with benchstat. Everything listens and dials on
// 127.0.0.1 only. Figures that used to be quoted in code comments, with how they were taken, are
// in results/.
//
// # What each file measures
//
// codec_test.go, BenchmarkCodecRoundTrip: one S13 exchange in memory per op, both sides:
// s13.AppendECR -> framing.FrameLen -> s13.ParseECR -> s13.AppendECA -> s13.ParseECA, into reused
// buffers. The protocol work of one request without any I/O; 0 allocations expected.
//
// inbox_test.go, BenchmarkInboxRing and BenchmarkInboxChan: the hand-in from caller goroutines to
// the event loop. P producers (P=1, 2, 4, 16) push pointers into an internal/inbox Ring or Chan of
// capacity 16384 and wake the consumer only on the idle->pending edge of a flag, as the engine
// does; one consumer drains in batches of 4096. ns/op is per item handed over; busy/op counts
// pushes refused because the queue was full (the producer yields and retries; the engine would
// return ErrBusy). The engine's choice is explained in engine/inbox.go, its figures are in
// results/2026-12-03-notes.md.
//
// wheel_test.go, BenchmarkWheelArmCancel and BenchmarkWheelArmExpire: the timing wheel
// (internal/wheel, engine.Tick resolution, 2048 slots) with 1k and 64k live timers. ArmCancel is
// the common case, an answer before the timeout: each op cancels the oldest timer and arms a new
// one. ArmExpire is the timeout path: each op arms a timer and advances the clock so that one
// timer expires (callback included) per op. The wheel is advanced every op; 0 allocations.
//
// e2e_test.go, BenchmarkEngine and BenchmarkBaseline: end-to-end over loopback TCP with the
// client and the responder IN THE SAME PROCESS (they share the two cores, the heap and the
// garbage collector). The responder is package server (gnet) with the s13/eir handler
// answering 2001 WHITELISTED; see responder_test.go. BenchmarkEngine drives the event-loop engine,
// BenchmarkBaseline the conventional goroutine-per-connection client of internal/baseline, and
// BenchmarkEngineTLS the engine over TLS to the responder over TLS (lab certificates from
// internal/labpki, client certificates required, handshakes before the timed region); all use
// 2 connections. Each has sub-benchmarks inflight=1 and inflight=256: a closed loop in which
// each completion submits the next request from its callback, so `inflight` requests are always
// outstanding. Each op is one ECR answered. Besides ns/op they report:
//
//	answers/s            ECAs per second of wall time
//	p50-µs, p99-µs       latency from just before Go to the callback, of every 8th request
//	cpu-µs/op            user+system CPU of the whole process (client + responder) per ECR, from
//	                     getrusage(RUSAGE_SELF) around the timed region
//	client-allocs/op     allocations per ECR made by the client (engine or baseline, and the
//	                     benchmark's own callback)
//	responder-allocs/op  allocations per ECR made by the responder
//
// -benchmem's allocs/op and B/op are the whole process's. The client/responder split comes from a
// separate, untimed run of 10000 requests per client with runtime.MemProfileRate = 1 (every
// allocation's stack recorded), each allocation attributed to the innermost frame from our
// packages; what has none (gnet's or the runtime's own internals) is only in the total.
//
// # Reading the results
//
// On a 2-vCPU VM the engine's advantage is batching: at inflight=256 it writes many ECRs per
// syscall where the baseline writes one each. At inflight=1 there is nothing to batch, and the
// VM's wake-up of the other side dominates both clients (DESIGN.md §7). The figure is bimodal:
// lower when the scheduler keeps the client's and the responder's threads on one CPU, higher
// when every wake-up crosses CPUs (results/2026-12-03-notes.md); which mode a run lands in
// changes from run to run, so look at every run of a -count, not only the median. Since both
// sides share the machine, cpu-µs/op is the cost of the whole exchange, not the client's alone.
package bench
