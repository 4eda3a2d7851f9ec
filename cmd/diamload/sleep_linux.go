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
//   - Even that last wake-up comes back tens to hundreds of µs late (more after a longer sleep,
//     when the vCPU has gone idle), so the sleeper wakes a spin window early and spins on the
//     clock to the deadline: a late wake-up spins less, an on-time one costs the window. The
//     window is a share of the interval between requests (preciseSpinShare, at most
//     preciseSpinMax), so the spinning costs at most that share of a core, in proportion to the
//     rate, and vanishes at rates where the wake-ups come often enough to stay prompt. The spin
//     holds its P: at --procs 1 the event loop waits at most a window.
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
	preciseSpinMax   = 200 * time.Microsecond
	preciseSpinShare = 0.03
)

// preciseSpinFor is the spin window at perSec requests a second.
func preciseSpinFor(perSec float64) int64 {
	if perSec <= 0 {
		return 0
	}
	return min(int64(preciseSpinMax), int64(preciseSpinShare*float64(time.Second)/perSec))
}

// preciseWait is how the precise sleeper waits for a deadline rem away (ns) with a spin window
// of spin: spin on the clock when rem is within the window, else sleep for the duration it
// returns and look again.
func preciseWait(rem, spin int64) (sleep int64, spinNow bool) {
	if rem <= spin {
		return 0, true
	}
	d := rem - spin // until the window opens
	switch {
	case d > int64(preciseLead):
		d -= int64(preciseLead)
	case d > int64(preciseStep):
		d = int64(preciseStep)
	}
	return max(d, int64(preciseMin)), false
}

type preciseSleeper struct {
	r         *runner
	stopFD    int           // eventfd: a stop makes it readable
	done      chan struct{} // closed by close: the watcher ends
	scheduled int64         // runner clock at the last yield
	spin      int64         // spin window before each deadline (preciseSpinFor)
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
	s := &preciseSleeper{r: r, stopFD: fd, done: make(chan struct{}), scheduled: r.clock(),
		spin: preciseSpinFor(r.o.rate.perSec)}
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

func (s *preciseSleeper) until(deadline int64, due bool) bool {
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
		spin := s.spin
		if !due {
			spin = 0
		}
		d, spinNow := preciseWait(rem, spin)
		if spinNow {
			return s.spinUntil(deadline)
		}
		if !slept {
			slept = true
			s.slept++
		}
		ts := unix.NsecToTimespec(d)
		if n, _ := unix.Ppoll(fds[:], &ts, nil); n == 1 {
			return false // the eventfd: a stop
		}
	}
}

// spinUntil spins on the clock to deadline, at most a spin window; a stop ends it (the end of
// the run's context is seen by the next sleep, a window later at most).
func (s *preciseSleeper) spinUntil(deadline int64) bool {
	for s.r.clock() < deadline {
		if s.r.stopping.Load() {
			return false
		}
	}
	return true
}

func (s *preciseSleeper) wakes() int64 { return s.slept }

func (s *preciseSleeper) close() {
	close(s.done)
	unix.Close(s.stopFD)
	runtime.UnlockOSThread()
}
