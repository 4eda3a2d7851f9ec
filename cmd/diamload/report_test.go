package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A measured window shorter than a millisecond (500 requests on loopback) is reported to the
// microsecond, never as 0 s, and throughput_rps agrees with answers / duration_s.
func TestReportDurationsKeepShortRuns(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 400 * time.Microsecond, 1234567 * time.Nanosecond, 3 * time.Second} {
		attack := d - d/4 // first to last send: within the window
		res := &result{opts: &runOpts{}, duration: d, attack: attack}
		rp := buildReport("run", res, newRecorder(time.Minute, false))
		assert.Positive(t, rp.DurationS, "%v", d)
		assert.Positive(t, rp.DurationAttackS, "%v", d)
		assert.GreaterOrEqual(t, rp.DurationS, d.Seconds(), "%v: rounded up", d)
		assert.InDelta(t, d.Seconds(), rp.DurationS, 1e-6, "%v: to the microsecond", d)
		assert.InDelta(t, attack.Seconds(), rp.DurationAttackS, 1e-6, "%v", d)
	}
}
