package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/await"
)

// watch collects state changes from an engine's loop, and the changes of the connections'
// holds (peerreopen.go).
type watch struct {
	ch    chan StateChange
	holds chan ConnStats
}

// watchStates installs an OnStateChange hook and the hold hook on cfg and returns their
// receiver.
func watchStates(cfg *Config) *watch {
	w := &watch{ch: make(chan StateChange, 4096), holds: watchHolds(cfg)}
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

// watchHolds records every change of the connections' holds (peerreopen.go).
func watchHolds(cfg *Config) chan ConnStats {
	ch := make(chan ConnStats, 4096)
	cfg.onHold = func(c *ConnStats) {
		select {
		case ch <- *c:
		default:
		}
	}
	return ch
}

// awaitUnheld waits until connection conn (1-based) of DRA dra ("" for any) is no longer held.
func awaitUnheld(t *testing.T, ch chan ConnStats, dra string, conn int, d time.Duration) {
	t.Helper()
	for {
		c := await.Recv(t, ch, d)
		if c.Index == conn && (dra == "" || c.DRA == dra) && !c.Settling && !c.PeerReopening {
			return
		}
	}
}

// endSettles ends every connection's settle at once, for the socketless rigs whose clock does
// not move: as if peerSettle had passed.
func endSettles(e *Engine) {
	for _, p := range e.peers {
		if p.hold.state == holdSettle {
			p.hold.Expire(0)
		}
	}
}

// awaitOpen waits until n distinct connections have reached Open and are routed to: their
// settle after the CEA is over.
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
	// A hold begins before the Open is announced (peerreopen.go): what the channel holds now
	// includes it.
	held := map[[2]any]bool{}
	note := func(c ConnStats) { held[[2]any{c.DRA, c.Index}] = c.Settling || c.PeerReopening }
	for drained := false; !drained; {
		select {
		case c := <-w.holds:
			note(c)
		default:
			drained = true
		}
	}
	for k := range open {
		for held[k] {
			select {
			case c := <-w.holds:
				note(c)
			case <-ctx.Done():
				t.Fatalf("connection %v stayed held", k)
			}
		}
	}
}

// awaitOn waits until a connection of DRA dra reaches state to, skipping other changes.
func (w *watch) awaitOn(t *testing.T, ctx context.Context, dra string, to fsm.State) StateChange {
	t.Helper()
	return w.awaitWhere(t, ctx, func(sc StateChange) bool { return sc.DRA == dra && sc.To == to },
		"DRA %s never reached %s", dra, to)
}
