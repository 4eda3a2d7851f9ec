package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/internal/baseline"
	"github.com/hsdfat8/diam-gw/s13"
)

// errKind indexes the error counters of the report.
type errKind uint8

const (
	errTimeout errKind = iota
	errBusy
	errNoConnection
	errConnectionLost
	errClosed
	errOther
	numErrKinds
)

// classify maps a request error of either client to its counter.
func classify(err error) errKind {
	switch {
	case errors.Is(err, engine.ErrTimeout), errors.Is(err, baseline.ErrTimeout):
		return errTimeout
	case errors.Is(err, engine.ErrBusy):
		return errBusy
	case errors.Is(err, engine.ErrNoConnection), errors.Is(err, baseline.ErrNoConnection):
		return errNoConnection
	case errors.Is(err, engine.ErrConnectionLost), errors.Is(err, baseline.ErrConnectionLost):
		return errConnectionLost
	case errors.Is(err, engine.ErrClosed), errors.Is(err, baseline.ErrClosed):
		return errClosed
	}
	return errOther
}

// Histogram geometry: microseconds, 3 significant digits (0.1 % resolution at any scale).
const (
	histLowestUS = 1
	histSigFigs  = 3
	lateSendNs   = int64(time.Millisecond) // a send more than this behind its intended time is "late"
)

// recorder accumulates the outcome of every request of the measured window. Completions arrive
// on the engine's event loop (one goroutine) and submissions from that loop or the pacer, so a
// plain mutex is uncontended in practice: cheap, and no allocation.
//
// Warm-up is handled with epochs: every call carries the epoch it was submitted in, and counters
// only move for calls of the current epoch. reset starts a new epoch, so a request sent during
// warm-up and answered after it is neither a request nor an answer of the report — which keeps
// requests == answers + errors exact.
type recorder struct {
	mu       sync.Mutex
	epoch    atomic.Uint32
	maxUS    int64
	openLoop bool
	// verdictsOnly: only answers are compared with the policy, not errors (a soak, whose faults
	// cause transport errors on purpose; what must never happen there is a wrong answer).
	verdictsOnly bool

	// lat is the response time, from the intended send time (= service time in closed loop).
	// With the per-second rows (sec non-nil) it holds the seconds already rolled over, and the
	// run is lat + sec (see whole): each answer is recorded once, into sec, and swapSecond adds
	// the finished second to lat.
	lat *hdrhistogram.Histogram
	svc *hdrhistogram.Histogram // open loop: service time, from the actual submission
	lag *hdrhistogram.Histogram // open loop: send lag, submission - intended
	// sec is the current second's response times (--csv, --html, --json); nil without. The
	// series goroutine swaps it for an empty one each second and encodes it off the lock.
	sec *hdrhistogram.Histogram
	// scratch is progress's lat + sec, kept so that the live line allocates nothing.
	scratch *hdrhistogram.Histogram

	c counts
}

// counts are the plain counters of one epoch.
type counts struct {
	requests, answers uint64
	errs              [numErrKinds]uint64
	resultCodes       codeCounts
	expCodes          codeCounts
	equip             [3]uint64 // whitelisted, blacklisted, greylisted
	equipOther        uint64    // an Equipment-Status outside 0..2
	clamped           uint64    // latencies above the histogram's range, recorded at its top
	lateSends         uint64    // open loop: sent more than lateSendNs after the intended time
	lateDropped       uint64    // open loop: never sent (in-flight cap); counted in errs[busy]
	checked           uint64    // completions compared with the expected outcome
	mismatches        uint64
	firstMismatch     string
	inFlight          int64
	lastDone          int64 // clock of the last completion
}

func newRecorder(maxLatency time.Duration, openLoop bool) *recorder {
	r := &recorder{maxUS: int64(maxLatency / time.Microsecond), openLoop: openLoop}
	r.lat = hdrhistogram.New(histLowestUS, r.maxUS, histSigFigs)
	if openLoop {
		r.svc = hdrhistogram.New(histLowestUS, r.maxUS, histSigFigs)
		r.lag = hdrhistogram.New(histLowestUS, r.maxUS, histSigFigs)
	}
	return r
}

// reset ends warm-up: a new epoch with empty counters and histograms.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch.Add(1)
	r.lat.Reset()
	if r.openLoop {
		r.svc.Reset()
		r.lag.Reset()
	}
	if r.sec != nil {
		r.sec.Reset()
	}
	r.c = counts{}
}

