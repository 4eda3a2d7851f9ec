package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The engine client against external peers runs on one P; the baseline client and an embedded
// EIR keep the Go default; --procs overrides both.
func TestProcsFor(t *testing.T) {
	def := runtime.GOMAXPROCS(0)
	assert.Equal(t, 1, procsFor(&runOpts{client: "engine"}, false), "closed loop: saturation")
	assert.Equal(t, def, procsFor(&runOpts{client: "engine", rate: rateValue{perSec: 1000}}, false),
		"open loop: paced, the Go default")
	assert.Equal(t, def, procsFor(&runOpts{client: "engine"}, true), "embedded EIR in the same process")
	assert.Equal(t, def, procsFor(&runOpts{client: "baseline"}, false))
	assert.Equal(t, 3, procsFor(&runOpts{client: "engine", procs: 3}, false))
	assert.Equal(t, 3, procsFor(&runOpts{client: "baseline", procs: 3}, true))
}

// setProcs changes GOMAXPROCS until its restore function runs.
func TestSetProcsRestores(t *testing.T) {
	def := runtime.GOMAXPROCS(0)
	restore := setProcs(def + 1)
	assert.Equal(t, def+1, runtime.GOMAXPROCS(0))
	restore()
	assert.Equal(t, def, runtime.GOMAXPROCS(0))
}
