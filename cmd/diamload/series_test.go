package main

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// feed completes n requests of epoch 0 with latencies lat(i) µs, and errs timeouts-free errors.
func feed(rec *recorder, lats []int64, errs int) {
	ok := &s13.Answer{ResultCode: framing.Success, HasEquipmentStatus: true, EquipmentStatus: s13.Whitelisted}
	for _, us := range lats {
		rec.attempt(0)
		rec.completed(&call{}, ok, nil, us*int64(time.Microsecond))
	}
	for range errs {
		rec.attempt(0)
		rec.completed(&call{}, nil, engine.ErrConnectionLost, 0)
	}
}

// Each row holds only its own second: the books' change and the latencies recorded in it.
func TestSeriesRows(t *testing.T) {
	rec := newRecorder(time.Minute, false)
	rec.enableSeries()
	r := &runner{base: time.Now(), rec: rec}
	s := newSeries(r)

	first := []int64{100, 200, 300, 400}
	feed(rec, first, 1)
	s.take()
	second := []int64{5000, 6000}
	feed(rec, second, 3)
	s.take()
	third := []int64{50}
	feed(rec, third, 0)
	s.take()
	rows := s.rows
	require.Len(t, rows, 3)
	want := func(lats []int64) *hdrhistogram.Histogram {
		h := rec.newHist()
		for _, v := range lats {
			require.NoError(t, h.RecordValue(v))
		}
		return h
	}
	for i, c := range []struct {
		lats []int64
		errs uint64
	}{{first, 1}, {second, 3}, {third, 0}} {
		row, h := rows[i], want(c.lats)
		assert.Equal(t, uint64(len(c.lats))+c.errs, row.Requests, "row %d", i)
		assert.Equal(t, uint64(len(c.lats)), row.Answers, "row %d", i)
		assert.Equal(t, c.errs, row.Errors.ConnectionLost, "row %d", i)
		assert.Equal(t, h.ValueAtQuantile(50), row.P50, "row %d", i)
		assert.Equal(t, h.ValueAtQuantile(99), row.P99, "row %d", i)
		assert.Equal(t, h.Max(), row.Max, "row %d", i)
		assert.Equal(t, int64(len(c.lats)), row.Count, "row %d", i)
	}

	var b bytes.Buffer
	require.NoError(t, writeCSV(&b, rows))
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	assert.Equal(t, csvHeader, recs[0])
	col := map[string]int{}
	for i, n := range recs[0] {
		col[n] = i
	}
	assert.Equal(t, []string{"5", "4", "1", "0", "1"}, []string{recs[1][col["requests"]], recs[1][col["answers"]],
		recs[1][col["errors"]], recs[1][col["timeout"]], recs[1][col["connection_lost"]]})
	assert.Equal(t, []string{"5", "2", "3", "3"}, []string{recs[2][col["requests"]], recs[2][col["answers"]],
		recs[2][col["errors"]], recs[2][col["connection_lost"]]})
	assert.Equal(t, strconv.FormatInt(want(second).Max(), 10), recs[2][col["max_us"]])
	assert.Equal(t, strconv.FormatInt(want(first).ValueAtQuantile(50), 10), recs[1][col["p50_us"]])
}

// A run with --csv writes one row per second of its window, and the rows add up to the report.
func TestCSVRun(t *testing.T) {
	path := t.TempDir() + "/r.csv"
	js := t.TempDir() + "/r.json"
	code, _, stderr := cli(t, ctxT(t, time.Minute), "run", "-d", "2500ms", "--rate", "400", "--quiet", "--csv", path, "--json", js)
	require.Equal(t, exitOK, code, stderr)
	recs := readCSV(t, path)
	require.GreaterOrEqual(t, len(recs), 1+2, "a row per second, the short tail joined to the last: %v", recs)
	rp, _ := decodeReport(t, readFile(t, js))
	var requests, answers uint64
	for _, r := range recs[1:] {
		dur, err := strconv.ParseFloat(r[1], 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, dur, minTailS, "row %v", r)
		requests += atou(t, r[2])
		answers += atou(t, r[3])
	}
	assert.Equal(t, rp.Requests, requests)
	assert.Equal(t, rp.Answers, answers)
	assert.Equal(t, "1", recs[1][0][:1], "the first row ends about a second in: %v", recs[1])
}

