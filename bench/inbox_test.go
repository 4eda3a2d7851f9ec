package bench

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/inbox"
)

// inboxCap is the engine's default inbox capacity (engine.DefaultInboxSize).
const inboxCap = 16384

// drainBatch is how many items the consumer takes per round, as the engine's loop does.
const drainBatch = 4096

// item stands for the engine's pooled *request.
type item struct{ _ uint64 }

// queue is what Ring and Chan have in common.
type queue interface {
	TryPush(*item) bool
	Pop() (*item, bool)
}

// BenchmarkInboxRing measures the lock-free ring the engine uses as its inbox.
func BenchmarkInboxRing(b *testing.B) {
	benchInbox(b, func() queue { return inbox.NewRing[*item](inboxCap) })
}

// BenchmarkInboxChan measures the same contract over a buffered channel.
func BenchmarkInboxChan(b *testing.B) {
	benchInbox(b, func() queue { return inbox.NewChan[*item](inboxCap) })
}

// benchInbox runs P producers against one consumer. It reproduces the engine's hand-in: a
// producer pushes, then wakes the consumer only on the idle->pending edge of a flag (the engine
// writes a byte to a socketpair there; here a 1-slot channel stands in for it); the consumer
// clears the flag, then pops in batches of drainBatch until the queue is empty, and sleeps until
// the next wake. A full queue is ErrBusy in the engine; here the producer yields and retries, and
// the retries are reported (busy/op). ns/op is per item handed over.
func benchInbox(b *testing.B, mk func() queue) {
	for _, producers := range []int{1, 2, 4, 16} {
		b.Run(fmt.Sprintf("P=%d", producers), func(b *testing.B) {
			q := mk()
			items := make([]item, producers)
			var pending atomic.Bool
			wake := make(chan struct{}, 1)
			var busy atomic.Int64
			total := b.N
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for p := range producers {
				n := total / producers
				if p < total%producers {
					n++
				}
				wg.Add(1)
				go func(it *item, n int) {
					defer wg.Done()
					for range n {
						for !q.TryPush(it) {
							busy.Add(1)
							runtime.Gosched()
						}
						if !pending.Load() && pending.CompareAndSwap(false, true) {
							wake <- struct{}{}
						}
					}
				}(&items[p], n)
			}
			got := 0
			stuck := time.NewTimer(time.Minute) // one timer for the run: none per wake
			defer stuck.Stop()
			for got < total {
				select {
				case <-wake:
				case <-stuck.C:
					b.Fatalf("no wake-up after %d of %d items", got, total)
				}
				pending.Store(false) // before draining: a push after the drain wakes us again
				for {
					k := 0
					for k < drainBatch {
						if _, ok := q.Pop(); !ok {
							break
						}
						k++
					}
					got += k
					if k < drainBatch {
						break
					}
				}
			}
			b.StopTimer()
			wg.Wait()
			b.ReportMetric(float64(busy.Load())/float64(total), "busy/op")
		})
	}
}
