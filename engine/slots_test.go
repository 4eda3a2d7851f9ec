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
		reqs[i] = &request{}
		reqs[i].hbh = tb.alloc(reqs[i])
	}
	assert.True(t, tb.full())
	assert.Nil(t, tb.take(reqs[0].hbh+1<<tb.bits), "right slot, wrong sequence")
	assert.Nil(t, tb.take(tb.baseID()), "the reserved slot never holds a request")

	require.Same(t, reqs[3], tb.take(reqs[3].hbh))
	assert.Nil(t, tb.take(reqs[3].hbh), "taken once")
	assert.False(t, tb.full())

	r := &request{}
	r.hbh = tb.alloc(r)
	assert.Equal(t, reqs[3].hbh&tb.mask, r.hbh&tb.mask, "the freed slot is reused")
	assert.NotEqual(t, reqs[3].hbh, r.hbh, "with a new sequence")
	assert.Nil(t, tb.take(reqs[3].hbh), "the old id stays stale")

	var drained []*request
	tb.drain(func(r *request) { drained = append(drained, r) })
	assert.Len(t, drained, 8)
	assert.Len(t, tb.free, 8)
}
