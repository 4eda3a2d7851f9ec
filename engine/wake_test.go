package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wake-up descriptor is closed only once no caller of wake is between the flag and its
// write: a late write to a closed descriptor number could land on whatever reuses it. After
// that the flag stays set, so nobody writes again.
func TestCloseWakeWaitsForWriters(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	require.NoError(t, e.wk.open())
	waitsForWriters(t, e, e.closeWake, "closeWake")
	assert.True(t, e.wk.pending.Load(), "left set: no caller writes again")
	e.wake()
	assert.Zero(t, e.wk.writers.Load())
	require.NoError(t, e.Close(ctxT(t, time.Second)))
}

// waitsForWriters checks that f does not return while a caller of wake is past the flag, about
// to wake the loop, and returns once that caller is done.
func waitsForWriters(t *testing.T, e *Engine, f func(), what string) {
	t.Helper()
	e.wk.writers.Add(1)
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
		t.Fatalf("%s returned while a caller could still be waking the loop", what)
	case <-time.After(100 * time.Millisecond): // nothing to await: it must not happen
	}
	e.wk.writers.Add(-1)
	waitFor(t, done, 3*time.Second, what)
}

// While a loop runs, a caller wakes it through gnet (Conn.Wake), not with a byte on the
// socketpair: a request handed to an idle loop writes no byte.
func TestWakeThroughTheRunningLoop(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	idle := func() bool { return !e.wk.pending.Load() }
	require.Eventually(t, idle, 3*time.Second, time.Millisecond, "the loop goes idle after start")
	bytes := e.wk.bytes.Load()
	for i := range 5 {
		require.Eventually(t, idle, 3*time.Second, time.Millisecond, "idle before request %d", i)
		_, err := e.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err, "request %d: the loop woke", i)
	}
	assert.Equal(t, bytes, e.wk.bytes.Load(), "no wake-up byte while the loop runs")
}

// detach waits for the callers already waking through the loop (gnet closes the loop's eventfd
// once it is stopped); after it a wake-up is a byte on the socketpair, for the next loop.
func TestDetachWaitsForWakers(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	require.NoError(t, e.wk.open())
	e.wk.attach(&fakeConn{}) // its Wake would panic: nothing may call it once detached
	waitsForWriters(t, e, e.wk.detach, "detach")
	assert.Nil(t, e.wk.loop.Load())
	e.wake()
	assert.EqualValues(t, 1, e.wk.bytes.Load(), "a byte on the socketpair")
	e.closeWake()
	require.NoError(t, e.Close(ctxT(t, time.Second)))
}
