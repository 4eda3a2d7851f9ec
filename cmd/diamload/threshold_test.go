package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseThreshold(t *testing.T) {
	for _, c := range []struct {
		in     string
		metric string
		op     string
		limit  float64
	}{
		{"p99<5ms", "p99", "<", 5000},
		{"p50 <= 250us", "p50", "<=", 250},
		{"p90<250µs", "p90", "<", 250},
		{"p999<1.5s", "p999", "<", 1.5e6},
		{"max>=2ms", "max", ">=", 2000},
		{"mean>1ms", "mean", ">", 1000},
		{"error_rate<0.001", "error_rate", "<", 0.001},
		{"throughput>50000", "throughput", ">", 50000},
		{"throughput>=0", "throughput", ">=", 0},
	} {
		got, err := parseThreshold(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, threshold{expr: c.in, metric: c.metric, op: c.op, limit: c.limit}, got, c.in)
	}
	for _, in := range []string{"", "p99", "p99<", "<5ms", "p99=5ms", "p99<5", "p99<fast", "p99<-1ms",
		"error_rate<2", "error_rate<x", "throughput>-1", "throughput>NaN", "p75<5ms", "p99<<5ms"} {
		_, err := parseThreshold(in)
		require.Error(t, err, in)
		assert.True(t, errors.Is(err, errBadThreshold), "%q: %v", in, err)
		assert.NotContains(t, err.Error(), "\n")
	}
}

func TestThresholdChecks(t *testing.T) {
	rp := &report{Requests: 1000, Answers: 998, Errors: errorCounts{Timeout: 2}, ThroughputRPS: 60000,
		LatencyUS: percentiles{P50: 100, P90: 900, P99: 4000, P999: 7000, Max: 9000, Mean: 300}}
	for _, c := range []struct {
		expr string
		ok   bool
		want string // in the detail: the measured value
	}{
		{"p99<5ms", true, "4.00ms"},
		{"p99<4ms", false, "4.00ms"},
		{"p99<=4ms", true, "4.00ms"},
		{"p50>100us", false, "100µs"},
		{"p50>=100us", true, "100µs"},
		{"p90<1ms", true, "900µs"},
		{"p999<5ms", false, "7.00ms"},
		{"max<=9ms", true, "9.00ms"},
		{"mean<300us", false, "300µs"},
		{"error_rate<0.001", false, "0.002"},
		{"error_rate<=0.002", true, "0.002"},
		{"throughput>50000", true, "60000.0 ECR/s"},
		{"throughput>60000", false, "60000.0 ECR/s"},
	} {
		th, err := parseThreshold(c.expr)
		require.NoError(t, err)
		r := *rp
		r.Checks = nil
		r.addThresholdChecks([]threshold{th})
		require.Len(t, r.Checks, 1)
		ch := r.Checks[0]
		assert.Equal(t, "threshold "+c.expr, ch.Name)
		assert.Equal(t, c.ok, ch.OK, c.expr)
		assert.Equal(t, c.ok, r.Passed, c.expr)
		assert.Contains(t, ch.Detail, c.want, c.expr)
	}
}

// A failed threshold exits 99 and both reports name it with the measured value; a malformed one
// is a usage error (exit 2) naming the flag.
func TestThresholdExit(t *testing.T) {
	js := filepath.Join(t.TempDir(), "r.json")
	code, text, stderr := cli(t, ctxT(t, time.Minute), "run", "-n", "200", "-c", "4", "--quiet", "--json", js,
		"--threshold", "p99<1h", "--threshold", "throughput>1e12")
	require.Equal(t, exitThreshold, code, stderr)
	b, err := os.ReadFile(js)
	require.NoError(t, err)
	rp, _ := decodeReport(t, string(b))
	var failed []check
	for _, c := range rp.Checks {
		if strings.HasPrefix(c.Name, "threshold ") && !c.OK {
			failed = append(failed, c)
		}
	}
	require.Len(t, failed, 1, "%+v", rp.Checks)
	assert.Equal(t, "threshold throughput>1e12", failed[0].Name)
	assert.Contains(t, failed[0].Detail, "throughput measured")
	assert.Contains(t, text, "FAIL threshold throughput>1e12: throughput measured")
	assert.Contains(t, text, "ok   threshold p99<1h: p99 measured")
	assert.Contains(t, stderr, "threshold throughput>1e12 (throughput measured")

	code, _, stderr = cli(t, ctxT(t, time.Minute), "run", "-n", "10", "--threshold", "p99<soon")
	require.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "-threshold")
	requireOneLine(t, stderr)
}
