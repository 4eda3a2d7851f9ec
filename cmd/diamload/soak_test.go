package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/s13"
)

// A short soak through the fault proxies (a latency spike at 20 %, an RST of every connection at
// 60 %, a restart of the first responder at 80 %; the blackhole needs 2·Tw, more than this
// window has) passes: every request completes once, every answer is the policy's, and no
// resource grows. Both connections were cut and came back.
func TestSoakPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("a 16 s soak; go test without -short (CI) runs it")
	}
	code, out, errOut := cli(t, ctxT(t, 60*time.Second), "soak", "-d", "16s", "--rate", "300",
		"--faults", "latency,rst,restart", "--json", "-", "--quiet")
	rp, _ := decodeReport(t, out)
	require.Equal(t, exitOK, code, "stderr: %s\nchecks: %+v", errOut, rp.Checks)
	requireBalanced(t, rp)
	assert.Zero(t, rp.DuplicateCompletions)
	assert.Equal(t, "soak", rp.Command)
	assert.Equal(t, "open", rp.Mode)
	require.Len(t, rp.Samples, 17, "0..15 s and the end")
	require.Len(t, rp.Responders, 2)
	require.Len(t, rp.Connections, 2, "one to each responder's proxy")
	assert.NotEqual(t, rp.Connections[0].Peer, rp.Connections[1].Peer)
	for _, c := range rp.Connections {
		assert.Positive(t, c.Sent, c.Peer)
	}
	assert.GreaterOrEqual(t, rp.Connections[0].Reconnects, uint64(2), "the first responder's: cut by the RST and the restart")
	assert.GreaterOrEqual(t, rp.Connections[1].Reconnects, uint64(1), "the second's: cut by the RST")
	require.NotNil(t, rp.Soak)
	require.Len(t, rp.Soak.Faults, 3)
	for i, want := range []struct {
		fault string
		at    float64
	}{{faultLatency, 3.2}, {faultRST, 9.6}, {faultRestart, 12.8}} {
		ev := rp.Soak.Faults[i]
		assert.Equal(t, want.fault, ev.Fault)
		assert.InDelta(t, want.at, ev.AtS, 1e-9)
		assert.Equal(t, faultApplied, ev.Status, "%+v", ev)
	}
	require.Len(t, rp.Soak.Trends, len(soakResources))
	for _, tr := range rp.Soak.Trends {
		assert.False(t, tr.Growing, "%s: %s", tr.Resource, tr.Verdict)
	}
	assert.Positive(t, rp.ExpectationsChecked)
	assert.Zero(t, rp.ExpectationMismatches, rp.FirstMismatch)
	assert.Positive(t, rp.Responders[0].Stats.Answered(), "the restarted responder answered")
	assert.Positive(t, rp.Responders[1].Stats.Answered())
	for _, name := range []string{"invariant", "expected-outcomes", "faults", "trend rss_kib", "trend heap_live_bytes",
		"trend goroutines", "trend fds"} {
		assert.True(t, hasCheck(&rp, name, true), "check %s passed: %+v", name, rp.Checks)
	}
}

// An injected leak (each sample keeps 4 goroutines and 2 MiB more) fails the soak's trend
// checks for goroutines, the live heap and the resident set, and the report says so.
func TestSoakLeakFails(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s soak; go test without -short (CI) runs it")
	}
	o, err := parseSoakFlags([]string{"-d", "10s", "--rate", "200", "--faults", "none", "--quiet"})
	require.NoError(t, err)
	release := make(chan struct{})
	var wg sync.WaitGroup
	var kept [][]byte
	o.sampleHook = func() { // on the sampler's goroutine, but for the first and the last sample
		for range 4 {
			wg.Add(1)
			go func() { defer wg.Done(); <-release }()
		}
		b := make([]byte, 2<<20)
		for i := range b { // touched, so that it is resident
			b[i] = byte(i)
		}
		kept = append(kept, b)
		runtime.GC() // the live heap shows what is kept at once, as a long soak's GCs do in time
	}
	defer func() {
		close(release)
		await.Wait(t, &wg, 10*time.Second)
	}()
	res, rec, err := load(ctxT(t, 60*time.Second), o, &syncBuffer{})
	require.NoError(t, err)
	rp := buildReport("soak", res, rec)
	addSoakChecks(rp, res)
	assert.NotEmpty(t, kept)
	assert.False(t, rp.Passed)
	assert.True(t, rp.InvariantOK, "the books still balance")
	for _, name := range []string{"trend goroutines", "trend heap_live_bytes", "trend rss_kib"} {
		assert.True(t, hasCheck(rp, name, false), "check %s failed: %+v", name, rp.Checks)
	}
	assert.True(t, hasCheck(rp, "trend fds", true), "no descriptor leaked")
	var text strings.Builder
	rp.writeText(&text)
	assert.Regexp(t, `FAIL trend goroutines: GROWING: \+[0-9.]+ over the last`, text.String())
}