// newHist is a histogram of the recorder's geometry.
func (r *recorder) newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowestUS, r.maxUS, histSigFigs)
}

// enableSeries starts recording the per-second histogram. Call it before traffic starts.
func (r *recorder) enableSeries() {
	r.mu.Lock()
	r.sec = r.newHist()
	r.mu.Unlock()
}

// swapSecond ends the current second: it adds the second's histogram to the run's, replaces
// it with empty (of newHist's geometry) and returns it, with the books at that instant. The
// caller owns the returned histogram until it hands it back as the next empty one.
func (r *recorder) swapSecond(empty *hdrhistogram.Histogram) (*hdrhistogram.Histogram, books) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.sec
	r.lat.Merge(h) // same geometry: nothing is dropped
	r.sec = empty
	return h, books{requests: r.c.requests, answers: r.c.answers, errs: r.c.errs, inFlight: r.c.inFlight}
}

// whole is the run's response-time histogram: lat itself, or, while the current second holds
// values, their sum in into (reset first; a new histogram when into is nil). Call with mu held.
func (r *recorder) whole(into *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if r.sec == nil || r.sec.TotalCount() == 0 {
		return r.lat
	}
	if into == nil {
		into = r.newHist()
	}
	into.Reset()
	into.Merge(r.lat)
	into.Merge(r.sec)
	return into
}

// Requests are counted when they are attempted, before the client's Go: a request's
// completion can then never be recorded before the request itself, and a refusal only adds its
// error. Either way each request is counted once, as answered or as one error.

// attempt counts a request about to be handed to the client.
func (r *recorder) attempt(epoch uint32) {
	r.mu.Lock()
	if epoch == r.epoch.Load() {
		r.c.requests++
		r.c.inFlight++
	}
	r.mu.Unlock()
}

// refused records that the client refused an attempted request at once (it never completes).
func (r *recorder) refused(epoch uint32, k errKind) {
	r.mu.Lock()
	if epoch == r.epoch.Load() {
		r.c.errs[k]++
		r.c.inFlight--
	}
	r.mu.Unlock()
}

// dropped counts an open-loop slot that could not be sent at all (in-flight cap reached for
// longer than the answer timeout, or the run ended): a busy error, never a silent omission.
func (r *recorder) dropped(epoch uint32, n uint64) {
	r.mu.Lock()
	if epoch == r.epoch.Load() {
		r.c.requests += n
		r.c.errs[errBusy] += n
		r.c.lateDropped += n
	}
	r.mu.Unlock()
}

// clampUS converts nanoseconds to histogram microseconds, clamping to the range.
func (r *recorder) clampUS(ns int64) (int64, bool) {
	us := ns / int64(time.Microsecond)
	switch {
	case us < histLowestUS:
		return histLowestUS, false
	case us > r.maxUS:
		return r.maxUS, true
	}
	return us, false
}

// completed records one completion of an accepted request. a is nil on error.
func (r *recorder) completed(c *call, a *s13.Answer, err error, now int64) {
	r.mu.Lock()
	r.complete(c, a, err, now)
	r.mu.Unlock()
}

// completedAndAttempt is completed followed by attempt(next) under one lock hold: the closed
// loop's per-request bookkeeping.
func (r *recorder) completedAndAttempt(c *call, a *s13.Answer, err error, now int64, next uint32) {
	r.mu.Lock()
	r.complete(c, a, err, now)
	if next == r.epoch.Load() {
		r.c.requests++
		r.c.inFlight++
	}
	r.mu.Unlock()
}

func (r *recorder) complete(c *call, a *s13.Answer, err error, now int64) {
	if c.epoch != r.epoch.Load() {
		return // sent during warm-up
	}
	r.c.inFlight--
	r.c.lastDone = now
	record := true // timeouts are part of the tail: recorded at the time they fired
	if err != nil {
		k := classify(err)
		r.c.errs[k]++
		record = k == errTimeout
	} else {
		r.c.answers++
		switch {
		case a.HasExperimentalResult:
			r.c.expCodes.inc(uint32(a.ExperimentalResult.Code))
		default:
			r.c.resultCodes.inc(uint32(a.ResultCode))
		}
		if a.HasEquipmentStatus {
			if a.EquipmentStatus.Known() {
				r.c.equip[a.EquipmentStatus]++
			} else {
				r.c.equipOther++
			}
		}
	}
	if c.expect != nil && (err == nil || !r.verdictsOnly) {
		r.c.checked++
		if !c.expect.matches(a, err) {
			r.c.mismatches++
			if r.c.firstMismatch == "" {
				r.c.firstMismatch = mismatchText(c, a, err)
			}
		}
	}
	if !record {
		return
	}
	v, over := r.clampUS(now - c.intended)
	if over {
		r.c.clamped++
	}
	if r.sec != nil {
		_ = r.sec.RecordValue(v) // the run's at the roll-over (swapSecond)
	} else {
		_ = r.lat.RecordValue(v)
	}
	if r.openLoop {
		v, _ = r.clampUS(now - c.sent)
		_ = r.svc.RecordValue(v)
		lag := c.sent - c.intended
		v, _ = r.clampUS(lag)
		_ = r.lag.RecordValue(v)
		if lag > lateSendNs {
			r.c.lateSends++
		}
	}
}

