package engine

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Close from a Go callback runs on the event loop: it cannot wait for the loop, so it starts the
// shutdown and returns ErrClosing at once. A Close from another goroutine waits for that shutdown
// and returns its result; the shutdown is a real one (DPR sent, requests refused).
func TestCloseFromGoCallback(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startBounded(t, testConfig(peer.Addr()))
	got := make(chan error, 1)
	require.NoError(t, e.Go(testReq, func(s13.Answer, error) {
		got <- e.Close(context.Background())
	}))
	require.ErrorIs(t, waitFor(t, got, 3*time.Second, "Close called in a Go callback to return"), ErrClosing)
	require.NoError(t, closeWithin(t, e, 5*time.Second))
	_, err := peer.Await(ctxT(t, time.Second), testpeer.GotDPR)
	require.NoError(t, err)
	require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrClosed)
	require.NoError(t, closeWithin(t, e, time.Second), "a later Close returns the same result")
}

// The same from OnStateChange: Close when the connection opens.
func TestCloseFromOnStateChange(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	got := make(chan error, 1)
	var e *Engine
	var once sync.Once
	cfg.OnStateChange = func(sc StateChange) {
		if sc.To == fsm.Open {
			once.Do(func() { got <- e.Close(context.Background()) })
		}
	}
	e = newEngineT(t, cfg)
	_ = e.Start(ctxT(t, 3*time.Second)) // nil, or ErrClosed if the Close was quicker
	require.ErrorIs(t, waitFor(t, got, 3*time.Second, "Close called in OnStateChange to return"), ErrClosing)
	require.NoError(t, closeWithin(t, e, 5*time.Second))
	_, err := peer.Await(ctxT(t, time.Second), testpeer.GotDPR)
	require.NoError(t, err)
	assert.Equal(t, "Disconnected", e.state(0))
}

// Close from HealthReport runs on the health goroutine, which the shutdown would otherwise wait
// for: it must complete the shutdown and return its real result.
func TestCloseFromHealthReport(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	got := make(chan error, 1)
	var e *Engine
	var once sync.Once
	cfg.HealthInterval = 20 * time.Millisecond
	cfg.HealthReport = func(s Snapshot) {
		if s.Usable > 0 {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				got <- e.Close(ctx)
			})
		}
	}
	e = newEngineT(t, cfg)
	require.NoError(t, e.Start(ctxT(t, 3*time.Second)))
	require.NoError(t, waitFor(t, got, 8*time.Second, "Close called in HealthReport to return"))
	_, err := peer.Await(ctxT(t, time.Second), testpeer.GotDPR)
	require.NoError(t, err)
	require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrClosed)
}

// Start and Close racing each other: Close always returns (well within DPATimeout, which the
// lost wake-ups used to wait out), its nil means a full shutdown (nothing of the engine keeps
// running: no loop, ticker or redial goroutine), and the engine refuses requests afterwards.
func TestStartCloseRace(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.DPATimeout = 5 * time.Second
	ignore := append(leakcheck.Options(), goleak.IgnoreCurrent())
	for i := range 30 {
		e, err := New(cfg)
		require.NoError(t, err)
		started, closed := make(chan error, 1), make(chan error, 1)
		go func() { started <- e.Start(ctxT(t, 3*time.Second)) }()
		for range i % 4 { // vary where Close lands in Start
			runtime.Gosched()
		}
		go func() { closed <- e.Close(ctxT(t, 3*time.Second)) }()
		cerr := waitFor(t, closed, 3*time.Second, "Close")
		serr := waitFor(t, started, 3*time.Second, "Start")
		require.NoError(t, cerr, "iteration %d", i)
		if serr != nil {
			require.ErrorIs(t, serr, ErrClosed, "iteration %d", i)
		}
		require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrClosed)
		for _, c := range e.Stats().Conns {
			require.Equal(t, "Disconnected", c.State, "iteration %d", i)
		}
		goleak.VerifyNone(t, ignore...)
	}
}

