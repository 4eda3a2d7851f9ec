// Package leakcheck runs a package's tests under goleak, knowing which goroutines gnet leaves
// behind on purpose. Test support only.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// Options ignores gnet's process-wide ants worker pool (pkg/pool/goroutine.DefaultWorkerPool,
// started at init): its two housekeeping goroutines belong to no engine or server and live as
// long as the process.
func Options() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	}
}

// VerifyTestMain runs m's tests, then fails them if any goroutine other than gnet's pool is left.
func VerifyTestMain(m *testing.M) { goleak.VerifyTestMain(m, Options()...) }
