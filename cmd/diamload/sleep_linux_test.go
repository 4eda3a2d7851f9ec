package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The spin window is a share of the interval between requests, capped: at most that share of a
// core goes to spinning, whatever the rate.
func TestPreciseSpinWindowFollowsTheRate(t *testing.T) {
	for _, c := range []struct {
		perSec float64
		want   time.Duration
	}{
		{0, 0},
		{1, preciseSpinMax},
		{10, preciseSpinMax},
		{100, preciseSpinMax},
		{150, preciseSpinMax},
		{1000, 30 * time.Microsecond},
		{100000, 300 * time.Nanosecond},
	} {
		assert.Equal(t, int64(c.want), preciseSpinFor(c.perSec), "%v/s", c.perSec)
	}
}

// Waits: past the lead, sleep to it; then steps of at most preciseStep to the spin window; within
// the window, spin. With wake-ups on time the window opens exactly a window before the deadline,
// in a few wake-ups however far the deadline.
func TestPreciseWaitSleepsToTheSpinWindow(t *testing.T) {
	spin := int64(preciseSpinMax)
	for _, rem := range []time.Duration{time.Second, 10 * time.Millisecond, 2 * time.Millisecond,
		time.Millisecond, 400 * time.Microsecond} {
		left, wakes := int64(rem), 0
		for {
			d, spinNow := preciseWait(left, spin)
			if spinNow {
				break
			}
			left -= d
			wakes++
			require.LessOrEqual(t, wakes, 3, "%v", rem)
		}
		assert.Equal(t, spin, left, "%v: the window opens a window before the deadline", rem)
	}
	for _, rem := range []int64{0, 1, spin / 2, spin} {
		_, spinNow := preciseWait(rem, spin)
		assert.True(t, spinNow, "%d ns away, within the window: spin", rem)
	}
	d, spinNow := preciseWait(spin+1, spin)
	assert.False(t, spinNow)
	assert.Equal(t, int64(preciseMin), d, "no sleep shorter than preciseMin")
	d, spinNow = preciseWait(5*int64(time.Microsecond), 0)
	assert.False(t, spinNow, "no window at high rates: bursts")
	assert.Equal(t, int64(preciseMin), d)
}

// A deadline within the spin window is spun to: the sleeper returns at it without sleeping.
func TestPreciseSleeperSpinsTheLastStretch(t *testing.T) {
	r := sleepRunner(t, pacerPrecise) // 10/s: the widest window
	s := r.newSleeper(context.Background())
	defer s.close()
	ps, ok := s.(*preciseSleeper)
	require.True(t, ok)
	require.Equal(t, int64(preciseSpinMax), ps.spin)
	deadline := r.clock() + int64(preciseSpinMax)/2
	require.True(t, s.until(deadline, true))
	assert.GreaterOrEqual(t, r.clock(), deadline)
	assert.Zero(t, s.wakes(), "spun, not slept")
	require.True(t, s.until(r.clock()+int64(3*time.Millisecond), true))
	assert.Equal(t, int64(1), s.wakes(), "a longer wait sleeps first")
	poll := r.clock() + int64(pacerSlotPoll)
	require.Less(t, int64(pacerSlotPoll), ps.spin)
	require.True(t, s.until(poll, false))
	assert.GreaterOrEqual(t, r.clock(), poll)
	assert.Equal(t, int64(2), s.wakes(), "a poll for a slot sleeps, within the window too")
}

// A stop ends a spin.
func TestPreciseSleeperStopEndsTheSpin(t *testing.T) {
	r := sleepRunner(t, pacerPrecise)
	woke := make(chan bool, 1)
	spinning := make(chan struct{})
	go func() {
		s := r.newSleeper(context.Background())
		defer s.close()
		s.(*preciseSleeper).spin = int64(time.Hour)
		close(spinning)
		woke <- s.until(r.clock()+int64(time.Hour), true)
	}()
	select {
	case <-spinning:
	case <-time.After(10 * time.Second):
		t.Fatal("the sleeper did not start")
	}
	r.stop()
	select {
	case ok := <-woke:
		assert.False(t, ok, "reported as a stop")
	case <-time.After(10 * time.Second):
		t.Fatal("a stop did not end the spin")
	}
}
