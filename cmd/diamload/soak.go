package main

import (
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/internal/trend"
)

// diamload soak: an open-loop run of --duration against two embedded EIRs (the selftest's rules
// and IMEI mix, so every answer is checked against the policy), one connection to each, with the
// fault timeline of faults.go and a sample every --sample. It fails (exit 99, the report says
// which check) when a request does not complete exactly once (requests = answers + errors,
// nothing left in flight, no second completion), an answer differs from the policy, a fault
// could not be applied, or the resident set, the live heap, the goroutines or the descriptors
// grow without bound over the run (internal/trend).

const (
	defaultSoakDuration = "10m"
	defaultSoakRate     = "500"
	defaultSoakSample   = "1s"
	defaultSoakWatchdog = "6s" // the least Tw (RFC 3539): the blackhole lasts 2·Tw
	defaultSpike        = 200 * time.Millisecond
	defaultTolerance    = 0.10
	soakResponders      = 2
)

// soakOpts are soak's own options.
type soakOpts struct {
	faults    faultSet
	spike     time.Duration
	tolerance float64
}

// faultSet is --faults: a comma-separated subset of faultNames, or none.
type faultSet map[string]bool

func (f faultSet) String() string {
	var on []string
	for _, n := range faultNames {
		if f[n] {
			on = append(on, n)
		}
	}
	if len(on) == 0 {
		return "none"
	}
	return strings.Join(on, ",")
}

func (f faultSet) Set(v string) error {
	clear(f)
	if v == "none" {
		return nil
	}
	for _, n := range strings.Split(v, ",") {
		if !slices.Contains(faultNames, n) {
			return fmt.Errorf("unknown fault %q: want a list of %s, or none", n, strings.Join(faultNames, ","))
		}
		f[n] = true
	}
	return nil
}

// parseSoakFlags parses and checks soak arguments: run's flags (but --dra), soak's own, and
// soak's defaults for the duration, the rate, the sampling and Tw.
func parseSoakFlags(args []string) (*runOpts, error) {
	fs, o, err := soakFlagSet()
	if err != nil {
		return nil, err
	}
	return o, parseRunArgs(fs, o, "soak", args)
}

// soakFlagSet registers soak's flags, with soak's defaults, on a new FlagSet.
func soakFlagSet() (*flag.FlagSet, *runOpts, error) {
	o := &runOpts{selftest: true, soak: &soakOpts{faults: faultSet{}}}
	fs := newFlagSet("soak")
	runFlags(fs, o, true)
	soakFlags(fs, o.soak)
	for _, d := range [][2]string{{"duration", defaultSoakDuration}, {"d", defaultSoakDuration},
		{"rate", defaultSoakRate}, {"sample", defaultSoakSample}, {"watchdog", defaultSoakWatchdog},
		{"faults", strings.Join(faultNames, ",")}} {
		f := fs.Lookup(d[0])
		if err := f.Value.Set(d[1]); err != nil {
			return nil, nil, fmt.Errorf("soak default --%s %s: %w", d[0], d[1], err)
		}
		f.DefValue = d[1]
	}
	return fs, o, nil
}

// soakFlags registers soak's own flags.
func soakFlags(fs *flag.FlagSet, so *soakOpts) {
	fs.Var(so.faults, "faults", "the timeline's faults: a comma-separated subset of "+strings.Join(faultNames, ",")+", or none")
	fs.DurationVar(&so.spike, "spike", defaultSpike, "the latency spike's added delay")
	fs.Float64Var(&so.tolerance, "tolerance", defaultTolerance, "a resource may grow by this share of its level over the run's second half")
}

// checkSoak checks what soak adds: enough samples for the trend check, a window that holds the
// blackhole before the RST, a spike and a tolerance that mean something.
func (o *runOpts) checkSoak(name string) error {
	so := o.soak
	n := int((o.duration+o.sample-1)/o.sample) + 1 // see startSampler
	switch {
	case n < trend.MinSamples:
		return &flagError{Cmd: name, Flag: "sample", Value: o.sample.String(), Want: fmt.Sprintf(
			"at most --duration/%d (%v): the trend check needs %d samples", trend.MinSamples-2,
			o.duration/time.Duration(trend.MinSamples-2), trend.MinSamples)}
	case so.faults[faultBlackhole] && 2*o.watchdog > o.duration/5:
		return &flagError{Cmd: name, Flag: "duration", Value: o.duration.String(), Want: fmt.Sprintf(
			"at least 10 × --watchdog (%v) with the blackhole: it lasts 2·Tw from 40 %% of the run, before the RST at 60 %%",
			10*o.watchdog)}
	case so.spike <= 0 || so.spike > time.Minute:
		return &flagError{Cmd: name, Flag: "spike", Value: so.spike.String(), Want: "1ns-1m"}
	case !(so.tolerance > 0) || math.IsInf(so.tolerance, 0):
		return &flagError{Cmd: name, Flag: "tolerance", Value: fmt.Sprint(so.tolerance), Want: "a positive share (0.1 = 10 %)"}
	}
	return nil
}

