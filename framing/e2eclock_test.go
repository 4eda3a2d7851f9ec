package framing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

func TestEndToEndFloor(t *testing.T) {
	const r = framing.EndToEndRate
	assert.Equal(t, uint64(0), framing.EndToEndFloor(0))
	assert.Equal(t, uint64(r), framing.EndToEndFloor(int64(time.Second)))
	assert.Equal(t, uint64(r/2), framing.EndToEndFloor(int64(500*time.Millisecond)))
	assert.Equal(t, uint64(1700000000)*r+r/4, framing.EndToEndFloor(1700000000*int64(time.Second)+int64(250*time.Millisecond)))
	assert.Equal(t, uint64(1)<<32, framing.EndToEndFloor(int64(1024*time.Second)), "the space comes round in 1024 s")
}

// Ids follow each other while the sender is ahead of the clock, and jump to the floor when the
// clock has moved past them.
func TestEndToEndClockNext(t *testing.T) {
	start := int64(1700000000 * time.Second)
	c := framing.NewEndToEndClock(start)
	first := uint32(framing.EndToEndFloor(start))
	assert.Equal(t, first, c.Next(0), "the first id is the floor at start")
	assert.Equal(t, first+1, c.Next(0))
	assert.Equal(t, first+2, c.Next(1), "one nanosecond is not one id")
	assert.Equal(t, first+framing.EndToEndRate, c.Next(int64(time.Second)), "idle for a second: the floor")
	assert.Equal(t, first+framing.EndToEndRate+1, c.Next(int64(time.Millisecond)), "an older reading does not go back")
}

// ids is a run of Next at a steady rate in virtual time: per of them at each clock reading.
type ids struct {
	c    *framing.EndToEndClock
	now  time.Duration // elapsed, virtual
	last uint32
	span uint64 // sum of the steps from the first id: its distance to the last one
	n    int64
}

// run issues rate ids per second for d, checking that each id is a step forward (mod 2^32)
// from the previous one. All of them are then distinct exactly while span stays below 2^32.
func (s *ids) run(t *testing.T, rate int64, per int64, d time.Duration) {
	t.Helper()
	step := time.Duration(int64(time.Second) * per / rate)
	for end := s.now + d; s.now < end; s.now += step {
		for range per {
			id := s.c.Next(int64(s.now))
			if s.n > 0 {
				delta := id - s.last
				if delta == 0 || delta >= 1<<31 {
					require.Failf(t, "not a step forward", "id %#x after %#x at %v", id, s.last, s.now)
				}
				s.span += uint64(delta)
			}
			s.last = id
			s.n++
		}
	}
}

// 4 minutes of ids at 2M/s, 2,000 per clock reading as the loop issues them in batches: every
// one is a step forward and they span less than 2^32, so none repeats (RFC 6733 §3). Virtual
// time; under the race detector a shorter stretch (see race_test.go).
func TestEndToEndClockUniqueFor4Minutes(t *testing.T) {
	c := framing.NewEndToEndClock(1700000000 * int64(time.Second))
	s := ids{c: &c}
	d := 4 * time.Minute
	if raceEnabled {
		d = 4 * time.Second
	}
	s.run(t, 2_000_000, 2000, d)
	assert.Equal(t, int64(d/time.Second)*2_000_000, s.n)
	assert.Less(t, s.span, uint64(1)<<32)
	assert.Less(t, s.span, uint64(d/time.Second+1)*framing.EndToEndRate, "held to the clock: 2M/s is below its rate")
}

// A process that restarts in the same second, or the next, starts past every id the previous
// one issued at 2M/s, and the ids of both together stay distinct.
func TestEndToEndClockRestart(t *testing.T) {
	for _, gap := range []time.Duration{time.Millisecond, time.Second} {
		t.Run(gap.String(), func(t *testing.T) {
			start := int64(1700000000*time.Second + 300*time.Millisecond)
			d := 10 * time.Second
			if raceEnabled {
				d = time.Second
			}
			old := framing.NewEndToEndClock(start)
			s := ids{c: &old}
			s.run(t, 2_000_000, 4096, d)

			restarted := framing.NewEndToEndClock(start + int64(s.now+gap))
			s.c, s.now = &restarted, 0
			s.run(t, 2_000_000, 4096, d) // checks that each id, the first included, steps forward
			assert.Less(t, s.span, uint64(1)<<32, "no id of either process repeats")
		})
	}
}
