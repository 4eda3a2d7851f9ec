package engine

// slotTable is a connection's pending requests: a fixed array sized by MaxInFlight. A request's
// Hop-by-Hop id is seq<<bits | slot, where seq advances on every allocation, so an answer is
// found in O(1) and a stale or forged id (right slot, old seq) is recognised and dropped
// (RFC 6733 §6.2.1). The last slot index is never allocated: base requests (CER, DWR, DPR) use
// it, so their ids cannot collide with an ECR's. Loop-owned.
type slotTable struct {
	reqs []*request
	free []uint32 // stack of free slot indexes
	bits uint
	mask uint32
	seq  uint32
}

func newSlotTable(size int, seq uint32) slotTable {
	bits := uint(1)
	for 1<<bits < size+1 {
		bits++
	}
	t := slotTable{reqs: make([]*request, size), free: make([]uint32, size), bits: bits, mask: 1<<bits - 1, seq: seq}
	for i := range t.free {
		t.free[i] = uint32(size - 1 - i) // pop order 0, 1, 2, ...
	}
	return t
}

// full reports whether no slot is free.
func (t *slotTable) full() bool { return len(t.free) == 0 }

// alloc stores r and returns its Hop-by-Hop id; the caller checks full first.
func (t *slotTable) alloc(r *request) uint32 {
	i := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.reqs[i] = r
	t.seq++
	return t.seq<<t.bits | i
}

// baseID returns a Hop-by-Hop id for a base request, from the reserved slot.
func (t *slotTable) baseID() uint32 {
	t.seq++
	return t.seq<<t.bits | t.mask
}

// take removes and returns the request with Hop-by-Hop id h, or nil when no pending request has
// exactly that id.
func (t *slotTable) take(h uint32) *request {
	i := h & t.mask
	if int(i) >= len(t.reqs) {
		return nil
	}
	r := t.reqs[i]
	if r == nil || r.hbh != h {
		return nil
	}
	t.reqs[i] = nil
	t.free = append(t.free, i)
	return r
}

// drain removes every pending request and passes it to f.
func (t *slotTable) drain(f func(*request)) {
	for i, r := range t.reqs {
		if r != nil {
			t.reqs[i] = nil
			t.free = append(t.free, uint32(i))
			f(r)
		}
	}
}