// lastDone returns the clock of the last recorded completion (0: none).
func (r *recorder) lastDone() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c.lastDone
}

// books are the counters a sample takes: what was asked, what came back, and what is still out.
type books struct {
	requests, answers uint64
	errs              [numErrKinds]uint64
	inFlight          int64
}

func (r *recorder) books() books {
	r.mu.Lock()
	defer r.mu.Unlock()
	return books{requests: r.c.requests, answers: r.c.answers, errs: r.c.errs, inFlight: r.c.inFlight}
}

// progress is what the live line shows.
type progress struct {
	requests, answers, errors uint64
	inFlight                  int64
	p99US                     int64
}

func (r *recorder) progress() progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := progress{requests: r.c.requests, answers: r.c.answers, inFlight: r.c.inFlight}
	for _, n := range r.c.errs {
		p.errors += n
	}
	if r.sec != nil && r.scratch == nil {
		r.scratch = r.newHist()
	}
	p.p99US = r.whole(r.scratch).ValueAtQuantile(99)
	return p
}

// encoded returns the histograms in HDR's V2 compressed encoding (base64), "" for those the
// run does not keep: a merge adds them (merge.go).
func (r *recorder) encoded() (lat, svc, lag string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat = encodeHist(r.whole(nil))
	if r.openLoop {
		svc, lag = encodeHist(r.svc), encodeHist(r.lag)
	}
	return lat, svc, lag
}

// encodeHist is h in HDR's V2 compressed encoding, base64 as Decode reads it. An empty one's
// encoding is made once per shape: hdrhistogram-go builds a zlib writer for every Encode, which
// every idle second's row would otherwise pay for (most of an idle run's CPU).
func encodeHist(h *hdrhistogram.Histogram) string {
	if h.TotalCount() == 0 {
		return emptyHists.encoding(h)
	}
	return encodeFresh(h)
}

func encodeFresh(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil { // only for an unknown version
		return ""
	}
	return string(b)
}

// histShape is what an empty histogram's encoding depends on.
type histShape struct{ lowest, highest, sigFigs int64 }

// emptyHists caches the encodings of empty histograms. Safe for concurrent use.
var emptyHists = emptyEncodings{byShape: map[histShape]string{}}

type emptyEncodings struct {
	mu      sync.Mutex
	byShape map[histShape]string
}

// encoding is the encoding of h, which is empty.
func (c *emptyEncodings) encoding(h *hdrhistogram.Histogram) string {
	k := histShape{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()}
	c.mu.Lock()
	defer c.mu.Unlock()
	enc, ok := c.byShape[k]
	if !ok {
		enc = encodeFresh(h)
		c.byShape[k] = enc
	}
	return enc
}

// final returns a copy of the counters and the percentile summaries.
func (r *recorder) final() (counts, percentiles, *percentiles, *percentiles) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.resultCodes = r.c.resultCodes.clone()
	c.expCodes = r.c.expCodes.clone()
	lat := summarize(r.whole(nil))
	if !r.openLoop {
		return c, lat, nil, nil
	}
	svc, lag := summarize(r.svc), summarize(r.lag)
	return c, lat, &svc, &lag
}

// percentiles summarises a histogram in microseconds.
type percentiles struct {
	Count int64   `json:"count"`
	Min   int64   `json:"min"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	Max   int64   `json:"max"`
}

func summarize(h *hdrhistogram.Histogram) percentiles {
	if h.TotalCount() == 0 {
		return percentiles{}
	}
	return percentiles{
		Count: h.TotalCount(),
		Min:   h.Min(),
		Mean:  float64(int64(h.Mean()*10)) / 10,
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}
