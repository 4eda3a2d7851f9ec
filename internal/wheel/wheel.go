// Package wheel is a hashed timing wheel (Varghese & Lauck, scheme 6) owned by one goroutine:
// O(1) arm and cancel with intrusive timers, no allocation, no locks. The owner advances it from
// its own clock; a timer fires no earlier than its deadline and at most about one tick after it,
// plus however late the owner calls Advance. Long delays wrap around the wheel and are skipped
// until their lap comes.
//
// Nothing here is safe for concurrent use: the wheel and its timers belong to the event loop.
package wheel

import (
	"math"
	"time"
)

// Never is what Next returns when no timer is armed: no deadline.
const Never = math.MaxInt64

// Expirer receives a timer's expiry.
type Expirer interface {
	Expire(now int64)
}

// Timer is an intrusive wheel entry; embed it in the object it times. The zero Timer is idle.
type Timer struct {
	next, prev *Timer
	at         int64 // deadline on the wheel's clock, nanoseconds
	owner      Expirer
	armed      bool
}

// Armed reports whether t is scheduled.
func (t *Timer) Armed() bool { return t.armed }

// At returns t's deadline (meaningful while armed).
func (t *Timer) At() int64 { return t.at }

func (t *Timer) unlink() {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
}

// Wheel is the timing wheel.
type Wheel struct {
	tick    int64
	buckets []Timer // sentinels of circular lists
	mask    int64
	cur     int64 // index of the last tick processed
	n       int
	spare   Timer // sentinel of the list being expired

	// earliest is a lower bound on the instant at which Advance fires the next armed timer (the
	// tick boundary of its bucket). Add lowers it; Stop and firing leave it, so it may be stale
	// (too early), never too late; Next replaces a bound that has passed by the exact value.
	earliest int64
	lowered  bool // Add lowered earliest since the last call of Lowered
}

// New returns a wheel with the given tick and number of slots (rounded up to a power of two),
// whose clock currently reads now.
func New(tick time.Duration, slots int, now int64) *Wheel {
	n := 1
	for n < slots {
		n <<= 1
	}
	w := &Wheel{tick: int64(tick), buckets: make([]Timer, n), mask: int64(n - 1), cur: now / int64(tick),
		earliest: Never}
	for i := range w.buckets {
		b := &w.buckets[i]
		b.next, b.prev = b, b
	}
	return w
}

// Len returns the number of armed timers.
func (w *Wheel) Len() int { return w.n }

// Tick returns the tick duration.
func (w *Wheel) Tick() time.Duration { return time.Duration(w.tick) }

// Add arms t to fire into owner at deadline at (re-arming it if it was armed).
func (w *Wheel) Add(t *Timer, at int64, owner Expirer) {
	if t.armed {
		t.unlink()
		w.n--
	}
	t.at, t.owner, t.armed = at, owner, true
	idx := (at + w.tick - 1) / w.tick // the first tick boundary at or after the deadline
	if idx <= w.cur {
		idx = w.cur + 1 // due already: the next Advance fires it
	}
	b := &w.buckets[idx&w.mask]
	t.prev, t.next = b.prev, b
	b.prev.next = t
	b.prev = t
	w.n++
	if fire := idx * w.tick; fire < w.earliest {
		w.earliest, w.lowered = fire, true
	}
}

// Next returns the instant at which Advance will fire the next armed timer — a tick boundary at
// or after its deadline — or Never when none is armed. The instant may be early (a timer that
// set it was stopped since) but never late, so an owner that sleeps until Next and then calls
// Advance misses no timer. It scans the wheel, O(slots + timers), only when the bound it keeps
// has passed; an owner calls it when it is about to sleep, not per timer.
func (w *Wheel) Next() int64 {
	if w.n == 0 {
		w.earliest = Never
		return Never
	}
	if w.earliest <= w.cur*w.tick { // passed: what it bounded has fired or was stopped
		w.earliest = w.scan()
	}
	return w.earliest
}

// Lowered reports whether Add has brought Next earlier since the last call, and clears the
// report: an owner sleeping until Next checks it after each event, which costs one load.
func (w *Wheel) Lowered() bool {
	l := w.lowered
	w.lowered = false
	return l
}

// scan returns the exact instant at which Advance fires the next armed timer.
func (w *Wheel) scan() int64 {
	next := int64(Never)
	for i := range w.buckets {
		b := &w.buckets[i]
		for t := b.next; t != b; t = t.next {
			idx := (t.at + w.tick - 1) / w.tick
			if idx <= w.cur {
				idx = w.cur + 1
			}
			next = min(next, idx*w.tick)
		}
	}
	return next
}

// Stop disarms t and reports whether it was armed.
func (w *Wheel) Stop(t *Timer) bool {
	if !t.armed {
		return false
	}
	t.unlink()
	t.armed = false
	w.n--
	return true
}

// Advance moves the wheel to now and fires every timer whose deadline has passed, calling
// owner.Expire(now) after unlinking it. Callbacks may add and stop any timers, including ones
// due in this same call. It catches up after a stall: a gap longer than one revolution costs
// one pass over the slots, not one per missed tick. It returns the number of timers fired.
func (w *Wheel) Advance(now int64) int {
	target := now / w.tick
	if target <= w.cur {
		return 0
	}
	if target-w.cur > w.mask+1 {
		w.cur = target - (w.mask + 1) // one pass over every slot covers any gap
	}
	fired := 0
	for k := w.cur + 1; k <= target; k++ {
		w.cur = k // a timer a callback adds as already due goes to the next bucket, not this one
		fired += w.expire(&w.buckets[k&w.mask], now)
	}
	return fired
}

// Recover makes the wheel whole again after an Expire that never returned (its goroutine ended
// in runtime.Goexit, which recover cannot stop): the timers of the bucket being expired that had
// not been reached are put back by their deadlines, the due ones to fire at the next Advance. The
// new owner calls it before it uses the wheel; on a consistent wheel it does nothing.
func (w *Wheel) Recover() {
	s := &w.spare
	for s.next != nil && s.next != s {
		t := s.next
		t.unlink()
		t.armed = false
		w.n-- // Add counts it again
		w.Add(t, t.at, t.owner)
	}
}

// expire fires the due timers of bucket b; the rest wait for a later lap.
func (w *Wheel) expire(b *Timer, now int64) int {
	if b.next == b {
		return 0
	}
	// Move the bucket to the spare list so callbacks can add to b and stop anything freely.
	s := &w.spare
	s.next, s.prev = b.next, b.prev
	s.next.prev, s.prev.next = s, s
	b.next, b.prev = b, b
	fired := 0
	for s.next != s {
		t := s.next
		t.unlink()
		if t.at > now {
			t.prev, t.next = b.prev, b // not this lap
			b.prev.next = t
			b.prev = t
			continue
		}
		t.armed = false
		w.n--
		fired++
		t.owner.Expire(now)
	}
	return fired
}
