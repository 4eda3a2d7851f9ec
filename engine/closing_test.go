package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the loop-owned code directly, on the test goroutine, with fake transports:
// the order of events inside one service round (a close decided while a batch is unwritten) is
// what they are about, and no real socket makes that order deterministic.

// twoDRAs is a config with a preferred DRA "a" (Origin-Host gw.test.local) and a fallback "b"
// whose connection presents gw-1.test.local, so a test can tell which identity a request carries.
func twoDRAs() Config {
	cfg := testConfig()
	cfg.DRAs = []DRA{
		{Name: "a", Address: "127.0.0.1:1", Priority: 0},
		{Name: "b", Address: "127.0.0.1:2", Priority: 1, Identity: IdentityPerConnection},
	}
	return cfg
}

// The ways the loop decides to reset a connection on its own, each of which gnet carries out
// later (Close is asynchronous).
var resets = []struct {
	name string
	do   func(p *draConn)
}{
	{"framing error", func(p *draConn) { p.framingError(errors.New("test: bad header")) }},
	{"stalled fragment", func(p *draConn) {
		_ = p.frames.Feed([]byte{1, 0, 0}, p) // three bytes of a header: incomplete
		p.frag.Expire(0)
	}},
}

// A connection being reset takes no requests from the moment the reset is decided: requests go
// to another connection, or fail with ErrNoConnection (nothing sent) when there is none.
func TestResettingConnectionTakesNoRequests(t *testing.T) {
	for _, rs := range resets {
		t.Run(rs.name, func(t *testing.T) {
			e, conns := fakeEngine(t, twoDRAs())
			a := e.peers[0]
			rs.do(a)
			require.True(t, conns[0].closed && conns[0].reset, "an RST was asked for")
			var res result
			submitFake(t, e, &res)
			e.flush()
			assert.Empty(t, conns[0].written, "nothing routed to the connection being reset")
			got := conns[1].ecrs(t)
			require.Len(t, got, 1)
			assert.False(t, got[0].Header.IsRetransmit())
			assert.Zero(t, res.calls, "pending on b")

			// alone: refused at once, as when nothing is usable
			cfg := testConfig("127.0.0.1:1")
			e1, conns1 := fakeEngine(t, cfg)
			rs.do(e1.peers[0])
			submitRefused(t, e1, ErrNoConnection, conns1)
		})
	}
}

// A request still in the batch of a connection that is reset before the batch is written never
// left: it goes out elsewhere as a first transmission (no T flag, the new connection's
// Origin-Host), and the dead connection counts no request, failover or retransmission for it. With
// FailoverLimit 0 it is still sent, not failed with ErrConnectionLost.
func TestUnwrittenRequestIsSentFreshElsewhere(t *testing.T) {
	for _, rs := range resets {
		for _, limit := range []int{0, DefaultFailoverLimit} {
			t.Run(fmt.Sprintf("%s/FailoverLimit %d", rs.name, limit), func(t *testing.T) {
				e, conns := fakeEngine(t, twoDRAs())
				e.cfg.FailoverLimit = limit // set on the engine: in a Config, 0 means the default
				a, b := e.peers[0], e.peers[1]
				var res result
				submitFake(t, e, &res)
				require.Equal(t, 1, pending(a), "the request is on a")
				rs.do(a) // decided while the request's bytes are still in a's batch
				e.flush()
				assert.Empty(t, conns[0].written, "a's batch was dropped, not written")
				a.closed(nil) // gnet's OnClose for the Close asked for
				e.resend(e.now())
				e.flush()
				e.publishStats()

				got := conns[1].ecrs(t)
				require.Len(t, got, 1)
				assert.False(t, got[0].Header.IsRetransmit(), "never sent before: no T flag (RFC 6733 §3)")
				assert.Equal(t, "gw-1.test.local", string(got[0].OriginHost), "a first send on b: b's identity")
				assert.Zero(t, res.calls, "pending on b, not failed")
				ca, cb := a.stats.counters(), b.stats.counters()
				assert.Zero(t, ca.Requests)
				assert.Zero(t, ca.Failovers)
				assert.Zero(t, ca.MessagesOut)
				assert.Equal(t, 0, ca.InFlight)
				assert.EqualValues(t, 1, cb.Requests)
				assert.Zero(t, cb.Retransmits)
				assert.Equal(t, 1, cb.InFlight)
			})
		}
	}
}

// The contrast: a request whose batch was written before the reset was sent, so its resend
// carries the T flag and the first connection's Origin-Host, and counts as a failover.
func TestWrittenRequestIsRetransmittedElsewhere(t *testing.T) {
	e, conns := fakeEngine(t, twoDRAs())
	a, b := e.peers[0], e.peers[1]
	var res result
	submitFake(t, e, &res)
	e.flush()
	first := conns[0].ecrs(t)
	require.Len(t, first, 1)
	a.framingError(errors.New("test: bad header"))
	a.closed(nil)
	e.resend(e.now())
	e.flush()
	e.publishStats()
	got := conns[1].ecrs(t)
	require.Len(t, got, 1)
	assert.True(t, got[0].Header.IsRetransmit())
	assert.Equal(t, first[0].Header.EndToEnd, got[0].Header.EndToEnd)
	assert.Equal(t, "gw.test.local", string(got[0].OriginHost))
	assert.EqualValues(t, 1, a.stats.counters().Requests)
	assert.EqualValues(t, 1, a.stats.counters().Failovers)
	assert.EqualValues(t, 1, b.stats.counters().Retransmits)
}

// Everything a connection has not written yet counts against MaxOutboundBytes, our batch as well
// as gnet's buffer: above it the connection takes no new ECRs; they go to another connection of
// the group, or fail with ErrBusy when every usable one is above it.
func TestRoutingAroundOutboundBacklog(t *testing.T) {
	const max = 4096
	cfg := twoDRAs()
	cfg.DRAs[1].Priority = 0 // one group: the other connection is the alternative
	cfg.MaxOutboundBytes = max
	e, conns := fakeEngine(t, cfg)
	a, b := e.peers[0], e.peers[1]
	over := max + 1
	for _, c := range []struct {
		name              string
		aGnet, aBatch, bG int
		want              *draConn
	}{
		{"a has room", 0, 0, over, a},
		{"a at the budget", max, 0, over, a},
		{"gnet's backlog above it", over, 0, 0, b},
		{"our batch and gnet's together", max / 2, max/2 + 1, 0, b},
		{"our batch alone", 0, over, 0, b},
		{"half of each is room", max / 2, max / 2, over, a},
	} {
		conns[0].buffered, conns[1].buffered = c.aGnet, c.bG
		a.out.B = append(a.out.B[:0], make([]byte, c.aBatch)...)
		g := a.dra.group
		g.rr, g.burst = 0, 0 // a is tried first: only the budget can turn it down
		require.True(t, g.usable[0] == a)
		p, err := e.route(nil, nil)
		if assert.NoError(t, err, c.name) {
			assert.Equal(t, c.want.dra.name, p.dra.name, c.name) // not Same: it would print the whole peer
		}
	}
	a.out.B = a.out.B[:0]

	conns[0].buffered, conns[1].buffered = over, over
	submitRefused(t, e, ErrBusy, conns)
}
