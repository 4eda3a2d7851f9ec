package engine

// slotTable is a connection's pending requests: a fixed array sized by MaxInFlight. A request's
// Hop-by-Hop id is gen<<bits | slot, where gen is that slot's own generation, advanced on every
// use of the slot, so an answer is found in O(1) and a stale or forged id (right slot, old
// generation) is recognised and dropped (RFC 6733 §6.2.1). Free slots are reused oldest first:
// each slot's generation then advances only once per pass over the free slots, and an id
// repeats on a connection only after 2^(32-bits) uses of its slot, not after 2^(32-bits) sends.
// An id can still repeat (late answers outlive any id space), so take also requires the
// End-to-End id the answer copies from its request.
//
// The last slot index is never allocated: base requests (CER, DWR, DPR) use it, so their ids
// cannot collide with an ECR's. Loop-owned.
type slotTable struct {
	slots []slot
	free  []uint32 // ring of free slot indexes, oldest first
	head  int      // index in free of the oldest free slot
	nfree int
	bits  uint
	mask  uint32
	base  uint32 // generation of the reserved slot
}

type slot struct {
	r   *request
	gen uint32
}

func newSlotTable(size int, seed uint32) slotTable {
	bits := uint(1)
	for 1<<bits < size+1 {
		bits++
	}
	t := slotTable{slots: make([]slot, size), free: make([]uint32, size), nfree: size, bits: bits, mask: 1<<bits - 1, base: seed}
	for i := range t.free {
		t.free[i] = uint32(i)
		t.slots[i].gen = seed // a random start (RFC 6733 §3)
	}
	return t
}

// full reports whether no slot is free.
func (t *slotTable) full() bool { return t.nfree == 0 }

// alloc stores r and returns its Hop-by-Hop id; the caller checks full first.
func (t *slotTable) alloc(r *request) uint32 {
	i := t.free[t.head]
	if t.head++; t.head == len(t.free) {
		t.head = 0
	}
	t.nfree--
	s := &t.slots[i]
	s.r = r
	s.gen++
	return s.gen<<t.bits | i
}

// release puts slot i back at the end of the free ring.
func (t *slotTable) release(i uint32) {
	t.slots[i].r = nil
	k := t.head + t.nfree
	if k >= len(t.free) {
		k -= len(t.free)
	}
	t.free[k] = i
	t.nfree++
}

// baseID returns a Hop-by-Hop id for a base request, from the reserved slot.
func (t *slotTable) baseID() uint32 {
	t.base++
	return t.base<<t.bits | t.mask
}

// take removes and returns the request with Hop-by-Hop id h and End-to-End id e2e, or nil when
// no pending request has exactly those ids.
func (t *slotTable) take(h, e2e uint32) *request {
	i := h & t.mask
	if int(i) >= len(t.slots) {
		return nil
	}
	r := t.slots[i].r
	if r == nil || r.hbh != h || r.e2e != e2e {
		return nil
	}
	t.release(i)
	return r
}

// drain removes every pending request and passes it to f.
func (t *slotTable) drain(f func(*request)) {
	for i := range t.slots {
		if r := t.slots[i].r; r != nil {
			t.release(uint32(i))
			f(r)
		}
	}
}
