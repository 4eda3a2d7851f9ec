package server_test

import (
	"testing"

	"github.com/hsdfat8/diam-gw/server"
	"github.com/panjf2000/gnet/v2/pkg/pool/goroutine"
	"github.com/stretchr/testify/assert"
)

// Start releases gnet's process-wide goroutine pool, whose housekeeping would otherwise wake an
// idle server several times a second; KeepGnetWorkerPool leaves it alone. (The pool is shared by
// the whole test binary: each case reboots it first.)
func TestStartReleasesGnetWorkerPool(t *testing.T) {
	for _, keep := range []bool{false, true} {
		goroutine.DefaultWorkerPool.Reboot()
		srv := startServer(t, server.Config{KeepGnetWorkerPool: keep})
		assert.Equal(t, !keep, goroutine.DefaultWorkerPool.IsClosed(), "keep=%v", keep)
		dial(t, srv.Addr()).open("gw.test.local").roundTrip()
	}
}
