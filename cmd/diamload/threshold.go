package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// --threshold, k6-style: "p99<5ms", "error_rate<0.001", "throughput>50000". Each is a pass
// condition on the finished report; one that fails is a failed check (exit 99) naming the
// threshold and the measured value.

// threshold is one parsed --threshold expression.
type threshold struct {
	expr   string  // as given, for the report
	metric string  // p50 p90 p99 p999 max mean error_rate throughput
	op     string  // < <= > >=
	limit  float64 // µs for latencies, a ratio for error_rate, ECR/s for throughput
}

// thresholdList is the repeatable --threshold flag.
type thresholdList []threshold

func (l *thresholdList) String() string {
	s := make([]string, len(*l))
	for i, t := range *l {
		s[i] = t.expr
	}
	return strings.Join(s, ",")
}

func (l *thresholdList) Set(v string) error {
	t, err := parseThreshold(v)
	if err != nil {
		return err
	}
	*l = append(*l, t)
	return nil
}

// latencyMetrics are the metrics whose limit is a duration.
var latencyMetrics = map[string]bool{"p50": true, "p90": true, "p99": true, "p999": true, "max": true, "mean": true}

// parseThreshold parses "metric op value". A latency's value is a Go duration (5ms, 250us,
// 250µs, 1.5s); error_rate's a ratio 0..1; throughput's ECR/s.
func parseThreshold(v string) (threshold, error) {
	s := strings.ReplaceAll(v, " ", "")
	i := strings.IndexAny(s, "<>")
	if i <= 0 {
		return threshold{}, fmt.Errorf("%w: %q: want metric<value, <=, > or >= (p99<5ms, error_rate<0.001, throughput>50000)", errBadThreshold, v)
	}
	t := threshold{expr: v, metric: s[:i], op: s[i : i+1]}
	rest := s[i+1:]
	if strings.HasPrefix(rest, "=") {
		t.op += "="
		rest = rest[1:]
	}
	if rest == "" {
		return threshold{}, fmt.Errorf("%w: %q: no value after %s", errBadThreshold, v, t.op)
	}
	switch {
	case latencyMetrics[t.metric]:
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return threshold{}, fmt.Errorf("%w: %q: %s wants a duration (5ms, 250us)", errBadThreshold, v, t.metric)
		}
		t.limit = float64(d) / float64(time.Microsecond)
	case t.metric == "error_rate" || t.metric == "throughput":
		f, err := strconv.ParseFloat(rest, 64)
		if err != nil || f < 0 || f != f {
			return threshold{}, fmt.Errorf("%w: %q: %s wants a non-negative number", errBadThreshold, v, t.metric)
		}
		if t.metric == "error_rate" && f > 1 {
			return threshold{}, fmt.Errorf("%w: %q: error_rate is a ratio 0..1", errBadThreshold, v)
		}
		t.limit = f
	default:
		return threshold{}, fmt.Errorf("%w: %q: unknown metric %q (want p50, p90, p99, p999, max, mean, error_rate or throughput)", errBadThreshold, v, t.metric)
	}
	return t, nil
}

// measure returns the threshold's metric in the report, and how to print it.
func (t threshold) measure(rp *report) (float64, string) {
	l := &rp.LatencyUS
	us := map[string]int64{"p50": l.P50, "p90": l.P90, "p99": l.P99, "p999": l.P999, "max": l.Max}
	switch t.metric {
	case "mean":
		return l.Mean, fmtUS(int64(l.Mean))
	case "error_rate":
		r := 0.0
		if rp.Requests > 0 {
			r = float64(rp.Errors.total()) / float64(rp.Requests)
		}
		return r, strconv.FormatFloat(r, 'g', 6, 64)
	case "throughput":
		return rp.ThroughputRPS, strconv.FormatFloat(rp.ThroughputRPS, 'f', 1, 64) + " ECR/s"
	}
	return float64(us[t.metric]), fmtUS(us[t.metric])
}

// holds reports whether measured satisfies the threshold.
func (t threshold) holds(measured float64) bool {
	switch t.op {
	case "<":
		return measured < t.limit
	case "<=":
		return measured <= t.limit
	case ">":
		return measured > t.limit
	}
	return measured >= t.limit
}

// addThresholdChecks adds one check per threshold, named "threshold <expr>", with the measured
// value in its detail.
func (rp *report) addThresholdChecks(ts []threshold) {
	for _, t := range ts {
		v, shown := t.measure(rp)
		rp.addCheck("threshold "+t.expr, t.holds(v), fmt.Sprintf("%s measured %s", t.metric, shown))
	}
}
