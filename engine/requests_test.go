package engine

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A context deadline shorter than RequestTimeout is the request's deadline on the loop too, not
// only in Check's own wait: the wheel timer fires then (a timeout counted on the connection) and
// the answer that comes later is an unknown one, not a match.
func TestContextDeadlineEnforcedByTheLoop(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: 500 * time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 10 * time.Second
	e := startEngine(t, cfg)
	_, err := e.Check(ctxT(t, 100*time.Millisecond), testReq)
	require.ErrorIs(t, err, ErrTimeout)
	require.Eventually(t, func() bool { return e.Stats().Total.Timeouts == 1 }, 2*time.Second, 5*time.Millisecond,
		"the loop's timer fires at the context's deadline")
	require.Eventually(t, func() bool { return e.Stats().Total.UnknownAnswers == 1 }, 3*time.Second, 5*time.Millisecond,
		"the answer after the deadline matches nothing")
	st := e.Stats().Total
	assert.Zero(t, st.Answers.Total())
	assert.Zero(t, st.InFlight)
}

// FailoverLimit N: a request whose connection fails is resent at most N times (each time on
// another connection that then fails too), then completes with ErrConnectionLost. With 0
// (WithFailoverLimit(0), or NoFailover in a Config) it is never resent.
func TestFailoverLimit(t *testing.T) {
	for _, limit := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var ecrs atomic.Int32
			reset := func(c *testpeer.Conn, _ *s13.ECR) testpeer.Reply {
				ecrs.Add(1)
				c.Reset() // every connection fails with the request on it
				return testpeer.Reply{Drop: true}
			}
			cfg := testConfig()
			cfg.RequestTimeout = 10 * time.Second
			cfg.BackoffInitial, cfg.BackoffMax = 5*time.Second, 5*time.Second // no reconnect in the test
			for i := range 4 {
				p := testpeer.StartT(t, testpeer.Config{Handler: reset})
				cfg.DRAs = append(cfg.DRAs, DRA{Name: fmt.Sprint("dra", i), Address: p.Addr()})
			}
			w := watchStates(&cfg)
			WithFailoverLimit(limit)(&cfg)
			e := newEngineT(t, cfg)
			require.NoError(t, e.Start(ctxT(t, 3*time.Second)))
			if limit == 0 {
				assert.Equal(t, NoFailover, e.Config().FailoverLimit, "0 is not the default here")
			}
			w.awaitOpen(t, ctxT(t, 3*time.Second), 4)
			_, err := e.Check(ctxT(t, 5*time.Second), testReq)
			require.ErrorIs(t, err, ErrConnectionLost)
			assert.EqualValues(t, 1+limit, ecrs.Load(), "sent once, resent %d times", limit)
			st := e.Stats().Total
			assert.EqualValues(t, limit, st.Retransmits)
			assert.EqualValues(t, limit, st.Failovers)
		})
	}
}

// A request whose deadline passed while it waited to be failed over is not sent again: it
// completes with ErrTimeout and the other DRA never sees it.
func TestExpiredRequestNotResent(t *testing.T) {
	a := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	b := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr()}, {Name: "b", Address: b.Addr(), Priority: 1}}
	cfg.RequestTimeout = 10 * time.Second
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 2)
	res := make(chan error, 1)
	require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) { res <- err }))
	_, err := a.Await(ctxT(t, 3*time.Second), testpeer.GotECR)
	require.NoError(t, err)
	// The deadline passes (the wheel has not fired yet: its timer is for the old deadline) ...
	expired := make(chan struct{})
	e.post(func() {
		for _, r := range e.reqs.all {
			if r.live {
				r.deadline = 1
			}
		}
		close(expired)
	})
	waitFor(t, expired, 3*time.Second, "the deadline to be moved")
	// ... and then the connection fails.
	a.Conns()[0].Reset()
	require.ErrorIs(t, waitFor(t, res, 3*time.Second, "the request"), ErrTimeout)
	assert.Zero(t, b.ECRs.Load(), "never resent")
	assert.Zero(t, e.Stats().Total.Retransmits)
}

// The loop hands its inbox's slots back after each drain: an engine whose inbox holds two
// requests takes any number of them, one after another.
func TestInboxSlotsReturnAfterEachDrain(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.InboxSize = 2
	e := startEngine(t, cfg)
	for i := range 10 {
		_, err := e.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err, "request %d", i)
	}
}
