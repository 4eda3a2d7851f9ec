package server_test

import (
	"testing"

	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
)

// TestServeAllocatesNothingPerAnswer pipelines ECRs through the EIR handler and counts the
// process's allocations (the client allocates nothing): the steady state of the responder,
// reading, framing, parsing, answering and writing, should allocate nothing either.
func TestServeAllocatesNothingPerAnswer(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	const batch = 200
	p := newPipeClient(t, srv.Addr(), batch)
	p.run(50 * batch) // warm up
	perRun := testing.AllocsPerRun(50, func() { p.run(4 * batch) })
	perAnswer := perRun / (4 * batch)
	t.Logf("%.4f allocations per answer (%.1f per run of %d)", perAnswer, perRun, 4*batch)
	assert.Less(t, perAnswer, 0.01)
}
