package main

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunFlagsDefaults(t *testing.T) {
	o, err := parseRunFlags("run", nil, false)
	require.NoError(t, err)
	assert.Empty(t, o.peers)
	assert.Equal(t, 1, o.conns)
	assert.Equal(t, "gw.diamload.local", o.originHost)
	assert.Equal(t, "diamload.local", o.originRealm)
	assert.Equal(t, "diamload.local", o.destRealm, "--dest-realm defaults to --origin-realm")
	assert.Equal(t, int64(10000), o.requests)
	assert.Zero(t, o.duration)
	assert.Equal(t, 64, o.concurrency)
	assert.Zero(t, o.rate.perSec)
	assert.Equal(t, 5*time.Second, o.timeout)
	assert.Equal(t, 30*time.Second, o.watchdog)
	assert.Equal(t, "35209900xxxxxx", o.imei)
	assert.Equal(t, "engine", o.client)
	assert.Equal(t, -1.0, o.maxErrorRatio, "no threshold by default")
	assert.False(t, o.seedSet)
}

func TestRunFlagsShortAndLongAliases(t *testing.T) {
	long, err := parseRunFlags("run", []string{"--requests", "123", "--concurrency", "7", "--dra", "127.0.0.1:3868",
		"--dra", "10.0.0.1:3868", "--rate", "500", "--warmup", "1s", "--json", "-", "--quiet"}, false)
	require.NoError(t, err)
	short, err := parseRunFlags("run", []string{"-n", "123", "-c", "7", "-dra", "127.0.0.1:3868",
		"-dra=10.0.0.1:3868", "-rate=500", "-warmup", "1s", "-json", "-", "-quiet"}, false)
	require.NoError(t, err)
	for _, o := range []*runOpts{long, short} {
		assert.Equal(t, int64(123), o.requests)
		assert.Equal(t, 7, o.concurrency)
		assert.Equal(t, stringList{"127.0.0.1:3868", "10.0.0.1:3868"}, o.peers)
		assert.Equal(t, 500.0, o.rate.perSec)
		assert.Equal(t, time.Second, o.warmup)
		assert.Equal(t, "-", o.jsonOut)
		assert.True(t, o.quiet)
	}

	o, err := parseRunFlags("run", []string{"-d", "2s"}, false)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, o.duration)
	assert.Zero(t, o.requests, "a duration alone ends the run")
	o, err = parseRunFlags("run", []string{"--duration", "2s", "-n", "50"}, false)
	require.NoError(t, err)
	assert.Equal(t, int64(50), o.requests, "both: the first limit reached wins")
	assert.Equal(t, 2*time.Second, o.duration)
}

func TestRunFlagsValues(t *testing.T) {
	o, err := parseRunFlags("run", []string{"--rate", "1200/1m", "--seed", "42", "--imei", "35209900*", "--imsi", "none",
		"--delay", "1ms-5ms", "--identity-per-conn", "--dest-host", "eir.test.local", "--max-error-ratio", "0.01",
		"--client", "baseline"}, false)
	require.NoError(t, err)
	assert.InDelta(t, 20.0, o.rate.perSec, 1e-9)
	assert.True(t, o.seedSet)
	assert.Equal(t, uint64(42), o.seed)
	assert.Equal(t, "35209900xxxxxx", o.imei, "a short prefix is padded with x")
	assert.Equal(t, imsiNone, o.imsi)
	assert.Equal(t, delayValue{time.Millisecond, 5 * time.Millisecond}, o.delay)
	assert.True(t, o.identityPerConn)
	assert.Equal(t, "eir.test.local", o.destHost)
	assert.Equal(t, 0.01, o.maxErrorRatio)
	assert.Equal(t, "baseline", o.client)

	o, err = parseRunFlags("selftest", nil, true)
	require.NoError(t, err)
	assert.Equal(t, selftestDuration, o.duration, "selftest runs for a few seconds by default")
	assert.Zero(t, o.requests)
	assert.True(t, o.selftest)
}

