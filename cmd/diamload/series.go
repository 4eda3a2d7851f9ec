package main

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The per-second series of the measured window (--csv, --html, and the JSON report's timeline):
// a goroutine of its own, once a second, swaps the recorder's per-second histogram for an empty
// one and takes the books; it summarises and encodes the full one off the recorder's lock.

// second is one row of the series: what happened in (t_s - dur_s, t_s] of the measured window.
type second struct {
	AtS      float64     `json:"t_s"`   // end of the interval, since the window's start
	DurS     float64     `json:"dur_s"` // its length: 1 s but the last, or on a late tick
	Requests uint64      `json:"requests"`
	Answers  uint64      `json:"answers"`
	Errors   errorCounts `json:"errors"`
	RPS      float64     `json:"ecr_per_s"` // answers / dur_s
	P50      int64       `json:"p50_us"`
	P90      int64       `json:"p90_us"`
	P99      int64       `json:"p99_us"`
	Max      int64       `json:"max_us"`
	Count    int64       `json:"latency_count"` // latencies recorded (answers and timeouts)
	HDR      string      `json:"hdr,omitempty"` // the interval's histogram, for merge
}

// maxRows bounds the rows of a long run, so that their memory does not grow with its length
// (a row is its counters and its compressed HDR histogram): past maxRows, adjacent rows are
// joined in pairs and each later row spans twice as many intervals. An hour keeps its
// per-second rows; two hours have 2-second rows, and so on.
const maxRows = 3600

// series takes the rows of one run.
type series struct {
	r      *runner
	spare  *hdrhistogram.Histogram // the goroutine's: the next empty histogram
	last   books
	lastAt time.Duration
	rows   []second
	// span is how many intervals a row holds (doubled at each halving of the rows), open how
	// many the last row holds: the next interval joins it while open < span.
	span, open int
	maxRows    int
	stopCh     chan struct{}
	done       chan struct{}
	once       sync.Once
}

// newSeries is the rows of r's window, not yet taking them.
func newSeries(r *runner) *series {
	return &series{r: r, spare: r.rec.newHist(), span: 1, maxRows: maxRows, stopCh: make(chan struct{}), done: make(chan struct{})}
}

// startSeries starts the rows at the window's start (r.startedAt, the recorder's books empty).
func startSeries(r *runner) *series {
	s := newSeries(r)
	go s.run()
	return s
}

func (s *series) run() {
	defer close(s.done)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for k := time.Duration(2); ; k++ {
		select {
		case <-t.C:
			s.take()
			t.Reset(max(k*time.Second-s.elapsed(), 0))
		case <-s.stopCh:
			return
		}
	}
}

func (s *series) elapsed() time.Duration { return time.Duration(s.r.clock() - s.r.startedAt) }

// take closes the current interval: its row from the swapped-out histogram and the books' change.
func (s *series) take() {
	at := s.elapsed()
	h, b := s.r.rec.swapSecond(s.spare)
	row := rowOf(h, b, s.last, at, at-s.lastAt)
	h.Reset()
	s.spare, s.last, s.lastAt = h, b, at
	s.add(row)
}

// add appends the row of one interval, or joins it to the last row while that holds fewer
// than span intervals; past maxRows it joins the rows in pairs and doubles span.
func (s *series) add(row second) {
	if n := len(s.rows); n > 0 && s.open < s.span && joinRows(&s.rows[n-1], &row) == nil {
		s.open++
		return
	}
	s.rows = append(s.rows, row)
	s.open = 1
	if len(s.rows) <= s.maxRows {
		return
	}
	// Every row but the new one holds span intervals: pair them from the start.
	n := len(s.rows)
	half := s.rows[:0]
	for i := 0; i < n; i += 2 {
		if i+1 == n || joinRows(&s.rows[i], &s.rows[i+1]) != nil {
			half = append(half, s.rows[i:min(i+2, n)]...) // unpaired, or not ours to join: kept apart
			continue
		}
		half = append(half, s.rows[i])
	}
	if n%2 == 0 {
		s.open = s.span + 1 // the new interval joined a full row
	}
	clear(s.rows[len(half):n]) // their HDR strings go with them
	s.rows = half
	s.span *= 2
}

// rowOf builds the row of an interval from its histogram and the books at its two ends.
func rowOf(h *hdrhistogram.Histogram, now, before books, at, dur time.Duration) second {
	var errs [numErrKinds]uint64
	for i := range errs {
		errs[i] = now.errs[i] - before.errs[i]
	}
	row := second{AtS: round3(at.Seconds()), DurS: round3(dur.Seconds()), Requests: now.requests - before.requests,
		Answers: now.answers - before.answers, Errors: errorCountsOf(&errs)}
	row.setLatency(h, dur.Seconds())
	return row
}

// setLatency fills the row's rate and percentiles from its histogram.
func (row *second) setLatency(h *hdrhistogram.Histogram, durS float64) {
	if durS > 0 {
		row.RPS = round1(float64(row.Answers) / durS)
	}
	p := summarize(h)
	row.P50, row.P90, row.P99, row.Max, row.Count = p.P50, p.P90, p.P99, p.Max, p.Count
	row.HDR = encodeHist(h)
}

// stop closes the last interval (the window is over: call after the drain) and returns the rows.
// Later calls return the same rows.
func (s *series) stop() []second {
	s.once.Do(func() {
		close(s.stopCh)
		<-s.done
		if s.elapsed() > s.lastAt || len(s.rows) == 0 {
			s.take()
		}
		s.rows = foldShortTail(s.rows)
	})
	return s.rows
}

// minTailS: a last interval shorter than this (the drain's few answers after the last whole
// second) joins the row before it, whose rate and percentiles it would otherwise swamp with noise.
const minTailS = 0.5

// foldShortTail joins a last row shorter than minTailS to the one before.
func foldShortTail(rows []second) []second {
	n := len(rows)
	if n < 2 || rows[n-1].DurS >= minTailS {
		return rows
	}
	if joinRows(&rows[n-2], &rows[n-1]) != nil {
		return rows // not ours to fail on: the rows stay apart
	}
	return rows[:n-1]
}

// joinRows makes a the row of a's interval and b's, the one that follows it: counts add,
// latencies through their histograms. On an error (a row without a readable histogram) a is
// unchanged.
func joinRows(a, b *second) error {
	var h histSum
	if err := h.add(a.HDR, "row"); err != nil {
		return err
	}
	if err := h.add(b.HDR, "row"); err != nil {
		return err
	}
	if h.h == nil {
		return errBadReport
	}
	a.AtS, a.DurS = b.AtS, round3(a.DurS+b.DurS)
	a.Requests += b.Requests
	a.Answers += b.Answers
	a.Errors.add(&b.Errors)
	a.setLatency(h.h, a.DurS)
	return nil
}
