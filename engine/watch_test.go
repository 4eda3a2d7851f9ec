package engine

import (
	"context"
	"testing"

	"github.com/hsdfat8/diam-gw/fsm"
)

// watch collects state changes from an engine's loop.
type watch struct{ ch chan StateChange }

// watchStates installs an OnStateChange hook on cfg and returns its receiver.
func watchStates(cfg *Config) *watch {
	w := &watch{ch: make(chan StateChange, 4096)}
	cfg.OnStateChange = func(sc StateChange) {
		select {
		case w.ch <- sc:
		default:
		}
	}
	return w
}

// await waits until connection conn (1-based) of any DRA reaches state to.
func (w *watch) await(t *testing.T, ctx context.Context, conn int, to fsm.State) StateChange {
	t.Helper()
	return w.awaitWhere(t, ctx, func(sc StateChange) bool { return sc.Conn == conn && sc.To == to },
		"connection %d never reached %s", conn, to)
}

// awaitWhere waits for the first change that match accepts, skipping the others.
func (w *watch) awaitWhere(t *testing.T, ctx context.Context, match func(StateChange) bool, failure string, args ...any) StateChange {
	t.Helper()
	for {
		select {
		case sc := <-w.ch:
			if match(sc) {
				return sc
			}
		case <-ctx.Done():
			t.Fatalf(failure, args...)
		}
	}
}

// awaitOpen waits until n distinct connections have reached Open.
func (w *watch) awaitOpen(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	open := map[[2]any]bool{}
	for len(open) < n {
		select {
		case sc := <-w.ch:
			if sc.To == fsm.Open {
				open[[2]any{sc.DRA, sc.Conn}] = true
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d connections reached Open", len(open), n)
		}
	}
}

// awaitOn waits until a connection of DRA dra reaches state to, skipping other changes.
func (w *watch) awaitOn(t *testing.T, ctx context.Context, dra string, to fsm.State) StateChange {
	t.Helper()
	return w.awaitWhere(t, ctx, func(sc StateChange) bool { return sc.DRA == dra && sc.To == to },
		"DRA %s never reached %s", dra, to)
}
