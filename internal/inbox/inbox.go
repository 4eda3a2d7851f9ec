// Package inbox hands items from any number of producer goroutines to the single goroutine that
// owns the event loop. Both implementations are bounded and never block: a full queue refuses
// the item at once, which the engine turns into ErrBusy.
//
// Ring and Chan are benchmarked against each other in bench/ (BenchmarkInbox*); the engine uses
// whichever measured faster on the target machine (engine/inbox.go explains the choice, the
// figures are in bench/results/2026-12-03-notes.md).
package inbox

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// Ring is a bounded lock-free multi-producer single-consumer queue after Dmitry Vyukov's bounded
// MPMC queue: a power-of-two array of slots, each with a sequence number that says whose turn
// the slot is. Producers claim a position with one CAS on the head; the single consumer needs no
// CAS at all. TryPush is safe for concurrent use; Pop must only be called by the one consumer.
type Ring[T any] struct {
	_     cpu.CacheLinePad
	head  atomic.Uint64 // next position to claim (producers)
	_     cpu.CacheLinePad
	tail  uint64 // next position to read (consumer only)
	_     cpu.CacheLinePad
	mask  uint64
	slots []slot[T]
}

type slot[T any] struct {
	seq  atomic.Uint64
	item T
}

// NewRing returns a ring holding at least capacity items (rounded up to a power of two, at
// least 2).
func NewRing[T any](capacity int) *Ring[T] {
	n := uint64(2)
	for n < uint64(capacity) {
		n <<= 1
	}
	r := &Ring[T]{mask: n - 1, slots: make([]slot[T], n)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// Cap returns the capacity.
func (r *Ring[T]) Cap() int { return len(r.slots) }

// TryPush appends v and reports true, or reports false at once when the ring is full. A lost race
// with another producer retries with the new head; it never waits for the consumer. Safe for
// concurrent use.
func (r *Ring[T]) TryPush(v T) bool { return r.TryPushFrom(&v) }

// TryPushFrom is TryPush copying *v into the slot: a large item is copied once, straight from the
// caller's variable. Safe for concurrent use.
func (r *Ring[T]) TryPushFrom(v *T) bool {
	c, ok := r.Claim()
	if ok {
		c.s.item = *v
		c.Publish()
	}
	return ok
}

// Claim is a position a producer has taken and not yet published: the consumer sees neither it
// nor anything behind it until Publish. TryPushFrom is Claim, a copy into Item, and Publish; the
// two halves are apart only for a caller that fills the item in place (or a test that holds a
// producer between them, as a preempted one would be).
type Claim[T any] struct {
	s   *slot[T]
	pos uint64
}

// Claim takes the next position, or reports false at once when the ring is full (as TryPush). A
// lost race with another producer retries with the new head; it never waits for the consumer.
// Each successful Claim must be published. Safe for concurrent use.
func (r *Ring[T]) Claim() (Claim[T], bool) {
	for {
		pos := r.head.Load()
		s := &r.slots[pos&r.mask]
		switch dif := int64(s.seq.Load()) - int64(pos); {
		case dif == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				return Claim[T]{s: s, pos: pos}, true
			}
		case dif < 0:
			return Claim[T]{}, false // the slot still holds an item from one lap ago: full
		}
		// lost the race for pos to another producer: try the new head
	}
}

// Item is the claimed slot's item, to fill before Publish.
func (c Claim[T]) Item() *T { return &c.s.item }

// Publish hands the claimed item to the consumer.
func (c Claim[T]) Publish() { c.s.seq.Store(c.pos + 1) }

// Pop removes the oldest item. ok is false when the ring is empty, or when the next item is
// claimed but not yet published (its producer is between the CAS and the store): the consumer
// never waits for it; the producer's wake-up brings the consumer back. Consumer only.
func (r *Ring[T]) Pop() (v T, ok bool) {
	p := r.Front()
	if p == nil {
		return v, false
	}
	v = *p
	r.Advance()
	return v, true
}

// Front returns the oldest item in its slot, or nil under the same conditions as Pop. The item
// stays valid, and in the ring, until Advance: a large item is read in place instead of being
// copied out. Consumer only.
func (r *Ring[T]) Front() *T {
	s := &r.slots[r.tail&r.mask]
	if s.seq.Load() != r.tail+1 {
		return nil
	}
	return &s.item
}

// Advance removes the item Front returned and hands its slot back to the producers. Consumer
// only, and only after Front returned non-nil.
func (r *Ring[T]) Advance() {
	s := &r.slots[r.tail&r.mask]
	var zero T
	s.item = zero // drop the references for the GC
	s.seq.Store(r.tail + r.mask + 1)
	r.tail++
}

// Ready reports whether Pop would return an item now. Consumer only.
func (r *Ring[T]) Ready() bool { return r.Front() != nil }

// Len returns the number of claimed positions not yet popped. Consumer only.
func (r *Ring[T]) Len() int { return int(r.head.Load() - r.tail) }

// Chan is the same contract over a buffered channel: the baseline the Ring is measured against.
type Chan[T any] struct{ c chan T }

// NewChan returns a channel-backed queue of the given capacity.
func NewChan[T any](capacity int) *Chan[T] { return &Chan[T]{c: make(chan T, capacity)} }

// Cap returns the capacity.
func (q *Chan[T]) Cap() int { return cap(q.c) }

// TryPush appends v, or reports false at once when full. Safe for concurrent use.
func (q *Chan[T]) TryPush(v T) bool {
	select {
	case q.c <- v:
		return true
	default:
		return false
	}
}

// Pop removes the oldest item, or reports false when empty.
func (q *Chan[T]) Pop() (v T, ok bool) {
	select {
	case v = <-q.c:
		return v, true
	default:
		return v, false
	}
}

// Len returns the number of queued items.
func (q *Chan[T]) Len() int { return len(q.c) }

// Ready reports whether Pop would return an item now.
func (q *Chan[T]) Ready() bool { return len(q.c) > 0 }
