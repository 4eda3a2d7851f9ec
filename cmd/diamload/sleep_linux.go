package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// The precise sleeper. Go timers wake up to about a millisecond late (the runtime's poller
// sleeps in whole milliseconds), which at operator rates is more than the service time diamload
// measures. This one keeps the pacer's goroutine on its own OS thread, sets that thread's timer
// slack to 1 ns (the kernel's default of 50 µs would be added to every wake) and sleeps in
// ppoll(2) on an eventfd that a stop writes to, so a stop still wakes it at once.
//
//   - After a long sleep a vCPU takes hundreds of µs to come back, so a wait longer than
//     preciseLead first sleeps until preciseLead before the deadline, then in steps of at most
//     preciseStep. A step of a millisecond lets a request due every millisecond or less cost one
//     wake-up, not two (each is tens of µs of CPU on a VM).
//   - No sleep is shorter than preciseMin: at very high rates the pacer sends what is due in
//     bursts rather than waking once per request.
//   - The sleep is an ordinary system call (the Go scheduler may lend the P meanwhile): a raw one
//     would hold a P through every sleep, starving the event loop at GOMAXPROCS 1.
//   - A goroutine that never blocks in Go is "running" to sysmon, which preempts it after 10 ms
//     and then polls every 20 µs for a while; the pacer yields its P (runtime.Gosched) at least
//     every preciseYieldMax, and when it can — a wait of preciseYieldRoom or more ahead — after
//     preciseYield, so the yield's own latency is absorbed by the wait.
const (
	preciseLead      = 1500 * time.Microsecond
	preciseStep      = time.Millisecond
	preciseMin       = 40 * time.Microsecond
	preciseYield     = 4 * time.Millisecond
	preciseYieldMax  = 8 * time.Millisecond
	preciseYieldRoom = 300 * time.Microsecond
)

type preciseSleeper struct {
	r         *runner
	stopFD    int           // eventfd: a stop makes it readable
	done      chan struct{} // closed by close: the watcher ends
	scheduled int64         // runner clock at the last yield
	slept     int64         // calls of until that slept at least once
}

// newPreciseSleeper locks the calling goroutine (the pacer) to its thread until close.
func newPreciseSleeper(r *runner, ctx context.Context) (sleeper, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("%w: eventfd: %w", errPrecisePacer, err)
	}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0); err != nil {
		runtime.UnlockOSThread()
		unix.Close(fd)
		return nil, fmt.Errorf("%w: timer slack: %w", errPrecisePacer, err)
	}
	s := &preciseSleeper{r: r, stopFD: fd, done: make(chan struct{}), scheduled: r.clock()}
	go s.watch(ctx)
	return s, nil
}

// watch turns a stop or the end of ctx into a write on the eventfd.
func (s *preciseSleeper) watch(ctx context.Context) {
	select {
	case <-s.r.stopCh:
	case <-ctx.Done():
	case <-s.done:
		return
	}
	one := [8]byte{1}
	_, _ = unix.Write(s.stopFD, one[:])
}

func (s *preciseSleeper) until(deadline int64) bool {
	fds := [1]unix.PollFd{{Fd: int32(s.stopFD), Events: unix.POLLIN}}
	for slept := false; ; {
		now := s.r.clock()
		rem := deadline - now
		if since := now - s.scheduled; since >= int64(preciseYieldMax) ||
			since >= int64(preciseYield) && rem >= int64(preciseYieldRoom) {
			runtime.Gosched()
			s.scheduled = now
			continue
		}
		if rem <= 0 {
			return true
		}
		d := rem
		switch {
		case rem > int64(preciseLead):
			d = rem - int64(preciseLead)
		case rem > int64(preciseStep):
			d = int64(preciseStep)
		}
		if !slept {
			slept = true
			s.slept++
		}
		ts := unix.NsecToTimespec(max(d, int64(preciseMin)))
		if n, _ := unix.Ppoll(fds[:], &ts, nil); n == 1 {
			return false // the eventfd: a stop
		}
	}
}

func (s *preciseSleeper) wakes() int64 { return s.slept }

func (s *preciseSleeper) close() {
	close(s.done)
	unix.Close(s.stopFD)
	runtime.UnlockOSThread()
}
