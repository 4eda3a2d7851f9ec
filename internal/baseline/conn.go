package baseline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// pending is one request from Go until its completion. Immutable once queued, except timer
// (set under the connection's mutex before anyone else can see p).
type pending struct {
	req    s13.Request
	hbh    uint32
	e2e    uint32
	sessLo uint32
	cb     func(s13.Answer, error)
	timer  *time.Timer
}

// conn is one connection: a reader goroutine, a writer goroutine, and the pending map.
type conn struct {
	cl    *Client
	index int // 1-based
	id    framing.Identity
	nc    net.Conn
	carry []byte // bytes read past the CEA, handed to the reader

	sendq  chan *pending // requests for the writer
	ctrl   chan []byte   // base messages for the writer (DWA, DPA, DPR, error answers)
	done   chan struct{} // closed when the connection has failed or was closed
	dpa    chan struct{} // closed when the DPA to our DPR arrives
	dpaOne sync.Once
	usable atomic.Bool // open and not disconnected by the peer
	wg     sync.WaitGroup

	mu      sync.Mutex
	pending map[uint32]*pending
	hbh     uint32
	dead    bool
}

// dialConn connects and exchanges capabilities; the connection's goroutines are not started yet.
func (cl *Client) dialConn(ctx context.Context, k int) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cl.cfg.Addr)
	if err != nil {
		return nil, err
	}
	// Bound the CER/CEA exchange by ctx too: a cancelled ctx unblocks the read at once.
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &conn{
		cl:      cl,
		index:   k,
		id:      framing.Identity{OriginHost: cl.cfg.Identity(k), OriginRealm: cl.cfg.OriginRealm, OriginStateID: cl.stateID},
		nc:      nc,
		sendq:   make(chan *pending, SendQueueSize),
		ctrl:    make(chan []byte, 16),
		done:    make(chan struct{}),
		dpa:     make(chan struct{}),
		pending: make(map[uint32]*pending),
		hbh:     rand.Uint32(),
	}
	err = c.exchangeCapabilities()
	if !stop() || ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.usable.Store(true)
	return c, nil
}

// exchangeCapabilities sends our CER and checks the CEA: 2001, no E bit, S13 (or Relay)
// advertised.
func (c *conn) exchangeCapabilities() error {
	var ips []netip.Addr
	if a, ok := c.nc.LocalAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			ips = []netip.Addr{ip.Unmap()}
		}
	}
	caps := framing.Capabilities{
		OriginHost:         c.id.OriginHost,
		OriginRealm:        c.id.OriginRealm,
		HostIPAddresses:    ips,
		VendorID:           framing.Vendor3GPP,
		ProductName:        "diam-gw-baseline",
		OriginStateID:      c.id.OriginStateID,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
	}
	hbh := c.nextHBH()
	if _, err := c.nc.Write(framing.AppendCER(nil, hbh, c.cl.e2e.Next(), &caps)); err != nil {
		return err
	}
	buf := make([]byte, 0, 4096)
	for {
		n, err := framing.FrameLen(buf, MaxMessageSize)
		if err != nil {
			return err
		}
		if n > 0 {
			msg := buf[:n]
			c.carry = append([]byte(nil), buf[n:]...)
			h, err := framing.ParseHeader(msg)
			if err != nil {
				return err
			}
			if h.Code != framing.CmdCapabilitiesExchange || h.IsRequest() || h.HopByHop != hbh {
				return fmt.Errorf("%w: expected the CEA, got %s", ErrCEARejected, framing.CommandName(h.Code, h.IsRequest()))
			}
			a, err := framing.ParseCEA(msg)
			switch {
			case err != nil:
				return fmt.Errorf("%w: %w", ErrCEARejected, err)
			case a.Error || a.ResultCode != framing.Success:
				return fmt.Errorf("%w: Result-Code %d %s", ErrCEARejected, uint32(a.ResultCode), a.ResultCode)
			case !a.Supports(framing.AppS13):
				return fmt.Errorf("%w: peer advertises neither S13 nor Relay", ErrCEARejected)
			}
			return nil
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return err
		}
	}
}

// start launches the reader and the writer.
func (c *conn) start() {
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
}

func (c *conn) nextHBH() uint32 {
	c.mu.Lock()
	id := c.hbh
	c.hbh++
	c.mu.Unlock()
	return id
}

// register gives p a Hop-by-Hop id, puts it in the pending map and arms its timeout; false when
// the connection is dead.
func (c *conn) register(p *pending, timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return false
	}
	p.hbh = c.hbh
	c.hbh++
	c.pending[p.hbh] = p
	p.timer = time.AfterFunc(timeout, func() { c.expire(p) })
	return true
}