func hasCheck(rp *report, name string, ok bool) bool {
	for _, c := range rp.Checks {
		if c.Name == name {
			return c.OK == ok
		}
	}
	return false
}

func TestSoakFlags(t *testing.T) {
	o, err := parseSoakFlags(nil)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, o.duration)
	assert.Zero(t, o.requests, "the duration ends the run")
	assert.Equal(t, 500.0, o.rate.perSec)
	assert.Equal(t, time.Second, o.sample)
	assert.Equal(t, 6*time.Second, o.watchdog)
	assert.Equal(t, "latency,blackhole,rst,restart", o.soak.faults.String())
	assert.Equal(t, defaultSpike, o.soak.spike)
	assert.Equal(t, 0.1, o.soak.tolerance)
	assert.True(t, o.selftest, "the selftest's rules and IMEI mix")

	o, err = parseSoakFlags([]string{"-d", "10s", "--faults", "rst,restart", "--sample", "500ms", "--tolerance", "0.2"})
	require.NoError(t, err)
	assert.Equal(t, faultSet{faultRST: true, faultRestart: true}, o.soak.faults)
	o, err = parseSoakFlags([]string{"-d", "10s", "--faults", "none"})
	require.NoError(t, err)
	assert.Empty(t, o.soak.faults)
	assert.Empty(t, timeline(o))

	for _, tc := range []struct {
		args       []string
		flag, want string
	}{
		{[]string{"-d", "10s", "--faults", "none", "--sample", "2s"}, "sample", "at most --duration/6 (1.666666666s): the trend check needs 8 samples"},
		{[]string{"-d", "59s"}, "duration", "at least 10 × --watchdog (1m0s) with the blackhole: it lasts 2·Tw from 40 % of the run, before the RST at 60 %"},
		{[]string{"-d", "10s", "--faults", "none", "-n", "100"}, "requests", "none: a soak's timeline is over --duration"},
		{[]string{"-d", "10s", "--faults", "latency", "--spike", "0s"}, "spike", "1ns-1m"},
		{[]string{"-d", "10s", "--faults", "none", "--tolerance", "0"}, "tolerance", "a positive share (0.1 = 10 %)"},
		{[]string{"-d", "10s", "--faults", "none", "--sample", "0s"}, "sample", "a positive interval"},
	} {
		_, err := parseSoakFlags(tc.args)
		var fe *flagError
		require.True(t, errors.As(err, &fe), "%v: %v", tc.args, err)
		assert.Equal(t, tc.flag, fe.Flag, "%v", tc.args)
		assert.Equal(t, tc.want, fe.Want, "%v", tc.args)
		assert.Equal(t, exitUsage, exitCode(err))
	}
	for _, args := range [][]string{{"--faults", "fire"}, {"--dra", "127.0.0.1:3868"}} {
		code, out, errOut := cli(t, ctxT(t, 10*time.Second), append([]string{"soak"}, args...)...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, errOut)
		assert.Empty(t, out)
		requireOneLine(t, errOut)
	}
	code, out, _ := cli(t, context.Background(), "soak", "-h")
	assert.Equal(t, exitOK, code)
	for _, s := range []string{"usage: diamload soak", "-faults", "-spike", "-tolerance", "(default 10m)", "(default 1s)"} {
		assert.Contains(t, out, s)
	}
}

// scriptedFaults records when each fault was asked for; the lasting ones last until d or ctx.
type scriptedFaults struct {
	start time.Time
	calls []string
}

func (f *scriptedFaults) note(s string) {
	f.calls = append(f.calls, fmt.Sprintf("%s@%v", s, time.Since(f.start)))
}

func (f *scriptedFaults) last(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *scriptedFaults) LatencySpike(ctx context.Context, add, d time.Duration) error {
	f.note(fmt.Sprintf("latency+%v/%v", add, d))
	return f.last(ctx, d)
}

func (f *scriptedFaults) Blackhole(ctx context.Context, conn int, d time.Duration) error {
	f.note(fmt.Sprintf("blackhole%d/%v", conn, d))
	return f.last(ctx, d)
}

func (f *scriptedFaults) ResetAll(context.Context) error {
	f.note("rst")
	return fmt.Errorf("rst: %w", errFaultUnavailable)
}

func (f *scriptedFaults) RestartResponder(context.Context) error {
	f.note("restart")
	return errors.New("address in use")
}

func (f *scriptedFaults) Close() error { return nil }

