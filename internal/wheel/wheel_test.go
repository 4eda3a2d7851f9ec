package wheel

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = int64(time.Millisecond)

type rec struct {
	fired []int64
	f     func(now int64)
}

func (r *rec) Expire(now int64) {
	r.fired = append(r.fired, now)
	if r.f != nil {
		r.f(now)
	}
}

func TestFiresNoEarlierAndWithinATick(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		start := rng.Int64N(1e12)
		w := New(10*time.Millisecond, 64, start)
		var r rec
		var tm Timer
		d := rng.Int64N(int64(3 * time.Second))
		w.Add(&tm, start+d, &r)
		for now := start; len(r.fired) == 0; now += ms {
			w.Advance(now)
			require.LessOrEqual(t, now-ms, start+d+10*ms, "late by more than a tick")
		}
		require.Len(t, r.fired, 1)
		assert.GreaterOrEqual(t, r.fired[0], start+d, "fired before its deadline")
		assert.LessOrEqual(t, r.fired[0], start+d+11*ms)
		assert.Zero(t, w.Len())
	}
}

func TestStopAndReAdd(t *testing.T) {
	w := New(10*time.Millisecond, 16, 0)
	var r rec
	var tm Timer
	w.Add(&tm, 50*ms, &r)
	assert.True(t, tm.Armed())
	assert.True(t, w.Stop(&tm))
	assert.False(t, w.Stop(&tm), "second stop is a no-op")
	w.Advance(100 * ms)
	assert.Empty(t, r.fired)
	w.Add(&tm, 200*ms, &r)
	w.Add(&tm, 300*ms, &r) // re-arm moves it
	assert.Equal(t, 1, w.Len())
	w.Advance(250 * ms)
	assert.Empty(t, r.fired)
	w.Advance(300 * ms)
	assert.Equal(t, []int64{300 * ms}, r.fired)
}

// Delays longer than a revolution wait for their lap.
func TestLongDelayWrapsAround(t *testing.T) {
	w := New(10*time.Millisecond, 8, 0) // 80 ms per revolution
	var r rec
	var tm Timer
	w.Add(&tm, 1000*ms, &r)
	for now := int64(0); now < 1000*ms; now += 10 * ms {
		w.Advance(now)
	}
	assert.Empty(t, r.fired)
	w.Advance(1000 * ms)
	assert.Len(t, r.fired, 1)
}

// After a stall longer than a revolution everything due fires in one Advance.
func TestCatchUpAfterStall(t *testing.T) {
	w := New(10*time.Millisecond, 8, 0)
	var r rec
	timers := make([]Timer, 50)
	for i := range timers {
		w.Add(&timers[i], int64(i+1)*20*ms, &r)
	}
	n := w.Advance(600 * ms) // 30 of them are due
	assert.Equal(t, 30, n)
	assert.Equal(t, 20, w.Len())
	w.Advance(2000 * ms)
	assert.Len(t, r.fired, 50)
}

// A callback may stop a timer of the same bucket and add new ones, including already-due ones.
func TestCallbacksMayMutate(t *testing.T) {
	w := New(10*time.Millisecond, 8, 0)
	var a, b, c Timer
	var rb, rc rec
	ra := rec{}
	ra.f = func(now int64) {
		w.Stop(&b)            // same bucket, not yet fired
		w.Add(&c, now-5, &rc) // due already: next Advance
	}
	w.Add(&a, 30*ms, &ra)
	w.Add(&b, 30*ms, &rb)
	w.Advance(30 * ms)
	assert.Len(t, ra.fired, 1)
	assert.Empty(t, rb.fired, "stopped by a's callback")
	assert.Empty(t, rc.fired)
	w.Advance(40 * ms)
	assert.Len(t, rc.fired, 1)
}

func TestNoAllocations(t *testing.T) {
	w := New(10*time.Millisecond, 1024, 0)
	var r rec
	var tm Timer
	now := int64(0)
	r.fired = make([]int64, 0, 10000)
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		w.Add(&tm, now+50*ms, &r)
		w.Stop(&tm)
		w.Add(&tm, now+5*ms, &r)
		now += 10 * ms
		w.Advance(now)
	}))
}

func BenchmarkAddStop(b *testing.B) {
	w := New(10*time.Millisecond, 1024, 0)
	var r rec
	timers := make([]Timer, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t := &timers[i&1023]
		w.Add(t, int64(i)*ms, &r)
		w.Stop(t)
		i++
	}
}

// A callback that ends its goroutine (runtime.Goexit) inside Advance leaves the rest of its
// bucket on the side; Recover puts those timers back and they fire at the next Advance.
func TestRecoverAfterGoexitInExpire(t *testing.T) {
	w := New(10*time.Millisecond, 8, 0)
	var a, b, c Timer
	var rb, rc rec
	ra := rec{f: func(int64) { runtime.Goexit() }}
	w.Add(&a, 30*ms, &ra)
	w.Add(&b, 30*ms, &rb)
	w.Add(&c, 35*ms, &rc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Advance(40 * ms)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Advance did not end")
	}
	require.Len(t, ra.fired, 1)
	require.Empty(t, rb.fired, "cut off by a's Goexit")
	w.Recover()
	assert.Equal(t, 2, w.Len())
	assert.True(t, b.Armed())
	w.Advance(50 * ms)
	assert.Len(t, rb.fired, 1)
	assert.Len(t, rc.fired, 1)
	assert.Zero(t, w.Len())
	w.Recover() // consistent: nothing to do
	assert.Zero(t, w.Len())
}
