package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/s13"
)

// serve starts, prints its address, answers an engine client by its rules, and on cancellation
// (SIGINT/SIGTERM) closes and prints its statistics.
func TestServeAnswers(t *testing.T) {
	rules := writeRules(t, "99000001 BLACKLISTED\n99000003 UNKNOWN\n")
	srv := startServe(t, "--origin-host", "eir.test.local", "--origin-realm", "test.local", "--rules", rules)
	stdout, stderr := srv.stdout, srv.stderr
	cfg := engine.DefaultConfig()
	cfg.OriginHost, cfg.OriginRealm = "gw.test.local", "test.local"
	cfg.DRAs = []engine.DRA{{Address: srv.addr, Connections: 1}}
	e, err := engine.New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 10*time.Second)))
	for imei, check := range map[string]func(a s13.Answer){
		"35209900176148": func(a s13.Answer) {
			assert.EqualValues(t, 2001, a.ResultCode)
			assert.True(t, a.HasEquipmentStatus)
			assert.Equal(t, s13.Whitelisted, a.EquipmentStatus)
		},
		"99000001123456": func(a s13.Answer) { assert.Equal(t, s13.Blacklisted, a.EquipmentStatus) },
		"99000003123456": func(a s13.Answer) {
			assert.True(t, a.HasExperimentalResult)
			assert.Equal(t, s13.EquipmentUnknown, a.ExperimentalResult.Code)
		},
	} {
		a, err := e.Check(ctxT(t, 5*time.Second), s13.Request{IMEI: imei})
		require.NoError(t, err, imei)
		assert.Equal(t, "eir.test.local", string(a.OriginHost))
		check(a)
	}
	require.NoError(t, e.Close(ctxT(t, 5*time.Second)))
	srv.stop(t)
	// serve logs at Info by default: its clients, as text records on stderr.
	logs := stderr.String()
	assert.Regexp(t, `level=INFO msg="CER accepted" remote=127\.0\.0\.1:\d+ peer_host=gw\.test\.local peer_realm=test\.local`, logs)
	assert.Contains(t, logs, `msg="client disconnected"`)
	assert.NotContains(t, logs, "level=DEBUG")
	assert.Contains(t, stdout.String(), "stopped after")
	assert.Contains(t, stdout.String(), "answered 3 (whitelisted 1, blacklisted 1, greylisted 0, unknown 1")
}

func TestServeListenFailure(t *testing.T) {
	// Port 1 is privileged or taken; either way nothing listens there for us... unless root:
	// use an address that cannot be bound instead.
	code, out, errOut := cli(t, ctxT(t, 10*time.Second), "serve", "--listen", "192.0.2.1:3868")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	requireOneLine(t, errOut)
	assert.Contains(t, errOut, "192.0.2.1:3868")
}
