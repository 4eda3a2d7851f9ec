// Package invariant checks what must hold after every fault scenario, whatever the scenario
// expects besides (reliability-anchors.md §4.0, I2 I4 I5 I6): every accepted request completed
// exactly once, no goroutine left behind, the open descriptors back to where they were, and the
// heap under a stated cap. Test support only.
package invariant

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"go.uber.org/goleak"
)

// Process records the process's open descriptors and goroutines now, and checks at the very
// end of t — after every cleanup registered later has run, so call it first — that no
// descriptor is open above the baseline, no goroutine is left beyond those running now, and the
// heap in use is under heapCap, each after a bounded wait for what is still closing.
func Process(t testing.TB, heapCap uint64) {
	t.Helper()
	baseline := openFDs(t)
	before := goleak.IgnoreCurrent() // the test's own and earlier tests' goroutines
	t.Cleanup(func() {
		t.Helper()
		var fds int
		deadline := time.Now().Add(closingWait)
		for fds = openFDs(t); fds > baseline && time.Now().Before(deadline); fds = openFDs(t) {
			time.Sleep(10 * time.Millisecond) // closing sockets have no event to wait on
		}
		if fds > baseline {
			t.Errorf("invariant: %d descriptors open, %d before the scenario", fds, baseline)
		}
		if err := goleak.Find(append(leakcheck.Options(), before)...); err != nil {
			t.Errorf("invariant: goroutines left: %v", err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > heapCap {
			t.Errorf("invariant: heap in use %d bytes, above the cap of %d", ms.HeapInuse, heapCap)
		}
	})
}

// closingWait bounds the wait for descriptors still closing.
var closingWait = 10 * time.Second

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	n, err := leakcheck.OpenFDs()
	if err != nil {
		t.Fatalf("invariant: %v", err)
	}
	return n
}

// Ledger counts the completions of numbered requests: each accepted request must complete
// exactly once. Safe for concurrent use.
type Ledger struct {
	mu        sync.Mutex
	accepted  map[int]bool
	completed map[int]int
	accepts   atomic.Int64
}

// NewLedger returns an empty Ledger.
func NewLedger() *Ledger { return &Ledger{accepted: map[int]bool{}, completed: map[int]int{}} }

// Accept notes that request i was accepted (its submission returned no error).
func (l *Ledger) Accept(i int) {
	l.mu.Lock()
	l.accepted[i] = true
	l.mu.Unlock()
	l.accepts.Add(1)
}

// Complete notes one completion of request i; it reports an error for a second one.
func (l *Ledger) Complete(i int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.completed[i]++
	if n := l.completed[i]; n > 1 {
		return fmt.Errorf("invariant: request %d completed %d times", i, n)
	}
	return nil
}

// Accepted is how many requests were accepted.
func (l *Ledger) Accepted() int { return int(l.accepts.Load()) }

// Outstanding is how many accepted requests have not completed.
func (l *Ledger) Outstanding() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i := range l.accepted {
		if l.completed[i] == 0 {
			n++
		}
	}
	return n
}

// Verify fails t unless every accepted request completed exactly once and nothing completed
// that was not accepted.
func (l *Ledger) Verify(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.accepted {
		if n := l.completed[i]; n != 1 {
			t.Errorf("invariant: accepted request %d completed %d times", i, n)
		}
	}
	for i, n := range l.completed {
		if !l.accepted[i] {
			t.Errorf("invariant: request %d completed %d times without being accepted", i, n)
		}
	}
}
