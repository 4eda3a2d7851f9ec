package engine

import (
	"context"
	"sync"
	"sync/atomic"
)

// router is where requests go: the DRAs' priority groups and their usable connections, and
// whether any connection is usable at all (callers read it to refuse at once, WaitReady waits
// on it).
type router struct {
	// Loop-owned (between two loops, the recovery goroutine's); built by New.
	groups []*group // by priority, most preferred first

	// Shared with callers: written by the loop (setUsable).
	usable  atomic.Int32 // usable connections
	held    atomic.Int32 // connections held (peerreopen.go): requests are admitted for them, parked until they are routable
	readyMu sync.Mutex
	readyCh chan struct{} // closed while a connection is usable
}

// group is the DRAs of one priority; requests go round-robin over its usable connections.
type group struct {
	priority int
	usable   []*draConn
	rr       int // the connection taking the current batch
	burst    int // requests it took in this batch
}

func (rt *router) init() { rt.readyCh = make(chan struct{}) }

// group returns the group of priority, added when there is none yet. New only.
func (rt *router) group(priority int) *group {
	for _, g := range rt.groups {
		if g.priority == priority {
			return g
		}
	}
	g := &group{priority: priority}
	rt.groups = append(rt.groups, g)
	return g
}

// setReady opens or closes the ready channel. Loop only.
func (rt *router) setReady(ready bool) {
	rt.readyMu.Lock()
	defer rt.readyMu.Unlock()
	select {
	case <-rt.readyCh:
		if !ready {
			rt.readyCh = make(chan struct{})
		}
	default:
		if ready {
			close(rt.readyCh)
		}
	}
}

// WaitReady waits until a connection is usable, ctx ends (an error wrapping ErrNoConnection and
// ctx.Err()) or the engine closes (ErrClosed). Safe for concurrent use.
func (e *Engine) WaitReady(ctx context.Context) error {
	rt := &e.routes
	for {
		rt.readyMu.Lock()
		ch := rt.readyCh
		rt.readyMu.Unlock()
		if rt.usable.Load() > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &Error{Err: ErrNoConnection, Cause: ctx.Err()}
		case <-e.life.closedCh:
			return ErrClosed
		}
	}
}

// setUsable adds p to or removes it from its priority group's routing list. Loop only.
func (e *Engine) setUsable(p *draConn, on bool) {
	g := p.dra.group
	switch {
	case on && p.closing: // on its way out: see closeConn
	case on && p.hold.held(): // routed to when the hold ends (peerreopen.go)
	case on && p.usableAt < 0:
		p.usableAt = len(g.usable)
		g.usable = append(g.usable, p)
		if e.routes.usable.Add(1) == 1 {
			e.routes.setReady(true)
		}
		if len(e.parked.q) > 0 {
			e.routeParked()
		}
	case !on && p.usableAt >= 0:
		last := g.usable[len(g.usable)-1]
		g.usable[p.usableAt] = last
		last.usableAt = p.usableAt
		g.usable = g.usable[:len(g.usable)-1]
		p.usableAt = -1
		if e.routes.usable.Add(-1) == 0 {
			e.routes.setReady(false)
		}
	}
}

// route picks a connection: round-robin over the usable connections of the most preferred
// priority group that has any, skipping full windows, congested sockets, except and the
// connections of avoid. A group with usable connections that are all full means ErrBusy; no group
// with usable connections means ErrNoConnection. Loop only.
//
// The rotation is per batch, not per request: the requests of one drain go to the same
// connection (up to maxBurst), and the next drain starts on the next connection. Spreading one
// batch over every connection would cost a write(2) per connection per batch for the same
// balance over time; with one request per drain it is plain round-robin.
func (e *Engine) route(except *draConn, avoid *dra) (*draConn, error) {
	for _, g := range e.routes.groups {
		n := len(g.usable)
		if n == 0 || (n == 1 && (g.usable[0] == except || g.usable[0].dra == avoid)) {
			continue
		}
		if avoid != nil && !g.hasOther(avoid) {
			continue
		}
		if g.rr >= n {
			g.rr, g.burst = 0, 0
		}
		for i := 0; i < n; i++ {
			k := g.rr + i
			if k >= n {
				k -= n
			}
			p := g.usable[k]
			if p == except || p.dra == avoid || p.slots.full() || p.unsent() > e.cfg.MaxOutboundBytes {
				continue
			}
			if k != g.rr {
				g.rr, g.burst = k, 0
			}
			if g.burst++; g.burst >= maxBurst {
				g.nextBatch()
			}
			return p, nil
		}
		return nil, ErrBusy
	}
	if e.routes.held.Load() > 0 {
		return nil, errHeld
	}
	return nil, ErrNoConnection
}

// maxBurst bounds how many requests of one batch go to one connection before the next one. It
// is above what one read of answers brings back pipelined (a few hundred), so a closed loop's
// batch goes out in one write, not two; a drain of drainBatch still spreads over connections.
const maxBurst = 512

// nextBatch moves the rotation on when the current connection got requests.
func (g *group) nextBatch() {
	if g.burst > 0 {
		g.rr, g.burst = g.rr+1, 0
		if g.rr >= len(g.usable) {
			g.rr = 0
		}
	}
}

// hasOther reports whether g has a usable connection of a DRA other than d.
func (g *group) hasOther(d *dra) bool {
	for _, p := range g.usable {
		if p.dra != d {
			return true
		}
	}
	return false
}
