package tlslink

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"

	"github.com/hsdfat8/diam-gw/internal/link"
)

// Sink takes the plaintext a Session decrypts: the connection's reassembler.
type Sink interface {
	// Plain handles decrypted bytes, valid only during the call; false stops the reading (the
	// connection is closing).
	Plain(b []byte) bool
}

// maxHandshakeBacklog bounds the ciphertext handed in and not yet read by the handshake: a
// handshake flight is a few KiB, so a peer that sends far more before it completes is flooding.
const maxHandshakeBacklog = 256 << 10

// plainSize is the decryption buffer: one TLS record's plaintext at most (RFC 8446 §5.1).
const plainSize = 16 << 10

// Session is one connection's TLS. Loop-owned: not safe for concurrent use, except that its
// handshake goroutine shares the adapter's handshake half (under its mutex).
type Session struct {
	tc      *tls.Conn
	a       adapter
	failed  error         // the first error: the session is unusable
	seen    bool          // application data arrived: later errors are record errors
	pending []byte        // plaintext sealed before the handshake finished
	plain   []byte        // decryption buffer
	wire    []byte        // ciphertext for the loop to write, reused
	ended   chan struct{} // closed when the handshake goroutine returns; nil before Start
}

// Client is the client side of a TLS connection. wake must make the loop call Traffic soon
// (gnet's Conn.Wake); it is called from the handshake goroutine and must be safe for concurrent
// use. local and remote are what the stand-in net.Conn reports. The session does nothing until
// Start.
func Client(cfg *tls.Config, wake func(), local, remote net.Addr) *Session {
	s := newSession(wake, local, remote)
	s.tc = tls.Client(&s.a, cfg)
	return s
}

// Server is the server side of a TLS connection; the arguments are Client's.
func Server(cfg *tls.Config, wake func(), local, remote net.Addr) *Session {
	s := newSession(wake, local, remote)
	s.tc = tls.Server(&s.a, cfg)
	return s
}

func newSession(wake func(), local, remote net.Addr) *Session {
	s := &Session{plain: make([]byte, plainSize)}
	s.a.local, s.a.remote, s.a.wake = local, remote, wake
	s.a.cond.L = &s.a.mu
	s.a.out = &s.wire
	return s
}

// Start runs the handshake on a goroutine of its own, counted in wg (which Close of the owner
// waits for); it ends when the handshake does, or when Close makes it fail. Not safe for
// concurrent use.
func (s *Session) Start(wg *sync.WaitGroup) {
	s.ended = make(chan struct{})
	wg.Add(1)
	go s.handshake(wg)
}

func (s *Session) handshake(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(s.ended)
	err := s.tc.Handshake()
	a := &s.a
	a.mu.Lock()
	a.done, a.err = true, err
	a.mu.Unlock()
	a.wake()
}

// Open reports whether the handshake has completed (as far as the loop knows). Not safe for
// concurrent use.
func (s *Session) Open() bool { return s.a.open }

// Seen reports whether any application data has been decrypted. Not safe for concurrent use.
func (s *Session) Seen() bool { return s.seen }

// Completed reports whether the handshake succeeded, as far as its goroutine knows: the loop may
// not have heard of it yet (Open), and after Close it is final. Not safe for concurrent use.
func (s *Session) Completed() bool {
	a := &s.a
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done && a.err == nil
}

// Traffic handles one read's ciphertext (data may be empty: the handshake woke the loop) and
// hands the plaintext to sink. It returns the ciphertext the loop must write now (handshake
// flights, an alert, the sealed plaintext that waited for the handshake, a TLS 1.3 KeyUpdate
// reply), valid until the next call, and the error that makes the session unusable: ErrHandshake
// or ErrRecord wrapping its cause. data is not retained. Not safe for concurrent use.
func (s *Session) Traffic(data []byte, sink Sink) ([]byte, error) {
	if s.failed != nil {
		return nil, s.failed
	}
	a := &s.a
	if a.open {
		s.wire = s.wire[:0]
		a.in = data
		return s.wire, s.drain(sink)
	}
	a.mu.Lock()
	if n := len(a.hsIn) + len(data); n > maxHandshakeBacklog {
		a.mu.Unlock()
		s.failed = fmt.Errorf("%w: %d bytes sent before the handshake completed, more than %d", ErrHandshake, n, maxHandshakeBacklog)
		return nil, s.failed
	}
	if len(data) > 0 {
		a.hsIn = append(a.hsIn, data...)
		a.cond.Signal()
	}
	s.wire = append(s.wire[:0], a.hsOut...)
	a.hsOut = a.hsOut[:0]
	done, err := a.done, a.err
	a.mu.Unlock()
	if !done {
		return s.wire, nil
	}
	if err != nil {
		s.failed = fmt.Errorf("%w: %w", ErrHandshake, withAlert(err))
		return s.wire, s.failed
	}
	// The goroutine has ended: the loop owns the adapter from here on. What the handshake
	// decrypted of the records handed to it is not known: the first drain reads until
	// errWouldBlock.
	a.open, a.in, a.hsIn, a.hsOut = true, a.hsIn, nil, nil
	a.consumed = -1
	if len(s.pending) > 0 {
		_, err := s.tc.Write(s.pending)
		s.pending = nil
		if err != nil {
			s.failed = fmt.Errorf("%w: %w", ErrRecord, err)
			return s.wire, s.failed
		}
	}
	return s.wire, s.drain(sink)
}

