package engine

// parkedReqs is the requests that have nowhere to go but a held connection (peerreopen.go):
// the connections that could take them are settling after their CEA or waiting out the peer's
// REOPEN. They wait here, each with its own deadline armed, until a connection becomes
// routable; admission (submit) counts held connections with the usable ones, so MaxInFlight
// bounds this queue as it bounds the slot tables. Loop-owned (between two loops, the recovery
// goroutine's).
type parkedReqs struct {
	q []*request
}

// park keeps r until a connection becomes routable, or its deadline.
func (e *Engine) park(r *request) {
	r.peer, r.failedFrom = nil, nil // a held connection it failed over from may take it back
	e.parked.q = append(e.parked.q, r)
	r.parked = len(e.parked.q)
	e.wheel.Add(&r.timer, r.deadline, r)
}

// unpark takes r out of the queue: its deadline came first. The last request takes its place.
func (e *Engine) unpark(r *request) {
	q := e.parked.q
	i := r.parked - 1
	last := q[len(q)-1]
	q[i], last.parked = last, i+1
	q[len(q)-1] = nil
	e.parked.q = q[:len(q)-1]
	r.parked = 0
}

// routeParked hands every parked request to the resend pass of this round: a connection has
// become routable.
func (e *Engine) routeParked() {
	for i, r := range e.parked.q {
		e.parked.q[i] = nil
		r.parked = 0
		r.failedFrom = r.refusedBy // a refused request avoids the DRA that refused it (send)
		e.retries.add(r)
	}
	e.parked.q = e.parked.q[:0]
}

// failParked completes every parked request with err: the engine is stopping.
func (e *Engine) failParked(err error) {
	for len(e.parked.q) > 0 {
		r := e.parked.q[len(e.parked.q)-1]
		e.unpark(r)
		if r.refusal != nil { // its DRA did answer it: the refusal, not err
			e.complete(r, r.refusal, nil)
			continue
		}
		e.complete(r, nil, e.reqErr(err, nil, nil))
	}
}
