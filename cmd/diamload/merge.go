package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// diamload merge: the JSON reports of several instances (one per load machine, run at the same
// time for the same --duration) as one report. Counts add; latencies are the sum of the
// instances' HDR histograms (latency_hdr), so the merged percentiles are those of every sample,
// not an average of percentiles. Throughput is the merged answers over the longest window.

// mergeOpts are the options of merge.
type mergeOpts struct {
	inputs     []string
	jsonOut    string
	htmlOut    string
	csvOut     string
	thresholds thresholdList
}

// parseMergeFlags parses flags and report files in any order (flag stops at the first file).
func parseMergeFlags(args []string) (*mergeOpts, error) {
	o := &mergeOpts{}
	fs := newFlagSet("merge")
	mergeFlags(fs, o)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, usagef("diamload merge: %v (see diamload merge -h)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		o.inputs = append(o.inputs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(o.inputs) < 1 {
		return nil, usagef("diamload merge: no report files (usage: diamload merge a.json b.json … [--json F] [--html F])")
	}
	return o, nil
}

// mergeCommand reads, merges, checks and writes.
func mergeCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseMergeFlags(args)
	if err != nil {
		return err
	}
	rps := make([]*report, len(o.inputs))
	for i, path := range o.inputs {
		if rps[i], err = readReport(path); err != nil {
			return err
		}
	}
	m, err := mergeReports(o.inputs, rps)
	if err != nil {
		return err
	}
	m.addThresholdChecks(o.thresholds)
	return writeRunReport(m, o.jsonOut, o.csvOut, o.htmlOut, false, stdout, stderr)
}

// readReport reads one --json report; it must carry its histogram.
func readReport(path string) (*report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadReport, err)
	}
	var rp report
	if err := json.Unmarshal(b, &rp); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errBadReport, path, err)
	}
	if rp.Tool != "diamload" {
		return nil, fmt.Errorf("%w: %s: not a diamload report", errBadReport, path)
	}
	if rp.LatencyHDR == "" {
		return nil, fmt.Errorf("%w: %s: no latency_hdr (a report of an older diamload, or of a run without --json)", errBadReport, path)
	}
	return &rp, nil
}

// histSum adds encoded histograms into one that holds all their ranges.
type histSum struct{ h *hdrhistogram.Histogram }

func (s *histSum) add(enc, what string) error {
	if enc == "" {
		return nil
	}
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", errBadReport, what, err)
	}
	if s.h == nil {
		s.h = hdrhistogram.New(histLowestUS, h.HighestTrackableValue(), histSigFigs)
	}
	if h.HighestTrackableValue() > s.h.HighestTrackableValue() {
		wider := hdrhistogram.New(histLowestUS, h.HighestTrackableValue(), histSigFigs)
		wider.Merge(s.h)
		s.h = wider
	}
	if dropped := s.h.Merge(h); dropped > 0 {
		return fmt.Errorf("%w: %s: %d values outside the histogram's range", errBadReport, what, dropped)
	}
	return nil
}

func (s *histSum) summary() (percentiles, string) {
	if s.h == nil {
		return percentiles{}, ""
	}
	return summarize(s.h), encodeHist(s.h)
}

// mergeReports adds the reports into one.
func mergeReports(names []string, rps []*report) (*report, error) {
	m := &report{Tool: "diamload", Command: "merge", Mode: rps[0].Mode, Client: rps[0].Client, InvariantOK: true,
		ResultCodes: map[string]uint64{}, ExperimentalResultCodes: map[string]uint64{}, Connections: []connReport{},
		LatencyPolicy: rps[0].LatencyPolicy, MergedFrom: names}
	var lat, svc, lag histSum
	var cpu, allocs float64
	for i, r := range rps {
		m.addRun(r)
		cpu += r.CPUUSPerRequest * float64(r.Answers)
		allocs += r.AllocsPerRequest * float64(r.Answers)
		for _, e := range []struct {
			s    *histSum
			enc  string
			what string
		}{{&lat, r.LatencyHDR, "latency_hdr"}, {&svc, r.ServiceHDR, "service_latency_hdr"}, {&lag, r.SendLagHDR, "send_lag_hdr"}} {
			if err := e.s.add(e.enc, names[i]+": "+e.what); err != nil {
				return nil, err
			}
		}
		m.addCheck("input "+names[i], r.Passed, fmt.Sprintf("%s: %d requests, %d answers, passed %v", r.Command, r.Requests, r.Answers, r.Passed))
	}
	m.LatencyUS, m.LatencyHDR = lat.summary()
	if svc.h != nil {
		p, enc := svc.summary()
		m.ServiceLatencyUS, m.ServiceHDR = &p, enc
	}
	if lag.h != nil {
		p, enc := lag.summary()
		m.SendLagUS, m.SendLagHDR = &p, enc
	}
	if m.Answers > 0 {
		m.CPUUSPerRequest, m.AllocsPerRequest = round3(cpu/float64(m.Answers)), round3(allocs/float64(m.Answers))
		m.ThroughputRPS = round1(float64(m.Answers) / m.DurationS)
	}
	tl, err := mergeTimelines(rps)
	if err != nil {
		return nil, err
	}
	m.Timeline = tl
	m.addCheck("invariant", m.InvariantOK, fmt.Sprintf("every input balances: requests %d = answers %d + errors %d", m.Requests, m.Answers, m.Errors.total()))
	return m, nil
}

