package faultproxy

import (
	"bytes"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// upstream is an echo server that also records the size of each read.
type upstream struct {
	ln    net.Listener
	mu    sync.Mutex
	reads []int
	wg    sync.WaitGroup
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := &upstream{ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						u.mu.Lock()
						u.reads = append(u.reads, n)
						u.mu.Unlock()
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); u.wg.Wait() })
	return u
}

func (u *upstream) readSizes() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.reads...)
}

func startProxy(t *testing.T, upstreamAddr string) *Proxy {
	t.Helper()
	p, err := Start(upstreamAddr)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func dial(t *testing.T, p *Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readFull reads len(want) bytes within d and checks them.
func readFull(t *testing.T, c net.Conn, want []byte, d time.Duration) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	got := make([]byte, len(want))
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// roundTrip writes msg on c and reads its echo.
func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_, err := c.Write([]byte(msg))
	require.NoError(t, err)
	readFull(t, c, []byte(msg), 10*time.Second)
}

// readErr is the error of a read on c, which must come within 10 s.
func readErr(t *testing.T, c net.Conn) error {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err := c.Read(make([]byte, 1))
	require.Error(t, err)
	return err
}

// awaitEvent waits for the next applied fault.
func awaitEvent(t *testing.T, p *Proxy) Event {
	t.Helper()
	select {
	case ev := <-p.Events():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no fault applied")
		return Event{}
	}
}

func TestForwardsBothWays(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	msg := bytes.Repeat([]byte("diameter"), 10000)
	_, err := c.Write(msg)
	require.NoError(t, err)
	readFull(t, c, msg, 10*time.Second)
	// Counted once written: the client may read the last bytes first.
	require.Eventually(t, func() bool {
		s := p.Stats()
		return s.Accepted == 1 && s.ForwardedToUpstream == uint64(len(msg)) && s.ForwardedToClient == uint64(len(msg))
	}, 10*time.Second, time.Millisecond, "%+v", p.Stats())
}

// Latency delays each way by at least its delay; jitter never reorders bytes.
func TestLatencyDelaysAndKeepsOrder(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	require.NoError(t, p.Apply(Latency(Both, 60*time.Millisecond, 40*time.Millisecond)))
	c := dial(t, p)
	start := time.Now()
	var all []byte
	for i := range 20 {
		b := []byte{byte(i), byte(i), byte(i)}
		all = append(all, b...)
		_, err := c.Write(b)
		require.NoError(t, err)
	}
	readFull(t, c, all, 10*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 120*time.Millisecond, "delayed both ways")

	require.NoError(t, p.Apply(Latency(Both, 0, 0)))
	start = time.Now()
	roundTrip(t, c, "x")
	assert.Less(t, time.Since(start), 2*time.Second, "latency removed") // generous: only "not 60 ms+ each way forever"
}

// A blackhole swallows bytes without closing anything; lifted, new bytes flow and the swallowed
// ones never arrive.
func TestBlackholeIsHalfOpen(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, "before")

	require.NoError(t, p.Apply(Blackhole(ToUpstream, true)))
	_, err := c.Write([]byte("lost"))
	require.NoError(t, err, "the sender's write succeeds")
	require.Eventually(t, func() bool { return p.Stats().DroppedToUpstream == 4 }, 10*time.Second, time.Millisecond)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = c.Read(make([]byte, 16))
	var ne net.Error
	require.ErrorAs(t, err, &ne, "no FIN, no RST: the read times out")
	assert.True(t, ne.Timeout())
	assert.Equal(t, 1, p.Conns(), "the connection stays")

	require.NoError(t, p.Apply(Blackhole(ToUpstream, false)))
	roundTrip(t, c, "after")
}

// A FIN does not cross a blackhole either: the upstream's end stays open until it lifts.
func TestBlackholeHoldsTheFIN(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, "a")
	require.NoError(t, p.Apply(Blackhole(Both, true)))
	require.NoError(t, c.CloseWrite())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne, "the echo server saw no FIN, so it did not close")
	require.True(t, ne.Timeout())
	require.NoError(t, p.Apply(Blackhole(Both, false)))
	assert.ErrorIs(t, readErr(t, c), io.EOF, "lifted: the FIN goes through and the upstream closes")
}

