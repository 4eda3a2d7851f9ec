package tlslink

import (
	"net"
	"sync"
	"time"
)

// adapter is the net.Conn under a Session's tls.Conn. It has two halves: the handshake half,
// used by the handshake goroutine and the loop under mu, and the open half, loop-owned, used
// once the handshake goroutine has ended (the loop learns that under mu, so everything the
// goroutine did happens before).
type adapter struct {
	local, remote net.Addr
	wake          func() // makes the loop call Session.Traffic; safe for concurrent use

	mu     sync.Mutex
	cond   sync.Cond // signalled when hsIn grows or the session closes
	hsIn   []byte    // ciphertext handed in and not yet read by the handshake; under mu
	hsOut  []byte    // what the handshake wrote and the loop has not taken; under mu
	done   bool      // Handshake returned; under mu
	err    error     // what it returned; under mu
	closed bool      // the session is closed: the handshake's Read fails; under mu

	open bool    // the loop owns the adapter: Read takes in, Write appends to *out
	in   []byte  // the ciphertext of the read being handled (open)
	out  *[]byte // the Session's wire buffer (open)

	// handed follows the record framing of all the ciphertext handed to crypto/tls (under mu
	// until open), and consumed counts the records crypto/tls has surely decrypted since the last
	// resync (open), so the Session knows when crypto/tls holds no whole record: see drain.
	handed   recordCount
	consumed int
}

// recordHeaderLen is a TLS record's header: type, version, 16-bit length (RFC 8446 §5.1,
// RFC 5246 §6.2.1).
const recordHeaderLen = 5

// recordCount follows the record framing of a ciphertext stream given in pieces.
type recordCount struct {
	hdr   [recordHeaderLen]byte
	hn    int // header bytes seen of the current record
	left  int // body bytes of the current record still to come (once hn is a whole header)
	whole int // records complete so far
}

// advance takes the next bytes of the stream.
func (c *recordCount) advance(b []byte) {
	for len(b) > 0 {
		if c.hn < recordHeaderLen {
			k := copy(c.hdr[c.hn:], b)
			c.hn += k
			b = b[k:]
			if c.hn < recordHeaderLen {
				return
			}
			c.left = int(c.hdr[3])<<8 | int(c.hdr[4])
		}
		k := min(c.left, len(b))
		c.left -= k
		b = b[k:]
		if c.left == 0 {
			c.hn = 0
			c.whole++
		}
	}
}

// wouldBlock is the open half's Read with nothing left: crypto/tls keeps what it has read of a
// record and returns this error without latching it, because it is temporary.
type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tlslink: no more ciphertext in this read" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

var errWouldBlock net.Error = wouldBlock{}

// Read gives crypto/tls ciphertext: in the open half what the current read handed in, then
// errWouldBlock; in the handshake half it waits until the loop hands some in or the session
// closes (and then still gives what was handed in before).
func (a *adapter) Read(p []byte) (int, error) {
	if a.open {
		if len(a.in) == 0 {
			return 0, errWouldBlock
		}
		n := copy(p, a.in)
		a.handed.advance(a.in[:n])
		a.in = a.in[n:]
		return n, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.hsIn) == 0 && !a.closed {
		a.cond.Wait()
	}
	if len(a.hsIn) == 0 { // closed; what was handed in before is read first: a peer's alert
		return 0, ErrClosed // often arrives with its FIN, and is why the handshake failed
	}
	n := copy(p, a.hsIn)
	a.handed.advance(a.hsIn[:n])
	a.hsIn = a.hsIn[:copy(a.hsIn, a.hsIn[n:])]
	return n, nil
}

// Write takes crypto/tls's records: in the open half appended to the flush's ciphertext, in the
// handshake half queued for the loop, which it wakes.
func (a *adapter) Write(p []byte) (int, error) {
	if a.open {
		*a.out = append(*a.out, p...)
		return len(p), nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return 0, ErrClosed
	}
	first := len(a.hsOut) == 0
	a.hsOut = append(a.hsOut, p...)
	a.mu.Unlock()
	if first {
		a.wake()
	}
	return len(p), nil
}

// Close is crypto/tls's; the Session closes the adapter itself (Session.Close).
func (a *adapter) Close() error { return nil }

func (a *adapter) LocalAddr() net.Addr              { return a.local }
func (a *adapter) RemoteAddr() net.Addr             { return a.remote }
func (a *adapter) SetDeadline(time.Time) error      { return nil } // the loop's timers bound it
func (a *adapter) SetReadDeadline(time.Time) error  { return nil } // idem
func (a *adapter) SetWriteDeadline(time.Time) error { return nil } // idem
var _ net.Conn = (*adapter)(nil)
