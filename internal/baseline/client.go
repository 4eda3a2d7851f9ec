// Package baseline is a conventional Diameter S13 client: the in-repo baseline the event-loop
// engine is measured against (bench/). It is built the way a typical Go Diameter stack is, and
// built competently, so the comparison shows the architecture and not a strawman:
//
//   - per connection, a reader goroutine and a writer goroutine on a net.Conn;
//   - Go hands each request to its connection's writer through a buffered channel; the writer
//     encodes the ECR into a reused buffer (s13.AppendECR, the same allocation-free codec the
//     engine uses) and writes it with one conn.Write per request: no cross-request batching;
//   - pending requests live in a map[uint32]*pending keyed by Hop-by-Hop id, under a sync.Mutex;
//   - each request has its own time.AfterFunc for its timeout;
//   - completion is a per-request callback run on the reader goroutine (a timeout's on the
//     timer's goroutine); Check waits on a channel.
//
// The base protocol is what such a client typically does: CER/CEA at Dial (Host-IP-Address from
// the socket, S13 advertised as Vendor-Specific-Application-Id {10415, 16777252}), DWA to the
// peer's DWR, DPA to the peer's DPR (the connection then takes no new requests), an E-bit 3001
// answer to any other request, and DPR on Close with a bounded wait for the DPA. It sends no DWR
// of its own, and it neither reconnects nor fails over: a lost connection fails its pending
// requests with ErrConnectionLost.
//
// Every request accepted by Go or Check completes exactly once.
package baseline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// Defaults for zero Config fields.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	// DPATimeout bounds Close's wait for the DPA answering its DPR.
	DPATimeout = 2 * time.Second
	// SendQueueSize is the capacity of each connection's request channel; Go blocks while it is
	// full.
	SendQueueSize = 4096
	// MaxMessageSize bounds a received message (the framing guard).
	MaxMessageSize = framing.DefaultMaxMessageSize
)

// Config configures a Client.
type Config struct {
	Addr             string // the peer's host:port
	Conns            int    // connections, used round-robin; default 1
	OriginHost       string // our DiameterIdentity
	OriginRealm      string
	DestinationRealm string // for requests that have none; default OriginRealm
	// IdentityPerConnection gives connection k (1-based) its own Origin-Host: the first label of
	// OriginHost with "-k" appended (gw.realm -> gw-1.realm, gw-2.realm, ...).
	IdentityPerConnection bool
	RequestTimeout        time.Duration // answer deadline; default 5 s
	ConnectTimeout        time.Duration // TCP connect plus CER/CEA, per connection; default 10 s
}

// Client is the conventional S13 client. Create it with Dial; end it with Close.
type Client struct {
	cfg     Config
	conns   []*conn
	rr      atomic.Uint32
	e2e     *framing.EndToEndIDs
	stateID uint32
	sessHi  uint32
	sessLo  atomic.Uint32

	closing     atomic.Bool
	outstanding atomic.Int64 // accepted, not completed (plus callers between admit and submit)
	drained     chan struct{}
	drainedOnce sync.Once
	closeOnce   sync.Once
	closeErr    error
}

// Dial opens cfg.Conns connections to cfg.Addr, one after the other, and completes the
// capabilities exchange on each. It fails, closing what it opened, if cfg is incomplete
// (ErrInvalidConfig), if any connection cannot be opened (an error wrapping ErrCEARejected when
// the peer refused our CER) or if ctx ends. Safe for concurrent use (it shares nothing).
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.DestinationRealm == "" {
		cfg.DestinationRealm = cfg.OriginRealm
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Addr == "" || cfg.OriginHost == "" || cfg.OriginRealm == "" {
		return nil, fmt.Errorf("%w: Addr, OriginHost and OriginRealm are required", ErrInvalidConfig)
	}
	now := time.Now()
	cl := &Client{
		cfg:     cfg,
		e2e:     framing.NewEndToEndIDs(framing.EndToEndSeed(now.Unix(), rand.Uint32())),
		stateID: uint32(now.Unix()),
		sessHi:  uint32(now.Unix()),
		drained: make(chan struct{}),
	}
	for k := 1; k <= cfg.Conns; k++ {
		c, err := cl.dialConn(ctx, k)
		if err != nil {
			for _, c := range cl.conns {
				c.fail(ErrClosed)
				c.wg.Wait()
			}
			return nil, fmt.Errorf("baseline: connection %d to %s: %w", k, cfg.Addr, err)
		}
		cl.conns = append(cl.conns, c)
	}
	for _, c := range cl.conns {
		c.start()
	}
	return cl, nil
}

// Identity is the Origin-Host that connection k (1-based) presents: OriginHost, or with
// IdentityPerConnection the engine's per-connection identity (engine.ConnectionIdentity), so that
// both clients present the same identities to a peer. Safe for concurrent use.
func (c *Config) Identity(k int) string {
	p := engine.SharedIdentity
	if c.IdentityPerConnection {
		p = engine.IdentityPerConnection
	}
	return engine.ConnectionIdentity(c.OriginHost, p, k)
}

