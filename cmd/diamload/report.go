package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
)

// report is the result of a run, as JSON (--json) and as text. Field names are a contract:
// tools outside the project read them.
type report struct {
	Tool        string   `json:"tool"`
	Command     string   `json:"command"`
	Client      string   `json:"client"`
	Mode        string   `json:"mode"` // closed or open
	Concurrency int      `json:"concurrency"`
	OfferedRPS  float64  `json:"offered_rps,omitempty"`
	Peers       []string `json:"peers"`
	ConnsPer    int      `json:"conns_per_peer"`
	EmbeddedEIR bool     `json:"embedded_eir"`
	GOMAXPROCS  int      `json:"gomaxprocs"`
	CPUs        int      `json:"cpus"`
	Seed        uint64   `json:"seed"`
	IMEI        string   `json:"imei"`
	IMSI        string   `json:"imsi"`
	TimeoutS    float64  `json:"timeout_s"`
	WarmupS     float64  `json:"warmup_s"`
	Interrupted bool     `json:"interrupted"`

	Requests                uint64            `json:"requests"`
	Answers                 uint64            `json:"answers"`
	Errors                  errorCounts       `json:"errors"`
	ResultCodes             map[string]uint64 `json:"result_codes"`
	ExperimentalResultCodes map[string]uint64 `json:"experimental_result_codes"`
	EquipmentStatus         equipmentCounts   `json:"equipment_status"`
	InFlightAtEnd           int64             `json:"in_flight_at_end"`
	InvariantOK             bool              `json:"invariant_ok"`          // requests == answers + errors, none in flight, none completed twice
	DuplicateCompletions    uint64            `json:"duplicate_completions"` // a request's second completion: a broken exactly-once

	DurationS       float64 `json:"duration_s"`        // measured window: first send to last completion
	DurationAttackS float64 `json:"duration_attack_s"` // measured window: first to last send
	ThroughputRPS   float64 `json:"throughput_rps"`    // answers / duration_s

	LatencyUS        percentiles  `json:"latency_us"`
	LatencyHDR       string       `json:"latency_hdr,omitempty"` // latency_us's histogram: HDR V2 compressed, base64 (for merge)
	ServiceHDR       string       `json:"service_latency_hdr,omitempty"`
	SendLagHDR       string       `json:"send_lag_hdr,omitempty"`
	LatencyPolicy    string       `json:"latency_policy"`
	ServiceLatencyUS *percentiles `json:"service_latency_us,omitempty"`
	SendLagUS        *percentiles `json:"send_lag_us,omitempty"`
	Pacer            string       `json:"pacer,omitempty"`       // open loop: precise or coarse (--pacer)
	PacerWakes       int64        `json:"pacer_wakes,omitempty"` // open loop: the pacer's sleeps
	LateSends        uint64       `json:"late_sends"`
	LateDropped      uint64       `json:"late_dropped"`
	LatencyClamped   uint64       `json:"latency_clamped"`
	UnmatchedAnswers uint64       `json:"timeouts_late_answers"` // late, duplicate or unknown answers, dropped; the key keeps its first name for existing readers

	CPUUSPerRequest      float64 `json:"cpu_us_per_request"`
	AllocsPerRequest     float64 `json:"allocs_per_request"` // heap allocations of the whole process / answers
	CPUIncludesResponder bool    `json:"cpu_includes_responder"`
	RSSMaxKiB            int64   `json:"rss_max_kib"`

	SampleIntervalS float64  `json:"sample_interval_s,omitempty"` // --sample
	Samples         []sample `json:"samples,omitempty"`           // at t=0, each interval, and the window's end
	Timeline        []second `json:"timeline,omitempty"`          // one row per second of the measured window (--csv, --html, --json)

	ExpectationsChecked   uint64 `json:"expectations_checked"`
	ExpectationMismatches uint64 `json:"expectation_mismatches"`
	FirstMismatch         string `json:"first_mismatch,omitempty"`

	Connections []connReport       `json:"connections"`
	Responder   *responderReport   `json:"responder,omitempty"`  // the (first) embedded EIR
	Responders  []*responderReport `json:"responders,omitempty"` // each of them, when more than one (soak)
	Soak        *soakReport        `json:"soak,omitempty"`
	CloseError  string             `json:"close_error,omitempty"`
	MergedFrom  []string           `json:"merged_from,omitempty"` // merge: the input reports
	Checks      []check            `json:"checks"`
	Passed      bool               `json:"passed"`
}

