package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runReport is the JSON report of a recorder fed lats (µs) and errs errors, written to dir/name.
func runReport(t *testing.T, dir, name string, lats []int64, errs int, timeline []second) string {
	t.Helper()
	rec := newRecorder(time.Minute, false)
	feed(rec, lats, errs)
	o := &runOpts{conns: 1, concurrency: 8, maxErrorRatio: -1, client: "engine"}
	res := &result{opts: o, client: "engine", peers: []string{name + ":3868"}, duration: 2 * time.Second,
		conns: []connReport{{Peer: name + ":3868", State: "Open", Sent: uint64(len(lats) + errs)}}, timeline: timeline}
	rp := buildReport("run", res, rec)
	path := filepath.Join(dir, name+".json")
	require.NoError(t, writeTo("json", path, rp.writeJSON))
	return path
}

// The merged percentiles are those of one histogram fed both runs' samples (not an average of
// their percentiles), and the counts add.
func TestMergePercentiles(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, scale float64) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = 1 + int64(rnd.ExpFloat64()*scale)
		}
		return out
	}
	a, b := gen(20000, 300), gen(5000, 8000) // a fast instance and a slow one: averaging would be far off
	dir := t.TempDir()
	pa := runReport(t, dir, "a", a, 3, nil)
	pb := runReport(t, dir, "b", b, 2, nil)

	all := newRecorder(time.Minute, false)
	feed(all, append(append([]int64{}, a...), b...), 0)
	_, want, _, _ := all.final()

	out := filepath.Join(dir, "m.json")
	code, text, stderr := cli(t, ctxT(t, time.Minute), "merge", pa, pb, "--json", out)
	require.Equal(t, exitOK, code, stderr)
	m, _ := decodeReport(t, readFile(t, out))
	assert.Equal(t, want, m.LatencyUS)
	assert.Equal(t, uint64(len(a)+len(b)+5), m.Requests)
	assert.Equal(t, uint64(len(a)+len(b)), m.Answers)
	assert.Equal(t, uint64(5), m.Errors.ConnectionLost)
	assert.Equal(t, uint64(len(a)+len(b)), m.EquipmentStatus.Whitelisted)
	assert.Equal(t, uint64(len(a)+len(b)), m.ResultCodes["2001"])
	assert.Len(t, m.Connections, 2)
	assert.Equal(t, []string{pa, pb}, m.MergedFrom)
	assert.InDelta(t, float64(len(a)+len(b))/2, m.ThroughputRPS, 0.1)
	assert.True(t, m.Passed)
	assert.Contains(t, text, "merged from 2 reports")

	// merging the merged report with nothing else changes nothing: the histogram went through.
	code, _, stderr = cli(t, ctxT(t, time.Minute), "merge", "--json", out+"2", out)
	require.Equal(t, exitOK, code, stderr)
	m2, _ := decodeReport(t, readFile(t, out+"2"))
	assert.Equal(t, want, m2.LatencyUS)
}

// The per-second rows of the same index add, their latencies through their histograms.
func TestMergeTimeline(t *testing.T) {
	rowOfLats := func(lats []int64, at float64) second {
		rec := newRecorder(time.Minute, false)
		h := rec.newHist()
		for _, v := range lats {
			require.NoError(t, h.RecordValue(v))
		}
		s := second{AtS: at, DurS: 1, Requests: uint64(len(lats)), Answers: uint64(len(lats))}
		s.setLatency(h, 1)
		return s
	}
	dir := t.TempDir()
	pa := runReport(t, dir, "a", []int64{1}, 0, []second{rowOfLats([]int64{100, 200}, 1), rowOfLats([]int64{300}, 2)})
	pb := runReport(t, dir, "b", []int64{1}, 0, []second{rowOfLats([]int64{1000, 2000, 3000}, 1)})
	out := filepath.Join(dir, "m.json")
	csvPath := filepath.Join(dir, "m.csv")
	code, _, stderr := cli(t, ctxT(t, time.Minute), "merge", pa, pb, "--json", out, "--csv", csvPath)
	require.Equal(t, exitOK, code, stderr)
	m, _ := decodeReport(t, readFile(t, out))
	require.Len(t, m.Timeline, 2)
	want := rowOfLats([]int64{100, 200, 1000, 2000, 3000}, 1)
	got := m.Timeline[0]
	assert.Equal(t, want.P50, got.P50)
	assert.Equal(t, want.P99, got.P99)
	assert.Equal(t, uint64(5), got.Answers)
	assert.Equal(t, 5.0, got.RPS)
	assert.Equal(t, uint64(1), m.Timeline[1].Answers)
	recs := readCSV(t, csvPath)
	assert.Len(t, recs, 3)
}

// Bad inputs are typed errors naming the file, never a panic.
func TestMergeBadInput(t *testing.T) {
	dir := t.TempDir()
	good := runReport(t, dir, "a", []int64{5}, 0, nil)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	for _, c := range []struct {
		name string
		path string
	}{
		{"missing", filepath.Join(dir, "none.json")},
		{"not json", write("x.json", "{")},
		{"not diamload", write("y.json", `{"tool":"k6"}`)},
		{"no histogram", write("z.json", `{"tool":"diamload","requests":1}`)},
		{"bad histogram", write("w.json", `{"tool":"diamload","latency_hdr":"HISTFAAAA"}`)},
	} {
		rps := []*report{}
		var err error
		for _, p := range []string{good, c.path} {
			var rp *report
			if rp, err = readReport(p); err != nil {
				break
			}
			rps = append(rps, rp)
		}
		if err == nil {
			_, err = mergeReports([]string{good, c.path}, rps)
		}
		require.Error(t, err, c.name)
		assert.True(t, errors.Is(err, errBadReport), "%s: %v", c.name, err)
		code, _, stderr := cli(t, ctxT(t, time.Minute), "merge", good, c.path)
		assert.Equal(t, exitFailure, code, c.name)
		requireOneLine(t, stderr)
	}
	code, _, stderr := cli(t, ctxT(t, time.Minute), "merge", "--json")
	assert.Equal(t, exitUsage, code, stderr)
	code, _, stderr = cli(t, ctxT(t, time.Minute), "merge")
	assert.Equal(t, exitUsage, code, stderr)
	code, _, _ = cli(t, ctxT(t, time.Minute), "merge", good, "--threshold", "p99<0s")
	assert.Equal(t, exitThreshold, code)
}

func TestMergeHelp(t *testing.T) {
	code, out, _ := cli(t, ctxT(t, time.Minute), "merge", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "usage: diamload merge")
	assert.Contains(t, out, "-threshold")
}
