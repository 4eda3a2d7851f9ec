package engine

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dropIMEI marks requests the test peer never answers.
const dropIMEI = "35209900000017"

// A Go callback that calls runtime.Goexit (what t.FailNow and require.* do) ends the event
// loop's goroutine; recover cannot stop that. The engine notices at once: the requests that were
// outstanding complete with ErrLoopExited, exactly once each and long before their timeout; the
// exit is counted; a new loop takes over, the connection comes back and carries requests again;
// Close returns promptly and nothing leaks (TestMain runs goleak).
func TestGoexitInCallbackReplacesTheLoop(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: string(req.IMEI) == dropIMEI}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 20 * time.Second
	w := watchStates(&cfg)
	e := startBounded(t, cfg)

	const n = 5
	var mu sync.Mutex
	calls := map[int]int{}
	errs := make(chan error, n)
	dropped := testReq
	dropped.IMEI = dropIMEI
	for i := range n {
		require.NoError(t, e.Go(dropped, func(_ s13.Answer, err error) {
			mu.Lock()
			calls[i]++
			mu.Unlock()
			errs <- err
		}))
	}
	for range n {
		_, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotECR)
		require.NoError(t, err)
	}
	exited := make(chan struct{})
	require.NoError(t, e.Go(testReq, func(s13.Answer, error) {
		close(exited)
		runtime.Goexit()
	}))
	waitFor(t, exited, 3*time.Second, "the callback that exits")
	for range n {
		err := waitFor(t, errs, 3*time.Second, "an outstanding request to complete")
		require.ErrorIs(t, err, ErrLoopExited)
		var ee *Error
		require.ErrorAs(t, err, &ee)
		assert.Equal(t, 1, ee.Conn, "names the connection it was on")
	}
	assert.EqualValues(t, 1, e.Stats().CallbackExits)

	ctx := ctxT(t, 5*time.Second)
	w.await(t, ctx, 1, fsm.Disconnected) // reset by the new loop
	w.await(t, ctx, 1, fsm.Open)         // and reconnected
	_, err := e.Check(ctx, testReq)
	require.NoError(t, err)
	require.NoError(t, closeWithin(t, e, 3*time.Second))
	_, err = peer.Await(ctxT(t, time.Second), testpeer.GotDPR)
	require.NoError(t, err, "the new loop's connection closes cleanly")
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, calls, n)
	for i, c := range calls {
		assert.Equal(t, 1, c, "request %d completed %d times", i, c)
	}
	assert.Zero(t, e.Stats().Outstanding)
}

// The same from OnStateChange: a hook that calls runtime.Goexit the first time the connection
// opens. Requests accepted meanwhile complete (none is lost), and the engine comes back.
func TestGoexitInOnStateChangeReplacesTheLoop(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	var opens atomic.Int32
	reopened := make(chan struct{})
	cfg.OnStateChange = func(sc StateChange) {
		if sc.To == fsm.Open {
			switch opens.Add(1) {
			case 1:
				runtime.Goexit()
			case 2:
				close(reopened)
			}
		}
	}
	e := newEngineT(t, cfg)
	_ = e.Start(ctxT(t, 3*time.Second)) // the first Open may or may not be seen by Start
	waitFor(t, reopened, 5*time.Second, "the connection to open on the new loop")
	_, err := e.Check(ctxT(t, 3*time.Second), testReq)
	require.NoError(t, err)
	st := e.Stats()
	assert.EqualValues(t, 1, st.CallbackExits)
	assert.Zero(t, st.Outstanding)
	require.NoError(t, closeWithin(t, e, 3*time.Second))
}

// A Goexit on the loop while Close is waiting for the connections to end: Close still returns
// promptly, with every request completed.
func TestGoexitDuringClose(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 20 * time.Second
	cfg.OnStateChange = func(sc StateChange) {
		if sc.To == fsm.Closing {
			runtime.Goexit()
		}
	}
	e := startBounded(t, cfg)
	res := make(chan error, 1)
	require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) { res <- err }))
	_, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotECR)
	require.NoError(t, err)
	err = closeWithin(t, e, 200*time.Millisecond)
	require.Error(t, err, "cut short: the request was still outstanding")
	err = waitFor(t, res, time.Second, "the request")
	assert.True(t, errors.Is(err, ErrLoopExited) || errors.Is(err, ErrClosed), "%v", err)
	assert.EqualValues(t, 1, e.Stats().CallbackExits)
	assert.Zero(t, e.Stats().Outstanding)
}

// HealthReport runs on its own goroutine: a panic there is recovered and counted, a Goexit ends
// only that goroutine and a new one carries on reporting.
func TestHealthReportPanicAndGoexitContained(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	var calls atomic.Int32
	fifth := make(chan struct{})
	cfg.HealthInterval = 10 * time.Millisecond
	cfg.HealthReport = func(Snapshot) {
		switch calls.Add(1) {
		case 1:
			panic("boom")
		case 2:
			runtime.Goexit()
		case 5:
			close(fifth)
		}
	}
	e := startBounded(t, cfg)
	waitFor(t, fifth, 5*time.Second, "health reports after a panic and a Goexit")
	st := e.Stats()
	assert.EqualValues(t, 1, st.CallbackPanics)
	assert.EqualValues(t, 1, st.CallbackExits)
	require.NoError(t, closeWithin(t, e, 3*time.Second))
}

// A dial that was inside gnet's EnrollContext of a loop that a callback ended never returns
// (gnet waits for the dead loop to register the socket). The recovery gives its share of dials.wg
// back, so that Close does not wait for it, and only for dials of that client whose socket was
// not registered; a dial that does return later gives nothing back twice.
func TestStuckDialsReleased(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	dead, live := &gnet.Client{}, &gnet.Client{}
	stuck := &connCtx{client: dead}
	opened := &connCtx{client: dead}
	opened.registered.Store(true)
	other := &connCtx{client: live}
	for _, cc := range []*connCtx{stuck, opened, other} {
		e.dials.wg.Add(1)
		e.dials.enrolling[cc] = struct{}{}
	}
	e.releaseStuckDials(dead)
	in := func(cc *connCtx) bool { _, ok := e.dials.enrolling[cc]; return ok }
	assert.False(t, in(stuck), "given up")
	assert.True(t, in(opened), "registered: its EnrollContext returns")
	assert.True(t, in(other), "another client's")
	e.dialDone(stuck) // had it returned after all
	e.dialDone(opened)
	e.dialDone(other)
	done := make(chan struct{})
	go func() {
		e.dials.wg.Wait()
		close(done)
	}()
	waitFor(t, done, time.Second, "every dial's share to be back, once each")

	// With no loop at all, a dialled socket is refused (and closed) at once.
	a, b := net.Pipe()
	defer b.Close()
	require.Error(t, e.enroll(a, &connCtx{}))
	_, err = a.Write([]byte{1})
	require.ErrorIs(t, err, io.ErrClosedPipe)
	require.NoError(t, e.Close(ctxT(t, time.Second)))
}
