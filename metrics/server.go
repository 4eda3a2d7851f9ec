package metrics

import (
	"github.com/hsdfat8/diam-gw/server"
	"github.com/prometheus/client_golang/prometheus"
)

// ServerStats is what a ServerCollector reads: *server.Server has it.
type ServerStats interface{ Stats() server.Stats }

// ServerCollector is a prometheus.Collector over a server's published statistics, summed over
// its loops (no labels: a responder's clients are not a bounded set).
type ServerCollector struct {
	src ServerStats
	m   []serverMetric
}

type serverMetric struct {
	d *prometheus.Desc
	t prometheus.ValueType
	v func(*server.Stats) uint64
}

// NewServerCollector returns a collector over src (a *server.Server). Safe for concurrent use,
// as is the collector.
func NewServerCollector(src ServerStats) *ServerCollector {
	m := func(name, help string, t prometheus.ValueType, v func(*server.Stats) uint64) serverMetric {
		return serverMetric{d: prometheus.NewDesc("diamgw_server_"+name, help, nil, nil), t: t, v: v}
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return &ServerCollector{src: src, m: []serverMetric{
		m("connections", "Transport connections open now.", gauge, func(s *server.Stats) uint64 { return uint64(s.Connections) }),
		m("peers", "Open connections past a successful CER/CEA.", gauge, func(s *server.Stats) uint64 { return uint64(s.Peers) }),
		m("accepted_connections_total", "Connections accepted.", counter, func(s *server.Stats) uint64 { return s.Accepted }),
		m("cers_total", "CERs received.", counter, func(s *server.Stats) uint64 { return s.CERs }),
		m("cer_rejects_total", "CERs answered with an error, then closed.", counter, func(s *server.Stats) uint64 { return s.CERRejects }),
		m("no_cer_closes_total", "Connections closed because no CER came first or in time.", counter, func(s *server.Stats) uint64 { return s.NoCER }),
		m("requests_total", "Requests other than CER, DWR and DPR.", counter, func(s *server.Stats) uint64 { return s.Requests }),
		m("answers_total", "Answers sent to them, delayed ones and 3001s included.", counter, func(s *server.Stats) uint64 { return s.Answers }),
		m("unsupported_answers_total", "E-bit 3001 answers (no Handler).", counter, func(s *server.Stats) uint64 { return s.Unsupported }),
		m("unanswered_requests_total", "Requests the Handler chose not to answer.", counter, func(s *server.Stats) uint64 { return s.NoAnswer }),
		m("delayed_answers_total", "Answers the Handler asked to delay.", counter, func(s *server.Stats) uint64 { return s.Delayed }),
		m("delayed_answers_dropped_total", "Delayed answers dropped (connection closed, or MaxDelayedPerConn reached).", counter, func(s *server.Stats) uint64 { return s.DelayedDropped }),
		m("dwr_received_total", "DWRs received, each answered.", counter, func(s *server.Stats) uint64 { return s.DWRReceived }),
		m("dwr_sent_total", "DWRs sent on idle connections.", counter, func(s *server.Stats) uint64 { return s.DWRSent }),
		m("dwa_received_total", "DWAs received.", counter, func(s *server.Stats) uint64 { return s.DWAReceived }),
		m("dpr_received_total", "DPRs received, each answered.", counter, func(s *server.Stats) uint64 { return s.DPRReceived }),
		m("dpr_sent_total", "DPRs sent on Close.", counter, func(s *server.Stats) uint64 { return s.DPRSent }),
		m("dpa_received_total", "DPAs received.", counter, func(s *server.Stats) uint64 { return s.DPAReceived }),
		m("unexpected_answers_total", "Answers to requests we did not send: dropped.", counter, func(s *server.Stats) uint64 { return s.UnexpectedAnswers }),
		m("framing_errors_total", "Streams reset because a header was invalid.", counter, func(s *server.Stats) uint64 { return s.FramingErrors }),
		m("handler_panics_total", "Handler panics recovered (the connection was closed).", counter, func(s *server.Stats) uint64 { return s.HandlerPanics }),
		m("handler_errors_total", "Handler output that was not whole Diameter messages: dropped.", counter, func(s *server.Stats) uint64 { return s.HandlerErrors }),
		m("watchdog_closes_total", "Connections closed by the watchdog (SUSPECT, then DOWN).", counter, func(s *server.Stats) uint64 { return s.WatchdogCloses }),
		m("slow_consumer_closes_total", "Connections closed because too many answers were unread.", counter, func(s *server.Stats) uint64 { return s.SlowConsumerCloses }),
		m("messages_received_total", "Whole messages received.", counter, func(s *server.Stats) uint64 { return s.MessagesIn }),
		m("received_bytes_total", "Bytes received.", counter, func(s *server.Stats) uint64 { return s.BytesIn }),
		m("sent_bytes_total", "Bytes written.", counter, func(s *server.Stats) uint64 { return s.BytesOut }),
		m("writes_total", "Socket writes (sent bytes over writes shows the batching).", counter, func(s *server.Stats) uint64 { return s.Writes }),
		m("timer_wakeups_total", "Times a loop was woken by a due timer.", counter, func(s *server.Stats) uint64 { return s.TimerWakeups }),
	}}
}

// Describe sends every metric's description. Safe for concurrent use.
func (c *ServerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.m {
		ch <- m.d
	}
}

// Collect reads the server's statistics once and sends its metrics. Safe for concurrent use; it
// never waits for a loop.
func (c *ServerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	for _, m := range c.m {
		ch <- prometheus.MustNewConstMetric(m.d, m.t, float64(m.v(&s)))
	}
}
