package s13

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSessionID(t *testing.T) {
	assert.Equal(t, sessionID, SessionID(mmeHost, 1700000000, 42))
	assert.Equal(t, "h;4294967295;0", SessionID("h", 0xFFFFFFFF, 0))
}

// Every power of ten and its neighbours (where the digit count changes), the extremes and a
// spread of values in between, against strconv.
func TestAppendDecimalMatchesStrconv(t *testing.T) {
	vals := []uint32{0, 1, 9, math.MaxUint32, math.MaxUint32 - 1}
	for p := uint64(10); p <= math.MaxUint32; p *= 10 {
		vals = append(vals, uint32(p-1), uint32(p), uint32(p+1))
	}
	for k := 0; k < 32; k++ {
		vals = append(vals, 1<<k, 1<<k-1, 1<<k+1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vals = append(vals, rng.Uint32(), rng.Uint32()>>rng.UintN(32))
	}
	for _, v := range vals {
		want := strconv.AppendUint([]byte("x;"), uint64(v), 10)
		if got := appendDecimal([]byte("x;"), v); !bytes.Equal(got, want) {
			t.Fatalf("appendDecimal(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestAppendDecimalAllocsNothingWithRoom(t *testing.T) {
	buf := make([]byte, 0, 16)
	allocs := testing.AllocsPerRun(100, func() { buf = appendDecimal(buf[:0], math.MaxUint32) })
	assert.Zero(t, allocs)
	assert.Equal(t, "4294967295", string(buf))
	assert.Equal(t, "7", string(appendDecimal(nil, 7)), "grows a nil slice")
}
