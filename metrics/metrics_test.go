package metrics

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startPair starts a server answering as the freeDiameter rule file says and an engine with
// conns connections to it, both closed when t ends.
func startPair(t *testing.T, conns int) (*engine.Engine, *server.Server) {
	t.Helper()
	p, err := eir.LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	h, err := eir.New(framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, p)
	require.NoError(t, err)
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", OriginHost: "eir.test.local", OriginRealm: "test.local", Handler: h})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	e, err := engine.New(engine.Config{
		OriginHost:     "gw.test.local",
		OriginRealm:    "test.local",
		DRAs:           []engine.DRA{{Name: "eir1", Address: srv.Addr(), Connections: conns, Identity: engine.IdentityPerConnection}},
		RequestTimeout: 2 * time.Second,
		DPATimeout:     time.Second,
	})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = e.Close(ctxT(t, 5*time.Second)) })
	return e, srv
}

// scrape serves reg through promhttp on 127.0.0.1 and parses one scrape with the library's
// parser.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	ts := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer ts.Close()
	req, err := http.NewRequestWithContext(ctxT(t, 5*time.Second), http.MethodGet, ts.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain") // the text format, not protobuf
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// series returns the metric of family name whose labels are exactly labels, failing t when
// there is none.
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no family %s", name)
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) == len(labels) {
			match := true
			for k, v := range labels {
				match = match && got[k] == v
			}
			if match {
				return m
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// A scrape of the engine's and the server's collectors shows what their Stats say: every
// per-connection counter, answers by class, state, the latency histogram (buckets cumulative,
// count and sum), the refusals; and the server's counters.
func TestScrapeMatchesStats(t *testing.T) {
	e, srv := startPair(t, 2)
	imeis := map[string]int{"35209900176148": 6, "99000003000000": 3, "99000004000000": 2} // 2001, 5422, 5012
	want := 0
	for imei, n := range imeis {
		for range n {
			_, err := e.Check(ctxT(t, 5*time.Second), s13.Request{IMEI: imei, IMSI: "001010123456789"})
			require.NoError(t, err)
			want++
		}
	}
	// One the EIR drops: a timeout on the engine, a request without answer on the server.
	_, err := e.Check(ctxT(t, 200*time.Millisecond), s13.Request{IMEI: "99000006000000", IMSI: "001010123456789"})
	require.ErrorIs(t, err, engine.ErrTimeout)
	require.Eventually(t, func() bool {
		s := e.Stats().Total
		return s.Latency.Count() == uint64(want) && s.Timeouts == 1
	}, 5*time.Second, time.Millisecond, "published at the end of a round")

	reg := prometheus.NewRegistry()
	reg.MustRegister(NewEngineCollector(e), NewServerCollector(srv))
	fams := scrape(t, reg)
	s := e.Stats()
	ss := srv.Stats()

	require.Len(t, s.Conns, 2)
	var reqs float64
	for _, c := range s.Conns {
		l := map[string]string{"dra": "eir1", "conn": strconv.Itoa(c.Index)}
		for name, v := range map[string]uint64{
			"diamgw_requests_total":          c.Requests,
			"diamgw_timeouts_total":          c.Timeouts,
			"diamgw_unknown_answers_total":   c.UnknownAnswers,
			"diamgw_failovers_total":         c.Failovers,
			"diamgw_retransmits_total":       c.Retransmits,
			"diamgw_reconnects_total":        c.Reconnects,
			"diamgw_sent_bytes_total":        c.BytesOut,
			"diamgw_received_bytes_total":    c.BytesIn,
			"diamgw_messages_sent_total":     c.MessagesOut,
			"diamgw_messages_received_total": c.MessagesIn,
		} {
			assert.Equal(t, float64(v), value(series(t, fams, name, l)), "%s %v", name, l)
		}
		reqs += value(series(t, fams, "diamgw_requests_total", l))
		assert.NotZero(t, c.BytesOut)
		assert.Equal(t, 0.0, value(series(t, fams, "diamgw_in_flight_requests", l)))
		assert.Equal(t, 1.0, value(series(t, fams, "diamgw_connection_usable", l)))
		assert.Equal(t, c.RTT.Seconds(), value(series(t, fams, "diamgw_rtt_seconds", l)))
		for _, st := range fsm.States() {
			want := 0.0
			if st == fsm.Open {
				want = 1
			}
			assert.Equal(t, want, value(series(t, fams, "diamgw_connection_state", map[string]string{"dra": "eir1", "conn": l["conn"], "state": st.String()})), "state %s", st)
		}
		for class, v := range map[string]uint64{"2xxx": c.Answers.Success, "3xxx": c.Answers.ProtocolError, "4xxx": c.Answers.TransientError,
			"5xxx": c.Answers.PermanentError, "experimental": c.Answers.Experimental, "other": c.Answers.Other} {
			assert.Equal(t, float64(v), value(series(t, fams, "diamgw_answers_total", map[string]string{"dra": "eir1", "conn": l["conn"], "result": class})), class)
		}
		h := series(t, fams, "diamgw_answer_latency_seconds", l).Histogram
		require.NotNil(t, h)
		assert.Equal(t, c.Latency.Count(), h.GetSampleCount())
		assert.InDelta(t, float64(c.Latency.SumNanos)/1e9, h.GetSampleSum(), 1e-9)
		require.Len(t, h.Bucket, engine.LatencyBuckets, "the engine's last bucket is +Inf")
		var cum uint64
		for i, b := range h.Bucket {
			cum += c.Latency.Buckets[i]
			bound := math.Inf(1)
			if i < engine.LatencyBuckets-1 {
				bound = engine.LatencyBound(i).Seconds()
			}
			assert.Equal(t, bound, b.GetUpperBound())
			assert.Equal(t, cum, b.GetCumulativeCount(), "bucket %d", i)
		}
		assert.Equal(t, c.Latency.Count(), cum)
	}
	assert.Equal(t, float64(want+1), reqs, "every request once")
	assert.Equal(t, 1.0, sumOver(fams, "diamgw_timeouts_total", "dra", "eir1"))
	assert.Equal(t, float64(imeis["35209900176148"]), sumOver(fams, "diamgw_answers_total", "result", "2xxx"))
	assert.Equal(t, float64(imeis["99000003000000"]), sumOver(fams, "diamgw_answers_total", "result", "experimental"), "5422 is an Experimental-Result")
	assert.Equal(t, float64(imeis["99000004000000"]), sumOver(fams, "diamgw_answers_total", "result", "5xxx"))
	assert.Equal(t, float64(imeis["99000003000000"]), sumOver(fams, "diamgw_experimental_results_total", "code", "5422"), "by Experimental-Result")
	assert.Equal(t, 0.0, sumOver(fams, "diamgw_experimental_results_total", "code", "other"))

	assert.Equal(t, 2.0, value(series(t, fams, "diamgw_dra_connections", map[string]string{"dra": "eir1"})))
	assert.Equal(t, 2.0, value(series(t, fams, "diamgw_dra_usable_connections", map[string]string{"dra": "eir1"})))
	assert.Equal(t, 2.0, value(series(t, fams, "diamgw_usable_connections", nil)))
	assert.Equal(t, 0.0, value(series(t, fams, "diamgw_inbox_depth", nil)))
	assert.Equal(t, 0.0, value(series(t, fams, "diamgw_outstanding_requests", nil)))
	assert.Equal(t, float64(s.Busy), value(series(t, fams, "diamgw_refused_requests_total", map[string]string{"reason": "busy"})))
	assert.Equal(t, float64(s.NoConnection), value(series(t, fams, "diamgw_refused_requests_total", map[string]string{"reason": "no_connection"})))

	for name, v := range map[string]uint64{
		"diamgw_server_requests_total":             ss.Requests,
		"diamgw_server_answers_total":              ss.Answers,
		"diamgw_server_cers_total":                 ss.CERs,
		"diamgw_server_accepted_connections_total": ss.Accepted,
		"diamgw_server_sent_bytes_total":           ss.BytesOut,
		"diamgw_server_connections":                uint64(ss.Connections),
		"diamgw_server_peers":                      uint64(ss.Peers),
	} {
		assert.Equal(t, float64(v), value(series(t, fams, name, nil)), name)
	}
	assert.Equal(t, float64(want+1), value(series(t, fams, "diamgw_server_requests_total", nil)))
	assert.Equal(t, float64(want), value(series(t, fams, "diamgw_server_answers_total", nil)))
	assert.Equal(t, 1.0, value(series(t, fams, "diamgw_server_unanswered_requests_total", nil)))
	assert.Equal(t, 2.0, value(series(t, fams, "diamgw_server_peers", nil)))
}

// sumOver sums family name's series whose label is v.
func sumOver(fams map[string]*dto.MetricFamily, name, label, v string) float64 {
	var sum float64
	for _, m := range fams[name].Metric {
		for _, l := range m.Label {
			if l.GetName() == label && l.GetValue() == v {
				sum += value(m)
			}
		}
	}
	return sum
}

type fixedStats engine.Snapshot

func (f *fixedStats) Stats() engine.Snapshot { return engine.Snapshot(*f) }

// The engine-level values are scraped as the snapshot has them, each its own number so that a
// field read in place of another shows; a latency in the last bucket only counts in +Inf.
func TestScrapeEngineLevel(t *testing.T) {
	c := engine.ConnStats{DRA: "a", Index: 3, State: "Suspect", RTT: 1500 * time.Microsecond}
	c.InFlight = 11
	c.Latency.Buckets[engine.LatencyBuckets-1] = 2
	c.Latency.Buckets[0] = 1
	c.Latency.SumNanos = 40e9
	s := fixedStats{Conns: []engine.ConnStats{c}, InboxDepth: 5, Busy: 7, NoConnection: 3, Outstanding: 13, Usable: 0,
		CallbackPanics: 17, CallbackExits: 19, TimerWakeups: 23,
		DRAs: []engine.DRAStats{{Name: "a", Connections: 4, Usable: 0}}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewEngineCollector(&s))
	fams := scrape(t, reg)
	for name, want := range map[string]float64{
		"diamgw_inbox_depth": 5, "diamgw_outstanding_requests": 13, "diamgw_usable_connections": 0,
		"diamgw_callback_panics_total": 17, "diamgw_callback_exits_total": 19, "diamgw_timer_wakeups_total": 23,
	} {
		assert.Equal(t, want, value(series(t, fams, name, nil)), name)
	}
	assert.Equal(t, 7.0, value(series(t, fams, "diamgw_refused_requests_total", map[string]string{"reason": "busy"})))
	assert.Equal(t, 3.0, value(series(t, fams, "diamgw_refused_requests_total", map[string]string{"reason": "no_connection"})))
	assert.Equal(t, 4.0, value(series(t, fams, "diamgw_dra_connections", map[string]string{"dra": "a"})))
	l := map[string]string{"dra": "a", "conn": "3"}
	assert.Equal(t, 11.0, value(series(t, fams, "diamgw_in_flight_requests", l)))
	assert.Equal(t, 0.0015, value(series(t, fams, "diamgw_rtt_seconds", l)))
	assert.Equal(t, 0.0, value(series(t, fams, "diamgw_connection_usable", l)))
	assert.Equal(t, 1.0, value(series(t, fams, "diamgw_connection_state", map[string]string{"dra": "a", "conn": "3", "state": "Suspect"})))
	assert.Equal(t, 0.0, value(series(t, fams, "diamgw_connection_state", map[string]string{"dra": "a", "conn": "3", "state": "Open"})))
	h := series(t, fams, "diamgw_answer_latency_seconds", l).Histogram
	assert.Equal(t, uint64(3), h.GetSampleCount())
	assert.Equal(t, 40.0, h.GetSampleSum())
	for _, b := range h.Bucket[:len(h.Bucket)-1] {
		assert.Equal(t, uint64(1), b.GetCumulativeCount(), "the two slow ones are above %v s", b.GetUpperBound())
	}
	assert.Equal(t, uint64(3), h.Bucket[len(h.Bucket)-1].GetCumulativeCount(), "+Inf")
}

// BenchmarkScrapeEngine is one scrape of an engine the size of a large deployment (4 DRAs × 8
// connections) through the registry and the text exposition, as promhttp serves it. It reads a
// fixed snapshot, so it times the collector and the encoding, never the loop.
func BenchmarkScrapeEngine(b *testing.B) {
	var s fixedStats
	for d := range 4 {
		name := fmt.Sprintf("dra%d", d)
		s.DRAs = append(s.DRAs, engine.DRAStats{Name: name, Connections: 8, Usable: 8})
		for i := range 8 {
			c := engine.ConnStats{DRA: name, Index: i + 1, State: "Open", RTT: time.Millisecond}
			c.Latency.Buckets[10] = 1000
			c.Latency.SumNanos = 1e9
			s.Conns = append(s.Conns, c)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewEngineCollector(&s))
	b.ReportAllocs()
	for b.Loop() {
		fams, err := reg.Gather()
		if err != nil {
			b.Fatal(err)
		}
		enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}
