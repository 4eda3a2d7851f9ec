package invariant

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a testing.TB that keeps the failures instead of failing the test, and runs its
// cleanups when told.
type recorder struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *recorder) Helper()                           {}
func (r *recorder) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestLedger(t *testing.T) {
	l := NewLedger()
	l.Accept(1)
	l.Accept(2)
	require.NoError(t, l.Complete(1))
	assert.Equal(t, 1, l.Outstanding())
	require.NoError(t, l.Complete(2))
	ok := &recorder{TB: t}
	l.Verify(ok)
	assert.Empty(t, ok.errs)

	assert.Error(t, l.Complete(2), "a second completion")
	assert.NoError(t, l.Complete(3))
	bad := &recorder{TB: t}
	l.Verify(bad)
	assert.Len(t, bad.errs, 2, "request 2 twice, request 3 never accepted")

	l.Accept(4)
	lost := &recorder{TB: t}
	l.Verify(lost)
	assert.Len(t, lost.errs, 3, "request 4 never completed")
}

// A descriptor or a goroutine left behind, or a heap above the cap, fails the check.
func TestProcessFindsLeaks(t *testing.T) {
	closingWait = 100 * time.Millisecond
	clean := &recorder{TB: t}
	Process(clean, 1<<40)
	clean.end()
	assert.Empty(t, clean.errs)

	r := &recorder{TB: t}
	Process(r, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	release := make(chan struct{})
	defer close(release)
	go func() { <-release }()
	r.end()
	assert.Len(t, r.errs, 3, "a descriptor, a goroutine and the heap: %v", r.errs)
}