type errorCounts struct {
	Timeout        uint64 `json:"timeout"`
	Busy           uint64 `json:"busy"`
	NoConnection   uint64 `json:"no_connection"`
	ConnectionLost uint64 `json:"connection_lost"`
	Closed         uint64 `json:"closed"`
	Other          uint64 `json:"other"`
}

// errorCountsOf names the recorder's error counters.
func errorCountsOf(errs *[numErrKinds]uint64) errorCounts {
	return errorCounts{
		Timeout:        errs[errTimeout],
		Busy:           errs[errBusy],
		NoConnection:   errs[errNoConnection],
		ConnectionLost: errs[errConnectionLost],
		Closed:         errs[errClosed],
		Other:          errs[errOther],
	}
}

// add adds o's counts to e (merge).
func (e *errorCounts) add(o *errorCounts) {
	e.Timeout += o.Timeout
	e.Busy += o.Busy
	e.NoConnection += o.NoConnection
	e.ConnectionLost += o.ConnectionLost
	e.Closed += o.Closed
	e.Other += o.Other
}

func (e errorCounts) total() uint64 {
	return e.Timeout + e.Busy + e.NoConnection + e.ConnectionLost + e.Closed + e.Other
}

type equipmentCounts struct {
	Whitelisted uint64 `json:"whitelisted"`
	Blacklisted uint64 `json:"blacklisted"`
	Greylisted  uint64 `json:"greylisted"`
	Other       uint64 `json:"other"`
}

// check is one pass/fail condition of the run (a threshold or a selftest check).
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// responderReport is the embedded EIR's side.
type responderReport struct {
	Addr     string        `json:"addr"`
	Rules    string        `json:"rules"`
	Stats    eir.Stats     `json:"stats"`
	Server   any           `json:"server,omitempty"`
	Delay    string        `json:"delay,omitempty"`
	Duration time.Duration `json:"-"`
}

const (
	latencyPolicyClosed = "closed loop: from submission to completion (service time). Answers of any Result-Code and timeouts are recorded, timeouts at the time they fired (about --timeout); other errors are not recorded."
	latencyPolicyOpen   = "open loop: from the intended send time t0+i/rate to completion, so generator or target stalls count (no coordinated omission); service_latency_us is from the actual submission, send_lag_us the difference. Answers of any Result-Code and timeouts are recorded, timeouts at the time they fired (about --timeout); other errors are not recorded."
)

// buildReport assembles the report from the run's result and recorder, one part at a time.
func buildReport(command string, res *result, rec *recorder) *report {
	c, lat, svc, lag := rec.final()
	rp := &report{Tool: "diamload", Command: command}
	rp.setRun(res)
	rp.setOutcomes(&c, res.duplicates)
	rp.setTiming(res, &c)
	rp.setLatency(&c, lat, svc, lag, res.unmatchedAnswers)
	rp.LatencyHDR, rp.ServiceHDR, rp.SendLagHDR = rec.encoded()
	rp.Timeline = res.timeline
	rp.setCost(res, &c)
	rp.setSamples(res)
	rp.setExpectations(&c)
	rp.setPeers(res)
	rp.addRunChecks(res.opts, &c)
	return rp
}

// setRun fills what the run was: client, mode, target, payload, options.
func (rp *report) setRun(res *result) {
	o := res.opts
	rp.Client = res.client
	rp.Mode = "closed"
	rp.Concurrency = o.concurrency
	rp.Peers = res.peers
	rp.ConnsPer = o.conns
	rp.EmbeddedEIR = res.embedded != nil
	rp.GOMAXPROCS = res.procs
	rp.CPUs = runtime.NumCPU()
	rp.Seed = res.seed
	rp.IMEI = o.imei
	rp.IMSI = o.imsi
	rp.TimeoutS = o.timeout.Seconds()
	rp.WarmupS = res.warmup.Seconds()
	rp.Interrupted = res.interrupted
	rp.LatencyPolicy = latencyPolicyClosed
	if o.rate.perSec > 0 {
		rp.Mode = "open"
		rp.OfferedRPS = o.rate.perSec
		rp.LatencyPolicy = latencyPolicyOpen
		rp.Pacer, rp.PacerWakes = res.pacer, res.pacerWakes
	}
}

