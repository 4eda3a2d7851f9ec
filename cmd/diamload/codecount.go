package main

import "maps"

// codeCounts counts answers by Result-Code (or Experimental-Result-Code). A run sees a handful of
// distinct codes, so the first few live in a small array that is scanned linearly: no hashing on
// the per-answer path, where a map's cost showed in the CPU per answer
// (bench/results/2026-12-03-notes.md). Codes beyond the array spill into a map. The zero value
// is empty and ready.
type codeCounts struct {
	codes [8]uint32
	n     [8]uint64
	used  int
	more  map[uint32]uint64
}

// inc counts one occurrence of code.
func (c *codeCounts) inc(code uint32) {
	for i := range c.used {
		if c.codes[i] == code {
			c.n[i]++
			return
		}
	}
	if c.used < len(c.codes) {
		c.codes[c.used], c.n[c.used] = code, 1
		c.used++
		return
	}
	if c.more == nil {
		c.more = map[uint32]uint64{}
	}
	c.more[code]++
}

// snapshot returns the counts as a new map.
func (c *codeCounts) snapshot() map[uint32]uint64 {
	out := make(map[uint32]uint64, c.used+len(c.more))
	for i := range c.used {
		out[c.codes[i]] = c.n[i]
	}
	for k, v := range c.more {
		out[k] = v
	}
	return out
}

// clone returns a copy that shares nothing with c.
func (c *codeCounts) clone() codeCounts {
	d := *c
	d.more = maps.Clone(c.more)
	return d
}
