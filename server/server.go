package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/tlslink"
	"github.com/panjf2000/gnet/v2"
)

// Tick is the resolution of the per-loop timing wheel: timers (delayed answers, the watchdog, the
// CER wait, the DPA wait) fire at most about this late, plus loop latency. A loop is woken by
// its alarm only when one of them is due (internal/alarm): an idle server sleeps.
const Tick = link.Tick

// closeSlack is what Close waits beyond DPATimeout for the loops' DPA timers to close the
// connections that did not answer, before gnet closes whatever is left.
const closeSlack = 100 * time.Millisecond

// stopTimeout bounds the wait for gnet's loops to exit once told to stop.
const stopTimeout = 2 * time.Second

// Server is the Diameter responder. Create it with New, then Start it; Addr and Stats may be
// called from any goroutine; Close ends it.
type Server struct {
	cfg   Config
	log   *slog.Logger
	id    framing.Identity
	caps  framing.Capabilities // our CEA; Host-IP-Address is filled per connection
	apps  []uint32             // the application ids we advertise, for the common-application check
	fsm   fsm.Config           // each connection's state machine: the client's Tw, jitter and floor
	e2e   *framing.EndToEndIDs
	epoch time.Time

	started, closing atomic.Bool
	addr             atomic.Pointer[string]
	active           atomic.Int64 // connections open now
	peers            atomic.Int64 // connections past CER
	booted           chan struct{}
	runDone          chan struct{}
	runErr           error
	eng              gnet.Engine // set in OnBoot, before booted is closed
	goneOnce         sync.Once
	gone             chan struct{} // closed when the last connection goes during Close
	closeOnce        sync.Once
	closeErr         error

	loopsMu sync.Mutex
	loopMap map[gnet.EventLoop]*loop
	loops   atomic.Pointer[[]*loop] // copy-on-write: read by the ticker and Stats

	tls        *tls.Config    // Config.TLS as the loops use it (tlslink.Config); nil for TCP
	handshakes sync.WaitGroup // TLS handshake goroutines, each ended by its connection's close

	identMu sync.Mutex
	idents  map[string]int // lower-cased Origin-Host -> open connections (RejectDuplicates only)
}

// New checks cfg (after filling its defaults) and builds a Server; nothing listens before Start.
// Every bad field is reported (see Config.Validate). Safe for concurrent use.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now()
	link.DefaultOriginStateID(&cfg.OriginStateID, now)
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		id:      framing.Identity{OriginHost: cfg.OriginHost, OriginRealm: cfg.OriginRealm, OriginStateID: cfg.OriginStateID},
		e2e:     framing.NewEndToEndIDs(framing.EndToEndSeed(now.Unix(), uint32(now.UnixNano()))),
		epoch:   now,
		booted:  make(chan struct{}),
		runDone: make(chan struct{}),
		gone:    make(chan struct{}),
		loopMap: map[gnet.EventLoop]*loop{},
		idents:  map[string]int{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.caps = framing.Capabilities{
		OriginHost:         cfg.OriginHost,
		OriginRealm:        cfg.OriginRealm,
		VendorID:           cfg.VendorID,
		ProductName:        cfg.ProductName,
		OriginStateID:      cfg.OriginStateID,
		SupportedVendorIDs: cfg.SupportedVendorIDs,
		AuthAppIDs:         cfg.AuthAppIDs,
		VendorSpecificApps: cfg.VendorSpecificApps,
		FirmwareRevision:   cfg.FirmwareRevision,
	}
	s.fsm = fsm.Config{
		Tw:         cfg.DWRInterval,
		TwJitter:   cfg.twJitter,
		TwFloor:    min(MinDWRInterval, cfg.DWRInterval),
		CERTimeout: cfg.CERTimeout,
		DPATimeout: cfg.DPATimeout,
		DPRGrace:   cfg.dprGrace,
	}
	s.apps = append(s.apps, cfg.AuthAppIDs...)
	for _, v := range cfg.VendorSpecificApps {
		s.apps = append(s.apps, v.AuthAppID|v.AcctAppID) // exactly one is set (validate)
	}
	if cfg.TLS != nil {
		s.tls = tlslink.Config(cfg.TLS)
	}
	listen := cfg.Listen
	s.addr.Store(&listen)
	empty := []*loop{}
	s.loops.Store(&empty)
	return s, nil
}