// The timeline runs each fault at its share of the window, for its time, and records how it
// went: applied, skipped (not available), failed; a stop cuts the one under way and leaves the
// rest not reached. Virtual time.
func TestTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, err := parseSoakFlags([]string{"-d", "100s", "--spike", "300ms"})
		require.NoError(t, err)
		r := &runner{base: time.Now()}
		f := &scriptedFaults{start: r.base}
		tl := startTimeline(context.Background(), r, o, f)
		time.Sleep(90 * time.Second)
		evs := tl.stop()
		assert.Equal(t, []string{"latency+300ms/10s@20s", "blackhole0/12s@40s", "rst@1m0s", "restart@1m20s"}, f.calls)
		require.Len(t, evs, 4)
		for i, want := range []faultEvent{
			{AtS: 20, Fault: faultLatency, ForS: 10, Status: faultApplied, TookS: 10},
			{AtS: 40, Fault: faultBlackhole, ForS: 12, Status: faultApplied, TookS: 12},
			{AtS: 60, Fault: faultRST, Status: faultSkipped, Detail: "rst: fault not available in this setup"},
			{AtS: 80, Fault: faultRestart, Status: faultFailed, Detail: "address in use"},
		} {
			assert.Equal(t, want, evs[i], "event %d", i)
		}

		f = &scriptedFaults{start: time.Now()}
		r = &runner{base: f.start}
		tl = startTimeline(context.Background(), r, o, f)
		time.Sleep(45 * time.Second)
		evs = tl.stop()
		require.Len(t, evs, 4)
		assert.Equal(t, faultApplied, evs[0].Status)
		assert.Equal(t, faultCut, evs[1].Status, "stopped during the blackhole")
		assert.InDelta(t, 5, evs[1].TookS, 1e-9)
		assert.Equal(t, faultNotReached, evs[2].Status)
		assert.Equal(t, faultNotReached, evs[3].Status)
	})
}

// A fault that failed fails the soak; one that was skipped (this setup cannot inject it) does
// not, and both are in the check's detail.
func TestSoakChecksFaults(t *testing.T) {
	o, err := parseSoakFlags([]string{"-d", "10s", "--faults", "none"})
	require.NoError(t, err)
	res := &result{opts: o}
	for i := range 10 {
		res.samples = append(res.samples, sample{AtS: float64(i), RSSKiB: 10000, Goroutines: 20, FDs: 30})
	}
	for _, tc := range []struct {
		evs  []faultEvent
		ok   bool
		want string
	}{
		{[]faultEvent{{Fault: faultLatency, Status: faultSkipped}, {Fault: faultRST, Status: faultApplied}}, true, "latency skipped, rst applied"},
		{[]faultEvent{{Fault: faultRestart, Status: faultFailed, Detail: "address in use"}}, false, "restart failed (address in use)"},
	} {
		res.faults = tc.evs
		rp := buildReport("soak", res, newRecorder(time.Minute, true))
		addSoakChecks(rp, res)
		require.True(t, hasCheck(rp, "faults", tc.ok), "%+v", rp.Checks)
		for _, c := range rp.Checks {
			if c.Name == "faults" {
				assert.Equal(t, tc.want, c.Detail)
			}
		}
		assert.True(t, hasCheck(rp, "trend goroutines", true))
	}
}

// A request completed twice is counted, leaves the books as they were after its first
// completion, and fails the invariant.
func TestDuplicateCompletionCounted(t *testing.T) {
	r, slots, fc := testRunner(t, "-n", "2", "-c", "1")
	r.lanes.Store(1)
	r.launch(&slots[0])
	c := await.Ready(t, fc.q)
	a := s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}
	c.cb(a, nil) // the first completion sends the second request
	c.cb(a, nil) // a second completion of the first: the slot is the second request's now...
	c.cb(a, nil) // ...which this one completes, so only this is a duplicate
	assert.Equal(t, uint64(1), r.duplicates.Load())
	b := r.rec.books()
	assert.Equal(t, uint64(2), b.requests)
	assert.Equal(t, uint64(2), b.answers)
	assert.Zero(t, b.inFlight)
	rp := buildReport("run", &result{opts: r.o, duplicates: r.duplicates.Load()}, r.rec)
	assert.False(t, rp.InvariantOK)
	assert.True(t, hasCheck(rp, "invariant", false))
	assert.Equal(t, uint64(1), rp.DuplicateCompletions)
}

// In a soak only answers are compared with the policy: an error is a fault's doing.
func TestVerdictsOnly(t *testing.T) {
	for _, only := range []bool{false, true} {
		rec := newRecorder(time.Minute, false)
		rec.verdictsOnly = only
		c := &call{expect: &outcome{kind: outStatus, status: s13.Whitelisted}}
		rec.attempt(0)
		rec.completed(c, nil, engine.ErrConnectionLost, 1)
		rec.attempt(0)
		rec.completed(c, &s13.Answer{ResultCode: 2001, HasEquipmentStatus: true, EquipmentStatus: s13.Blacklisted}, nil, 2)
		cs, _, _, _ := rec.final()
		if only {
			assert.Equal(t, uint64(1), cs.checked, "the answer only")
			assert.Equal(t, uint64(1), cs.mismatches, "a wrong answer still is one")
		} else {
			assert.Equal(t, uint64(2), cs.checked)
			assert.Equal(t, uint64(2), cs.mismatches)
		}
	}
}
