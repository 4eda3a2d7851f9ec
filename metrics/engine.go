package metrics

import (
	"strconv"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/prometheus/client_golang/prometheus"
)

// EngineStats is what an EngineCollector reads: *engine.Engine has it.
type EngineStats interface{ Stats() engine.Snapshot }

// EngineCollector is a prometheus.Collector over an engine's published statistics, per
// connection (labels dra and conn, the 1-based index within the DRA) and for the engine. Sums
// per DRA are sum by (dra) of the per-connection series; only what is not a sum is per DRA.
type EngineCollector struct {
	src    EngineStats
	conn   []connMetric
	state  *prometheus.Desc
	usable *prometheus.Desc
	rtt    *prometheus.Desc
	answer *prometheus.Desc
	expRes *prometheus.Desc
	lat    *prometheus.Desc
	draN   *prometheus.Desc
	draU   *prometheus.Desc
	eng    []engineMetric
	refuse *prometheus.Desc
	bounds []float64 // the latency buckets' upper bounds, seconds
}

type connMetric struct {
	d *prometheus.Desc
	t prometheus.ValueType
	v func(*engine.ConnStats) float64
}

type engineMetric struct {
	d *prometheus.Desc
	t prometheus.ValueType
	v func(*engine.Snapshot) float64
}

var connLabels = []string{"dra", "conn"}

// answerClasses are the values of the result label of diamgw_answers_total, in the order of
// answerCounts.
var answerClasses = [...]string{"2xxx", "3xxx", "4xxx", "5xxx", "experimental", "other"}

func answerCounts(a *engine.AnswerCounts) [len(answerClasses)]uint64 {
	return [...]uint64{a.Success, a.ProtocolError, a.TransientError, a.PermanentError, a.Experimental, a.Other}
}