// Go sends one ECR; cb receives the ECA (any decodable answer, whatever its result: inspect the
// Answer) or an error wrapping ErrTimeout, ErrConnectionLost or ErrClosed, exactly once. When Go
// returns an error (ErrInvalidRequest, ErrClosed, ErrNoConnection) nothing was sent and cb is
// never called. cb runs on the connection's reader goroutine (for a timeout, on the timer's
// goroutine; for a connection failure, on the goroutine that noticed it, possibly Close's), so
// callbacks of different requests may run concurrently and must be safe for that; the Answer
// aliases the reader's buffer and is valid only during the call (Answer.Clone keeps it). cb may
// call Go. Go blocks while the chosen connection's send queue (SendQueueSize) is full. Safe for
// concurrent use.
func (cl *Client) Go(req s13.Request, cb func(s13.Answer, error)) error {
	if cb == nil {
		return fmt.Errorf("%w: nil callback", ErrInvalidRequest)
	}
	return cl.submit(&req, cl.cfg.RequestTimeout, cb)
}

// Check sends one ECR and waits for its answer. The deadline is the earlier of ctx's and
// RequestTimeout. Any decodable ECA is returned with a nil error; errors are those of Go, plus
// ctx's error when ctx is cancelled first (wrapped with ErrTimeout when its deadline passed; the
// request then still completes in the background). The Answer owns its memory. Safe for
// concurrent use; do not call it from a Go callback (it would wait on the reader that runs it).
func (cl *Client) Check(ctx context.Context, req s13.Request) (s13.Answer, error) {
	if err := ctx.Err(); err != nil {
		return s13.Answer{}, err
	}
	timeout := cl.cfg.RequestTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	type result struct {
		a   s13.Answer
		err error
	}
	ch := make(chan result, 1)
	err := cl.submit(&req, timeout, func(a s13.Answer, err error) { ch <- result{a.Clone(), err} })
	if err != nil {
		return s13.Answer{}, err
	}
	select {
	case r := <-ch:
		return r.a, r.err
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return s13.Answer{}, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		}
		return s13.Answer{}, ctx.Err()
	}
}

// submit validates req, admits it, registers it with a connection and queues it for that
// connection's writer.
func (cl *Client) submit(req *s13.Request, timeout time.Duration, cb func(s13.Answer, error)) error {
	if req.DestinationRealm == "" {
		req.DestinationRealm = cl.cfg.DestinationRealm
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	// Admission: count first, then check closing, so Close either sees this request counted or
	// this caller sees closing (sequentially consistent atomics).
	cl.outstanding.Add(1)
	if cl.closing.Load() {
		cl.release()
		return ErrClosed
	}
	p := &pending{req: *req, e2e: cl.e2e.Next(), cb: cb}
	if req.SessionID == "" {
		p.sessLo = cl.sessLo.Add(1)
	}
	for range len(cl.conns) {
		c := cl.pick()
		if c == nil {
			break
		}
		if c.register(p, timeout) {
			select {
			case c.sendq <- p:
			case <-c.done:
				// The connection died after p was registered: its failure completes p.
			}
			return nil
		}
	}
	cl.release()
	return ErrNoConnection
}

// pick returns the next usable connection round-robin, nil when none is.
func (cl *Client) pick() *conn {
	n := uint32(len(cl.conns))
	start := cl.rr.Add(1) - 1
	for i := range n {
		c := cl.conns[(start+i)%n]
		if c.usable.Load() {
			return c
		}
	}
	return nil
}

// release ends one request's admission.
func (cl *Client) release() {
	if cl.outstanding.Add(-1) == 0 && cl.closing.Load() {
		cl.drainedOnce.Do(func() { close(cl.drained) })
	}
}

// complete finishes p: its timer is stopped and its callback run. The caller took p out of its
// connection's map (or never put it there), which is what makes this happen once.
func (cl *Client) complete(p *pending, a *s13.Answer, err error) {
	p.timer.Stop()
	if a != nil {
		p.cb(*a, nil)
	} else {
		p.cb(s13.Answer{}, err)
	}
	cl.release()
}

// Pending returns the number of requests accepted and not yet completed. Safe for concurrent use.
func (cl *Client) Pending() int { return int(cl.outstanding.Load()) }

// Close stops taking requests, waits until the outstanding ones complete or ctx ends, sends DPR
// on every open connection and waits for the DPAs (bounded by DPATimeout and ctx), then closes
// the connections and waits for their goroutines. Requests still outstanding then complete with
// ErrClosed. It returns nil after a clean shutdown, or an error wrapping ctx.Err() when it had to
// cut the drain short. Safe for concurrent use; later calls wait for the first and return its
// result.
func (cl *Client) Close(ctx context.Context) error {
	// Once.Do holds later callers until the first call's shutdown has returned.
	cl.closeOnce.Do(func() { cl.closeErr = cl.shutdown(ctx) })
	return cl.closeErr
}

func (cl *Client) shutdown(ctx context.Context) error {
	cl.closing.Store(true)
	var cut error
	if cl.outstanding.Load() > 0 {
		select {
		case <-cl.drained:
		case <-ctx.Done():
			cut = ctx.Err()
		}
	}
	for _, c := range cl.conns {
		c.usable.Store(false)
		c.sendDPR()
	}
	bound := time.NewTimer(DPATimeout)
	defer bound.Stop()
wait:
	for _, c := range cl.conns {
		select {
		case <-c.dpa:
		case <-c.done:
		case <-bound.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	for _, c := range cl.conns {
		c.fail(ErrClosed)
		c.wg.Wait()
	}
	if cut != nil {
		return fmt.Errorf("baseline: close cut short: %w", cut)
	}
	return nil
}
