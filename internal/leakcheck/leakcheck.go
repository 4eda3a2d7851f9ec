// Package leakcheck runs a package's tests under goleak, knowing which goroutines gnet leaves
// behind on purpose, and checks that they leave no file descriptor open. Test support only.
package leakcheck

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Options ignores gnet's process-wide ants worker pool (pkg/pool/goroutine.DefaultWorkerPool,
// started at init): its two housekeeping goroutines belong to no engine or server and live as
// long as the process (the engine and the server release it when they start).
func Options() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	}
}

// VerifyTestMain runs m's tests, then fails them if any goroutine other than gnet's pool is left,
// or if more descriptors are open than before the first test (after a bounded wait for sockets
// still closing): every test's engines, servers, peers and proxies must be closed by its end.
func VerifyTestMain(m *testing.M) {
	// The runtime's network poller opens its own descriptors (an epoll and an eventfd) on first
	// use and keeps them: have them open before counting.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	before, err := OpenFDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, "leakcheck:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, append(Options(), goleak.Cleanup(func(code int) {
		if code == 0 {
			if n := awaitFDs(before, 10*time.Second); n > before {
				fmt.Fprintf(os.Stderr, "leakcheck: %d descriptors open after the tests, %d before them\n", n, before)
				code = 1
			}
		}
		os.Exit(code)
	}))...)
}

// OpenFDs counts this process's open descriptors.
func OpenFDs() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, fmt.Errorf("count descriptors: %w", err)
	}
	return len(ents) - 1, nil // less the one ReadDir opened
}

// awaitFDs waits up to d for the open descriptors to fall to want; it returns the last count.
func awaitFDs(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		n, err := OpenFDs()
		if err != nil || n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond) // closing sockets have no event to wait on
	}
}
