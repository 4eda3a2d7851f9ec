package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Counts stay exact past the array's capacity, and a clone is independent of the original.
func TestCodeCounts(t *testing.T) {
	var c codeCounts
	want := map[uint32]uint64{}
	for i := range 1000 {
		code := uint32(2001 + i%13) // 13 distinct codes: 8 in the array, 5 spilled
		c.inc(code)
		want[code]++
	}
	assert.Equal(t, want, c.snapshot())

	d := c.clone()
	c.inc(2001)
	c.inc(5999)
	assert.Equal(t, want, d.snapshot(), "the clone did not see later counts")
	assert.Equal(t, want[2001]+1, c.snapshot()[2001])
	assert.Equal(t, map[uint32]uint64{}, (&codeCounts{}).snapshot())
}
