package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The JSON field names are a contract with tools outside the project.
func TestJSONReportSchema(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "-n", "500", "-c", "16", "--json", "-", "--quiet", "--seed", "3")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut, "--quiet --json -: stderr stays empty")
	rp, m := decodeReport(t, out)
	for _, k := range []string{"requests", "answers", "errors", "result_codes", "experimental_result_codes",
		"equipment_status", "duration_s", "throughput_rps", "latency_us", "connections", "client", "mode",
		"send_lag_us", "cpu_us_per_request", "rss_max_kib", "duration_attack_s", "timeouts_late_answers",
		"latency_policy", "seed", "invariant_ok"} {
		if k == "send_lag_us" {
			continue // open loop only
		}
		assert.Contains(t, m, k)
	}
	errs := m["errors"].(map[string]any)
	for _, k := range []string{"timeout", "busy", "no_connection", "connection_lost", "closed", "other"} {
		assert.Contains(t, errs, k)
	}
	eq := m["equipment_status"].(map[string]any)
	for _, k := range []string{"whitelisted", "blacklisted", "greylisted"} {
		assert.Contains(t, eq, k)
	}
	lat := m["latency_us"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		assert.Contains(t, lat, k)
	}
	conns := m["connections"].([]any)
	require.Len(t, conns, 1)
	for _, k := range []string{"peer", "origin_host", "peer_origin_host", "state", "tls", "sent", "received", "timeouts",
		"failovers", "reconnects", "peer_reopens", "last_error"} {
		assert.Contains(t, conns[0].(map[string]any), k)
	}

	requireBalanced(t, rp)
	assert.Equal(t, uint64(500), rp.Requests)
	assert.Equal(t, uint64(500), rp.Answers)
	assert.Equal(t, map[string]uint64{"2001": 500}, rp.ResultCodes)
	assert.Empty(t, rp.ExperimentalResultCodes)
	assert.Equal(t, uint64(500), rp.EquipmentStatus.Whitelisted)
	assert.Equal(t, "engine", rp.Client)
	assert.Equal(t, "closed", rp.Mode)
	assert.Equal(t, uint64(3), rp.Seed)
	assert.True(t, rp.EmbeddedEIR)
	assert.Equal(t, runtime.GOMAXPROCS(0), rp.GOMAXPROCS, "an embedded EIR keeps the Go default")
	assert.Equal(t, runtime.NumCPU(), rp.CPUs)
	assert.True(t, rp.CPUIncludesResponder)
	assert.Positive(t, rp.DurationS)
	assert.Positive(t, rp.ThroughputRPS)
	assert.InEpsilon(t, float64(rp.Answers)/rp.DurationS, rp.ThroughputRPS, 0.01, "throughput_rps = answers / duration_s")
	assert.Positive(t, rp.RSSMaxKiB)
	assert.Equal(t, int64(500), rp.LatencyUS.Count)
	assert.LessOrEqual(t, rp.LatencyUS.P50, rp.LatencyUS.P99)
	assert.LessOrEqual(t, rp.LatencyUS.P99, rp.LatencyUS.Max)
	assert.Equal(t, uint64(500), rp.ExpectationsChecked)
	assert.Zero(t, rp.ExpectationMismatches)
	c := rp.Connections[0]
	assert.Equal(t, "gw.diamload.local", c.OriginHost)
	assert.Equal(t, "eir.diamload.local", c.PeerOriginHost)
	assert.Equal(t, uint64(500), c.Sent)
	assert.Equal(t, uint64(500), c.Received)
	assert.True(t, rp.Passed)
}