// NewEngineCollector returns a collector over src (an *engine.Engine). Register it once per
// engine (prometheus.WrapRegistererWith adds a label to tell several apart). Safe for
// concurrent use, as is the collector.
func NewEngineCollector(src EngineStats) *EngineCollector {
	counter := func(name, help string, v func(*engine.ConnStats) uint64) connMetric {
		return connMetric{
			d: prometheus.NewDesc("diamgw_"+name, help, connLabels, nil),
			t: prometheus.CounterValue,
			v: func(c *engine.ConnStats) float64 { return float64(v(c)) },
		}
	}
	c := &EngineCollector{
		src: src,
		conn: []connMetric{
			counter("requests_total", "ECRs handed to the socket, resends included.", func(c *engine.ConnStats) uint64 { return c.Requests }),
			counter("retransmits_total", "ECRs resent with the T flag after a failover.", func(c *engine.ConnStats) uint64 { return c.Retransmits }),
			counter("alternate_retries_total", "Requests answered 3002/3004 here and resent via another DRA.", func(c *engine.ConnStats) uint64 { return c.AlternateRetries }),
			counter("timeouts_total", "Requests that got no answer in time on this connection.", func(c *engine.ConnStats) uint64 { return c.Timeouts }),
			counter("unknown_answers_total", "ECAs matching no pending request (late, duplicate or foreign): dropped.", func(c *engine.ConnStats) uint64 { return c.UnknownAnswers }),
			counter("unknown_base_answers_total", "CEAs, DWAs and DPAs answering no request of ours: dropped.", func(c *engine.ConnStats) uint64 { return c.UnknownBaseAnswers }),
			counter("malformed_answers_total", "Answers matched to a request but not decodable.", func(c *engine.ConnStats) uint64 { return c.MalformedAnswers }),
			counter("failovers_total", "Requests moved off this connection when it failed.", func(c *engine.ConnStats) uint64 { return c.Failovers }),
			counter("reconnects_total", "Connections opened after the first.", func(c *engine.ConnStats) uint64 { return c.Reconnects }),
			counter("framing_resets_total", "Streams reset because the peer broke the framing rules.", func(c *engine.ConnStats) uint64 { return c.FramingResets }),
			counter("slow_peer_closes_total", "Connections reset because the peer did not read.", func(c *engine.ConnStats) uint64 { return c.SlowPeerCloses }),
			counter("cea_rejects_total", "Capabilities exchanges that failed.", func(c *engine.ConnStats) uint64 { return c.CEARejects }),
			counter("peer_reboots_total", "Origin-State-Id changes seen.", func(c *engine.ConnStats) uint64 { return c.PeerReboots }),
			counter("peer_reopens_total", "Connections the peer put in its REOPEN, held until it was over.", func(c *engine.ConnStats) uint64 { return c.PeerReopens }),
			counter("dwr_sent_total", "Device-Watchdog-Requests sent.", func(c *engine.ConnStats) uint64 { return c.DWRSent }),
			counter("dwr_received_total", "Device-Watchdog-Requests received (each answered).", func(c *engine.ConnStats) uint64 { return c.DWRReceived }),
			counter("dwa_received_total", "Device-Watchdog-Answers received.", func(c *engine.ConnStats) uint64 { return c.DWAReceived }),
			counter("messages_received_total", "Diameter messages received, base protocol included.", func(c *engine.ConnStats) uint64 { return c.MessagesIn }),
			counter("messages_sent_total", "Diameter messages handed to the socket, base protocol included.", func(c *engine.ConnStats) uint64 { return c.MessagesOut }),
			counter("received_bytes_total", "Bytes received.", func(c *engine.ConnStats) uint64 { return c.BytesIn }),
			counter("sent_bytes_total", "Bytes handed to the socket.", func(c *engine.ConnStats) uint64 { return c.BytesOut }),
			{
				d: prometheus.NewDesc("diamgw_in_flight_requests", "Requests sent on this connection waiting for an answer.", connLabels, nil),
				t: prometheus.GaugeValue,
				v: func(c *engine.ConnStats) float64 { return float64(c.InFlight) },
			},
		},
		state: prometheus.NewDesc("diamgw_connection_state", "1 for the connection's current fsm state, 0 for the others.",
			append(connLabels[:2:2], "state"), nil),
		usable: prometheus.NewDesc("diamgw_connection_usable", "1 when requests are routed to the connection (open, not held).", connLabels, nil),
		rtt:    prometheus.NewDesc("diamgw_rtt_seconds", "Moving average (weight 1/8) of the connection's ECR round trips.", connLabels, nil),
		answer: prometheus.NewDesc("diamgw_answers_total", "Answers by Result-Code class (2xxx..5xxx, other), or experimental for an Experimental-Result.",
			append(connLabels[:2:2], "result"), nil),
		expRes: prometheus.NewDesc("diamgw_experimental_results_total", "Answers with an Experimental-Result, by code: 5422 (3GPP DIAMETER_ERROR_EQUIPMENT_UNKNOWN), other (any other code or vendor).",
			append(connLabels[:2:2], "code"), nil),
		lat:  prometheus.NewDesc("diamgw_answer_latency_seconds", "ECR round trips, from the socket to the answer on the same connection.", connLabels, nil),
		draN: prometheus.NewDesc("diamgw_dra_connections", "Connections configured to the DRA.", []string{"dra"}, nil),
		draU: prometheus.NewDesc("diamgw_dra_usable_connections", "The DRA's connections requests are routed to now.", []string{"dra"}, nil),
		eng: []engineMetric{
			{prometheus.NewDesc("diamgw_inbox_depth", "Requests waiting in the inbox when the loop last took from it.", nil, nil),
				prometheus.GaugeValue, func(s *engine.Snapshot) float64 { return float64(s.InboxDepth) }},
			{prometheus.NewDesc("diamgw_outstanding_requests", "Requests accepted and not yet completed.", nil, nil),
				prometheus.GaugeValue, func(s *engine.Snapshot) float64 { return float64(s.Outstanding) }},
			{prometheus.NewDesc("diamgw_usable_connections", "Connections requests are routed to now.", nil, nil),
				prometheus.GaugeValue, func(s *engine.Snapshot) float64 { return float64(s.Usable) }},
			{prometheus.NewDesc("diamgw_callback_panics_total", "Panics recovered in callbacks.", nil, nil),
				prometheus.CounterValue, func(s *engine.Snapshot) float64 { return float64(s.CallbackPanics) }},
			{prometheus.NewDesc("diamgw_callback_exits_total", "Callbacks that called runtime.Goexit (each replaced the loop).", nil, nil),
				prometheus.CounterValue, func(s *engine.Snapshot) float64 { return float64(s.CallbackExits) }},
			{prometheus.NewDesc("diamgw_timer_wakeups_total", "Times the loop was woken by a due timer.", nil, nil),
				prometheus.CounterValue, func(s *engine.Snapshot) float64 { return float64(s.TimerWakeups) }},
		},
		refuse: prometheus.NewDesc("diamgw_refused_requests_total", "Requests refused before anything was sent, by reason: busy (ErrBusy), no_connection (ErrNoConnection).",
			[]string{"reason"}, nil),
	}
	for i := range engine.LatencyBuckets - 1 {
		c.bounds = append(c.bounds, engine.LatencyBound(i).Seconds())
	}
	return c
}