// CloseAll ends every connection with a FIN, ResetAll with an RST.
func TestCloseAndReset(t *testing.T) {
	for _, tc := range []struct {
		fault Fault
		want  error
	}{{CloseAll(), io.EOF}, {ResetAll(), syscall.ECONNRESET}} {
		u := startUpstream(t)
		p := startProxy(t, u.ln.Addr().String())
		c := dial(t, p)
		roundTrip(t, c, "a")
		require.NoError(t, p.Apply(tc.fault))
		assert.ErrorIs(t, readErr(t, c), tc.want, tc.fault.String())
	}
}

// Slicing writes at most size bytes at a time, pause apart: the upstream never reads more.
func TestSliceWritesSmallChunks(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	require.NoError(t, p.Apply(Slice(ToUpstream, 3, 5*time.Millisecond)))
	c := dial(t, p)
	msg := []byte("0123456789abcdefghij")
	start := time.Now()
	_, err := c.Write(msg)
	require.NoError(t, err)
	readFull(t, c, msg, 10*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 6*5*time.Millisecond, "7 slices, 6 pauses")
	sizes := u.readSizes()
	assert.GreaterOrEqual(t, len(sizes), 2, "%v", sizes)
	for _, n := range sizes {
		assert.LessOrEqual(t, n, 3, "%v", sizes)
	}
}

// Bandwidth paces the bytes: 32 KiB at 128 KiB/s takes about a quarter of a second.
func TestBandwidthLimits(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	require.NoError(t, p.Apply(Bandwidth(ToClient, 128<<10)))
	c := dial(t, p)
	msg := bytes.Repeat([]byte{7}, 32<<10)
	start := time.Now()
	_, err := c.Write(msg)
	require.NoError(t, err)
	readFull(t, c, msg, 20*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
}

// Refuse closes new connections at once and leaves the existing ones; Heal lifts it.
func TestRefuseNewConnections(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	old := dial(t, p)
	roundTrip(t, old, "a")

	require.NoError(t, p.Apply(Refuse(true)))
	c := dial(t, p)
	assert.ErrorIs(t, readErr(t, c), io.EOF)
	assert.EqualValues(t, 1, p.Stats().Refused)

	roundTrip(t, old, "b")

	require.NoError(t, p.Apply(Heal()))
	c2 := dial(t, p)
	roundTrip(t, c2, "c")
}

// A timeline applies its steps in offset order, at or after their offsets, and reports each.
func TestTimeline(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	start := time.Now()
	steps := append(For(40*time.Millisecond, 60*time.Millisecond, Blackhole(Both, true), Blackhole(Both, false)),
		At(150*time.Millisecond, ResetAll()))
	p.Schedule(steps[2], steps[0], steps[1]) // out of order on purpose
	for _, want := range []Step{steps[0], steps[1], steps[2]} {
		ev := awaitEvent(t, p)
		assert.Equal(t, want.Fault.String(), ev.Fault.String())
		assert.GreaterOrEqual(t, ev.At.Sub(start), want.At)
	}
	assert.ErrorIs(t, readErr(t, c), syscall.ECONNRESET)
}

// A cancelled timeline applies nothing more; Close stops everything, and Apply after it fails.
func TestCancelAndClose(t *testing.T) {
	u := startUpstream(t)
	p, err := Start(u.ln.Addr().String())
	require.NoError(t, err)
	cancel := p.Schedule(At(time.Hour, ResetAll()))
	cancel()
	cancel()
	c := dial(t, p)
	roundTrip(t, c, "a")
	p.Schedule(At(time.Hour, ResetAll())) // Close ends it
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.Apply(Heal()), ErrClosed)
	assert.Equal(t, 0, p.Conns())
}

// An upstream that cannot be dialled: the client's connection is closed and counted.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	p := startProxy(t, addr)
	readErr(t, dial(t, p))
	require.Eventually(t, func() bool { return p.Stats().DialErrors == 1 }, 10*time.Second, time.Millisecond)
}

// CutAfter forwards exactly n more bytes, then resets the connection; it fires once.
func TestCutAfter(t *testing.T) {
	u := startUpstream(t)
	p := startProxy(t, u.ln.Addr().String())
	c := dial(t, p)
	roundTrip(t, c, "warm")
	require.NoError(t, p.Apply(CutAfter(ToClient, 5)))
	_, err := c.Write([]byte("0123456789"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	got, err := io.ReadAll(c)
	assert.Equal(t, "01234", string(got), "exactly the bytes before the cut")
	assert.ErrorIs(t, err, syscall.ECONNRESET)
	c2 := dial(t, p)
	roundTrip(t, c2, "the cut fired once")
}
