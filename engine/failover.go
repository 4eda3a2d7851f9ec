package engine

// resendQueue is the requests failed over from a connection, waiting to be sent again in the
// same service pass. Loop-owned (between two loops, the recovery goroutine's).
type resendQueue struct {
	queue []*request
	spare []*request  // the last pass's backing array, reused
	moved []moveCount // the pass's requests by where they left and went, for its records
}

// moveCount is how many requests of one resend pass left from and went to to (nil: parked, or
// completed with an error).
type moveCount struct {
	from, to *draConn
	n        int
}

// count notes one request moved from from to to.
func (q *resendQueue) count(from, to *draConn) {
	for i := range q.moved {
		if m := &q.moved[i]; m.from == from && m.to == to {
			m.n++
			return
		}
	}
	q.moved = append(q.moved, moveCount{from: from, to: to, n: 1})
}

// logMoves writes one record per pair of connections the pass moved requests between: a
// failover is a handful of records however many requests it moves.
func (q *resendQueue) logMoves() {
	for i, m := range q.moved {
		if m.to != nil {
			m.from.log.Warn("failover", "requests", m.n, "to_dra", m.to.dra.name, "to_conn", m.to.index)
		} else {
			m.from.log.Warn("failover", "requests", m.n, "to", "none: parked or failed")
		}
		q.moved[i] = moveCount{}
	}
	q.moved = q.moved[:0]
}

func (q *resendQueue) add(r *request) { q.queue = append(q.queue, r) }

func (q *resendQueue) waiting() bool { return len(q.queue) > 0 }

// failover takes every pending request off p. Each one is resent on another connection with the
// T flag, the same End-to-End id and Session-Id and a new Hop-by-Hop id (RFC 6733 §5.5.4), unless
// its resend budget is spent or the engine is stopping.
//
// A request whose bytes never left (still in p's batch, which a closing connection's flush
// drops) was not sent on p: that send is undone, so it goes out elsewhere as it would have gone
// out here, with no T flag unless an earlier connection did send it (RFC 6733 §3: T marks a
// possible duplicate), and counts as neither a failover nor a resend.
func (e *Engine) failover(p *draConn) {
	dropped := p.conn == nil || p.closing // the batch will not be written
	p.slots.drain(func(r *request) {
		r.peer = nil
		p.stats.inFlight(-1)
		e.wheel.Stop(&r.timer)
		switch {
		case e.life.stopping:
			e.complete(r, nil, e.reqErr(ErrClosed, p, nil))
		case dropped && r.batch == p.flushes:
			r.sends--
			if r.sends == 0 { // its first send is still to come, with that connection's identity
				r.origin = nil
			} else {
				r.failedFrom = p
			}
			e.retries.add(r)
		case r.sends > e.cfg.FailoverLimit:
			e.complete(r, nil, e.reqErr(ErrConnectionLost, p, nil))
		default:
			p.stats.inc(cFailovers)
			r.retransmit = true
			r.failedFrom = p
			e.retries.add(r)
		}
	})
}

// resend routes the failed-over requests.
func (e *Engine) resend(now int64) {
	q := &e.retries
	for len(q.queue) > 0 {
		batch := q.queue
		q.queue = q.spare[:0]
		for i, r := range batch {
			batch[i] = nil
			from := r.failedFrom
			r.failedFrom = nil
			e.send(r, now, from)
			if from != nil {
				q.count(from, r.peer) // r.peer: nil once completed (putRequest) or parked
			}
		}
		q.spare = batch[:0]
	}
	q.logMoves()
}
