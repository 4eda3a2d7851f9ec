package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sleepRunner is a runner with nothing but a clock and a stop, for the sleepers.
func sleepRunner(t *testing.T, pacer string) *runner {
	t.Helper()
	o, err := parseRunFlags("run", []string{"--rate", "10", "--pacer", pacer}, false)
	require.NoError(t, err)
	pay, err := newPayload([]mixEntry{{o.imei, 1}}, o.imsi, 64, 1)
	require.NoError(t, err)
	r, _ := newRunner(o, &instantClient{}, pay)
	return r
}

// Each sleeper returns at its deadline, never before it, whether the wait is shorter than the
// precise sleeper's minimum, a few of its steps, or past its lead; a deadline already passed
// returns at once.
func TestSleepersWaitUntilTheDeadline(t *testing.T) {
	for _, pacer := range []string{pacerPrecise, pacerCoarse} {
		t.Run(pacer, func(t *testing.T) {
			r := sleepRunner(t, pacer)
			s := r.newSleeper(context.Background())
			defer s.close()
			assert.Equal(t, pacer, r.pacerUsed)
			for _, d := range []time.Duration{10 * time.Microsecond, 700 * time.Microsecond, 3 * time.Millisecond, 10 * time.Millisecond} {
				deadline := r.clock() + int64(d)
				require.True(t, s.until(deadline, true), "%v: not a stop", d)
				assert.GreaterOrEqual(t, r.clock(), deadline, "%v: not before the deadline", d)
			}
			start := r.clock()
			require.True(t, s.until(start-int64(time.Second), true))
			assert.Less(t, r.clock()-start, int64(time.Second), "a past deadline does not sleep")
		})
	}
}

// A stop, or the end of the run's context, wakes a sleeper at once, however far its deadline.
func TestSleepersWakeOnStop(t *testing.T) {
	for _, pacer := range []string{pacerPrecise, pacerCoarse} {
		for _, byCtx := range []bool{false, true} {
			r := sleepRunner(t, pacer)
			ctx, cancel := context.WithCancel(context.Background())
			woke := make(chan bool, 1)
			go func() {
				s := r.newSleeper(ctx)
				defer s.close()
				woke <- s.until(r.clock()+int64(time.Hour), true)
			}()
			time.AfterFunc(20*time.Millisecond, func() {
				if byCtx {
					cancel()
				} else {
					r.stop()
				}
			})
			select {
			case ok := <-woke:
				assert.False(t, ok, "%s, by context %v: reported as a stop", pacer, byCtx)
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, by context %v: a stop did not wake the sleeper", pacer, byCtx)
			}
			cancel()
		}
	}
}