// now is the loops' clock: monotonic nanoseconds since New. Safe for concurrent use.
func (s *Server) now() int64 { return int64(time.Since(s.epoch)) }

// Config returns the configuration in use, defaults filled in. Safe for concurrent use.
func (s *Server) Config() Config { return s.cfg }

// Start opens the listening socket and starts the event loops; it returns once connections are
// being accepted, or with an error wrapping ErrListen. If ctx ends first the server is closed and
// ctx's error returned. Start may be called once (ErrAlreadyStarted after that, ErrClosed after
// Close). Safe for concurrent use.
func (s *Server) Start(ctx context.Context) error {
	if s.closing.Load() {
		return ErrClosed
	}
	if !s.started.CompareAndSwap(false, true) {
		return ErrAlreadyStarted
	}
	if !s.cfg.KeepGnetWorkerPool {
		link.ReleaseGnetWorkerPool()
	}
	go s.run()
	select {
	case <-s.booted:
		s.log.Info("diameter server listening", "addr", s.Addr(), "origin_host", s.cfg.OriginHost, "loops", s.cfg.Loops)
		return nil
	case <-s.runDone:
		return fmt.Errorf("%w on %s: %w", ErrListen, s.cfg.Listen, s.runErr)
	case <-ctx.Done():
		_ = s.Close(context.Background())
		return ctx.Err()
	}
}

// run is gnet.Run on its own goroutine: it blocks until the engine stops.
func (s *Server) run() {
	defer close(s.runDone)
	defer s.stopAlarms() // the loops have exited: nothing sets them any more
	s.runErr = gnet.Run(&handler{s: s}, "tcp://"+s.cfg.Listen,
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithLoadBalancing(gnet.LeastConnections),
		gnet.WithLogger(link.QuietLogger{}),
		gnet.WithReadBufferCap(readBufferCap),
		gnet.WithWriteBufferCap(writeBufferCap),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
	)
}

// Buffer sizes: one read(2) takes up to readBufferCap bytes of a client's pipelined requests; the
// outbound ring absorbs a burst of answers before gnet falls back to its linked list.
const (
	readBufferCap  = 64 << 10
	writeBufferCap = 256 << 10
)

// Addr returns the bound address, with the real port when port 0 was asked for; before Start it
// returns Config.Listen. Safe for concurrent use.
func (s *Server) Addr() string { return *s.addr.Load() }

// Stats returns the counters summed over the event loops. Safe for concurrent use; each counter
// is read atomically, the set is not one snapshot.
func (s *Server) Stats() Stats {
	st := Stats{Connections: s.active.Load(), Peers: s.peers.Load()}
	for _, l := range *s.loops.Load() {
		st.add(&l.pub)
		st.TimerWakeups += l.alarm.Rings()
	}
	return st
}

// Close sends DPR (Disconnect-Cause REBOOTING) on every open connection, waits for the DPAs (at
// most DPATimeout, or until ctx ends), closes what is left and stops the event loops, which it
// waits for. It returns nil after a clean stop, or an error wrapping ctx.Err() when ctx cut the
// wait for the DPAs short. Closing a server that was never started is a no-op. Safe for
// concurrent use; later calls wait for the first and return its result.
func (s *Server) Close(ctx context.Context) error {
	// Once.Do holds later callers until the first call's shutdown has returned.
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(ctx) })
	return s.closeErr
}

// Reset aborts every open connection with an RST (linger 0), without DPR, and keeps listening:
// what its clients see of a responder that crashed and came back, for fault injection (diamload
// soak). It returns once every loop has been handed the resets, before they are carried out; a
// server not running is left alone. Safe for concurrent use.
func (s *Server) Reset() {
	if !s.started.Load() || s.closing.Load() {
		return
	}
	select {
	case <-s.booted:
	case <-s.runDone:
		return
	}
	for _, l := range *s.loops.Load() {
		_ = l.el.Execute(context.Background(), runnable(l.resetAll))
	}
}