func TestClosedLoopRun(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "-n", "3000", "-c", "32", "--conns", "2",
		"--identity-per-conn", "--imei", "99000001*", "--rules", writeRules(t, "99000001 BLACKLISTED\n"),
		"--json", "-", "--progress-interval", "10ms")
	require.Equal(t, exitOK, code, errOut)
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, uint64(3000), rp.Requests)
	assert.Equal(t, uint64(3000), rp.EquipmentStatus.Blacklisted)
	assert.Zero(t, rp.ExpectationMismatches)
	require.Len(t, rp.Connections, 2)
	assert.Equal(t, "gw-1.diamload.local", rp.Connections[0].OriginHost)
	assert.Equal(t, "gw-2.diamload.local", rp.Connections[1].OriginHost)
	assert.Equal(t, uint64(3000), rp.Connections[0].Sent+rp.Connections[1].Sent)
	// The human report went to stderr (not --quiet), after the progress lines.
	assert.Contains(t, errOut, "ECR/s")
	assert.Contains(t, errOut, "BLACKLISTED 3000")
	assert.Contains(t, errOut, "gw-2.diamload.local")
}

func TestOpenLoopRun(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "--rate", "2000", "-d", "1s", "-c", "64",
		"--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, m := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, "open", rp.Mode)
	assert.Equal(t, 2000.0, rp.OfferedRPS)
	// The schedule has exactly rate × duration slots, each sent or counted.
	assert.InDelta(t, 2000, float64(rp.Requests), 2)
	assert.Zero(t, rp.Errors.total(), "%+v", rp.Errors)
	assert.Contains(t, m, "send_lag_us")
	assert.Contains(t, m, "service_latency_us")
	require.NotNil(t, rp.ServiceLatencyUS)
	require.NotNil(t, rp.SendLagUS)
	assert.Equal(t, int64(rp.Answers), rp.LatencyUS.Count)
	assert.Equal(t, int64(rp.Answers), rp.ServiceLatencyUS.Count)
	// Latency from the intended time is never below the service time.
	assert.GreaterOrEqual(t, rp.LatencyUS.P50, rp.ServiceLatencyUS.P50)
	assert.GreaterOrEqual(t, rp.LatencyUS.Max, rp.ServiceLatencyUS.Max)
	assert.InDelta(t, 1.0, rp.DurationAttackS, 0.5)
	assert.Equal(t, pacerPrecise, rp.Pacer, "the precise pacer is the default")
	assert.Positive(t, rp.PacerWakes)
}

// With one slot and a responder that takes 20 ms, an open loop at 500/s cannot send on time:
// the requests wait for the slot and their latency from the intended time grows, or they are
// dropped and counted once --timeout overdue. Nothing is skipped silently.
func TestOpenLoopInFlightCap(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "--rate", "500", "-d", "600ms", "-c", "1",
		"--delay", "20ms", "--timeout", "150ms", "--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.InDelta(t, 300, float64(rp.Requests), 2, "every slot of the schedule is a request")
	assert.Positive(t, rp.LateDropped)
	assert.Equal(t, rp.LateDropped, rp.Errors.Busy)
	assert.Positive(t, rp.LateSends)
	assert.Greater(t, rp.LatencyUS.P99, rp.ServiceLatencyUS.P99, "waiting for the slot counts in the latency")
	assert.Greater(t, rp.SendLagUS.Max, int64(20000))
}

func TestWarmupExcluded(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "-n", "1000", "-c", "8", "--warmup", "300ms",
		"--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, uint64(1000), rp.Requests, "-n counts the measured requests only")
	assert.Equal(t, int64(1000), rp.LatencyUS.Count)
	assert.Equal(t, 0.3, rp.WarmupS)
	assert.Greater(t, rp.Connections[0].Sent, uint64(1000), "warm-up traffic was sent")
}

func TestTimeoutsAndThreshold(t *testing.T) {
	rules := writeRules(t, "99000006 DROP\n")
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "-n", "20", "-c", "20", "--imei", "99000006*",
		"--rules", rules, "--timeout", "100ms", "--max-error-ratio", "0.5", "--json", "-", "--quiet")
	assert.Equal(t, exitThreshold, code)
	requireOneLine(t, errOut)
	assert.Contains(t, errOut, "max-error-ratio")
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, uint64(20), rp.Errors.Timeout)
	assert.Equal(t, int64(20), rp.LatencyUS.Count, "timeouts are recorded in the histogram")
	assert.GreaterOrEqual(t, rp.LatencyUS.P50, int64(100000))
	assert.Zero(t, rp.ExpectationMismatches, "DROP expects a timeout")
	assert.False(t, rp.Passed)
}

