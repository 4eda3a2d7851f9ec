// Package testpeer is a scriptable Diameter peer for tests: a plain net.Listener on 127.0.0.1
// with a goroutine per connection, answering CER, DWR, DPR and ECR, and letting a test inject
// faults (silence, delays, drops, its own DWR or DPR, resets, raw bytes). It is deliberately a
// different implementation from the gnet-based server, so engine tests do not test gnet against
// itself. Everything here is safe for concurrent use.
package testpeer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// Reply is what the peer does with one ECR.
type Reply struct {
	Verdict s13.Verdict   // the ECA to send (zero value: 2001 WHITELISTED)
	Delay   time.Duration // answer after this long
	Drop    bool          // never answer
	Raw     []byte        // send these bytes instead of an ECA
	Chunk   int           // write the answer in pieces of this many bytes, one write each
}

// Config describes the peer.
type Config struct {
	OriginHost    string             // default eir.test.local
	OriginRealm   string             // default test.local
	CEAResult     framing.ResultCode // default 2001
	Relay         bool               // advertise Relay (0xFFFFFFFF) instead of S13
	NoCommonApp   bool               // advertise an unrelated application only
	OriginStateID uint32
	// Handler decides each ECR's reply; nil answers 2001 WHITELISTED at once.
	Handler func(c *Conn, req *s13.ECR) Reply
	// Reopen starts every connection in the peer's RFC 3539 REOPEN, as freeDiameter and OTP do
	// after an unclean close of the client (../shared/peers/README.md): a DWR ReopenDelay after
	// the CEA (at once when zero), the next one ReopenInterval after each DWA (at once when zero,
	// as freeDiameter; OTP waits a Tw), and every ECR dropped unanswered until the third DWA.
	Reopen         bool
	ReopenDelay    time.Duration
	ReopenInterval time.Duration
	// TLS, when set, makes the peer a TLS server (tls.NewListener): the handshake runs on the
	// connection's first read, and one that fails ends the connection with a Closed event whose
	// Err is the handshake's error.
	TLS *tls.Config
}

// EventKind names what the peer saw.
type EventKind int

// Events.
const (
	Accepted EventKind = iota
	GotCER
	GotDWR
	GotDWA
	GotDPR
	GotDPA
	GotECR
	GotOther
	Closed
)

var kindNames = [...]string{"Accepted", "CER", "DWR", "DWA", "DPR", "DPA", "ECR", "Other", "Closed"}

func (k EventKind) String() string { return kindNames[k] }

// Event is one thing the peer saw, in order.
type Event struct {
	Kind   EventKind
	Conn   *Conn
	Header framing.Header
	Origin string // Origin-Host of the message, when it has one
	Msg    []byte // a copy of the message (CER, DPA and Other events only)
	// Err is how the connection ended (Closed events only): the read error when the other side
	// ended it (io.EOF for a FIN, an error matching syscall.ECONNRESET for an RST), nil when this
	// side did (Close, Reset, Stop, a stream it could not parse).
	Err error
}

// Peer is the listening test peer.
type Peer struct {
	cfg    Config
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[*Conn]struct{}
	wg     sync.WaitGroup
	events chan Event

	silent     atomic.Bool // answer nothing at all
	ignoreDWR  atomic.Bool // answer everything but DWRs
	ECRs, DWRs atomic.Int64
	// ReopenDrops counts the ECRs dropped because they came during a REOPEN (Config.Reopen).
	ReopenDrops atomic.Int64
}

