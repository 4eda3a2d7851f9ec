package link

import "sync/atomic"

// Publish makes loop-owned counters visible to other goroutines: the loop counts in plain memory
// (an atomic add per event would be several locked instructions per request) and calls Publish
// once per round, storing the cumulative values. Only the counters that changed are stored: a
// load is a plain read on the loop that alone stores them, a store is a locked exchange. Readers
// load pub[i] at any time (safe for concurrent use); Publish itself belongs to the loop that owns
// c. pub must be at least as long as c.
func Publish(c []uint64, pub []atomic.Uint64) {
	pub = pub[:len(c)]
	for i, v := range c {
		if pub[i].Load() != v {
			pub[i].Store(v)
		}
	}
}
