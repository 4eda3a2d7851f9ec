package engine

import "github.com/hsdfat8/diam-gw/fsm"

// Health is what an embedding service exposes as its readiness and liveness: whether requests
// can be sent now, and per DRA how many of its connections take them.
type Health struct {
	Running bool // started and not closing
	Ready   bool // running with at least one usable connection: Check and Go can send
	Healthy bool // running with a usable connection to every DRA
	DRAs    []DRAHealth
}

// DRAHealth is one DRA's part of Health.
type DRAHealth struct {
	Name        string
	Connections int
	Usable      int            // routed to now
	Held        int            // open but held: settling after the CEA, or in the peer's REOPEN
	States      map[string]int // connections by fsm state name
}

// Ready reports whether a request would be sent now: the engine is running and at least one
// connection is usable (open, not held). Safe for concurrent use; it reads published state and
// never waits for the loop.
func (e *Engine) Ready() bool {
	return e.life.state.Load() == lifeRunning && e.routes.usable.Load() > 0
}

// Healthy reports whether the engine is running with a usable connection to every DRA. Safe for
// concurrent use; it reads published state and never waits for the loop.
func (e *Engine) Healthy() bool { return e.Health().Healthy }

// Health returns the readiness and, per DRA, its connections' states. Safe for concurrent use;
// it reads published state and never waits for the loop. It allocates: it is for probes, not
// for the request path.
func (e *Engine) Health() Health {
	h := Health{Running: e.life.state.Load() == lifeRunning, DRAs: make([]DRAHealth, 0, len(e.dras))}
	h.Healthy = h.Running && len(e.dras) > 0
	for _, d := range e.dras {
		dh := DRAHealth{Name: d.name, Connections: len(d.peers), States: make(map[string]int, 2)}
		for _, p := range d.peers {
			st := fsm.State(p.stats.state.Load())
			dh.States[st.String()]++
			switch {
			case !st.Usable():
			case holdState(p.stats.hold.Load()) == holdNone:
				dh.Usable++
			default:
				dh.Held++
			}
		}
		h.Healthy = h.Healthy && dh.Usable > 0
		h.DRAs = append(h.DRAs, dh)
	}
	h.Ready = h.Running && e.routes.usable.Load() > 0
	return h
}