// drain decrypts all whole records of the adapter's input into sink; what is left of a record
// stays in the tls.Conn for the next read.
//
// It stops once crypto/tls has taken all of the read and decrypted every whole record handed to
// it, rather than asking until errWouldBlock: that last Read allocates inside crypto/tls
// (readFromUntil's atLeastReader escapes) for nothing, one allocation per read, which is one per
// request at one in flight. A Read that returns plaintext decrypted at least one record, so
// consumed never runs ahead of what crypto/tls holds; it can fall behind (a TLS 1.3
// NewSessionTicket decrypted with the next record), which costs one Read that ends in
// errWouldBlock and resyncs the count.
func (s *Session) drain(sink Sink) error {
	a := &s.a
	for len(a.in) > 0 || a.consumed < a.handed.whole {
		n, err := s.tc.Read(s.plain)
		if n > 0 {
			s.seen = true
			a.consumed++
			if !sink.Plain(s.plain[:n]) {
				a.in = nil
				return nil
			}
		}
		if err == nil {
			continue
		}
		if err == errWouldBlock {
			a.consumed = a.handed.whole // it holds no whole record
			return nil
		}
		kind := ErrRecord
		if !s.seen {
			kind = ErrHandshake // the peer refused what the handshake sent (a TLS 1.3 client certificate)
		}
		s.failed = fmt.Errorf("%w: %w", kind, withAlert(err))
		return s.failed
	}
	return nil
}

// Seal encrypts one flush's plaintext with one tls.Conn.Write (as many messages a record as fit)
// and returns the records, valid until the next call. Before the handshake has completed the
// plaintext is kept and sent by the Traffic call that completes it. Not safe for concurrent use.
func (s *Session) Seal(plain []byte) ([]byte, error) {
	if s.failed != nil {
		return nil, s.failed
	}
	if !s.a.open {
		s.pending = append(s.pending, plain...)
		return nil, nil
	}
	if cap(s.wire) > link.MaxIdleBatch {
		s.wire = nil // a burst grew it: let the GC have it back
	}
	s.wire = s.wire[:0]
	if _, err := s.tc.Write(plain); err != nil {
		s.failed = fmt.Errorf("%w: %w", ErrRecord, err)
		return s.wire, s.failed
	}
	return s.wire, nil
}

// Close ends the session: a handshake still running fails and Close waits for its goroutine to
// return, which takes no longer than the handshake step it is computing (its reads and writes
// fail at once from here on). It returns the handshake's own failure, ErrHandshake wrapping it,
// when the handshake failed before the loop heard of it: the transport often closes first,
// because the peer closes on the alert the handshake sent just before returning. Nil when the
// handshake succeeded, was reported by Traffic already, or failed only because of this Close.
// The buffers go. Safe to call more than once. Not safe for concurrent use.
func (s *Session) Close() error {
	a := &s.a
	a.mu.Lock()
	a.closed = true
	a.cond.Broadcast()
	a.mu.Unlock()
	if s.ended != nil {
		<-s.ended
	}
	var err error
	if s.failed == nil && !a.open && a.err != nil && !errors.Is(a.err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrHandshake, withAlert(a.err))
	}
	if s.failed == nil {
		s.failed = ErrClosed
	}
	a.in, s.pending, s.plain, s.wire = nil, nil, nil, nil
	return err
}

// ConnectionState is the tls.Conn's, for logs and tests. Not safe for concurrent use.
func (s *Session) ConnectionState() tls.ConnectionState { return s.tc.ConnectionState() }

// withAlert makes an alert the peer sent matchable as a tls.AlertError. crypto/tls reports it as
// a *net.OpError{Op: "remote error"} around its unexported alert type (conn.go readRecordOrCCS)
// and wraps tls.AlertError only for QUIC; the alert's code is that type's uint8 value.
func withAlert(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return err
	}
	if v := reflect.ValueOf(op.Err); v.Kind() == reflect.Uint8 {
		return fmt.Errorf("%w%.0w", err, tls.AlertError(v.Uint()))
	}
	return err
}
