package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ids find their request once; a stale or foreign id finds nothing; expire takes exactly the
// overdue requests and keeps its scan bound just past the highest slot in use.
func TestSlotTable(t *testing.T) {
	tb := newSlotTable(8, 100)
	assert.True(t, tb.idle())
	reqs := make([]*request, 8)
	for i := range reqs {
		reqs[i] = &request{deadline: int64(10 * (i + 1))} // deadlines 10, 20, ..., 80
		reqs[i].hbh = tb.alloc(reqs[i])
	}
	assert.True(t, tb.full())
	assert.Equal(t, 8, tb.hi)
	assert.Nil(t, tb.take(reqs[0].hbh+1<<tb.bits), "right slot, wrong sequence")
	assert.Nil(t, tb.take(tb.baseID()), "the reserved slot never holds a request")

	// The top two are answered: the scan bound comes down when expire next runs.
	require.Same(t, reqs[7], tb.take(reqs[7].hbh))
	require.Same(t, reqs[6], tb.take(reqs[6].hbh))
	assert.Nil(t, tb.take(reqs[7].hbh), "taken once")

	var expired []*request
	tb.expire(30, func(r *request) { expired = append(expired, r) })
	assert.Equal(t, []*request{reqs[0], reqs[1], reqs[2]}, expired, "deadline at or before now")
	assert.Equal(t, 6, tb.hi, "just past slot 5, the highest still in use")
	assert.Nil(t, tb.take(reqs[0].hbh), "an expired request's late answer finds nothing")

	// Freed slots are reused first, and a reuse above the bound raises it again.
	r := &request{deadline: 1000}
	r.hbh = tb.alloc(r)
	assert.Less(t, int(r.hbh&tb.mask), 8)
	for !tb.full() {
		x := &request{deadline: 1000}
		x.hbh = tb.alloc(x)
	}
	assert.Equal(t, 8, tb.hi)

	expired = expired[:0]
	tb.expire(2000, func(r *request) { expired = append(expired, r) })
	assert.Len(t, expired, 8)
	assert.True(t, tb.idle())
	assert.Zero(t, tb.hi)
}
