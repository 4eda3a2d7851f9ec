package wheel

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type nopExpirer struct{}

func (nopExpirer) Expire(int64) {}

// Next never reports an instant later than the one at which Advance fires the next armed timer
// (an owner sleeping until it would fire that timer late), whatever the mix of Add, Stop and
// Advance; after it rescans it is exact.
func TestNextIsNeverLate(t *testing.T) {
	const tick = int64(10 * time.Millisecond)
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 200; run++ {
		now := int64(rng.IntN(1 << 30))
		w := New(time.Duration(tick), 64, now)
		timers := make([]Timer, 32)
		for step := 0; step < 400; step++ {
			i := rng.IntN(len(timers))
			switch rng.IntN(4) {
			case 0, 1:
				w.Add(&timers[i], now+int64(rng.IntN(int(3000*tick)))-5*tick, nopExpirer{})
			case 2:
				w.Stop(&timers[i])
			case 3:
				now += int64(rng.IntN(int(200 * tick)))
				w.Advance(now)
			}
			next := w.Next()
			// The true instant: the first tick boundary at which Advance fires some armed timer.
			want := int64(Never)
			for k := range timers {
				if tm := &timers[k]; tm.Armed() {
					want = min(want, max((tm.at+tick-1)/tick, w.cur+1)*tick)
				}
			}
			require.LessOrEqual(t, next, want, "run %d step %d: Next is late", run, step)
			if want == Never {
				require.Equal(t, int64(Never), next)
			}
		}
	}
}

func TestNextFiresWhatItReports(t *testing.T) {
	const tick = 10 * time.Millisecond
	w := New(tick, 64, 0)
	fired := 0
	var a, b Timer
	w.Add(&a, int64(25*time.Millisecond), expirerFunc(func(int64) { fired++ }))
	w.Add(&b, int64(5*time.Second), expirerFunc(func(int64) { fired++ }))
	assert.True(t, w.Lowered(), "the first timer lowers the instant")
	assert.False(t, w.Lowered(), "the report is cleared")
	next := w.Next()
	assert.Equal(t, int64(30*time.Millisecond), next, "the tick boundary after the deadline")
	w.Advance(next - 1)
	assert.Zero(t, fired, "not before")
	w.Advance(next)
	assert.Equal(t, 1, fired, "at the reported instant")
	assert.Equal(t, int64(5*time.Second), w.Next(), "rescanned once the bound passed: exact")
	w.Add(&a, int64(time.Second), expirerFunc(func(int64) {}))
	assert.True(t, w.Lowered())
	w.Stop(&a)
	w.Stop(&b)
	assert.Equal(t, int64(Never), w.Next())
}

type expirerFunc func(int64)

func (f expirerFunc) Expire(now int64) { f(now) }