// setOutcomes fills the books: requests, answers by result, errors by kind, and whether they
// balance.
func (rp *report) setOutcomes(c *counts, duplicates uint64) {
	rp.Requests = c.requests
	rp.Answers = c.answers
	rp.Errors = errorCountsOf(&c.errs)
	rp.ResultCodes = codeMap(c.resultCodes.snapshot())
	rp.ExperimentalResultCodes = codeMap(c.expCodes.snapshot())
	rp.EquipmentStatus = equipmentCounts{
		Whitelisted: c.equip[s13.Whitelisted],
		Blacklisted: c.equip[s13.Blacklisted],
		Greylisted:  c.equip[s13.Greylisted],
		Other:       c.equipOther,
	}
	rp.InFlightAtEnd = c.inFlight
	rp.DuplicateCompletions = duplicates
	rp.InvariantOK = c.requests == c.answers+rp.Errors.total() && c.inFlight == 0 && duplicates == 0
}

// setTiming fills the measured window and the throughput over it.
func (rp *report) setTiming(res *result, c *counts) {
	rp.DurationS = seconds(res.duration)
	rp.DurationAttackS = seconds(res.attack)
	if res.duration > 0 {
		rp.ThroughputRPS = round1(float64(c.answers) / res.duration.Seconds())
	}
}

// setLatency fills the percentiles and the counters of what they could not show.
func (rp *report) setLatency(c *counts, lat percentiles, svc, lag *percentiles, unmatchedAnswers uint64) {
	rp.LatencyUS = lat
	rp.ServiceLatencyUS = svc
	rp.SendLagUS = lag
	rp.LateSends = c.lateSends
	rp.LateDropped = c.lateDropped
	rp.LatencyClamped = c.clamped
	rp.UnmatchedAnswers = unmatchedAnswers
}

// setCost fills CPU and allocations per answer, and the peak RSS.
func (rp *report) setCost(res *result, c *counts) {
	if c.answers > 0 {
		rp.CPUUSPerRequest = round3(float64(res.cpu.Microseconds()) / float64(c.answers))
		rp.AllocsPerRequest = round3(float64(res.mallocs) / float64(c.answers))
	}
	rp.CPUIncludesResponder = res.embedded != nil
	rp.RSSMaxKiB = res.rssKiB
}

// setSamples fills the --sample series.
func (rp *report) setSamples(res *result) {
	rp.SampleIntervalS = res.opts.sample.Seconds()
	rp.Samples = res.samples
}

// setExpectations fills the comparison of the answers with the EIR policy.
func (rp *report) setExpectations(c *counts) {
	rp.ExpectationsChecked = c.checked
	rp.ExpectationMismatches = c.mismatches
	rp.FirstMismatch = c.firstMismatch
}

// setPeers fills the other side: connections, the embedded EIR, and how the client closed.
func (rp *report) setPeers(res *result) {
	rp.Connections = res.conns
	if rp.Connections == nil {
		rp.Connections = []connReport{}
	}
	if res.closeErr != nil {
		rp.CloseError = res.closeErr.Error()
	}
	for _, e := range res.embedded {
		rp.Responders = append(rp.Responders, e.report())
	}
	if len(rp.Responders) > 0 {
		rp.Responder = rp.Responders[0]
	}
	if len(rp.Responders) < 2 {
		rp.Responders = nil
	}
}

// addRunChecks adds the pass conditions of every run: the books balance, and the error ratio
// is within --max-error-ratio when one is given.
func (rp *report) addRunChecks(o *runOpts, c *counts) {
	rp.addCheck("invariant", rp.InvariantOK, fmt.Sprintf("requests %d = answers %d + errors %d, %d in flight at the end, %d completed twice",
		c.requests, c.answers, rp.Errors.total(), c.inFlight, rp.DuplicateCompletions))
	if o.maxErrorRatio >= 0 {
		ratio := 0.0
		if c.requests > 0 {
			ratio = float64(rp.Errors.total()) / float64(c.requests)
		}
		rp.addCheck("max-error-ratio", ratio <= o.maxErrorRatio,
			fmt.Sprintf("errors/requests %.6f, limit %g", ratio, o.maxErrorRatio))
	}
}

func (rp *report) addCheck(name string, ok bool, detail string) {
	rp.Checks = append(rp.Checks, check{Name: name, OK: ok, Detail: detail})
	rp.Passed = true
	for _, c := range rp.Checks {
		rp.Passed = rp.Passed && c.OK
	}
}