func (s *Server) shutdown(ctx context.Context) error {
	s.closing.Store(true)
	if !s.started.Load() {
		return nil
	}
	select { // Start may still be booting; both ends come within a few syscalls
	case <-s.booted:
	case <-s.runDone:
		return nil
	}
	if s.active.Load() == 0 {
		s.signalGone()
	}
	for _, l := range *s.loops.Load() {
		_ = l.el.Execute(context.Background(), runnable(l.disconnectAll))
	}
	bound := time.NewTimer(s.cfg.DPATimeout + closeSlack)
	defer bound.Stop()
	var cut error
	select {
	case <-s.gone:
	case <-bound.C: // DPA timers on the loops close stragglers; gnet closes the rest below
	case <-ctx.Done():
		cut = ctx.Err()
	}
	// Engine.Stop polls for the end every 500 ms; with a context that is already done it only
	// starts the shutdown, and Run's return is the precise signal.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.eng.Stop(done)
	// Stopping the loops is bounded (close every socket, exit), so it is awaited even when ctx
	// has ended: a caller that gets Close's result has no server goroutine left behind.
	stopBound := time.NewTimer(stopTimeout)
	defer stopBound.Stop()
	select {
	case <-s.runDone:
	case <-stopBound.C:
		return fmt.Errorf("server: event loops still running after %v", stopTimeout)
	}
	s.handshakes.Wait() // every connection is closed: each handshake has ended
	s.log.Info("diameter server stopped", "addr", s.Addr())
	if cut != nil {
		return fmt.Errorf("server: close cut short: %w", cut)
	}
	return nil
}

func (s *Server) signalGone() { s.goneOnce.Do(func() { close(s.gone) }) }

// stopAlarms ends every loop's alarm goroutine, once gnet's loops have exited.
func (s *Server) stopAlarms() {
	for _, l := range *s.loops.Load() {
		l.alarm.Stop()
	}
}

// loopFor returns the state of gnet loop el, creating it on the first connection it gets.
func (s *Server) loopFor(el gnet.EventLoop) *loop {
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	if l := s.loopMap[el]; l != nil {
		return l
	}
	l := newLoop(s, el)
	if el != nil { // a test that plays gnet with socketless connections drives the clock itself
		l.alarm.Start()
	}
	s.loopMap[el] = l
	next := append(append([]*loop(nil), *s.loops.Load()...), l)
	s.loops.Store(&next)
	return l
}

// register records an open connection's Origin-Host for RejectDuplicates; false when it is taken.
func (s *Server) register(host string) bool {
	k := strings.ToLower(host)
	s.identMu.Lock()
	defer s.identMu.Unlock()
	if s.idents[k] > 0 {
		return false
	}
	s.idents[k]++
	return true
}

func (s *Server) unregister(host string) {
	k := strings.ToLower(host)
	s.identMu.Lock()
	defer s.identMu.Unlock()
	if s.idents[k]--; s.idents[k] <= 0 {
		delete(s.idents, k)
	}
}

// commonApp reports whether the client's CER shares an application with us: RFC 6733 §5.3,
// with Relay on either side matching everything.
func (s *Server) commonApp(peer *framing.Capabilities) bool {
	for _, app := range s.apps {
		if app == framing.AppRelay || peer.Supports(app) {
			return true
		}
	}
	return false
}

// advertises reports whether app is one the server advertises in its CEA (Relay: every one).
// Loop only (s.apps is set by New).
func (s *Server) advertises(app uint32) bool {
	for _, a := range s.apps {
		if a == app || a == framing.AppRelay {
			return true
		}
	}
	return false
}

// boundAddr reads the listening socket's address from a duplicate of its descriptor: gnet does
// not expose the port it got for ":0".
func boundAddr(eng gnet.Engine) (string, error) {
	fd, err := eng.Dup()
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", err
	}
	ap, ok := sockaddrAddrPort(sa)
	if !ok {
		return "", fmt.Errorf("server: unexpected socket address %T", sa)
	}
	return ap.String(), nil
}

func sockaddrAddrPort(sa syscall.Sockaddr) (netip.AddrPort, bool) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), true
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port)), true
	}
	return netip.AddrPort{}, false
}

// runnable adapts a loop function to gnet.Runnable.
type runnable func()

func (f runnable) Run(context.Context) error {
	f()
	return nil
}
