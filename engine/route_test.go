package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rotation is per batch: the requests of one drain go to one connection of the group, up to
// maxBurst, and only the rest to the next, each connection's share in one write; the next drain
// starts on the connection after the last one that took requests.
func TestRotationPerBatch(t *testing.T) {
	cfg := twoDRAs()
	cfg.DRAs[1].Priority = 0 // one group of two connections
	cfg.MaxInFlight = 4 * maxBurst
	e, conns := fakeEngine(t, cfg)
	var res result
	batch := func(n int) (writes, ecrs [2]int) {
		for _, g := range e.routes.groups {
			g.nextBatch() // as drain begins
		}
		for range n {
			submitFake(t, e, &res)
		}
		e.flush()
		for i, c := range conns {
			writes[i], ecrs[i] = len(c.written), len(c.ecrs(t))
			c.written = nil
		}
		return writes, ecrs
	}
	require.Same(t, e.peers[0], e.routes.groups[0].usable[0])

	writes, ecrs := batch(maxBurst + 3)
	assert.Equal(t, [2]int{maxBurst, 3}, ecrs, "maxBurst to the first, the rest to the next")
	assert.Equal(t, [2]int{1, 1}, writes, "one write per connection")

	writes, ecrs = batch(5)
	assert.Equal(t, [2]int{5, 0}, ecrs, "the next batch starts after the last connection used")
	assert.Equal(t, [2]int{1, 0}, writes)

	_, ecrs = batch(5)
	assert.Equal(t, [2]int{0, 5}, ecrs, "and the one after on the other")
	assert.Zero(t, res.calls, "all pending")
}