func TestServeFlags(t *testing.T) {
	o, err := parseServeFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:3868", o.listen)
	assert.Equal(t, defaultEIRHost, o.originHost)
	o, err = parseServeFlags([]string{"--listen", "127.0.0.1:0", "-origin-host", "eir.test.local", "--origin-realm",
		"test.local", "--delay", "2ms", "--watchdog", "6s", "--rules", "x.conf"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:0", o.listen)
	assert.Equal(t, "eir.test.local", o.originHost)
	assert.Equal(t, "test.local", o.originRealm)
	assert.Equal(t, delayValue{2 * time.Millisecond, 2 * time.Millisecond}, o.delay)
	assert.Equal(t, 6*time.Second, o.watchdog)
	assert.Equal(t, "x.conf", o.rules)
}

func TestHelp(t *testing.T) {
	_, err := parseRunFlags("run", []string{"-h"}, false)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, args := range [][]string{{"-h"}, {"run", "-h"}, {"serve", "--help"}, {"selftest", "-h"}} {
		code, out, errOut := cli(t, context.Background(), args...)
		assert.Equal(t, exitOK, code, args)
		assert.Contains(t, out, "usage: diamload", args)
		assert.Empty(t, errOut, args)
	}
	_, out, _ := cli(t, context.Background(), "run", "-h")
	for _, f := range []string{"-dra", "-conns", "-identity-per-conn", "-requests", "-duration", "-concurrency",
		"-rate", "-warmup", "-timeout", "-watchdog", "-imei", "-imsi", "-seed", "-json", "-quiet",
		"-max-error-ratio", "-client", "-serve-origin-host", "-cpuprofile", "-rules", "-delay"} {
		assert.Contains(t, out, f)
	}
}

// Every bad command line exits 2 with exactly one line on stderr, nothing on stdout, and
// without touching the network.
func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"run", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"run", "-n", "many"}, `invalid value "many" for flag -n`},
		{[]string{"run", "-n", "-5"}, "invalid --requests -5"},
		{[]string{"run", "-n", "0"}, "invalid --requests 0"},
		{[]string{"run", "-d", "soon"}, `invalid value "soon" for flag -d`},
		{[]string{"run", "--duration", "-1s"}, "invalid --duration -1s"},
		{[]string{"run", "-c", "0"}, "invalid --concurrency 0"},
		{[]string{"run", "--conns", "0"}, "invalid --conns 0"},
		{[]string{"run", "--rate", "fast"}, `invalid value "fast" for flag -rate`},
		{[]string{"run", "--rate", "-3"}, `invalid value "-3" for flag -rate`},
		{[]string{"run", "--rate", "10/fortnight"}, `bad unit "1fortnight"`},
		{[]string{"run", "--timeout", "0s"}, "invalid --timeout 0s"},
		{[]string{"run", "--watchdog", "2s"}, "invalid --watchdog 2s: want at least 6s"},
		{[]string{"run", "--imei", "3520990017614"}, `invalid --imei "3520990017614"`},
		{[]string{"run", "--imei", "35209900x7614y"}, `invalid --imei "35209900x7614y"`},
		{[]string{"run", "--imei", "3520990017614812345"}, `invalid --imei`},
		{[]string{"run", "--imsi", "12ab"}, `invalid --imsi "12ab"`},
		{[]string{"run", "--dra", "nohost"}, `invalid --dra "nohost": want host:port`},
		{[]string{"run", "--dra", "127.0.0.1:99999"}, `invalid --dra "127.0.0.1:99999": port must be 1-65535`},
		{[]string{"run", "--client", "fast"}, `invalid --client "fast"`},
		{[]string{"run", "--procs", "-1"}, "invalid --procs -1"},
		{[]string{"run", "--pacer", "exact"}, `invalid --pacer "exact"`},
		{[]string{"run", "-d", "1s", "--sample", "0s"}, "invalid --sample 0s: want a positive interval"},
		{[]string{"run", "-d", "1s", "--sample", "2s"}, "invalid --sample 2s: want at most --duration 1s"},
		{[]string{"run", "--max-error-ratio", "2"}, "invalid --max-error-ratio 2"},
		{[]string{"run", "--delay", "5ms-1ms"}, `invalid value "5ms-1ms" for flag -delay`},
		{[]string{"run", "--seed", "x"}, `invalid value "x" for flag -seed`},
		{[]string{"run", "extra"}, `unexpected argument "extra"`},
		{[]string{"run", "--log-level", "loud"}, `invalid value "loud" for flag -log-level: want debug, info, warn or error`},
		{[]string{"soak", "--log-format", "xml"}, `invalid value "xml" for flag -log-format: want text or json`},
		{[]string{"serve", "--log-level", "trace"}, `invalid value "trace" for flag -log-level`},
		{[]string{"run", "--origin-host", "bad host"}, "OriginHost"},
		{[]string{"selftest", "--dra", "127.0.0.1:3868"}, "flag provided but not defined: -dra"},
		{[]string{"serve", "--listen", "nowhere"}, `invalid --listen "nowhere"`},
		{[]string{"serve", "--watchdog", "1s"}, "invalid --watchdog 1s"},
		{[]string{"serve", "--delay", "soon"}, `invalid value "soon" for flag -delay`},
		{[]string{"run", "--rules", "/nonexistent/rules.conf"}, "invalid --rules"},
		{[]string{"run", "--dra", "127.0.0.1:3868", "--delay", "1ms"}, "--delay configures the embedded EIR"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			code, out, errOut := cli(t, ctxT(t, 10*time.Second), tc.args...)
			assert.Equal(t, exitUsage, code, "stderr: %s", errOut)
			assert.Empty(t, out)
			requireOneLine(t, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.Regexp(t, `^diamload`, errOut)
		})
	}
}

