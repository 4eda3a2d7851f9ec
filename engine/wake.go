package engine

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/panjf2000/gnet/v2"
)

// The wake protocol. The loop sleeps in gnet's poller; a caller that hands it work (a request in
// the inbox, a posted task) wakes it through gnet (Conn.Wake on the loop's end of the wake-up
// socket: a task on the poller's queue and an eventfd write, which gnet never reads back) while
// a loop runs, and otherwise writes one byte on a socketpair whose read end each loop enrolls,
// where it waits for the next loop. Waking through gnet costs one system call where the byte
// costs two (the caller's write, the loop's read), for a closure and a queue node that gnet
// allocates per wake-up (measured: bench/results/2026-12-04-saturated-profile.md). The pending
// flag coalesces wake-ups: it is set from the moment the loop is awake (or a wake-up is on its
// way) until the loop has nothing left, so a burst of submissions costs one, and callers (and
// callbacks calling Go on the loop) push without waking it while a service pass runs. On the
// way out of a pass the loop clears the flag and then looks at the inbox and the posted tasks
// once more: a push that landed before the clear is taken in this pass, and one after it sees
// the flag clear and wakes the loop. (Producers check the flag after publishing, the loop checks
// for work after clearing: with sequentially consistent atomics one of the two always sees the
// other.)

// waker is the loop's wake-up: the flag, the running loop's wake-up, the socketpair and the
// posted tasks.
type waker struct {
	// Shared with callers.
	pending atomic.Bool              // the loop is awake or a wake-up is on its way
	writers atomic.Int32             // callers of wake between reading the flag and waking (see wake)
	loop    atomic.Pointer[loopWake] // the running loop's, nil while none runs (attach, detach)
	bytes   atomic.Uint64            // wake-up bytes written on the socketpair
	fd      int                      // write end of the socketpair; set before leaving lifeNew
	read    *os.File                 // read end, enrolled in each loop (a dup per loop)
	mu      sync.Mutex               // guards posted
	posted  []func()
	postedN atomic.Int32 // len(posted), readable without the lock

	// Loop-owned.
	ctrl      gnet.Conn // the loop's end of the read side
	servicing bool      // a service pass is under way (it is not re-entered)
}

// ctrlCtx marks the loop's wake-up socket.
type ctrlCtx struct{}

// loopWake is a running loop's wake-up: its end of the wake-up socket, whose Wake runs
// OnTraffic for it on the loop.
type loopWake struct{ ctrl gnet.Conn }

func (w *waker) init() { w.fd = -1 }

// open creates the socketpair. life.mu held, before anything can wake the loop.
func (w *waker) open() error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("engine: wake-up socketpair: %w", err)
	}
	w.read, w.fd = os.NewFile(uintptr(fds[0]), "diam-gw-wake"), fds[1]
	return nil
}

// close closes the socketpair; nobody may be writing to it (see closeWake).
func (w *waker) close() {
	syscall.Close(w.fd)
	w.read.Close()
	w.read, w.fd = nil, -1
}

// wake makes the loop run service soon. Safe for concurrent use: only the caller that flips the
// flag wakes the loop, through gnet while a loop runs, else with a byte on the socketpair. A
// caller past the flag is counted in writers until its wake-up is done, so that neither the
// loop's eventfd (detach, before gnet closes it) nor the socketpair (closeWake) is closed under
// a late write, which could land on whatever reuses the descriptor's number.
func (e *Engine) wake() {
	w := &e.wk
	if !w.pending.Load() {
		w.writers.Add(1)
		if w.pending.CompareAndSwap(false, true) {
			if lw := w.loop.Load(); lw == nil || lw.ctrl.Wake(nil) != nil {
				w.bytes.Add(1)
				_, _ = syscall.Write(w.fd, wakeByte)
			}
		}
		w.writers.Add(-1)
	}
}

// attach makes wake-ups go through the loop that has just started, ctrl being its end of the
// wake-up socket. Loop only: its first event.
func (w *waker) attach(ctrl gnet.Conn) { w.loop.Store(&loopWake{ctrl: ctrl}) }

// detach sends wake-ups to the socketpair again, once no caller can still be waking through the
// loop: before a loop is stopped or ends (gnet then closes its eventfd). A wake-up already queued
// on the loop is lost with it; what restarts or stops the loop takes over (a new loop's first
// task is posted with postFirst, whose byte waits in the socketpair). Safe for concurrent use;
// not from inside wake.
func (w *waker) detach() {
	w.loop.Store(nil)
	w.awaitWriters()
}

// awaitWriters returns once no caller of wake is between the flag and its wake-up.
func (w *waker) awaitWriters() {
	for i := 0; w.writers.Load() != 0; i++ {
		backoff(i)
	}
}

var wakeByte = []byte{1}

// awake notes that the loop is running from here on: nobody need write a wake-up byte until it
// goes idle. Loop only.
func (w *waker) awake() { w.pending.Store(true) }

// enter begins a service pass, keeping the loop awake; it reports false when a pass is under
// way (a gnet write that fails runs OnClose inside it). Loop only.
func (w *waker) enter() bool {
	if w.servicing {
		return false
	}
	w.servicing = true
	w.pending.Store(true)
	return true
}

// idle ends a service pass that found nothing left: it clears the flag, then looks for work once
// more (see the top of this file). It reports false, with the loop awake again and the pass
// still open, when work came in meanwhile. Loop only.
func (e *Engine) idle() bool {
	w := &e.wk
	w.pending.Store(false)
	if !e.inbox.Ready() && w.postedN.Load() == 0 {
		w.servicing = false
		return true
	}
	w.pending.Store(true)
	return false
}

// yield ends a service pass that left work, to give the sockets a turn: a wake-up byte brings
// the loop back for the rest. Loop only.
func (e *Engine) yield() {
	e.wk.servicing = false
	e.wk.pending.Store(false)
	e.wake()
}

// post runs f on the loop. Safe for concurrent use; for rare control work (dial results,
// shutdown), not per request.
func (e *Engine) post(f func()) {
	w := &e.wk
	w.mu.Lock()
	w.posted = append(w.posted, f)
	w.postedN.Add(1)
	w.mu.Unlock()
	e.wake()
}

// postFirst is post putting f ahead of every task already queued. A wake-up pending from a loop
// that ended is cleared, so this one writes its byte; it waits in the socket for the next loop.
func (e *Engine) postFirst(f func()) {
	w := &e.wk
	w.mu.Lock()
	w.posted = append([]func(){f}, w.posted...)
	w.postedN.Add(1)
	w.mu.Unlock()
	w.pending.Store(false)
	e.wake()
}

// runPosted runs the posted tasks. Loop only.
func (e *Engine) runPosted() {
	w := &e.wk
	if w.postedN.Load() == 0 {
		return
	}
	w.mu.Lock()
	fs := w.posted
	w.posted = nil
	w.postedN.Store(0)
	w.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// closeWake closes the wake-up socketpair once no caller can be writing to it: the flag is left
// set, so no new caller writes, and those already past the flag are waited for (a write to a
// closed descriptor number could land on whatever reuses it).
func (e *Engine) closeWake() {
	w := &e.wk
	w.pending.Store(true)
	w.awaitWriters()
	w.close()
}
