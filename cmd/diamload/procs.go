package main

import "runtime"

// procsFor is the GOMAXPROCS a run uses. The engine client does all its work on one event loop,
// and a second P costs it CPU instead of adding any: gnet's poller yields with runtime.Gosched
// each time the loop goes idle, and with an idle P the runtime wakes another thread to look for
// work, which finds none: on the project machine GOMAXPROCS=1 gave less client CPU per ECR and
// more ECR/s (bench/results/2026-12-03-notes.md). The baseline client needs its goroutines in
// parallel, and an embedded EIR runs in the same process, so both keep the Go default.
func procsFor(o *runOpts, embedded bool) int {
	switch {
	case o.procs > 0:
		return o.procs
	case o.client == "engine" && !embedded:
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// setProcs sets GOMAXPROCS to n and returns a function that restores the previous value.
func setProcs(n int) (restore func()) {
	prev := runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(prev) }
}
