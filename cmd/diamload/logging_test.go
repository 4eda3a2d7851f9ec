package main

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every command takes --log-level and --log-format; run, selftest and soak default to warn (the
// live line is their output), serve to info.
func TestLogFlags(t *testing.T) {
	for _, name := range []string{"run", "selftest"} {
		o, err := parseRunFlags(name, nil, name == "selftest")
		require.NoError(t, err)
		assert.Equal(t, slog.LevelWarn, o.log.level.l, name)
		assert.False(t, o.log.format.json, name)
		o, err = parseRunFlags(name, []string{"--log-level", "debug", "--log-format", "json"}, name == "selftest")
		require.NoError(t, err)
		assert.Equal(t, slog.LevelDebug, o.log.level.l, name)
		assert.True(t, o.log.format.json, name)
	}
	o, err := parseSoakFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, slog.LevelWarn, o.log.level.l, "soak")
	o, err = parseSoakFlags([]string{"--log-level", "ERROR"})
	require.NoError(t, err)
	assert.Equal(t, slog.LevelError, o.log.level.l, "soak, any case")
	so, err := parseServeFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, slog.LevelInfo, so.log.level.l, "serve")
	so, err = parseServeFlags([]string{"--log-level", "warn"})
	require.NoError(t, err)
	assert.Equal(t, slog.LevelWarn, so.log.level.l)
}

// run --log-level info --log-format json writes the engine's and the embedded EIR's records to
// stderr as JSON lines: the handshake on both sides, with their attributes, and nothing per
// request over 1,000 requests.
func TestRunLogsJSONAtInfo(t *testing.T) {
	code, _, errOut := cli(t, ctxT(t, 30*time.Second), "run", "-n", "1000", "-c", "8", "--quiet", "--seed", "1",
		"--log-level", "info", "--log-format", "json")
	require.Equal(t, exitOK, code, errOut)
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(errOut))
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "a JSON record a line: %q", sc.Text())
		recs = append(recs, r)
	}
	find := func(msg string) map[string]any {
		for _, r := range recs {
			if r["msg"] == msg {
				return r
			}
		}
		t.Fatalf("no %q record in %s", msg, errOut)
		return nil
	}
	cea := find("CEA accepted")
	assert.Equal(t, "INFO", cea["level"])
	assert.NotEmpty(t, cea["dra"])
	assert.EqualValues(t, 1, cea["conn"])
	assert.Equal(t, defaultEIRHost, cea["peer_host"])
	assert.Equal(t, defaultOriginRealm, cea["peer_realm"])
	cer := find("CER accepted")
	assert.Equal(t, defaultOriginHost, cer["peer_host"])
	assert.Less(t, len(recs), 30, "a handful of records for the connection's life, none per request")
}
