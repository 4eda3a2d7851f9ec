package engine

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/panjf2000/gnet/v2"
)

// dialer is the dials in flight. Each runs on a goroutine of its own (gnet's Enroll blocks until
// OnOpen has run on the loop, so it must never be called from it) and reports back with post,
// or through OnOpen.
type dialer struct {
	// Safe for concurrent use.
	ctx    context.Context // every dial's parent: cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // a share per dial goroutine (see dialDone)

	handshakes sync.WaitGroup // TLS handshake goroutines (tls.go), ended by their connection's close

	mu        sync.Mutex
	enrolling map[*connCtx]struct{} // dials inside gnet's EnrollContext; under mu
}

func (d *dialer) init() {
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.enrolling = map[*connCtx]struct{}{}
}

// connCtx is a dialled socket's gnet context: which connection slot and attempt it is for.
type connCtx struct {
	p          *draConn
	attempt    uint64
	client     *gnet.Client // the client it is being enrolled in
	registered atomic.Bool  // OnOpen ran: EnrollContext returns
	done       atomic.Bool  // its dials.wg share is given back (dialDone)
}

// dial starts a connection attempt off the loop: net.Dialer with a timeout, then Enroll, which
// blocks until OnOpen has run on the loop and so must never be called from it. Loop only.
func (p *draConn) dial() {
	e := p.e
	p.attempt++
	ctx, cancel := context.WithTimeout(e.dials.ctx, e.cfg.ConnectTimeout)
	p.dialCancel = cancel
	e.dials.wg.Add(1)
	go e.dialPeer(ctx, cancel, p, p.attempt, p.dra.addr)
}

func (e *Engine) dialPeer(ctx context.Context, cancel context.CancelFunc, p *draConn, attempt uint64, addr string) {
	cc := &connCtx{p: p, attempt: attempt}
	defer e.dialDone(cc)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		if tc, ok := nc.(*net.TCPConn); ok {
			err = tc.SetNoDelay(!e.cfg.EnableNagle)
		}
		if err == nil {
			err = e.enroll(nc, cc)
		} else {
			nc.Close()
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("connect timeout")
		}
		e.post(func() { p.dialFailed(attempt, err) })
	}
}

// enroll hands a dialled socket to the current loop, noting the dial as inside EnrollContext:
// should a callback end that loop first, gnet would never return (see releaseStuckDials).
func (e *Engine) enroll(nc net.Conn, cc *connCtx) error {
	d := &e.dials
	d.mu.Lock() // with the client read under it, releaseStuckDials sees every dial of a dead one
	cl := e.life.client.Load()
	if cl != nil {
		cc.client = cl
		d.enrolling[cc] = struct{}{}
	}
	d.mu.Unlock()
	if cl == nil {
		nc.Close()
		return errors.New("no event loop (a callback ended it; a new one is starting)")
	}
	_, err := cl.EnrollContext(nc, cc)
	d.mu.Lock()
	delete(d.enrolling, cc)
	d.mu.Unlock()
	return err
}

// dialFailed runs on the loop when a dial attempt failed.
func (p *draConn) dialFailed(attempt uint64, err error) {
	if attempt != p.attempt || p.m.State() != fsm.Connecting {
		return // stale: the attempt was cancelled or superseded
	}
	p.dialCancel = nil
	p.stats.setError(err)
	p.log.Warn("connect failed", "addr", p.dra.addr, "err", err)
	p.step(fsm.Event{Kind: fsm.EvConnectFailed}, nil)
}

// releaseStuckDials gives up on the dials that were inside the dead client's EnrollContext and
// had not been registered: gnet waits there for the loop to register the socket, which will
// never happen, and offers no way to cancel it. Each such goroutine (and its socket) stays until
// the process exits; Close no longer waits for them.
func (e *Engine) releaseStuckDials(dead *gnet.Client) {
	n := 0
	d := &e.dials
	d.mu.Lock()
	for cc := range d.enrolling {
		if cc.client == dead && !cc.registered.Load() {
			delete(d.enrolling, cc)
			e.dialDone(cc)
			n++
		}
	}
	d.mu.Unlock()
	if n > 0 {
		e.log.Error("dials stuck in gnet's EnrollContext of the ended loop: their goroutines stay until the process exits",
			"count", n)
	}
}

// dialDone ends a dial's share of dials.wg, once, whether the dial returned or was given up.
func (e *Engine) dialDone(cc *connCtx) {
	if cc.done.CompareAndSwap(false, true) {
		e.dials.wg.Done()
	}
}
