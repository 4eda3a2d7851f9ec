package server

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/ratelog"
	"github.com/hsdfat8/diam-gw/internal/ratelog/ratelogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo answers a request with itself, R bit cleared.
func echo(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
	n := len(dst)
	dst = append(dst, msg...)
	dst[n+4] &^= framing.FlagRequest
	return dst, 0
}

// testConn is an open connection on a loop without gnet: traffic's output stays in c.out.B.
func testConn(t *testing.T) *conn {
	t.Helper()
	s, err := New(Config{OriginHost: "eir.test.local", OriginRealm: "test.local", Handler: HandlerFunc(echo)})
	require.NoError(t, err)
	l := newLoop(s, nil)
	c := &conn{l: l, m: openResponder(t, s), frames: link.Reassembler{Max: s.cfg.MaxMessageSize}}
	c.dq.prev, c.dq.next = &c.dq, &c.dq
	return c
}

// TestTrafficReassemblesAnySplit feeds one stream of requests of assorted sizes cut at random
// places, including inside the length field and between messages: every request must be
// answered once, in order, whatever the cuts.
func TestTrafficReassemblesAnySplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream, want []byte
	for i := 0; i < 40; i++ {
		m, mark := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 999, HopByHop: uint32(i)})
		m = framing.AppendOctets(m, framing.AVPSessionID, framing.AVPFlagMandatory, 0, bytes.Repeat([]byte{'x'}, rng.IntN(300)))
		m = framing.EndMessage(m, mark)
		stream = append(stream, m...)
		want = append(want, m...)
		want[len(want)-len(m)+4] &^= framing.FlagRequest
	}
	for trial := 0; trial < 300; trial++ {
		c := testConn(t)
		for rest := stream; len(rest) > 0; {
			k := 1 + rng.IntN(min(len(rest), []int{3, 30, 700, 5000}[trial%4]))
			c.traffic(bytes.Clone(rest[:k]), 0) // a fresh slice, as gnet's buffer is reused
			rest = rest[k:]
		}
		require.Equal(t, keepOpen, c.want)
		require.Zero(t, c.frames.Pending(), "nothing left over")
		require.True(t, bytes.Equal(want, c.out.B), "trial %d: answers differ", trial)
		assert.EqualValues(t, 40, c.l.ctr[cRequests])
	}
}

func TestTrafficFramingErrorAtAnySplit(t *testing.T) {
	bad := framing.AppendHeader(nil, framing.Header{Version: 1, Length: 22, Flags: framing.FlagRequest, Code: 999})
	good, mark := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 999})
	good = framing.EndMessage(good, mark)
	stream := append(append([]byte(nil), good...), bad...)
	for cut := 1; cut < len(stream); cut++ {
		c := testConn(t)
		c.traffic(bytes.Clone(stream[:cut]), 0)
		c.traffic(bytes.Clone(stream[cut:]), 0)
		assert.Equal(t, closeRST, c.want, "cut at %d", cut)
		assert.EqualValues(t, 1, c.l.ctr[cFramingErrors])
		c.traffic([]byte{1, 2, 3}, 0) // closing: ignored
		assert.EqualValues(t, 1, c.l.ctr[cRequests], "only the good request before the bad header")
	}
}

// A client cannot make the loop write a log record per bad stream: connections that each send a
// bad header are all reset and counted, with recordBurst warnings per interval on their loop, and
// the next one says how many were left out.
func TestFramingErrorWarningsRateLimited(t *testing.T) {
	logs := &ratelogtest.Counter{}
	s, err := New(Config{OriginHost: "eir.test.local", OriginRealm: "test.local", Logger: slog.New(logs)})
	require.NoError(t, err)
	l := newLoop(s, nil)
	bad := []byte{2, 0, 0, 20}
	const n = 50
	for i := range n {
		c := &conn{l: l, m: openResponder(t, s), frames: link.Reassembler{Max: s.cfg.MaxMessageSize}}
		c.traffic(bad, int64(i)*int64(time.Millisecond))
		require.Equal(t, closeRST, c.want, "every bad stream is reset")
	}
	assert.EqualValues(t, n, l.ctr[cFramingErrors])
	assert.EqualValues(t, recordBurst, logs.Warns(), "a burst of records for the whole flood")
	c := &conn{l: l, m: openResponder(t, s), frames: link.Reassembler{Max: s.cfg.MaxMessageSize}}
	c.traffic(bad, int64(ratelog.DefaultEvery)+int64(time.Second))
	assert.EqualValues(t, recordBurst+1, logs.Warns(), "one more after the interval")
	assert.EqualValues(t, n-recordBurst, logs.Suppressed(), "saying how many were left out")
}
