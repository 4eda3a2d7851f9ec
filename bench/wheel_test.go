package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/internal/wheel"
)

// The engine's wheel: engine.Tick resolution, 2048 slots (20 s per revolution).
const wheelSlots = 2048

// timeout is the request timeout the benchmarks arm (engine.DefaultRequestTimeout's order).
const timeout = int64(time.Second)

// counter is a timer owner that counts expiries.
type counter struct{ fired int }

func (c *counter) Expire(int64) { c.fired++ }

// BenchmarkWheelArmCancel is the common case: each op arms a request's timeout and cancels
// another's, whose answer arrived in time. `live` timers stay armed throughout (the requests in
// flight); the clock moves so that each is cancelled halfway to its deadline, and the wheel is
// advanced every op, as the loop does after every event. Nothing fires; 0 allocations.
func BenchmarkWheelArmCancel(b *testing.B) {
	for _, live := range []int{1 << 10, 1 << 16} {
		b.Run(fmt.Sprintf("live=%dk", live>>10), func(b *testing.B) {
			var owner counter
			timers := make([]wheel.Timer, live)
			step := timeout / int64(2*live) // a timer lives live*step = timeout/2
			now := int64(0)
			w := wheel.New(engine.Tick, wheelSlots, now)
			for i := range timers {
				now += step
				w.Add(&timers[i], now+timeout, &owner)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				t := &timers[i]
				if !w.Stop(t) { // the answer: cancel the oldest
					b.Fatal("timer was not armed")
				}
				now += step
				w.Add(t, now+timeout, &owner) // a new request in its place
				w.Advance(now)
				if i++; i == live {
					i = 0
				}
			}
			if owner.fired != 0 || w.Len() != live {
				b.Fatalf("fired %d, live %d; want 0, %d", owner.fired, w.Len(), live)
			}
		})
	}
}

// BenchmarkWheelArmExpire is the timeout path: each op arms a timer, and the clock moves so that
// about `live` timers are armed at any moment and each one expires (callback included) before
// its slot is armed again. The wheel is advanced every op; 0 allocations.
func BenchmarkWheelArmExpire(b *testing.B) {
	for _, live := range []int{1 << 10, 1 << 16} {
		b.Run(fmt.Sprintf("live=%dk", live>>10), func(b *testing.B) {
			var owner counter
			// A timer lives timeout plus at most a tick; its slot comes round again after
			// 2*live steps = 2*timeout, so it has always fired by then.
			timers := make([]wheel.Timer, 2*live)
			step := timeout / int64(live)
			now := int64(0)
			w := wheel.New(engine.Tick, wheelSlots, now)
			for i := range live { // reach the steady state before timing
				now += step
				w.Add(&timers[i], now+timeout, &owner)
				w.Advance(now)
			}
			i := live
			owner.fired = 0
			b.ReportAllocs()
			ops := 0
			for b.Loop() {
				t := &timers[i]
				if t.Armed() {
					b.Fatal("timer still armed when its slot came round")
				}
				now += step
				w.Add(t, now+timeout, &owner)
				w.Advance(now)
				if i++; i == len(timers) {
					i = 0
				}
				ops++
			}
			if ops > 4*live && owner.fired < ops-2*live {
				b.Fatalf("fired %d of %d", owner.fired, ops)
			}
			b.ReportMetric(float64(owner.fired)/float64(ops), "fired/op")
		})
	}
}