// A short last interval (the drain) joins the row before it: counts add, latencies through the
// histograms, the rate over the joined length.
func TestSeriesShortTail(t *testing.T) {
	rec := newRecorder(time.Minute, false)
	row := func(at, dur float64, lats ...int64) second {
		h := rec.newHist()
		for _, v := range lats {
			require.NoError(t, h.RecordValue(v))
		}
		s := second{AtS: at, DurS: dur, Requests: uint64(len(lats)), Answers: uint64(len(lats)),
			Errors: errorCounts{Timeout: 1}}
		s.setLatency(h, dur)
		return s
	}
	long := []second{row(1, 1, 100, 200), row(2, 1, 300), row(2.6, 0.6, 400)}
	assert.Equal(t, long, foldShortTail(append([]second{}, long...)), "a tail of at least minTailS stays")

	rows := foldShortTail([]second{row(1, 1, 100, 200), row(2, 1, 300), row(2.1, 0.1, 9000, 9000)})
	require.Len(t, rows, 2)
	want := row(2.1, 1.1, 300, 9000, 9000)
	want.Requests, want.Answers, want.Errors.Timeout = 3, 3, 2
	want.RPS = round1(3 / 1.1)
	assert.Equal(t, want.P50, rows[1].P50)
	assert.Equal(t, want.Max, rows[1].Max)
	assert.Equal(t, want.Count, rows[1].Count)
	assert.Equal(t, want.Requests, rows[1].Requests)
	assert.Equal(t, want.Errors, rows[1].Errors)
	assert.Equal(t, 2.1, rows[1].AtS)
	assert.Equal(t, 1.1, rows[1].DurS)
	assert.Equal(t, want.RPS, rows[1].RPS)
	assert.Len(t, foldShortTail([]second{row(0.2, 0.2, 5)}), 1, "a window shorter than minTailS keeps its one row")
}

// With the rows on, each latency is recorded once, into its second, and the run's histogram
// is the sum of the seconds: its percentiles (and its encoding, bucket for bucket) are those of
// one histogram fed every sample, including the current second's, which has not rolled over
// yet. A second lost or counted twice at the roll-over changes the counts.
func TestRunHistogramIsTheSumOfItsSeconds(t *testing.T) {
	rec := newRecorder(time.Minute, false)
	rec.enableSeries()
	r := &runner{base: time.Now(), rec: rec}
	s := newSeries(r)
	rnd := rand.New(rand.NewPCG(3, 4))
	want := rec.newHist()
	check := func(when string) {
		t.Helper()
		_, lat, _, _ := rec.final()
		assert.Equal(t, summarize(want), lat, when)
		enc, _, _ := rec.encoded()
		assert.Equal(t, encodeHist(want), enc, when)
		assert.Equal(t, want.ValueAtQuantile(99), rec.progress().p99US, "the live line's p99, "+when)
	}
	for k := range 6 {
		lats := make([]int64, 500+k*300)
		for i := range lats {
			lats[i] = 1 + int64(rnd.ExpFloat64()*float64(int64(100)<<k)) // each second slower: a lost one moves the tail
			require.NoError(t, want.RecordValue(lats[i]))
		}
		feed(rec, lats, 0)
		check("second " + strconv.Itoa(k) + " before its roll-over")
		s.take()
		check("after roll-over " + strconv.Itoa(k))
	}
	feed(rec, []int64{7, 70_000}, 0)
	require.NoError(t, want.RecordValues(7, 1))
	require.NoError(t, want.RecordValues(70_000, 1))
	check("a partial second")
	var rows int64
	s.take()
	for _, row := range s.rows {
		rows += row.Count
	}
	assert.Equal(t, want.TotalCount(), rows, "the rows hold every latency once")
	check("the last roll-over")
	rec.reset()
	_, lat, _, _ := rec.final()
	assert.Zero(t, lat.Count, "a reset empties the run and its current second")
}