func TestUnreachablePeer(t *testing.T) {
	start := time.Now()
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "--dra", "127.0.0.1:1", "-n", "10", "--quiet")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	// The engine's warning (--log-level warn, the default) names the connection; the error
	// line follows, alone on its line.
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		assert.Regexp(t, `^time=\S+ level=WARN msg="connect failed" dra=127\.0\.0\.1:1 conn=1 `, l)
	}
	errOut = lines[len(lines)-1]
	assert.Contains(t, errOut, "no peer reachable")
	assert.Contains(t, errOut, "127.0.0.1:1")
	assert.Contains(t, errOut, "refused")
	assert.Less(t, time.Since(start), connectTimeout, "a refused connection fails the run at once")

	code, _, errOut = cli(t, ctxT(t, 20*time.Second), "run", "--client", "baseline", "--dra", "127.0.0.1:1", "-n", "10", "--quiet")
	assert.Equal(t, exitFailure, code)
	requireOneLine(t, errOut)
	assert.Contains(t, errOut, "127.0.0.1:1")
}

// Cancelling the context (what SIGINT/SIGTERM do) stops sending, drains and still reports.
func TestCancellationDrains(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout syncBuffer
	stderr := newLineWatcher("ECR/s")
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "-d", "1m", "-c", "32", "--json", "-", "--progress-interval", "20ms"}, &stdout, stderr)
	}()
	select {
	case <-stderr.seen: // traffic is flowing
	case <-time.After(15 * time.Second):
		t.Fatal("no progress line")
	}
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop after cancellation")
	}
	assert.Equal(t, exitOK, code, stderr.String())
	rp, _ := decodeReport(t, stdout.String())
	requireBalanced(t, rp)
	assert.True(t, rp.Interrupted)
	assert.Positive(t, rp.Answers)
	assert.Zero(t, rp.Errors.total(), "a drained run has no errors: %+v", rp.Errors)
	assert.Empty(t, rp.CloseError)
	assert.Contains(t, stderr.String(), "INTERRUPTED")
}

func TestBaselineClient(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 20*time.Second), "run", "--client", "baseline", "-n", "2000", "-c", "16",
		"--conns", "2", "--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, "baseline", rp.Client)
	assert.Equal(t, uint64(2000), rp.Answers)
	require.Len(t, rp.Connections, 1)
	assert.Equal(t, uint64(2000), rp.Connections[0].Sent)
	assert.Equal(t, uint64(2000), rp.Connections[0].Received)
}

func TestSelftest(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 30*time.Second), "selftest", "-d", "1s", "--quiet")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Empty(t, errOut)
	for _, s := range []string{"ok   invariant", "ok   expected-outcomes", "1 of 1 connections over TCP", "BLACKLISTED", "GREYLISTED",
		"DIAMETER_ERROR_EQUIPMENT_UNKNOWN", "DIAMETER_TOO_BUSY", "DIAMETER_UNABLE_TO_COMPLY", "0 mismatches"} {
		assert.Contains(t, out, s)
	}
	assert.NotRegexp(t, `(?m)^FAIL`, out)
}

// lineWatcher is a writer that signals when a line containing want is written.
type lineWatcher struct {
	syncBuffer
	want string
	seen chan struct{}
	once bool
}

func newLineWatcher(want string) *lineWatcher {
	return &lineWatcher{want: want, seen: make(chan struct{})}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	w.mu.Lock()
	if !w.once && strings.Contains(w.b.String(), w.want) {
		w.once = true
		close(w.seen)
	}
	w.mu.Unlock()
	return n, err
}

func writeRules(t *testing.T, text string) string {
	t.Helper()
	p := t.TempDir() + "/rules.conf"
	require.NoError(t, writeFile(p, text))
	return p
}
