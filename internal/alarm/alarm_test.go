package alarm

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rig is an alarm on the bubble's virtual clock that records when it rang.
type rig struct {
	t0    time.Time
	a     *Alarm
	rang  []time.Duration
	count atomic.Int32
}

func newRig(t *testing.T) *rig {
	r := &rig{t0: time.Now()}
	r.a = New(func() int64 { return int64(time.Since(r.t0)) }, func() {
		r.rang = append(r.rang, time.Since(r.t0)) // the alarm's goroutine only
		r.count.Add(1)
	})
	r.a.Start()
	t.Cleanup(r.a.Stop)
	return r
}

func TestRingsAtTheInstantAndNotBefore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.a.Set(int64(3 * time.Second))
		time.Sleep(2999 * time.Millisecond)
		synctest.Wait()
		assert.Zero(t, r.count.Load(), "not before the instant")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		require.Equal(t, []time.Duration{3 * time.Second}, r.rang)
		assert.Equal(t, int64(wheel.Never), r.a.Planned(), "nothing planned after a ring")
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.EqualValues(t, 1, r.a.Rings(), "an alarm rings once per Set")
	})
}

func TestEarlierSetPokesASleepingAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.a.Set(int64(30 * time.Second)) // Tw
		time.Sleep(time.Second)
		synctest.Wait()
		r.a.Set(int64(1200 * time.Millisecond)) // a request's timeout, set while it sleeps long
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, []time.Duration{1200 * time.Millisecond}, r.rang,
			"the earlier instant rings; the later one was replaced, the loop sets it again")
	})
}

func TestLaterSetIsIgnoredUntilTheRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.a.Set(int64(time.Second))
		r.a.Set(int64(5 * time.Second)) // a later deadline: nothing to do now
		assert.Equal(t, int64(time.Second), r.a.Planned())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		r.a.Set(int64(5 * time.Second)) // the loop, after the ring, says when the next one is
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, []time.Duration{time.Second, 5 * time.Second}, r.rang)
	})
}

func TestPastInstantRingsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		time.Sleep(time.Second)
		r.a.Set(int64(500 * time.Millisecond))
		synctest.Wait()
		assert.Equal(t, []time.Duration{time.Second}, r.rang)
	})
}

func TestStopEndsTheGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t)
		r.a.Set(int64(time.Second))
		r.a.Stop()
		r.a.Stop() // idempotent
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Zero(t, r.count.Load(), "a stopped alarm does not ring")
	})
}

func TestStopWithoutStart(t *testing.T) {
	a := New(func() int64 { return 0 }, func() {})
	a.Set(1)
	a.Stop() // returns: there is no goroutine to wait for
	a.Start()
	a.Stop()
}