// soakReport is the soak's part of the report.
type soakReport struct {
	Faults    []faultEvent  `json:"faults"`
	Tolerance float64       `json:"tolerance"`
	Trends    []trendReport `json:"trends"`
}

// trendReport is the trend check of one sampled resource.
type trendReport struct {
	Resource  string  `json:"resource"`
	Growing   bool    `json:"growing"`
	Growth    float64 `json:"growth"`     // over the second half, at its Theil–Sen slope
	FloorRise float64 `json:"floor_rise"` // lowest of its last quarter - lowest of its first
	Tolerance float64 `json:"tolerance"`
	Level     float64 `json:"level"`
	Verdict   string  `json:"verdict"`
}

// soakResources are the resources whose trend a soak checks, each with the least growth that
// counts (Rule.Abs): a reconnect or a restart holds a few goroutines (a dial, a new server's
// loop and alarm) and descriptors (sockets closing) for a moment, and the runtime's resident
// set moves by whole spans. The heap is the live heap (what the last GC kept): heap_bytes is a
// sawtooth whose teeth, at a slow rate, can outlast a quarter of the run.
var soakResources = []struct {
	name string
	abs  float64
	of   func(s *sample) float64
}{
	{"rss_kib", 4 << 10, func(s *sample) float64 { return float64(s.RSSKiB) }},
	{"heap_live_bytes", 2 << 20, func(s *sample) float64 { return float64(s.HeapLiveBytes) }},
	{"goroutines", 10, func(s *sample) float64 { return float64(s.Goroutines) }},
	{"fds", 10, func(s *sample) float64 { return float64(s.FDs) }},
}

// addSoakChecks adds the soak's pass conditions to the report: the answers matched the policy,
// the faults were applied, and no resource grows without bound. The books (exactly once) are
// the invariant check of every run.
func addSoakChecks(rp *report, res *result) {
	o := res.opts
	sr := &soakReport{Faults: res.faults, Tolerance: o.soak.tolerance}
	rp.Soak = sr
	rp.addCheck("answers", rp.Answers > 0, fmt.Sprintf("%d answers", rp.Answers))
	rp.addCheck("expected-outcomes", rp.ExpectationMismatches == 0 && rp.ExpectationsChecked > 0,
		fmt.Sprintf("%d of %d answers differ from the policy (errors are the faults' doing: not compared)", rp.ExpectationMismatches, rp.ExpectationsChecked))
	failed, parts := 0, make([]string, 0, len(res.faults))
	for _, ev := range res.faults {
		parts = append(parts, ev.Fault+" "+ev.Status)
		if ev.Status == faultFailed {
			failed++
			parts[len(parts)-1] += " (" + ev.Detail + ")"
		}
	}
	rp.addCheck("faults", failed == 0, dash(strings.Join(parts, ", ")))
	ts := make([]float64, len(res.samples))
	for i := range res.samples {
		ts[i] = res.samples[i].AtS
	}
	vs := make([]float64, len(res.samples))
	for _, rs := range soakResources {
		for i := range res.samples {
			vs[i] = rs.of(&res.samples[i])
		}
		v, err := trend.Check(ts, vs, trend.Rule{Rel: o.soak.tolerance, Abs: rs.abs})
		if err != nil {
			rp.addCheck("trend "+rs.name, false, err.Error())
			continue
		}
		sr.Trends = append(sr.Trends, trendReport{Resource: rs.name, Growing: v.Growing, Growth: v.Growth,
			FloorRise: v.FloorRise, Tolerance: v.Tolerance, Level: v.Level, Verdict: v.String()})
		rp.addCheck("trend "+rs.name, !v.Growing, v.String())
	}
}
