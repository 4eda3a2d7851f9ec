// Package await receives from channels in tests with a bound on the wait, so that a broken
// behaviour shows as a test failure within seconds instead of a hang until go test's timeout.
// Test support only.
package await

import (
	"sync"
	"testing"
	"time"
)

// Recv returns the next value from ch, or fails the test if none arrives within d. Call it from
// the test's goroutine (it may call FailNow); other goroutines use Within.
func Recv[T any](tb testing.TB, ch <-chan T, d time.Duration) T {
	tb.Helper()
	v, ok := Within(ch, d)
	if !ok {
		tb.Fatalf("await: nothing received within %v", d)
	}
	return v
}

// Within returns the next value from ch and true, or false if none arrives within d.
func Within[T any](ch <-chan T, d time.Duration) (T, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-t.C:
		var zero T
		return zero, false
	}
}

// Send puts v into ch, or fails the test if ch does not take it within d. Call it from the
// test's goroutine.
func Send[T any](tb testing.TB, ch chan<- T, v T, d time.Duration) {
	tb.Helper()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ch <- v:
	case <-t.C:
		tb.Fatalf("await: channel not ready to receive within %v", d)
	}
}

// Wait waits for wg, or fails the test if it is not done within d (the goroutine waiting on wg
// is then left behind, with the test already failed). Call it from the test's goroutine.
func Wait(tb testing.TB, wg *sync.WaitGroup, d time.Duration) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	if _, ok := Within(done, d); !ok {
		tb.Fatalf("await: wait group not done within %v", d)
	}
}

// Ready returns a value already waiting in ch, or fails the test at once: for a value the code
// under test must have produced synchronously. It starts no timer and allocates nothing, so it
// can be used inside testing.AllocsPerRun.
func Ready[T any](tb testing.TB, ch <-chan T) T {
	select {
	case v := <-ch:
		return v
	default:
		tb.Helper()
		tb.Fatalf("await: nothing ready in the channel")
		var zero T
		return zero
	}
}
