package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --metrics and --pprof take host:port; anything else is a usage error naming the flag, in
// every command that has them.
func TestObserveFlagsValidated(t *testing.T) {
	for _, tc := range []struct{ cmd, flag, value string }{
		{"run", "metrics", "nonsense"},
		{"run", "pprof", "127.0.0.1:99999"},
		{"selftest", "metrics", "127.0.0.1:x"},
		{"soak", "pprof", "localhost"},
		{"serve", "metrics", "127.0.0.1"},
		{"serve", "pprof", ":-1"},
	} {
		code, _, errOut := cli(t, ctxT(t, 10*time.Second), tc.cmd, "--"+tc.flag, tc.value)
		assert.Equal(t, exitUsage, code, "%s --%s %s: %s", tc.cmd, tc.flag, tc.value, errOut)
		assert.Contains(t, errOut, "invalid --"+tc.flag+" "+tc.value, tc.cmd)
	}
	_, err := parseRunFlags("run", []string{"--metrics", "bad"}, false)
	var fe *flagError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "metrics", fe.Flag)
	require.ErrorIs(t, err, errUsage)
	o, err := parseRunFlags("run", []string{"--metrics", ":0", "--pprof", "127.0.0.1:6060"}, false)
	require.NoError(t, err)
	assert.Equal(t, observeOpts{metrics: ":0", pprof: "127.0.0.1:6060"}, o.observe)
}

// An address already taken fails the command at once (a runtime failure, not a usage error).
func TestObserveListenFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	code, _, errOut := cli(t, ctxT(t, 10*time.Second), "run", "-n", "10", "--quiet", "--metrics", ln.Addr().String())
	assert.Equal(t, exitFailure, code, errOut)
	assert.Contains(t, errOut, "observability listener")
}

// get fetches url, bounded.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t, 5*time.Second), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// scrapeSum scrapes url and sums the family name (-1 when there is none yet), parsed with the
// library's parser.
func scrapeSum(t *testing.T, url, name string) (float64, map[string]*dto.MetricFamily) {
	t.Helper()
	code, body := get(t, url)
	require.Equal(t, http.StatusOK, code, body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	f, ok := fams[name]
	if !ok {
		return -1, fams
	}
	var sum float64
	for _, m := range f.Metric {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	return sum, fams
}

// awaitAddr waits for w's line naming what is served and returns its address.
func awaitAddr(t *testing.T, w *lineWatcher, done chan int, errOut *syncBuffer, what string) string {
	t.Helper()
	select {
	case <-w.seen:
	case code := <-done:
		t.Fatalf("exited with %d before serving: %s", code, errOut.String())
	case <-time.After(20 * time.Second):
		t.Fatal("no serving line")
	}
	m := regexp.MustCompile(`serving[^\n]*` + regexp.QuoteMeta(what) + `[^\n]* on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(w.String())
	require.NotNil(t, m, w.String())
	return m[1]
}

// A run with --metrics and --pprof serves them while it runs: the scrape shows the engine's
// requests going up and the embedded EIR's, /healthz is 200 (the engine is Ready), pprof
// answers; once the run has ended nothing listens.
func TestRunServesMetricsWhileRunning(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := newLineWatcher("/debug/pprof/ on http://") // printed after the metrics line
	var none syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "-d", "60s", "--rate", "200", "-c", "8", "--quiet",
			"--metrics", "127.0.0.1:0", "--pprof", "127.0.0.1:0"}, io.Discard, stderr)
	}()
	pp := awaitAddr(t, stderr, done, &none, "/debug/pprof/")
	url := "http://" + awaitAddr(t, stderr, done, &none, "/metrics /healthz")
	assert.NotEqual(t, url, "http://"+pp, "two listeners, each its own free port")

	var first float64
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, fams := scrapeSum(t, url+"/metrics", "diamgw_requests_total")
		if first <= 0 {
			first = n // none yet before the engine is up, 0 before its first round
		}
		if first > 0 && n > first {
			assert.Contains(t, fams, "diamgw_server_requests_total", "the embedded EIR's collector")
			assert.Contains(t, fams, "diamgw_answer_latency_seconds")
			break
		}
		require.True(t, time.Now().Before(deadline), "the requests never went up: %v then %v", first, n)
		time.Sleep(50 * time.Millisecond) // the scrape is the event: poll it
	}
	code, body := get(t, url+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = get(t, "http://"+pp+"/debug/pprof/goroutine?debug=1")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine profile")

	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, "interrupted: the report is printed, no check failed")
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after its context")
	}
	_, err := http.Get(url + "/metrics")
	assert.Error(t, err, "nothing listens after the run")
}

// serve --metrics: /healthz is 200 while it listens, /metrics has the server's counters.
func TestServeMetricsAndHealthz(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := newLineWatcher("/metrics /healthz on http://")
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"}, stdout, &stderr)
	}()
	url := "http://" + awaitAddr(t, stdout, done, &stderr, "/metrics /healthz")
	code, body := get(t, url+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	n, _ := scrapeSum(t, url+"/metrics", "diamgw_server_connections")
	assert.Zero(t, n)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	_, err := http.Get(url + "/healthz")
	assert.True(t, err != nil && !errors.Is(err, context.Canceled), "nothing listens after serve")
}

// The readiness given to startObserver holds from the first request: a client that reads the
// printed address and asks at once gets 200 from a ready command (serve's CI flake was a 503
// there), and 503 when none is given yet (a run before its engine is up).
func TestObserverReadyFromTheFirstRequest(t *testing.T) {
	var out syncBuffer
	obs, err := startObserver("127.0.0.1:0", "", func() bool { return true }, &out)
	require.NoError(t, err)
	defer obs.close()
	m := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	code, body := get(t, "http://"+m[1]+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)

	var out2 syncBuffer
	notYet, err := startObserver("127.0.0.1:0", "", nil, &out2)
	require.NoError(t, err)
	defer notYet.close()
	m = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+)`).FindStringSubmatch(out2.String())
	require.NotNil(t, m, out2.String())
	code, _ = get(t, "http://"+m[1]+"/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
}