// take removes and returns the request waiting for hbh, nil when there is none.
func (c *conn) take(hbh uint32) *pending {
	c.mu.Lock()
	p := c.pending[hbh]
	if p != nil {
		delete(c.pending, hbh)
	}
	c.mu.Unlock()
	return p
}

// expire is p's timeout, on the timer's goroutine.
func (c *conn) expire(p *pending) {
	c.mu.Lock()
	mine := c.pending[p.hbh] == p
	if mine {
		delete(c.pending, p.hbh)
	}
	c.mu.Unlock()
	if mine {
		c.cl.complete(p, nil, ErrTimeout)
	}
}

// fail ends the connection once: no more requests, the socket closed (which ends the reader;
// done ends the writer), and every pending request completed with err.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	ps := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.usable.Store(false)
	close(c.done)
	_ = c.nc.Close()
	for _, p := range ps {
		c.cl.complete(p, nil, err)
	}
}

// lost is the error a transport failure gives pending requests.
func (c *conn) lost(cause error) error {
	if c.cl.closing.Load() {
		return ErrClosed
	}
	return fmt.Errorf("%w: connection %d: %w", ErrConnectionLost, c.index, cause)
}

// control queues a base message for the writer; dropped when the connection is gone.
func (c *conn) control(b []byte) {
	select {
	case c.ctrl <- b:
	case <-c.done:
	}
}

// sendDPR asks the peer to disconnect us (RFC 6733 §5.4), on Close.
func (c *conn) sendDPR() {
	select {
	case <-c.done:
		return
	default:
	}
	c.control(framing.AppendDPR(nil, c.nextHBH(), c.cl.e2e.Next(), &c.id, framing.Rebooting))
}

// writeLoop encodes and writes each request on its own: one conn.Write per request.
func (c *conn) writeLoop() {
	defer c.wg.Done()
	buf := make([]byte, 0, 1024)
	env := s13.Envelope{OriginHost: c.id.OriginHost, OriginRealm: c.id.OriginRealm, SessionHi: c.cl.sessHi}
	for {
		var out []byte
		select {
		case p := <-c.sendq:
			env.HopByHop, env.EndToEnd, env.SessionLo = p.hbh, p.e2e, p.sessLo
			buf = s13.AppendECR(buf[:0], &env, &p.req)
			out = buf
		case out = <-c.ctrl:
		case <-c.done:
			return
		}
		if _, err := c.nc.Write(out); err != nil {
			c.fail(c.lost(err))
			return
		}
	}
}

// readLoop splits the stream into messages and handles each; a read error or a framing error
// ends the connection.
func (c *conn) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, c.carry...)
	c.carry = nil
	for {
		off := 0
		for {
			n, err := framing.FrameLen(buf[off:], MaxMessageSize)
			if err != nil {
				c.fail(c.lost(err))
				return
			}
			if n == 0 {
				break
			}
			c.message(buf[off : off+n])
			off += n
		}
		if off > 0 {
			buf = buf[:copy(buf, buf[off:])]
		}
		if len(buf) == cap(buf) { // a message larger than the buffer: grow it
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && m == 0 {
			c.fail(c.lost(err))
			return
		}
	}
}

// message handles one complete message on the reader goroutine.
func (c *conn) message(msg []byte) {
	h, err := framing.ParseHeader(msg)
	if err != nil {
		return // FrameLen checked the same fields
	}
	switch {
	case h.Code == s13.CommandCode && !h.IsRequest():
		p := c.take(h.HopByHop)
		if p == nil {
			return // late (after its timeout), duplicate or bogus
		}
		a, err := s13.ParseECA(msg)
		if err != nil {
			c.cl.complete(p, nil, fmt.Errorf("%w: %w", ErrMalformedAnswer, err))
			return
		}
		c.cl.complete(p, &a, nil)
	case h.Code == framing.CmdDeviceWatchdog && h.IsRequest():
		c.control(framing.AppendDWA(nil, h, framing.Success, &c.id))
	case h.Code == framing.CmdDisconnectPeer && h.IsRequest():
		// The peer is leaving: no new requests here; it closes once it has our DPA.
		c.usable.Store(false)
		c.control(framing.AppendDPA(nil, h, framing.Success, &c.id))
	case h.Code == framing.CmdDisconnectPeer:
		c.dpaOne.Do(func() { close(c.dpa) })
	case h.IsRequest():
		// RFC 6733 §7.1.3: a command we do not support gets an E-bit 3001.
		_, b, _ := framing.ParseBase(msg)
		c.control(framing.AppendAnswerMessage(nil, h, &c.id, &framing.ErrorAnswer{
			ResultCode: framing.CommandUnsupported, SessionID: b.SessionID,
		}))
	}
	// Other answers (DWA, a stray CEA): nothing to do.
}
