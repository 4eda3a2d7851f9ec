// Package alarm wakes an event loop when its next timer is due, and only then: an idle loop
// sleeps until its wheel's next deadline (wheel.Next) instead of being woken every tick.
//
// The loop owns the wheel; the alarm is one goroutine with one time.Timer that rings the loop
// through the loop's own wake-up (the engine's wake, the server's Execute). The loop tells
// the alarm when to ring with Set after each event, which costs one atomic load unless the
// instant moved earlier (a new timer before every other one) or the alarm has rung: only then is
// the goroutine poked. Later deadlines need nothing: the alarm rings at the old instant, the loop
// finds nothing due and says when the next one is.
//
// No wake-up is lost: ring clears the planned instant (to Never) before it calls the loop's
// wake-up, and the loop, in the event that wake-up causes, sets the next instant after it has
// advanced its wheel. A Set racing with a ring either lands before the ring clears the instant
// (then the ring's event sees Planned() == Never and sets again) or after it (then it pokes the
// goroutine, which re-reads the instant before sleeping).
package alarm

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/internal/wheel"
)

// Alarm rings a loop at the instants it is set to. Set, Planned, Rings and Stop are safe for
// concurrent use; ring runs on the alarm's goroutine.
type Alarm struct {
	clock   func() int64 // the loop's clock: nanoseconds, the wheel's time base
	ring    func()       // hands a wake-up to the loop; must not block or touch loop state
	planned atomic.Int64 // when to ring, on clock; wheel.Never for not at all
	rings   atomic.Uint64
	started atomic.Bool
	poke    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// New returns an alarm on clock that calls ring when due; Start starts it. Nothing is planned.
func New(clock func() int64, ring func()) *Alarm {
	a := &Alarm{clock: clock, ring: ring, poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	a.planned.Store(wheel.Never)
	return a
}

// Start starts the alarm's goroutine; a second call does nothing. Until Start, Set only records
// the instant. Safe for concurrent use.
func (a *Alarm) Start() {
	if a.started.CompareAndSwap(false, true) {
		go a.run()
	}
}

// Stop ends the goroutine (if Start started it) and waits for it; it rings no more. Idempotent;
// safe for concurrent use, but not from ring.
func (a *Alarm) Stop() {
	a.once.Do(func() {
		if !a.started.CompareAndSwap(false, true) { // a later Start starts nothing
			close(a.stop)
			<-a.done
		}
	})
}

// Set asks for a ring at at (clock time), unless one is planned at or before it: the loop calls
// it after each event with its wheel's Next when the wheel reports Lowered or Planned is Never.
// Safe for concurrent use.
func (a *Alarm) Set(at int64) {
	for {
		p := a.planned.Load()
		if at >= p {
			return
		}
		if a.planned.CompareAndSwap(p, at) {
			break
		}
	}
	select {
	case a.poke <- struct{}{}:
	default: // a poke is pending: the goroutine will read the instant just stored
	}
}

// Planned is the instant the alarm will ring at, wheel.Never after it has rung until the next
// Set. Safe for concurrent use.
func (a *Alarm) Planned() int64 { return a.planned.Load() }

// Rings counts the rings so far: how often the alarm, not traffic or a caller, woke the loop.
// Safe for concurrent use.
func (a *Alarm) Rings() uint64 { return a.rings.Load() }

func (a *Alarm) run() {
	defer close(a.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		if p := a.planned.Load(); p != wheel.Never {
			if d := p - a.clock(); d > 0 {
				t.Reset(time.Duration(d))
			} else {
				t.Stop()
				if a.planned.CompareAndSwap(p, wheel.Never) {
					a.rings.Add(1)
					a.ring()
				}
				continue
			}
		} else {
			t.Stop()
		}
		select {
		case <-t.C:
		case <-a.poke:
		case <-a.stop:
			t.Stop()
			return
		}
	}
}
