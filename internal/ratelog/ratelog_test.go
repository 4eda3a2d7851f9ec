package ratelog

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// One record per interval, the first at once; each allowed record reports the refusals since
// the previous one. Virtual time: the clock is the caller's.
func TestLimiter(t *testing.T) {
	var l Limiter
	l.Every = time.Second
	s := int64(time.Second)
	start := int64(5 * time.Hour) // any clock origin

	ok, n := l.Allow(start)
	assert.True(t, ok, "the first record is written")
	assert.Zero(t, n)
	allowed := 0
	for k := int64(1); k <= 999; k++ {
		if ok, _ := l.Allow(start + k*s/1000); ok {
			allowed++
		}
	}
	assert.Zero(t, allowed, "nothing within the interval")
	ok, n = l.Allow(start + s)
	assert.True(t, ok, "one interval later")
	assert.EqualValues(t, 999, n, "the refused records are reported")
	ok, n = l.Allow(start + 10*s)
	assert.True(t, ok)
	assert.Zero(t, n, "nothing was refused since")
}

// A flood over a long time gives one record per interval, whatever its rate.
func TestLimiterFlood(t *testing.T) {
	var l Limiter // DefaultEvery
	allowed, refused := 0, uint64(0)
	const step = int64(50 * time.Microsecond)
	const span = int64(time.Minute)
	for now := int64(0); now < span; now += step {
		if ok, n := l.Allow(now); ok {
			allowed++
			refused += n
		}
	}
	assert.Equal(t, int(span/int64(DefaultEvery)), allowed)
	total := uint64(span / step)
	assert.Equal(t, total-uint64(allowed), refused+l.suppressed, "every refusal is accounted for")
}

// Burst records per window, then refusals until the window ends; the next window's first
// record reports them.
func TestLimiterBurst(t *testing.T) {
	l := Limiter{Every: time.Second, Burst: 3}
	s := int64(time.Second)
	allowed := 0
	for k := range int64(100) {
		if ok, n := l.Allow(k * s / 100); ok {
			allowed++
			assert.Zero(t, n)
		}
	}
	assert.Equal(t, 3, allowed, "Burst within the window")
	ok, n := l.Allow(s)
	assert.True(t, ok, "a new window")
	assert.EqualValues(t, 97, n)
	for range 2 {
		ok, _ = l.Allow(s + 1)
		assert.True(t, ok)
	}
	ok, _ = l.Allow(s + 2)
	assert.False(t, ok, "the new window's Burst is spent")
}
