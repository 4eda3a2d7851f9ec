package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs the command in-process and returns its exit code and output.
func cli(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// ctxT is a context bounded by d and the test.
func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// decodeReport parses a --json - report, also as a generic map for schema checks.
func decodeReport(t *testing.T, out string) (report, map[string]any) {
	t.Helper()
	var rp report
	require.NoError(t, json.Unmarshal([]byte(out), &rp), "stdout must be only the JSON report: %q", out)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	return rp, m
}

// requireBalanced asserts the report's books: requests == answers + sum(errors).
func requireBalanced(t *testing.T, rp report) {
	t.Helper()
	e := rp.Errors
	require.Equal(t, rp.Requests, rp.Answers+e.Timeout+e.Busy+e.NoConnection+e.ConnectionLost+e.Closed+e.Other,
		"requests == answers + errors: %+v", rp)
	require.Zero(t, rp.InFlightAtEnd)
	require.True(t, rp.InvariantOK)
}

// oneLine asserts s is exactly one non-empty line.
func requireOneLine(t *testing.T, s string) {
	t.Helper()
	s = strings.TrimSuffix(s, "\n")
	require.NotEmpty(t, s)
	require.NotContains(t, s, "\n", "want one line, got %q", s)
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// Every goroutine a run starts (pacer, reviver, progress, engine, embedded EIR) ends with it;
// gnet's process-wide ants pool is the exception.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(readFile(t, path))).ReadAll()
	require.NoError(t, err)
	return recs
}

func atou(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err)
	return n
}

// servedEIR is `diamload serve` run in-process on a free loopback port.
type servedEIR struct {
	addr   string
	stdout *lineWatcher
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startServe runs `serve --listen 127.0.0.1:0 args...` until stop (or the test's end) and
// returns once it prints its listening address.
func startServe(t *testing.T, args ...string) *servedEIR {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedEIR{stdout: newLineWatcher("listening on "), stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	t.Cleanup(cancel)
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), s.stdout, s.stderr)
	}()
	select {
	case <-s.stdout.seen:
	case code := <-s.done:
		t.Fatalf("serve exited with %d: %s", code, s.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve printed no listen line")
	}
	m := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`).FindStringSubmatch(s.stdout.String())
	require.NotNil(t, m, s.stdout.String())
	s.addr = m[1]
	return s
}

// stop interrupts serve (as SIGINT would) and requires a clean exit.
func (s *servedEIR) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		assert.Equal(t, exitOK, code, s.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
