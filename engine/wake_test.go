package engine

import (
	"testing"
	"time"

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
	e.wk.writers.Add(1) // a caller past the flag, about to write
	done := make(chan struct{})
	go func() {
		e.closeWake()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("closed while a caller could still write to it")
	case <-time.After(100 * time.Millisecond):
	}
	e.wk.writers.Add(-1)
	waitFor(t, done, 3*time.Second, "closeWake")
	assert.True(t, e.wk.pending.Load(), "left set: no caller writes again")
	e.wake()
	assert.Zero(t, e.wk.writers.Load())
	require.NoError(t, e.Close(ctxT(t, time.Second)))
}
