package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ids find their request once; a stale or foreign id finds nothing; freed slots are reused and
// drain empties the table.
func TestSlotTable(t *testing.T) {
	tb := newSlotTable(8, 100)
	reqs := make([]*request, 8)
	for i := range reqs {
		reqs[i] = &request{e2e: uint32(1000 + i)}
		reqs[i].hbh = tb.alloc(reqs[i])
	}
	assert.True(t, tb.full())
	assert.Nil(t, tb.take(reqs[0].hbh+1<<tb.bits, reqs[0].e2e), "right slot, wrong generation")
	assert.Nil(t, tb.take(tb.baseID(), 0), "the reserved slot never holds a request")

	require.Same(t, reqs[3], tb.take(reqs[3].hbh, reqs[3].e2e))
	assert.Nil(t, tb.take(reqs[3].hbh, reqs[3].e2e), "taken once")
	assert.False(t, tb.full())

	r := &request{e2e: 2000}
	r.hbh = tb.alloc(r)
	assert.Equal(t, reqs[3].hbh&tb.mask, r.hbh&tb.mask, "the freed slot is reused")
	assert.NotEqual(t, reqs[3].hbh, r.hbh, "with a new generation")
	assert.Nil(t, tb.take(reqs[3].hbh, reqs[3].e2e), "the old id stays stale")

	var drained []*request
	tb.drain(func(r *request) { drained = append(drained, r) })
	assert.Len(t, drained, 8)
	assert.Equal(t, 8, tb.nfree)
}

// An answer matches only when its End-to-End id is the request's too: a late answer whose
// Hop-by-Hop id has come round again finds nothing, and the request it collides with is still
// there for its own answer (RFC 6733 §6.2: an answer carries its request's End-to-End id).
func TestSlotTableMatchesEndToEnd(t *testing.T) {
	tb := newSlotTable(1<<20, 7) // 21 bits of slot: 2^11 generations per slot
	a := &request{e2e: 1}
	a.hbh = tb.alloc(a)
	require.Same(t, a, tb.take(a.hbh, a.e2e)) // A timed out
	// Fill every other slot, so that A's slot is the only free one and comes back on every alloc.
	for range 1<<20 - 1 {
		tb.alloc(&request{})
	}
	gens := 1 << (32 - tb.bits)
	var b *request
	for k := 1; k <= gens; k++ {
		b = &request{e2e: uint32(1 + k)}
		b.hbh = tb.alloc(b)
		require.Equal(t, a.hbh&tb.mask, b.hbh&tb.mask, "A's slot again")
		if k < gens {
			require.NotEqual(t, a.hbh, b.hbh, "use %d of the slot repeats A's id", k)
			require.Same(t, b, tb.take(b.hbh, b.e2e))
		}
	}
	require.Equal(t, a.hbh, b.hbh, "after 2^(32-bits) uses of one slot its id repeats")
	assert.Nil(t, tb.take(a.hbh, a.e2e), "A's late answer does not complete B")
	assert.Same(t, b, tb.take(b.hbh, b.e2e), "B's own answer does")
}

// Free slots are reused oldest first, so sequential traffic walks the whole table and a
// connection's ids do not repeat after 2^(32-bits) sends, as they would with a most-recent-first
// reuse and one sequence for all slots.
func TestSlotTableIDsSpreadOverSlots(t *testing.T) {
	tb := newSlotTable(1<<20, 3)
	n := 4 << (32 - tb.bits)
	seen := make(map[uint32]bool, n)
	for k := range n {
		r := &request{e2e: uint32(k)}
		r.hbh = tb.alloc(r)
		require.False(t, seen[r.hbh], "send %d repeats an id", k)
		seen[r.hbh] = true
		require.Same(t, r, tb.take(r.hbh, r.e2e))
	}
}