// A long run's rows stay within maxRows: past it, adjacent rows join in pairs and later rows
// span twice as long. Nothing is lost or counted twice: each row holds whole consecutive
// intervals, its counts their sums and its percentiles those of their latencies together.
func TestSeriesRowsBounded(t *testing.T) {
	for _, limit := range []int{6, 5} { // odd: the interval that overflows joins a full row
		t.Run(strconv.Itoa(limit), func(t *testing.T) { testSeriesRowsBounded(t, limit) })
	}
}

func testSeriesRowsBounded(t *testing.T, limit int) {
	rec := newRecorder(time.Minute, false)
	rec.enableSeries()
	s := newSeries(&runner{base: time.Now(), rec: rec})
	s.maxRows = limit
	rnd := rand.New(rand.NewPCG(5, 6))
	var ticks [][]int64
	for k := range 50 {
		lats := make([]int64, 1+k) // tick k has k+1 answers: a row's answers name its ticks
		for i := range lats {
			lats[i] = 1 + int64(rnd.ExpFloat64()*float64(50*(k%7+1)))
		}
		feed(rec, lats, k%3)
		s.take()
		ticks = append(ticks, lats)
		require.LessOrEqual(t, len(s.rows), s.maxRows, "after tick %d", k)
	}
	assert.Equal(t, 16, s.span, "50 intervals in at most 5 or 6 rows: four halvings")
	next := 0
	for i, row := range s.rows {
		h := rec.newHist()
		var answers, errs uint64
		first := next
		for ; next < len(ticks) && answers < row.Answers; next++ {
			for _, v := range ticks[next] {
				require.NoError(t, h.RecordValue(v))
			}
			answers += uint64(len(ticks[next]))
			errs += uint64(next % 3)
		}
		require.Equal(t, answers, row.Answers, "row %d ends at an interval's end", i)
		if i < len(s.rows)-1 {
			assert.Equal(t, s.span, next-first, "row %d holds span intervals", i)
		}
		assert.Equal(t, answers+errs, row.Requests, "row %d", i)
		assert.Equal(t, errs, row.Errors.ConnectionLost, "row %d", i)
		assert.Equal(t, h.TotalCount(), row.Count, "row %d", i)
		assert.Equal(t, h.ValueAtQuantile(50), row.P50, "row %d", i)
		assert.Equal(t, h.ValueAtQuantile(99), row.P99, "row %d", i)
		assert.Equal(t, h.Max(), row.Max, "row %d", i)
	}
	assert.Equal(t, len(ticks), next, "the rows hold every interval")
}

// An idle second's row costs no encoder: the encoding of an empty histogram is made once per
// shape, and it is what encoding one afresh gives; a histogram with a value is encoded afresh.
func TestEmptyHistogramEncodedOnce(t *testing.T) {
	for _, highest := range []int64{1000, 60_000_000} {
		h := hdrhistogram.New(histLowestUS, highest, histSigFigs)
		enc := encodeHist(h)
		assert.Equal(t, encodeFresh(h), enc)
		back, err := hdrhistogram.Decode([]byte(enc))
		require.NoError(t, err)
		assert.Equal(t, highest, back.HighestTrackableValue())
		assert.Zero(t, back.TotalCount())
		assert.Zero(t, testing.AllocsPerRun(20, func() { encodeHist(h) }), "empty: the cached encoding")

		require.NoError(t, h.RecordValue(42))
		back, err = hdrhistogram.Decode([]byte(encodeHist(h)))
		require.NoError(t, err)
		assert.Equal(t, int64(1), back.TotalCount(), "a value: encoded afresh")
	}
}
