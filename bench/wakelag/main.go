//go:build linux

// Command wakelag measures how late this machine wakes a thread that sleeps until deadlines:
// the reference the pacer's send lag is judged against (diamload's precise pacer sleeps the
// same way, in ppoll(2) on a thread of its own with 1 ns timer slack, but also hands each
// due request to the engine). It sleeps until t0 + i/rate for i < n, with nothing else to do,
// and prints the lateness percentiles and its own CPU per wake.
//
//	go run ./bench/wakelag -rate 1000 -n 3000              # ppoll(2), as the precise pacer
//	go run ./bench/wakelag -rate 1000 -n 3000 -how spin   # ppoll to 100 µs before, then spin
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	rate := flag.Float64("rate", 1000, "wakes per second (> 0)")
	n := flag.Int("n", 3000, "wakes (> 0)")
	how := flag.String("how", "ppoll", "ppoll, nanosleep, or spin (ppoll until -spin before the deadline, then spin)")
	spin := flag.Duration("spin", 100*time.Microsecond, "with -how spin: how long before each deadline to stop sleeping")
	flag.Parse()
	if *rate <= 0 || *n <= 0 || (*how != "ppoll" && *how != "nanosleep" && *how != "spin") {
		fmt.Fprintln(os.Stderr, "wakelag: -rate and -n must be positive, -how ppoll, nanosleep or spin")
		os.Exit(2)
	}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "wakelag: timer slack:", err)
		os.Exit(1)
	}
	base := time.Now()
	clock := func() int64 { return int64(time.Since(base)) }
	interval := float64(time.Second) / *rate
	lead := int64(0)
	if *how == "spin" {
		lead = int64(*spin)
	}
	lags := make([]int64, 0, *n)
	cpu0 := cpuTime()
	t0 := clock() + int64(interval)
	for i := range *n {
		due := t0 + int64(float64(i)*interval)
		for {
			rem := due - clock()
			if rem <= 0 {
				break
			}
			if rem <= lead {
				continue // spinning
			}
			ts := unix.NsecToTimespec(rem - lead)
			if *how == "nanosleep" {
				_ = unix.Nanosleep(&ts, nil)
			} else {
				_, _ = unix.Ppoll(nil, &ts, nil)
			}
		}
		lags = append(lags, clock()-due)
	}
	perWake := float64(cpuTime()-cpu0) / 1e3 / float64(*n)
	slices.Sort(lags)
	q := func(p float64) int64 { return lags[int(p*float64(len(lags)-1))] / 1e3 }
	fmt.Printf("rate %g how %s: lag µs p50 %d p99 %d p99.9 %d max %d; CPU %.1f µs per wake (%.2f %% of a core)\n",
		*rate, *how, q(.5), q(.99), q(.999), q(1), perWake, perWake**rate/1e4)
}

// cpuTime is the process's user+system time in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