// addRun adds one report's counts to m.
func (m *report) addRun(r *report) {
	if r.Mode != m.Mode {
		m.Mode = "mixed"
	}
	if r.Client != m.Client {
		m.Client = "mixed"
	}
	m.Concurrency += r.Concurrency
	m.OfferedRPS += r.OfferedRPS
	for _, p := range r.Peers {
		if !slices.Contains(m.Peers, p) {
			m.Peers = append(m.Peers, p)
		}
	}
	m.ConnsPer = max(m.ConnsPer, r.ConnsPer)
	m.GOMAXPROCS += r.GOMAXPROCS
	m.CPUs += r.CPUs
	m.Interrupted = m.Interrupted || r.Interrupted
	m.Requests += r.Requests
	m.Answers += r.Answers
	m.Errors.add(&r.Errors)
	for k, n := range r.ResultCodes {
		m.ResultCodes[k] += n
	}
	for k, n := range r.ExperimentalResultCodes {
		m.ExperimentalResultCodes[k] += n
	}
	q := &m.EquipmentStatus
	q.Whitelisted += r.EquipmentStatus.Whitelisted
	q.Blacklisted += r.EquipmentStatus.Blacklisted
	q.Greylisted += r.EquipmentStatus.Greylisted
	q.Other += r.EquipmentStatus.Other
	m.InFlightAtEnd += r.InFlightAtEnd
	m.DuplicateCompletions += r.DuplicateCompletions
	m.InvariantOK = m.InvariantOK && r.InvariantOK
	m.DurationS = max(m.DurationS, r.DurationS)
	m.DurationAttackS = max(m.DurationAttackS, r.DurationAttackS)
	m.LateSends += r.LateSends
	m.LateDropped += r.LateDropped
	m.LatencyClamped += r.LatencyClamped
	m.UnmatchedAnswers += r.UnmatchedAnswers
	m.RSSMaxKiB = max(m.RSSMaxKiB, r.RSSMaxKiB)
	m.ExpectationsChecked += r.ExpectationsChecked
	m.ExpectationMismatches += r.ExpectationMismatches
	if m.FirstMismatch == "" {
		m.FirstMismatch = r.FirstMismatch
	}
	m.Connections = append(m.Connections, r.Connections...)
}

// mergeTimelines adds the per-second rows of the same index: the instances' windows start
// together when they are started together with the same --duration.
func mergeTimelines(rps []*report) ([]second, error) {
	var n int
	for _, r := range rps {
		n = max(n, len(r.Timeline))
	}
	out := make([]second, n)
	for i := range out {
		var h histSum
		row := &out[i]
		for _, r := range rps {
			if i >= len(r.Timeline) {
				continue
			}
			s := &r.Timeline[i]
			row.AtS, row.DurS = max(row.AtS, s.AtS), max(row.DurS, s.DurS)
			row.Requests += s.Requests
			row.Answers += s.Answers
			row.Errors.add(&s.Errors)
			if err := h.add(s.HDR, fmt.Sprintf("timeline[%d]", i)); err != nil {
				return nil, err
			}
		}
		if h.h == nil {
			h.h = hdrhistogram.New(histLowestUS, 1000, histSigFigs) // an empty second
		}
		row.setLatency(h.h, row.DurS)
	}
	return out, nil
}

// mergeUsage is merge's -h.
func mergeUsage(w io.Writer) {
	fmt.Fprint(w, "usage: diamload merge a.json b.json … [--json F] [--html F] [--csv F] [--threshold C]\n\n"+
		"Add the JSON reports of several diamload instances (run at the same time, same --duration)\n"+
		"into one: counts add, latency histograms add (HDR), throughput is the answers over the\n"+
		"longest window.\n\n")
	fs := newFlagSet("merge")
	mergeFlags(fs, &mergeOpts{})
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// mergeFlags registers merge's flags on fs.
func mergeFlags(fs *flag.FlagSet, o *mergeOpts) {
	fs.StringVar(&o.jsonOut, "json", "", "write the merged report as JSON to `file` (- = stdout)")
	fs.StringVar(&o.htmlOut, "html", "", "write the merged HTML report to `file`")
	fs.StringVar(&o.csvOut, "csv", "", "write the merged per-second rows to `file`")
	fs.Var(&o.thresholds, "threshold", "pass `condition` on the merged report, as for run; repeatable")
}