func codeMap(m map[uint32]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[strconv.FormatUint(uint64(k), 10)] = v
	}
	return out
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// seconds is d in seconds, rounded up to the microsecond: a short run (a few hundred requests
// take well under a millisecond) must not read as 0 s, nor disagree with throughput_rps.
func seconds(d time.Duration) float64 {
	return float64((d+time.Microsecond-1)/time.Microsecond) / 1e6
}

// writeJSON writes the report, indented, to w.
func (rp *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rp)
}

// writeText writes the human-readable report: the run, its outcomes, latency, cost, the
// peers' side and the checks, with a blank line between the parts.
func (rp *report) writeText(w io.Writer) {
	rp.writeRun(w)
	fmt.Fprintln(w)
	rp.writeOutcomes(w)
	fmt.Fprintln(w)
	rp.writeLatency(w)
	fmt.Fprintln(w)
	rp.writeCost(w)
	fmt.Fprintln(w)
	rp.writePeers(w)
	fmt.Fprintln(w)
	rp.writeChecks(w)
}

// writeRun writes what was run against what, with which payload.
func (rp *report) writeRun(w io.Writer) {
	target := fmt.Sprintf("%s × %d connection(s)", strings.Join(rp.Peers, ", "), rp.ConnsPer)
	if rp.EmbeddedEIR {
		target += " (embedded EIR)"
	}
	mode := fmt.Sprintf("closed loop, %d in flight", rp.Concurrency)
	if rp.Mode == "open" {
		mode = fmt.Sprintf("open loop at %g ECR/s, at most %d in flight", rp.OfferedRPS, rp.Concurrency)
	}
	fmt.Fprintf(w, "diamload %s: %s client, %s → %s; GOMAXPROCS %d of %d CPUs\n", rp.Command, rp.Client, mode, target, rp.GOMAXPROCS, rp.CPUs)
	if len(rp.MergedFrom) > 0 {
		fmt.Fprintf(w, "merged from %d reports: %s\n", len(rp.MergedFrom), strings.Join(rp.MergedFrom, ", "))
		return
	}
	fmt.Fprintf(w, "payload: IMEI %s, IMSI %s, seed %d", rp.IMEI, rp.IMSI, rp.Seed)
	if rp.WarmupS > 0 {
		fmt.Fprintf(w, ", warm-up %.3gs excluded", rp.WarmupS)
	}
	fmt.Fprintln(w)
	if rp.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: the run was stopped before its end; in-flight requests were drained")
	}
}

// writeOutcomes writes the books, the throughput and the answers by result.
func (rp *report) writeOutcomes(w io.Writer) {
	e := rp.Errors
	fmt.Fprintf(w, "requests   %d   answers %d   errors %d (timeout %d, busy %d, no connection %d, connection lost %d, closed %d, other %d)\n",
		rp.Requests, rp.Answers, e.total(), e.Timeout, e.Busy, e.NoConnection, e.ConnectionLost, e.Closed, e.Other)
	fmt.Fprintf(w, "duration   %gs (sending %gs)   throughput %.0f ECR/s\n", rp.DurationS, rp.DurationAttackS, rp.ThroughputRPS)
	if rp.Mode == "open" {
		fmt.Fprintf(w, "pacing     late sends (>1ms) %d   dropped (in-flight cap) %d\n", rp.LateSends, rp.LateDropped)
	}
	if len(rp.ResultCodes)+len(rp.ExperimentalResultCodes) > 0 {
		fmt.Fprint(w, "results   ")
		for _, k := range sortedKeys(rp.ResultCodes) {
			n, _ := strconv.ParseUint(k, 10, 32)
			fmt.Fprintf(w, " %s %s: %d", k, framing.ResultCode(n).String(), rp.ResultCodes[k])
		}
		for _, k := range sortedKeys(rp.ExperimentalResultCodes) {
			n, _ := strconv.ParseUint(k, 10, 32)
			fmt.Fprintf(w, " exp %s %s: %d", k, s13.ExperimentalResultCode(n).String(), rp.ExperimentalResultCodes[k])
		}
		fmt.Fprintln(w)
	}
	q := rp.EquipmentStatus
	fmt.Fprintf(w, "equipment  WHITELISTED %d   BLACKLISTED %d   GREYLISTED %d", q.Whitelisted, q.Blacklisted, q.Greylisted)
	if q.Other > 0 {
		fmt.Fprintf(w, "   other %d", q.Other)
	}
	fmt.Fprintln(w)
	if rp.ExpectationsChecked > 0 {
		fmt.Fprintf(w, "expected   %d checked against the EIR policy, %d mismatches", rp.ExpectationsChecked, rp.ExpectationMismatches)
		if rp.FirstMismatch != "" {
			fmt.Fprintf(w, " (first: %s)", rp.FirstMismatch)
		}
		fmt.Fprintln(w)
	}
}

