package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/panjf2000/gnet/v2/pkg/pool/goroutine"
	"github.com/stretchr/testify/assert"
)

// Start releases gnet's process-wide goroutine pool, whose housekeeping would otherwise wake an
// idle engine several times a second; KeepGnetWorkerPool leaves it alone. (The pool is shared by
// the whole test binary: each case reboots it first, and the release is what later tests get.)
func TestStartReleasesGnetWorkerPool(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	for _, keep := range []bool{false, true} {
		goroutine.DefaultWorkerPool.Reboot()
		cfg := testConfig(peer.Addr())
		cfg.KeepGnetWorkerPool = keep
		e := startEngine(t, cfg)
		assert.Equal(t, !keep, goroutine.DefaultWorkerPool.IsClosed(), "keep=%v", keep)
		_, err := e.Check(ctxT(t, 5*time.Second), testReq)
		assert.NoError(t, err, "the engine works without the pool, keep=%v", keep)
	}
}
