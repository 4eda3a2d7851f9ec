package engine

import (
	"context"
	"testing"
	"time"

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
	for {
		select {
		case sc := <-w.ch:
			if sc.Conn == conn && sc.To == to {
				return sc
			}
		case <-ctx.Done():
			t.Fatalf("connection %d never reached %s", conn, to)
		}
	}
}

// fast makes Tw short for tests, below the RFC minimum, without jitter.
func fast(cfg *Config, tw, dwa time.Duration) {
	cfg.DWRInterval, cfg.DWATimeout = tw, dwa
	cfg.watchdogFloor = min(tw, 100*time.Millisecond)
	cfg.noJitter = true
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

// state returns connection i's state name from the statistics.
func (e *Engine) state(i int) string { return e.Stats().Conns[i].State }