func TestRateAndDelayValues(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "20000": 20000, "20000/s": 20000, "50/100ms": 500, "60/1m": 1, "1.5": 1.5} {
		var r rateValue
		require.NoError(t, r.Set(in), in)
		assert.InDelta(t, want, r.perSec, 1e-9, in)
	}
	for _, in := range []string{"", "x", "-1", "10/0s", "10/-1s", "NaN", "Inf", "1e9"} {
		var r rateValue
		assert.Error(t, r.Set(in), in)
	}
	for in, want := range map[string]delayValue{"0": {}, "2ms": {2 * time.Millisecond, 2 * time.Millisecond},
		"1ms-5ms": {time.Millisecond, 5 * time.Millisecond}} {
		var d delayValue
		require.NoError(t, d.Set(in), in)
		assert.Equal(t, want, d, in)
	}
	for _, in := range []string{"", "x", "-1ms", "5ms-1ms", "1ms-", "2m"} {
		var d delayValue
		assert.Error(t, d.Set(in), in)
	}
}

// --watchdog is RFC 3539's Tw for the engine: the DWR interval and the DWA wait alike, so a
// silent connection is SUSPECT Tw after its DWR (DWATimeout 0 is Tw, see engine.Config).
func TestWatchdogIsTw(t *testing.T) {
	o, err := parseRunFlags("run", []string{"--watchdog", "6s", "--dra", "127.0.0.1:3868"}, false)
	require.NoError(t, err)
	cfg := engineConfig(clientConfig{peers: o.peers, conns: o.conns, originHost: o.originHost, originRealm: o.originRealm,
		destRealm: o.destRealm, timeout: o.timeout, watchdog: o.watchdog, concurrency: o.concurrency})
	assert.Equal(t, 6*time.Second, cfg.DWRInterval)
	assert.Zero(t, cfg.DWATimeout, "the DWA wait is Tw")
	require.NoError(t, cfg.Validate())
}