// Describe sends every metric's description. Safe for concurrent use.
func (c *EngineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.conn {
		ch <- m.d
	}
	for _, m := range c.eng {
		ch <- m.d
	}
	for _, d := range []*prometheus.Desc{c.state, c.usable, c.rtt, c.answer, c.expRes, c.lat, c.draN, c.draU, c.refuse} {
		ch <- d
	}
}

// Collect reads one snapshot of the engine's statistics and sends its metrics. Safe for
// concurrent use; it never waits for the engine's loop.
func (c *EngineCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	for i := range s.Conns {
		cs := &s.Conns[i]
		lv := []string{cs.DRA, strconv.Itoa(cs.Index)}
		for _, m := range c.conn {
			ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v(cs), lv...)
		}
		for _, st := range fsm.States() {
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, b2f(st.String() == cs.State), cs.DRA, lv[1], st.String())
		}
		ch <- prometheus.MustNewConstMetric(c.usable, prometheus.GaugeValue, b2f(cs.Usable), lv...)
		ch <- prometheus.MustNewConstMetric(c.rtt, prometheus.GaugeValue, cs.RTT.Seconds(), lv...)
		for j, n := range answerCounts(&cs.Answers) {
			ch <- prometheus.MustNewConstMetric(c.answer, prometheus.CounterValue, float64(n), cs.DRA, lv[1], answerClasses[j])
		}
		ch <- prometheus.MustNewConstMetric(c.expRes, prometheus.CounterValue, float64(cs.Answers.EquipmentUnknown), cs.DRA, lv[1], "5422")
		ch <- prometheus.MustNewConstMetric(c.expRes, prometheus.CounterValue, float64(cs.Answers.Experimental-cs.Answers.EquipmentUnknown), cs.DRA, lv[1], "other")
		ch <- c.histogram(&cs.Latency, lv)
	}
	for i := range s.DRAs {
		d := &s.DRAs[i]
		ch <- prometheus.MustNewConstMetric(c.draN, prometheus.GaugeValue, float64(d.Connections), d.Name)
		ch <- prometheus.MustNewConstMetric(c.draU, prometheus.GaugeValue, float64(d.Usable), d.Name)
	}
	for _, m := range c.eng {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, m.v(&s))
	}
	ch <- prometheus.MustNewConstMetric(c.refuse, prometheus.CounterValue, float64(s.Busy), "busy")
	ch <- prometheus.MustNewConstMetric(c.refuse, prometheus.CounterValue, float64(s.NoConnection), "no_connection")
}

// histogram turns the engine's per-bucket counts into Prometheus's cumulative ones; the last
// bucket of the engine is +Inf.
func (c *EngineCollector) histogram(l *engine.Latency, lv []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(c.bounds))
	var cum uint64
	for i, ub := range c.bounds {
		cum += l.Buckets[i]
		buckets[ub] = cum
	}
	return prometheus.MustNewConstHistogram(c.lat, l.Count(), float64(l.SumNanos)/1e9, buckets, lv...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
