package engine

import (
	"context"
	"testing"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A socketless rig: an engine never started, whose connections are Open on fake transports, for
// tests that drive the loop-owned code directly on the test goroutine.

// fakeConn is the part of a gnet.Conn the loop uses while a connection is open. Calling anything
// else panics (the embedded interface is nil).
type fakeConn struct {
	gnet.Conn
	buffered int      // what OutboundBuffered reports
	written  [][]byte // each Write's bytes
	closed   bool
	reset    bool // SetLinger(0) before Close: an RST
}

func (c *fakeConn) Write(b []byte) (int, error) {
	c.written = append(c.written, append([]byte(nil), b...))
	return len(b), nil
}

func (c *fakeConn) OutboundBuffered() int { return c.buffered }

func (c *fakeConn) Close() error { c.closed = true; return nil }

func (c *fakeConn) SetLinger(sec int) error {
	c.reset = sec == 0
	return nil
}

// ecrs decodes the ECRs written to c.
func (c *fakeConn) ecrs(t *testing.T) []s13.ECR {
	t.Helper()
	var out []s13.ECR
	for _, b := range c.written {
		for _, msg := range linktest.Messages(t, b) {
			req, err := s13.ParseECR(msg)
			require.NoError(t, err)
			out = append(out, req)
		}
	}
	return out
}

// fakeEngine builds an engine that is never started and puts each of its connections in Open
// on a fakeConn, without the dial, CER and loop that would normally get it there.
func fakeEngine(t *testing.T, cfg Config) (*Engine, []*fakeConn) {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	var conns []*fakeConn
	for _, p := range e.peers {
		c := &fakeConn{}
		p.conn = c
		for _, k := range []fsm.EventKind{fsm.EvStart, fsm.EvConnected, fsm.EvCEAOK} {
			p.m.Step(fsm.Event{Kind: k}) // the state only: the actions (dial, CER) are not wanted
		}
		require.Equal(t, fsm.Open, p.m.State())
		e.setUsable(p, true)
		conns = append(conns, c)
	}
	return e, conns
}

// result records a request's completions.
type result struct {
	calls int
	err   error
}

// submitFake hands one request to the loop code as drain would.
func submitFake(t *testing.T, e *Engine, res *result) {
	t.Helper()
	req := testReq
	require.NoError(t, e.prepare(&req))
	e.outstanding.Add(1)
	r := e.takeRequest(&submission{req: req, cb: func(_ s13.Answer, err error) {
		res.calls++
		res.err = err
	}})
	e.send(r, e.now(), nil)
}

// submitRefused submits one request that must complete at once with want, writing nothing.
func submitRefused(t *testing.T, e *Engine, want error, conns []*fakeConn) {
	t.Helper()
	var res result
	submitFake(t, e, &res)
	assert.Equal(t, 1, res.calls)
	assert.ErrorIs(t, res.err, want)
	e.flush()
	for i, c := range conns {
		assert.Empty(t, c.written, "connection %d", i)
	}
}

// pending counts the requests in p's slot table.
func pending(p *draConn) int {
	n := 0
	for _, s := range p.slots.slots {
		if s.r != nil {
			n++
		}
	}
	return n
}
