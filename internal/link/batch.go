package link

// MaxIdleBatch is the largest batch buffer kept between rounds: one a burst grew past it is
// dropped after its flush, so an idle connection does not pin the burst's memory.
const MaxIdleBatch = 1 << 20

// Batch is one connection's outbound batch: what the loop appended during a round, written with
// one Write at its end. Loop-owned: not safe for concurrent use.
type Batch struct {
	B      []byte // messages appended this round
	queued bool   // in the loop's Queue for this round
}

// Drop discards what the batch holds: its connection is gone, or going. Not safe for concurrent
// use.
func (b *Batch) Drop() { b.B = b.B[:0] }

// Flusher is a connection with a Batch, as a Queue holds it.
type Flusher interface {
	// OutBatch returns the connection's batch.
	OutBatch() *Batch
	// Flush is called once per round for a queued connection with what its batch held (possibly
	// nothing: a connection may be queued for a close alone). The batch is already empty, so
	// bytes appended during Flush go out next round. Here the loop applies its policy: one Write
	// of data, or drop it, and carry out a requested close.
	Flush(data []byte)
}

// Queue is a loop's set of connections touched in the current round: each is queued once
// however often it is touched, and flushed in the order first touched. Loop-owned: not safe for
// concurrent use.
type Queue[C Flusher] struct {
	list []C
}

// Add queues c for this round's flush unless it is queued already. Not safe for concurrent use.
func (q *Queue[C]) Add(c C) {
	if b := c.OutBatch(); !b.queued {
		b.queued = true
		q.list = append(q.list, c)
	}
}

// Len is the number of connections queued. Not safe for concurrent use.
func (q *Queue[C]) Len() int { return len(q.list) }

// Flush hands each queued connection its batch, once, and empties the queue; a connection
// queued during the flush (a Flush that closes its connection may queue others) is flushed in
// the same pass. After each Flush the buffer is dropped if it grew past MaxIdleBatch. Not safe
// for concurrent use, and not re-entrant: a Flush must not call it.
func (q *Queue[C]) Flush() {
	var zero C
	for i := 0; i < len(q.list); i++ {
		c := q.list[i]
		q.list[i] = zero
		b := c.OutBatch()
		b.queued = false
		data := b.B
		b.B = data[:0]
		c.Flush(data)
		if cap(b.B) > MaxIdleBatch {
			b.B = nil // a burst grew it: let the GC have it back
		}
	}
	q.list = q.list[:0]
}

// Reset empties the queue without flushing it: the loop that owned the connections is gone and
// what they had queued will never be written. Their batches keep their bytes; the owner drops
// them. Not safe for concurrent use.
func (q *Queue[C]) Reset() {
	var zero C
	for i, c := range q.list {
		c.OutBatch().queued = false
		q.list[i] = zero
	}
	q.list = q.list[:0]
}