// writeLatency writes the percentile table and what it counts.
func (rp *report) writeLatency(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency\tp50\tp90\tp99\tp99.9\tmax\tcount\t")
	row := func(name string, p *percentiles) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, fmtUS(p.P50), fmtUS(p.P90), fmtUS(p.P99), fmtUS(p.P999), fmtUS(p.Max), p.Count)
	}
	if rp.Mode == "open" {
		row("response (from intended)", &rp.LatencyUS)
		row("service (from send)", rp.ServiceLatencyUS)
		row("send lag", rp.SendLagUS)
	} else {
		row("service", &rp.LatencyUS)
	}
	tw.Flush()
	fmt.Fprintf(w, "(%s", rp.LatencyPolicy)
	if rp.LatencyClamped > 0 {
		fmt.Fprintf(w, " %d values above the histogram range were recorded at its top.", rp.LatencyClamped)
	}
	fmt.Fprintln(w, ")")
	if rp.UnmatchedAnswers > 0 {
		fmt.Fprintf(w, "unmatched answers (late, duplicate or unknown; dropped): %d\n", rp.UnmatchedAnswers)
	}
}

// writeCost writes CPU and allocations per answer, and the peak RSS.
func (rp *report) writeCost(w io.Writer) {
	cpu := fmt.Sprintf("cpu        %.2f µs and %.3f allocations per answer (user+sys and heap allocations of this process over the measured window", rp.CPUUSPerRequest, rp.AllocsPerRequest)
	if rp.CPUIncludesResponder {
		cpu += ", embedded EIR included"
	}
	fmt.Fprintf(w, "%s)   peak RSS %.1f MiB\n", cpu, float64(rp.RSSMaxKiB)/1024)
	if n := len(rp.Samples); n > 0 {
		a, b := rp.Samples[0], rp.Samples[n-1]
		fmt.Fprintf(w, "samples    %d every %gs, first → last: rss %s → %s   heap %s → %s   goroutines %d → %d   fds %d → %d\n",
			n, rp.SampleIntervalS, fmtKiB(a.RSSKiB), fmtKiB(b.RSSKiB), fmtKiB(int64(a.HeapBytes/1024)),
			fmtKiB(int64(b.HeapBytes/1024)), a.Goroutines, b.Goroutines, a.FDs, b.FDs)
	}
}

// writePeers writes the connection table, the client's close, and the embedded EIR's counts.
func (rp *report) writePeers(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEER\tORIGIN-HOST\tPEER-ORIGIN-HOST\tSTATE\tTLS\tSENT\tRECEIVED\tTIMEOUTS\tFAILOVERS\tRECONNECTS\tLAST ERROR")
	for _, c := range rp.Connections {
		le := c.LastError
		if le == "" {
			le = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.Peer, c.OriginHost, dash(c.PeerOriginHost), c.State,
			dash(c.TLS), c.Sent, c.Received, c.Timeouts, c.Failovers, c.Reconnects, le)
	}
	tw.Flush()
	if rp.CloseError != "" {
		fmt.Fprintf(w, "close: %s\n", rp.CloseError)
	}
	rs := rp.Responders
	if rs == nil && rp.Responder != nil {
		rs = []*responderReport{rp.Responder}
	}
	for _, r := range rs {
		s := r.Stats
		fmt.Fprintf(w, "\nembedded EIR %s (rules: %s): answered %d (whitelisted %d, blacklisted %d, greylisted %d, unknown %d, result %d, experimental %d, request errors %d), dropped %d\n",
			r.Addr, r.Rules, s.Answered(), s.Whitelisted, s.Blacklisted, s.Greylisted, s.Unknown, s.Result, s.Experimental, s.RequestErrors, s.Dropped)
	}
}

// writeChecks writes one line per check: ok or FAIL, name, detail.
func (rp *report) writeChecks(w io.Writer) {
	for _, c := range rp.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, c.Name, c.Detail)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i])
		b, _ := strconv.Atoi(out[j])
		return a < b
	})
	return out
}
