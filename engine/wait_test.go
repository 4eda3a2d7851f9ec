package engine

import (
	"context"
	"testing"
	"time"
)

// Bounded waits: a hang shows as a failure in seconds, not as go test's timeout.

// ctxT is a context that ends after d, or with t.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor receives from ch, failing t if nothing arrives within d.
func waitFor[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
		panic("unreachable")
	}
}

// closeWithin runs Close with a context of d on its own goroutine and fails t if it has not
// returned shortly after d.
func closeWithin(t *testing.T, e *Engine, d time.Duration) error {
	t.Helper()
	res := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		res <- e.Close(ctx)
	}()
	return waitFor(t, res, d+3*time.Second, "Close to return")
}
