package framing_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
)

func TestEndToEndSeed(t *testing.T) {
	cases := []struct {
		name   string
		unix   int64
		random uint32
		want   uint32
	}{
		// PROTOCOL.md §1.1 and §8: (1700000000 & 0xfff) << 20 | 1.
		{"vector seed", 1700000000, 1, 0x10000001},
		{"only the low 12 bits of time", 1700000000 + 4096, 1, 0x10000001},
		{"only the low 20 bits of random", 1700000000, 0xfff00002, 0x10000002},
		{"all bits", 0xfff, 0xfffff, 0xffffffff},
		{"zero", 0, 0, 0},
		// A shift, not a multiplication by 41048576 (a bug seen in public Go code).
		{"one second", 1, 0, 1 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, framing.EndToEndSeed(tc.unix, tc.random))
		})
	}
}

func TestEndToEndIDs(t *testing.T) {
	ids := framing.NewEndToEndIDs(0x10000001)
	assert.Equal(t, uint32(0x10000001), ids.Next(), "the seed is the first id")
	assert.Equal(t, uint32(0x10000002), ids.Next())
	assert.Equal(t, uint32(0x10000003), ids.Next())

	wrap := framing.NewEndToEndIDs(0xfffffffe)
	assert.Equal(t, []uint32{0xfffffffe, 0xffffffff, 0, 1},
		[]uint32{wrap.Next(), wrap.Next(), wrap.Next(), wrap.Next()})
}

// TestEndToEndIDsConcurrent: Next is documented safe for concurrent use; every id is handed out once.
func TestEndToEndIDsConcurrent(t *testing.T) {
	const workers, each = 4, 20000
	ids := framing.NewEndToEndIDs(100)
	got := make([][]uint32, workers)
	start := make(chan struct{}) // release all workers at once so their calls overlap
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[w] = make([]uint32, 0, each)
			if _, ok := await.Within(start, 10*time.Second); !ok {
				t.Error("workers never released")
				return
			}
			for range each {
				got[w] = append(got[w], ids.Next())
			}
		}()
	}
	close(start)
	wg.Wait()
	// Every id in [100, 100+workers*each) exactly once.
	seen := make([]bool, workers*each)
	for _, g := range got {
		for _, id := range g {
			i := int(id) - 100
			if i < 0 || i >= len(seen) || seen[i] {
				t.Fatalf("id %d out of range or handed out twice", id)
			}
			seen[i] = true
		}
	}
	assert.Equal(t, uint32(100+workers*each), ids.Next())
}

func TestHopByHopIDs(t *testing.T) {
	h := framing.NewHopByHopIDs(0x2a000001)
	assert.Equal(t, uint32(0x2a000001), h.Next(), "the random start is the first id")
	assert.Equal(t, uint32(0x2a000002), h.Next())

	wrap := framing.NewHopByHopIDs(0xffffffff)
	assert.Equal(t, uint32(0xffffffff), wrap.Next())
	assert.Equal(t, uint32(0), wrap.Next())
}