// StartT is Start for a test: it fails t at once when the peer cannot listen, and stops the peer
// when t ends.
func StartT(t testing.TB, cfg Config) *Peer {
	t.Helper()
	p, err := Start(cfg)
	if err != nil {
		t.Fatalf("testpeer: %v", err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Start listens on 127.0.0.1 (an ephemeral port).
func Start(cfg Config) (*Peer, error) {
	if cfg.OriginHost == "" {
		cfg.OriginHost = "eir.test.local"
	}
	if cfg.OriginRealm == "" {
		cfg.OriginRealm = "test.local"
	}
	if cfg.CEAResult == 0 {
		cfg.CEAResult = framing.Success
	}
	p := &Peer{cfg: cfg, conns: map[*Conn]struct{}{}, events: make(chan Event, 65536)}
	if err := p.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Peer) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if p.cfg.TLS != nil {
		ln = tls.NewListener(ln, p.cfg.TLS)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

// Addr returns host:port.
func (p *Peer) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// SetSilent makes the peer stop answering anything (it keeps reading): a stalled application.
func (p *Peer) SetSilent(on bool) { p.silent.Store(on) }

// SetIgnoreDWR makes the peer stop answering DWRs only.
func (p *Peer) SetIgnoreDWR(on bool) { p.ignoreDWR.Store(on) }

// Stop closes the listener and every connection (FIN) and waits for the goroutines.
func (p *Peer) Stop() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	conns := make([]*Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// Restart listens again on the same address after Stop.
func (p *Peer) Restart() error { return p.listen(p.Addr()) }

// Conns returns the open connections.
func (p *Peer) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Conn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

// Await returns the next event of kind k, discarding others, or an error when ctx ends.
func (p *Peer) Await(ctx context.Context, k EventKind) (Event, error) {
	for {
		select {
		case ev := <-p.events:
			if ev.Kind == k {
				return ev, nil
			}
		case <-ctx.Done():
			return Event{}, fmt.Errorf("testpeer: waiting for %s: %w", k, ctx.Err())
		}
	}
}

// Next returns the next event of any kind, or an error when ctx ends.
func (p *Peer) Next(ctx context.Context) (Event, error) {
	select {
	case ev := <-p.events:
		return ev, nil
	case <-ctx.Done():
		return Event{}, fmt.Errorf("testpeer: waiting for an event: %w", ctx.Err())
	}
}

func (p *Peer) emit(ev Event) {
	select {
	case p.events <- ev:
	default: // a test that does not read events must not block the peer
	}
}

func (p *Peer) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{p: p, nc: nc, hbh: framing.NewHopByHopIDs(0x7000_0000), done: make(chan struct{})}
		p.mu.Lock()
		if p.ln != ln {
			p.mu.Unlock()
			nc.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.emit(Event{Kind: Accepted, Conn: c})
		p.wg.Add(1)
		go c.serve()
	}
}

// Conn is one accepted connection.
type Conn struct {
	p      *Peer
	nc     net.Conn
	wmu    sync.Mutex
	hbh    framing.HopByHopIDs
	closed atomic.Bool
	done   chan struct{} // closed by Close
	noRead atomic.Bool
	Origin atomic.Pointer[string] // the client's Origin-Host from its CER
	dwas   atomic.Int32           // DWAs received: a REOPEN ends at the third
}

func (c *Conn) id() *framing.Identity {
	return &framing.Identity{OriginHost: c.p.cfg.OriginHost, OriginRealm: c.p.cfg.OriginRealm, OriginStateID: c.p.cfg.OriginStateID}
}

// Write sends raw bytes.
func (c *Conn) Write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// WriteBelowTLS sends raw bytes on the TCP connection under the peer's TLS (as Write without
// TLS): a forged or corrupt record.
func (c *Conn) WriteBelowTLS(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	nc := c.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	_, err := nc.Write(b)
	return err
}

// SendDWR sends a Device-Watchdog-Request.
func (c *Conn) SendDWR() error {
	c.wmu.Lock()
	id := c.hbh.Next()
	c.wmu.Unlock()
	return c.Write(framing.AppendDWR(nil, id, id, c.id()))
}

// reopenDWR sends one of a REOPEN's DWRs after d.
func (c *Conn) reopenDWR(d time.Duration) {
	if d <= 0 {
		_ = c.SendDWR()
		return
	}
	time.AfterFunc(d, func() {
		if !c.closed.Load() {
			_ = c.SendDWR()
		}
	})
}

// SendDPR sends a Disconnect-Peer-Request.
func (c *Conn) SendDPR(cause framing.DisconnectCause) error {
	c.wmu.Lock()
	id := c.hbh.Next()
	c.wmu.Unlock()
	return c.Write(framing.AppendDPR(nil, id, id, c.id(), cause))
}

// Close closes with a FIN.
func (c *Conn) Close() {
	if c.closed.CompareAndSwap(false, true) {
		c.nc.Close()
		close(c.done)
	}
}

// StopReading makes the peer read nothing more on c once the read in progress (if any) is
// handled: a peer that does not read what it is sent. It still writes what a test tells it to.
// Its Closed event comes when c is closed on this side (Close, Reset, Stop).
func (c *Conn) StopReading() { c.noRead.Store(true) }

// Reset closes with an RST.
func (c *Conn) Reset() {
	nc := c.nc
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

func (c *Conn) serve() {
	p := c.p
	defer p.wg.Done()
	var readErr error // set when the other side ended the connection
	defer func() {
		c.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
		p.emit(Event{Kind: Closed, Conn: c, Err: readErr})
	}()
	buf := make([]byte, 0, 64<<10)
	tmp := make([]byte, 32<<10)
	for {
		if c.noRead.Load() {
			<-c.done
			return
		}
		n, err := c.nc.Read(tmp)
		if n > 0 {
			buf = append(buf, tmp[:n]...)
			for {
				l, ferr := framing.FrameLen(buf, 1<<20)
				if ferr != nil {
					return // a broken stream: drop the connection
				}
				if l == 0 {
					break
				}
				msg := append([]byte(nil), buf[:l]...)
				buf = append(buf[:0], buf[l:]...)
				if !c.handle(msg) {
					return
				}
			}
		}
		if err != nil {
			if !c.closed.Load() {
				readErr = err
			}
			return
		}
	}
}

// handle answers one message; false ends the connection.
func (c *Conn) handle(msg []byte) bool {
	p := c.p
	h, b, err := framing.ParseBase(msg)
	if err != nil {
		return false
	}
	ev := Event{Conn: c, Header: h, Origin: string(b.OriginHost)}
	silent := p.silent.Load()
	switch {
	case h.Code == framing.CmdCapabilitiesExchange && h.IsRequest():
		ev.Kind = GotCER
		ev.Msg = msg // handle gets its own copy of every message
		o := string(b.OriginHost)
		c.Origin.Store(&o)
		p.emit(ev)
		if silent {
			return true
		}
		caps := framing.Capabilities{
			OriginHost: p.cfg.OriginHost, OriginRealm: p.cfg.OriginRealm, VendorID: framing.Vendor3GPP,
			ProductName: "testpeer", OriginStateID: p.cfg.OriginStateID,
			HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		}
		switch {
		case p.cfg.Relay:
			caps.AuthAppIDs = []uint32{framing.AppRelay}
		case p.cfg.NoCommonApp:
			caps.AuthAppIDs = []uint32{4}
		default:
			caps.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}
		}
		if err := c.Write(framing.AppendCEA(nil, h, p.cfg.CEAResult, &caps, "")); err != nil {
			return false
		}
		if p.cfg.Reopen && p.cfg.CEAResult == framing.Success {
			c.reopenDWR(p.cfg.ReopenDelay)
		}
		return p.cfg.CEAResult == framing.Success
	case h.Code == framing.CmdDeviceWatchdog && h.IsRequest():
		ev.Kind = GotDWR
		p.DWRs.Add(1)
		p.emit(ev)
		if silent || p.ignoreDWR.Load() {
			return true
		}
		return c.Write(framing.AppendDWA(nil, h, framing.Success, c.id())) == nil
	case h.Code == framing.CmdDeviceWatchdog:
		ev.Kind = GotDWA
		if n := c.dwas.Add(1); p.cfg.Reopen && n < 3 {
			c.reopenDWR(p.cfg.ReopenInterval)
		}
		p.emit(ev)
	case h.Code == framing.CmdDisconnectPeer && h.IsRequest():
		ev.Kind = GotDPR
		p.emit(ev)
		if silent {
			return true
		}
		_ = c.Write(framing.AppendDPA(nil, h, framing.Success, c.id()))
		return true // the DPR sender closes (RFC 6733 §5.4)
	case h.Code == framing.CmdDisconnectPeer:
		ev.Kind = GotDPA
		ev.Msg = msg // its Result-Code says whether we had requests in flight
		p.emit(ev)
		return false
	case h.Code == s13.CommandCode && h.IsRequest():
		ev.Kind = GotECR
		p.ECRs.Add(1)
		p.emit(ev)
		if silent {
			return true
		}
		if p.cfg.Reopen && c.dwas.Load() < 3 {
			p.ReopenDrops.Add(1)
			return true
		}
		return c.ecr(msg)
	default:
		ev.Kind = GotOther
		ev.Msg = msg
		p.emit(ev)
	}
	return true
}

func (c *Conn) ecr(msg []byte) bool {
	p := c.p
	req, err := s13.ParseECR(msg)
	if err != nil {
		var re *s13.RequestError
		if errors.As(err, &re) {
			return c.Write(s13.AppendRequestError(nil, &req, c.id(), re)) == nil
		}
		return false
	}
	var r Reply
	if p.cfg.Handler != nil {
		r = p.cfg.Handler(c, &req)
	}
	if r.Drop {
		return true
	}
	out := r.Raw
	if out == nil {
		out = s13.AppendECA(nil, &req, c.id(), &r.Verdict)
	}
	if r.Delay > 0 {
		time.AfterFunc(r.Delay, func() { _ = c.writeChunks(out, r.Chunk) })
		return true
	}
	return c.writeChunks(out, r.Chunk) == nil
}

// writeChunks writes b in pieces of chunk bytes (all of it at once when chunk <= 0), holding the
// write lock throughout so that nothing interleaves.
func (c *Conn) writeChunks(b []byte, chunk int) error {
	if chunk <= 0 {
		return c.Write(b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(b) > 0 {
		k := min(chunk, len(b))
		if _, err := c.nc.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}
