package inbox

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/internal/await"
)

type queue interface {
	TryPush(int) bool
	Pop() (int, bool)
	Cap() int
	Len() int
}

func impls(capacity int) map[string]queue {
	return map[string]queue{"ring": NewRing[int](capacity), "chan": NewChan[int](capacity)}
}

func TestFullAndEmpty(t *testing.T) {
	for name, q := range impls(4) {
		t.Run(name, func(t *testing.T) {
			_, ok := q.Pop()
			assert.False(t, ok, "empty")
			for i := 0; i < q.Cap(); i++ {
				require.True(t, q.TryPush(i))
			}
			assert.False(t, q.TryPush(99), "full refuses at once")
			assert.Equal(t, q.Cap(), q.Len())
			for i := 0; i < q.Cap(); i++ {
				v, ok := q.Pop()
				require.True(t, ok)
				assert.Equal(t, i, v, "FIFO")
			}
			_, ok = q.Pop()
			assert.False(t, ok)
			assert.True(t, q.TryPush(5), "room again after popping")
		})
	}
}

func TestRingRoundsUpCapacity(t *testing.T) {
	assert.Equal(t, 8, NewRing[int](5).Cap())
	assert.Equal(t, 2, NewRing[int](0).Cap())
}

// Many producers, one consumer: every item arrives exactly once and each producer's items stay
// in order.
func TestConcurrentProducers(t *testing.T) {
	const producers, per = 8, 20000
	for name, q := range impls(256) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					for i := 0; i < per; {
						if q.TryPush(p*per + i) {
							i++
						}
					}
				}(p)
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			last := make([]int, producers)
			for i := range last {
				last[i] = -1
			}
			got := 0
			for got < producers*per {
				v, ok := q.Pop()
				if !ok {
					continue
				}
				p, i := v/per, v%per
				require.Equal(t, last[p]+1, i, "producer %d out of order", p)
				last[p] = i
				got++
			}
			await.Recv(t, done, 5*time.Second)
			_, ok := q.Pop()
			assert.False(t, ok)
		})
	}
}

func TestRingPushPopDoNotAllocate(t *testing.T) {
	r := NewRing[*int](64)
	x := 1
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		r.TryPush(&x)
		r.Pop()
	}))
}

// wide is an item larger than a cache line, as the engine's submissions are.
type wide struct {
	v   int
	pad [20]int
	s   string
}

// Large items pushed with TryPushFrom by concurrent producers arrive whole and in each
// producer's order when read in place with Front and Advance; Advance frees the slot.
func TestRingFrontAdvance(t *testing.T) {
	r := NewRing[wide](64)
	assert.Nil(t, r.Front(), "empty")
	const producers, per = 4, 5000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; {
				w := wide{v: p*per + i, s: "x"}
				for k := range w.pad {
					w.pad[k] = w.v
				}
				if r.TryPushFrom(&w) {
					i++
				}
			}
		}()
	}
	last := []int{-1, -1, -1, -1}
	for got := 0; got < producers*per; {
		w := r.Front()
		if w == nil {
			continue
		}
		for k := range w.pad {
			require.Equal(t, w.v, w.pad[k], "torn item")
		}
		require.Equal(t, "x", w.s)
		p, i := w.v/per, w.v%per
		require.Equal(t, last[p]+1, i, "producer %d out of order", p)
		last[p] = i
		r.Advance()
		got++
	}
	wg.Wait()
	assert.Nil(t, r.Front())
	for i := range r.slots {
		assert.Empty(t, r.slots[i].item.s, "Advance dropped the slot's references")
	}
	for range r.Cap() {
		require.True(t, r.TryPushFrom(&wide{}))
	}
	assert.False(t, r.TryPushFrom(&wide{}), "full after Cap pushes: every slot was handed back")
}

// A claimed, unpublished position hides itself and every item pushed after it from the consumer
// until it is published; then all come out in order.
func TestRingClaimHoldsTheItemsBehindIt(t *testing.T) {
	r := NewRing[int](4)
	c, ok := r.Claim()
	require.True(t, ok)
	require.True(t, r.TryPush(2))
	assert.False(t, r.Ready(), "nothing is visible behind an unpublished claim")
	assert.Equal(t, 2, r.Len(), "both positions are taken")
	*c.Item() = 1
	c.Publish()
	for _, want := range []int{1, 2} {
		v, ok := r.Pop()
		require.True(t, ok)
		assert.Equal(t, want, v)
	}
	for range r.Cap() {
		_, ok := r.Claim()
		require.True(t, ok)
	}
	_, ok = r.Claim()
	assert.False(t, ok, "a full ring refuses a claim at once")
}
