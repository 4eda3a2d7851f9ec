package main

import "runtime"

// procsFor is the GOMAXPROCS a run uses. Saturated (closed loop), the engine client does all its
// work on one event loop, and a second P costs it CPU instead of adding any: gnet's poller
// yields with runtime.Gosched each time the loop goes idle, and with an idle P the runtime wakes
// another thread to look for work, which finds none; so a closed-loop engine run takes 1. Paced
// (--rate), the loop sleeps between requests, and with one P every request is handed between
// the loop's thread blocked in epoll_wait and the pacer's (the runtime's sysmon takes the P back
// and forth), which costs more than the idle P does: an open-loop run keeps the Go default
// (bench/results/2026-12-03-notes.md has both measurements). The baseline client needs its
// goroutines in parallel, and an embedded EIR runs in the same process, so both keep the
// default too. --procs overrides all of it.
func procsFor(o *runOpts, embedded bool) int {
	switch {
	case o.procs > 0:
		return o.procs
	case o.client == "engine" && !embedded && o.rate.perSec == 0:
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// setProcs sets GOMAXPROCS to n and returns a function that restores the previous value.
func setProcs(n int) (restore func()) {
	prev := runtime.GOMAXPROCS(n)
	return func() { runtime.GOMAXPROCS(prev) }
}
