package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/s13"
)

// queueClient accepts requests into a queue that the test completes by hand, so the runner's
// own per-request path (payload, submit, record, resubmit) can be measured alone.
type queueClient struct {
	t testing.TB
	q chan *call
}

func (f *queueClient) Go(c *call) error                  { f.q <- c; return nil }
func (f *queueClient) Close(context.Context) error       { return nil }
func (f *queueClient) WaitReady(context.Context) error   { return nil }
func (f *queueClient) Connections() []connReport         { return nil }
func (f *queueClient) UnmatchedAnswers() uint64          { return 0 }
func (f *queueClient) complete(a *s13.Answer, err error) { await.Ready(f.t, f.q).cb(*a, err) }

func testRunner(t *testing.T, args ...string) (*runner, []call, *queueClient) {
	t.Helper()
	o, err := parseRunFlags("run", args, false)
	require.NoError(t, err)
	pay, err := newPayload([]mixEntry{{o.imei, 1}}, o.imsi, 1024, 1)
	require.NoError(t, err)
	fc := &queueClient{t: t, q: make(chan *call, o.concurrency)}
	r, slots := newRunner(o, fc, pay)
	return r, slots, fc
}

// The closed loop's steady state allocates nothing: each completion records into the
// histogram (the run's, or the current second's with the rows on) and resubmits the same slot
// with the next pooled payload.
func TestClosedLoopZeroAlloc(t *testing.T) {
	t.Run("run histogram", func(t *testing.T) { testClosedLoopZeroAlloc(t, false) })
	t.Run("per-second rows", func(t *testing.T) { testClosedLoopZeroAlloc(t, true) })
}

func testClosedLoopZeroAlloc(t *testing.T, rows bool) {
	r, slots, fc := testRunner(t, "-d", "1h", "-c", "4")
	if rows {
		r.rec.enableSeries()
	}
	r.lanes.Store(int64(len(slots)))
	for i := range slots {
		r.launch(&slots[i])
	}
	ans := &s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}
	exp := &s13.Answer{HasExperimentalResult: true, ExperimentalResult: s13.ExperimentalResult{VendorID: 10415, Code: 5422}}
	fc.complete(exp, nil) // first sight of a code adds a map entry; later ones do not allocate
	allocs := testing.AllocsPerRun(10000, func() {
		fc.complete(ans, nil)
		fc.complete(exp, nil)
	})
	assert.Zero(t, allocs, "allocations per request in the closed loop")
	c, lat, _, _ := r.rec.final()
	assert.Equal(t, c.requests, c.answers+uint64(c.inFlight))
	assert.Equal(t, int64(c.answers), lat.Count)
	assert.Equal(t, int64(4), c.inFlight)
}

// The open loop's submit and release allocate nothing either.
func TestOpenLoopZeroAlloc(t *testing.T) {
	r, slots, fc := testRunner(t, "-d", "1h", "-c", "2", "--rate", "1000")
	r.free = make(chan *call, len(slots))
	for i := range slots {
		r.free <- &slots[i]
	}
	ans := &s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}
	var i int64
	allocs := testing.AllocsPerRun(10000, func() {
		c := await.Ready(t, r.free)
		i++
		r.submit(c, i, 0)
		fc.complete(ans, nil)
	})
	assert.Zero(t, allocs, "allocations per request in the open loop")
}

// A lane refused by the client is counted (request + error), parked, and relaunched later; a
// run that stops retires every lane, parked or not.
func TestRefusedLaneIsCountedAndRetired(t *testing.T) {
	o, err := parseRunFlags("run", []string{"-d", "1h", "-c", "3"}, false)
	require.NoError(t, err)
	pay, err := newPayload([]mixEntry{{o.imei, 1}}, o.imsi, 8, 1)
	require.NoError(t, err)
	cl := &refusingClient{err: engine.ErrBusy}
	r, slots := newRunner(o, cl, pay)
	r.lanes.Store(int64(len(slots)))
	for i := range slots {
		r.launch(&slots[i])
	}
	require.Len(t, r.parked, 3)
	c, _, _, _ := r.rec.final()
	assert.Equal(t, uint64(3), c.requests)
	assert.Equal(t, uint64(3), c.errs[errBusy])
	r.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.revive(ctx)
	await.Recv(t, r.done, 5*time.Second) // every lane retired
	c, _, _, _ = r.rec.final()
	assert.Equal(t, uint64(3), c.requests, "a stopped run submits nothing more")
}

type refusingClient struct{ err error }

func (f *refusingClient) Go(*call) error                  { return f.err }
func (f *refusingClient) Close(context.Context) error     { return nil }
func (f *refusingClient) WaitReady(context.Context) error { return nil }
func (f *refusingClient) Connections() []connReport       { return nil }
func (f *refusingClient) UnmatchedAnswers() uint64        { return 0 }

// Requests sent during warm-up are neither requests nor answers of the report, even when they
// complete after it: the books balance by construction.
func TestWarmupEpochs(t *testing.T) {
	r, slots, fc := testRunner(t, "-n", "10", "-c", "2", "--warmup", "1h")
	r.lanes.Store(int64(len(slots)))
	for i := range slots {
		r.launch(&slots[i])
	}
	ans := &s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}
	for range 5 {
		fc.complete(ans, nil) // warm-up traffic is not limited by -n
	}
	r.rec.reset() // warm-up ends with 2 requests in flight
	fc.complete(ans, nil)
	fc.complete(ans, errors.New("late warm-up failure"))
	c, lat, _, _ := r.rec.final()
	assert.Equal(t, c.requests, c.answers+c.errs[errOther]+uint64(c.inFlight))
	assert.Zero(t, c.errs[errOther], "a warm-up request's error is not reported")
	assert.Equal(t, uint64(2), c.requests, "the two replacements are measured")
	assert.Zero(t, lat.Count)
	for range 10 {
		fc.complete(ans, nil)
	}
	await.Recv(t, r.done, 5*time.Second)
	c, lat, _, _ = r.rec.final()
	assert.Equal(t, uint64(10), c.requests, "-n bounds the measured requests")
	assert.Equal(t, uint64(10), c.answers)
	assert.Equal(t, int64(10), lat.Count)
	assert.Zero(t, c.inFlight)
}

func TestRecorderClampsAndClassifies(t *testing.T) {
	rec := newRecorder(60_000_000_000, true)
	c := &call{intended: 0, sent: 5_000_000}
	rec.attempt(0)
	rec.completed(c, nil, &engine.Error{Err: engine.ErrTimeout}, 61_000_000_000)
	got, lat, svc, lag := rec.final()
	assert.Equal(t, uint64(1), got.errs[errTimeout])
	assert.Equal(t, uint64(1), got.clamped, "above the histogram's range: clamped and counted")
	assert.Equal(t, int64(1), lat.Count)
	assert.InDelta(t, 60_000_000, lat.Max, 60_000)
	assert.Equal(t, int64(1), svc.Count)
	assert.InDelta(t, 5000, lag.Max, 10)
	assert.Equal(t, uint64(1), got.lateSends)

	for err, want := range map[error]errKind{
		engine.ErrBusy: errBusy, engine.ErrNoConnection: errNoConnection, engine.ErrClosed: errClosed,
		&engine.Error{Err: engine.ErrConnectionLost}:  errConnectionLost,
		&engine.Error{Err: engine.ErrMalformedAnswer}: errOther,
	} {
		assert.Equal(t, want, classify(err), err.Error())
	}
}
