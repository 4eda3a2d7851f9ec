package wheel

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// lazyOwner counts the deadlines that came.
type lazyOwner struct {
	w    *Wheel
	d    Lazy
	came []int64
}

func (o *lazyOwner) Expire(now int64) {
	if o.d.Due(o.w, now, o) {
		o.came = append(o.came, now)
	}
}

func TestLazyMovesTheEntryOnlyEarlier(t *testing.T) {
	o := &lazyOwner{w: New(10*time.Millisecond, 64, 0)}
	o.d.Set(o.w, 100*ms, o)
	o.d.Set(o.w, 300*ms, o) // later: the entry stays at 100 ms
	assert.Equal(t, 100*ms, o.d.Entry())
	assert.Equal(t, 300*ms, o.d.Deadline())
	o.w.Advance(150 * ms)
	assert.Empty(t, o.came, "fired early, the deadline is ahead")
	assert.True(t, o.d.Armed())
	assert.Equal(t, 300*ms, o.d.Entry(), "re-armed for the deadline")
	o.d.Set(o.w, 200*ms, o) // earlier: the entry moves
	assert.Equal(t, 200*ms, o.d.Entry())
	o.w.Advance(220 * ms)
	assert.Equal(t, []int64{220 * ms}, o.came)
	assert.Zero(t, o.d.Deadline(), "cleared once it came")
	o.w.Advance(400 * ms)
	assert.Len(t, o.came, 1, "once")

	o.d.Set(o.w, 500*ms, o)
	o.d.Stop(o.w)
	assert.False(t, o.d.Armed())
	o.w.Advance(600 * ms)
	assert.Len(t, o.came, 1, "stopped")
}
