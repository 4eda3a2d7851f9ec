package conformance

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recorder relays one TCP connection on 127.0.0.1 to upstream and records the bytes each way in
// the order it read them, so a live exchange can be written into a capture as if it had been
// captured: each read is recorded before it is forwarded, so an answer is never recorded before
// the request it answers.
type recorder struct {
	ln     net.Listener
	mu     sync.Mutex
	chunks []chunk    // under mu
	conns  []net.Conn // the relayed connection's two sockets, under mu
	closed bool       // the test has ended: relay no more; under mu
	done   chan struct{}
	err    error // the relay's failure, read after done
}

// chunk is one read of the relay: the bytes, and whether the client sent them.
type chunk struct {
	fromClient bool
	b          []byte
}

// maxSegment bounds a recorded chunk's TCP segment in the capture: IPv4's total length is
// 16 bits, and a real stack would not send more at once either.
const maxSegment = 16 << 10

// startRecorder listens on an ephemeral loopback port; the first connection to it is relayed to
// upstream. The test's end closes what is left.
func startRecorder(t *testing.T, upstream string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &recorder{ln: ln, done: make(chan struct{})}
	go r.relay(upstream)
	t.Cleanup(func() {
		_ = ln.Close()
		r.mu.Lock()
		r.closed = true
		for _, c := range r.conns {
			_ = c.Close()
		}
		r.mu.Unlock()
		select { // the reads fail at once now
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("the relay did not end after its sockets were closed")
		}
	})
	return r
}

// Addr is where the client dials.
func (r *recorder) Addr() string { return r.ln.Addr().String() }

func (r *recorder) relay(upstream string) {
	defer close(r.done)
	cli, err := r.ln.Accept()
	_ = r.ln.Close() // one connection: a redial would be a second conversation in the capture
	if err != nil {
		r.err = err
		return
	}
	defer cli.Close()
	srv, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		r.err = err
		return
	}
	defer srv.Close()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.conns = []net.Conn{cli, srv}
	r.mu.Unlock()
	errs := make(chan error, 2)
	go func() { errs <- r.copy(srv, cli, true) }()
	go func() { errs <- r.copy(cli, srv, false) }()
	r.err = errors.Join(<-errs, <-errs)
}

// copy forwards src to dst, recording each read, until src ends; then it half-closes dst, so
// the other side sees the end too.
func (r *recorder) copy(dst, src net.Conn, fromClient bool) error {
	defer func() { _ = dst.(*net.TCPConn).CloseWrite() }()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			r.mu.Lock()
			r.chunks = append(r.chunks, chunk{fromClient: fromClient, b: append([]byte(nil), buf[:n]...)})
			r.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// wait waits until both directions have ended (the client and the server closed) and returns
// what was recorded.
func (r *recorder) wait(t *testing.T, d time.Duration) []chunk {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("the relayed connection did not end within %v", d)
	}
	require.NoError(t, r.err, "relay")
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chunks
}

// writeChunks writes a recorded connection as one TCP flow from clientAddr to server (handshake,
// the chunks in order in segments of at most maxSegment, a bare ACK where a side sends twice in a
// row, the FIN exchange), as writeConversation does for encoded messages.
func writeChunks(chunks []chunk, server netip.AddrPort) *pcapWriter {
	w := newPcapWriter(captureT0)
	f := newTCPFlow(w, clientAddr, server, 0x1b2c3d4e, 0x7a6b5c4d)
	f.handshake()
	for i, c := range chunks {
		for b := c.b; len(b) > 0; {
			n := min(len(b), maxSegment)
			f.send(c.fromClient, b[:n])
			b = b[n:]
			if len(b) > 0 || (i+1 < len(chunks) && chunks[i+1].fromClient == c.fromClient) {
				f.ack(!c.fromClient)
			}
		}
	}
	f.closeFromClient()
	return w
}