// A producer that has been counted and has claimed an inbox slot, but is preempted before it
// publishes the slot, is invisible to the loop. Close must wait for it (it is bound to come) and
// complete it with ErrClosed, exactly once; it must not give up and return with the request
// never completed.
func TestCloseWaitsForAClaimedSubmission(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startBounded(t, testConfig(peer.Addr()))
	// What submit does, held between its two halves: counted, past the closing check, claimed.
	e.outstanding.Add(1)
	claim, ok := e.inbox.Claim()
	require.True(t, ok)
	closed := make(chan error, 1)
	go func() { closed <- e.Close(ctxT(t, 200*time.Millisecond)) }()
	_, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotDPR)
	require.NoError(t, err)
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while an accepted request was still unpublished", err)
	case <-time.After(2 * time.Second): // the old code gave up spinning long before this
	}
	var calls atomic.Int32
	res := make(chan error, 1)
	*claim.Item() = submission{req: testReq, cb: func(_ s13.Answer, err error) {
		calls.Add(1)
		res <- err
	}}
	claim.Publish()
	e.wake()
	require.ErrorIs(t, waitFor(t, res, 3*time.Second, "the late request's callback"), ErrClosed)
	err = waitFor(t, closed, 3*time.Second, "Close")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the context cut the drain short")
	assert.EqualValues(t, 1, calls.Load())
	assert.Zero(t, e.Stats().Outstanding)
}

// After our DPR (Close cut the drain short) the peer may still answer requests that were in
// flight: an ECA that arrives before the DPA completes its request with the answer.
func TestAnswerInClosingIsDelivered(t *testing.T) {
	overEachTransport(t, testAnswerInClosingIsDelivered)
}

func testAnswerInClosingIsDelivered(t *testing.T, tr transport) {
	ecr := make(chan *s13.ECR, 1)
	peer := testpeer.StartT(t, tr.peer(testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		c := *req
		c.SessionID = append([]byte(nil), req.SessionID...)
		ecr <- &c
		return testpeer.Reply{Drop: true}
	}}))
	cfg := testConfig(peer.Addr())
	tr.dras(&cfg)
	cfg.RequestTimeout = 10 * time.Second
	cfg.DPATimeout = 5 * time.Second
	e := startBounded(t, cfg)
	res := make(chan error, 1)
	var status s13.EquipmentStatus
	require.NoError(t, e.Go(testReq, func(a s13.Answer, err error) {
		status = a.EquipmentStatus
		res <- err
	}))
	req := waitFor(t, ecr, 3*time.Second, "the ECR at the peer")
	peer.SetSilent(true) // the test answers the DPR itself, after the ECA
	closed := make(chan error, 1)
	go func() { closed <- e.Close(ctxT(t, 100*time.Millisecond)) }()
	dpr, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotDPR)
	require.NoError(t, err)
	id := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	require.NoError(t, dpr.Conn.Write(s13.AppendECA(nil, req, id, &s13.Verdict{EquipmentStatus: s13.Greylisted})))
	require.NoError(t, dpr.Conn.Write(framing.AppendDPA(nil, dpr.Header, framing.Success, id)))
	require.NoError(t, waitFor(t, res, 3*time.Second, "the answer"), "answered in Closing")
	assert.Equal(t, s13.Greylisted, status)
	require.ErrorIs(t, waitFor(t, closed, 3*time.Second, "Close"), context.DeadlineExceeded)
	assert.EqualValues(t, 1, e.Stats().Total.Answers.Success)
}

// The DPA to a peer's DPR carries 5012 DIAMETER_UNABLE_TO_COMPLY while requests of ours are in
// flight on that connection (RFC 6733 §5.4: it "SHOULD contain an error if messages have
// recently been forwarded, and are likely in flight"), and 2001 when none are.
func TestDPAResultReflectsRequestsInFlight(t *testing.T) {
	var drop atomic.Bool
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: drop.Load()}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 10 * time.Second
	w := watchStates(&cfg)
	e := startBounded(t, cfg)
	dpaResult := func() framing.ResultCode {
		t.Helper()
		require.NoError(t, peer.Conns()[0].SendDPR(framing.Rebooting))
		ev, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotDPA)
		require.NoError(t, err)
		_, b, err := framing.ParseBase(ev.Msg)
		require.NoError(t, err)
		require.True(t, b.HasResultCode)
		return b.ResultCode
	}

	_, err := e.Check(ctxT(t, 3*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, dpaResult(), "nothing in flight")
	w.await(t, ctxT(t, 5*time.Second), 1, fsm.Reopen) // the peer closed; we reconnected
	w.await(t, ctxT(t, 5*time.Second), 1, fsm.Open)

	drop.Store(true)
	res := make(chan error, 1)
	require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) { res <- err }))
	_, err = peer.Await(ctxT(t, 3*time.Second), testpeer.GotECR)
	require.NoError(t, err)
	assert.Equal(t, framing.UnableToComply, dpaResult(), "a request in flight")
	err = waitFor(t, res, 5*time.Second, "the request in flight")
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrTimeout), "%v", err)
}
