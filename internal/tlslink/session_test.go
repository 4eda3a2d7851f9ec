package tlslink

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/stretchr/testify/require"
)

// end is one side of an in-memory pair: its session, the plaintext it received, and the wake
// channel its handshake goroutine signals.
type end struct {
	s    *Session
	got  bytes.Buffer
	wake chan struct{}
}

func (e *end) Plain(b []byte) bool { e.got.Write(b); return true }

// pair wires a client and a server session together: what one returns to write, the other's
// Traffic reads, as two loops would over a socket.
type pair struct {
	t        *testing.T
	cli, srv end
	wg       sync.WaitGroup
	cErr     error // the first error each side reported
	sErr     error
	toSrv    []byte // client wire not yet handed to the server
	toCli    []byte
}

func newPair(t *testing.T, ccfg, scfg *tls.Config) *pair {
	p := &pair{t: t}
	p.cli.wake = make(chan struct{}, 1)
	p.srv.wake = make(chan struct{}, 1)
	ping := func(ch chan struct{}) func() {
		return func() {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	p.cli.s = Client(Config(ccfg), ping(p.cli.wake), nil, nil)
	p.srv.s = Server(Config(scfg), ping(p.srv.wake), nil, nil)
	p.cli.s.Start(&p.wg)
	p.srv.s.Start(&p.wg)
	t.Cleanup(func() {
		p.cli.s.Close()
		p.srv.s.Close()
		await.Wait(t, &p.wg, 5*time.Second)
	})
	return p
}

// step hands each side what the other wrote; it reports whether anything moved.
func (p *pair) step() bool {
	moved := false
	if p.cErr == nil {
		out, err := p.cli.s.Traffic(p.toCli, &p.cli)
		moved = moved || len(p.toCli) > 0 || len(out) > 0
		p.toCli = nil
		p.toSrv = append(p.toSrv, out...)
		p.cErr = err
	}
	if p.sErr == nil {
		out, err := p.srv.s.Traffic(p.toSrv, &p.srv)
		moved = moved || len(p.toSrv) > 0 || len(out) > 0
		p.toSrv = nil
		p.toCli = append(p.toCli, out...)
		p.sErr = err
	}
	return moved
}

// run steps the pair until both handshakes are over (done or failed) and nothing moves,
// waiting for a wake-up between idle steps; bounded.
func (p *pair) run() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p.step() {
			continue
		}
		if (p.cli.s.Open() || p.cErr != nil) && (p.srv.s.Open() || p.sErr != nil) {
			return
		}
		select {
		case <-p.cli.wake:
		case <-p.srv.wake:
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.t.Fatal("the handshake did not settle within 10 s")
}

func lab(t *testing.T) *labpki.Lab {
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	return l
}

// Plaintext sealed before the handshake (the engine's CER) waits and arrives intact after it;
// both ways carry data; a flush of many messages is few records.
func TestSessionCarriesDataBothWays(t *testing.T) {
	l := lab(t)
	p := newPair(t, l.ClientConfig("localhost"), l.ServerConfig(true))
	early := bytes.Repeat([]byte("CER."), 10)
	out, err := p.cli.s.Seal(early)
	require.NoError(t, err)
	require.Empty(t, out, "nothing may go out before the handshake")
	p.run()
	require.NoError(t, p.cErr)
	require.NoError(t, p.sErr)
	require.True(t, p.cli.s.Open())
	require.Equal(t, early, p.srv.got.Bytes(), "the early plaintext reaches the server after the handshake")

	batch := bytes.Repeat([]byte{0xAB}, 100*200) // 100 messages of 200 bytes in one flush
	wire, err := p.cli.s.Seal(batch)
	require.NoError(t, err)
	require.Less(t, records(t, wire), 5, "one flush is a few 16 KiB records, not one a message")
	p.toSrv = append(p.toSrv, wire...)
	p.srv.got.Reset()
	p.step()
	require.Equal(t, batch, p.srv.got.Bytes())

	wire, err = p.srv.s.Seal([]byte("CEA"))
	require.NoError(t, err)
	p.toCli = append(p.toCli, wire...)
	p.cli.got.Reset()
	p.step()
	require.Equal(t, "CEA", p.cli.got.String())
}

// records counts the TLS records in wire.
func records(t *testing.T, wire []byte) int {
	n := 0
	for len(wire) > 0 {
		require.GreaterOrEqual(t, len(wire), 5)
		l := int(wire[3])<<8 | int(wire[4])
		wire = wire[5+l:]
		n++
	}
	return n
}

// A record cut anywhere by the reads is reassembled by crypto/tls across Traffic calls: the
// temporary error of an empty read is not latched.
func TestSessionRecordsSplitAcrossReads(t *testing.T) {
	l := lab(t)
	p := newPair(t, l.ClientConfig("localhost"), l.ServerConfig(false))
	p.run()
	require.NoError(t, p.cErr)
	msg := bytes.Repeat([]byte("0123456789"), 300)
	wire, err := p.cli.s.Seal(msg)
	require.NoError(t, err)
	wire = append([]byte(nil), wire...)
	for i := range wire { // one byte a read
		_, err := p.srv.s.Traffic(wire[i:i+1], &p.srv)
		require.NoError(t, err, "byte %d", i)
	}
	require.Equal(t, msg, p.srv.got.Bytes())
}

// Every record is decrypted by the Traffic call that completes it, whether a read carries many
// records, ends inside a header, or follows the TLS 1.3 session tickets the server sends after
// its handshake (decrypted along with the next record): the drain never stops with a whole
// record left in crypto/tls.
func TestSessionDecryptsEachRecordWhenItCompletes(t *testing.T) {
	l := lab(t)
	p := newPair(t, l.ClientConfig("localhost"), l.ServerConfig(false))
	p.run()
	require.NoError(t, p.cErr)
	require.NoError(t, p.sErr)
	for _, cut := range []int{3, 7, 1000, 1 << 20} {
		var wire []byte
		var msgs [][]byte
		var ends []int // where each message's record ends in wire
		for i, size := range []int{1, 200, 3000, 16000, 7} {
			msg := bytes.Repeat([]byte{byte('a' + i)}, size)
			w, err := p.srv.s.Seal(msg)
			require.NoError(t, err)
			require.Equal(t, 1, records(t, w))
			wire = append(wire, w...)
			ends = append(ends, len(wire))
			msgs = append(msgs, msg)
		}
		p.cli.got.Reset()
		for off := 0; off < len(wire); off += cut {
			end := min(off+cut, len(wire))
			_, err := p.cli.s.Traffic(wire[off:end], &p.cli)
			require.NoError(t, err)
			var want []byte
			for i, e := range ends {
				if e <= end {
					want = append(want, msgs[i]...)
				}
			}
			require.Equal(t, len(want), p.cli.got.Len(), "cut %d, after byte %d of %d", cut, end, len(wire))
		}
		require.Equal(t, bytes.Join(msgs, nil), p.cli.got.Bytes(), "cut %d", cut)
	}
}

// The steady state allocates nothing per message: a Seal allocates nothing, and a read costs
// crypto/tls's own small allocations (readFromUntil's atLeastReader escapes to the heap), one
// at most a record, however many messages the records carry: the drain does not ask crypto/tls
// for more once it holds no whole record (that Read would allocate too).
func TestSessionSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool entries at random: allocations are counted without -race")
	}
	l := lab(t)
	p := newPair(t, l.ClientConfig("localhost"), l.ServerConfig(false))
	p.run()
	require.NoError(t, p.cErr)
	var sink discard
	for _, size := range []int{200, 60 << 10} { // one message; 300 messages in four records
		msg := bytes.Repeat([]byte{1}, size)
		wire := make([]byte, 0, 2*size)
		seal := testing.AllocsPerRun(100, func() { // the server's direction: nobody reads it
			w, err := p.srv.s.Seal(msg)
			if err != nil {
				t.Fatal(err)
			}
			wire = append(wire[:0], w...)
		})
		require.Zero(t, seal, "Seal of %d bytes", size)
		read := testing.AllocsPerRun(100, func() {
			w, err := p.cli.s.Seal(msg)
			if err != nil {
				t.Fatal(err)
			}
			wire = append(wire[:0], w...)
			if _, err := p.srv.s.Traffic(wire, &sink); err != nil {
				t.Fatal(err)
			}
		})
		require.LessOrEqual(t, read, float64(records(t, wire)), "a read of %d bytes: at most one a record", size)
	}
}

// recordCount finds the record boundaries however the stream is cut: zero-length records, a
// header split across pieces, many records in one piece.
func TestRecordCount(t *testing.T) {
	var stream []byte
	for _, n := range []int{0, 1, 300, 16 << 10, 0, 5, 17000} {
		stream = append(stream, 23, 3, 3, byte(n>>8), byte(n))
		stream = append(stream, make([]byte, n)...)
	}
	for _, cut := range []int{1, 2, 4, 5, 6, 7, 4096, len(stream)} {
		var c recordCount
		var seen []int // whole after each piece that ends a record exactly
		for off := 0; off < len(stream); off += cut {
			c.advance(stream[off:min(off+cut, len(stream))])
			seen = append(seen, c.whole)
		}
		require.Equal(t, 7, c.whole, "cut %d", cut)
		require.Zero(t, c.hn, "cut %d: nothing of a next record", cut)
		require.IsNonDecreasing(t, seen)
	}
	var c recordCount
	c.advance(stream[:5+0+5+1+5+299]) // two whole records and all but one byte of the third
	require.Equal(t, 2, c.whole)
	c.advance(stream[5+0+5+1+5+299 : 5+0+5+1+5+300])
	require.Equal(t, 3, c.whole)
}

type discard struct{}

func (discard) Plain([]byte) bool { return true }

// Handshake failures are ErrHandshake wrapping crypto/tls's or x509's cause, on the side that
// found them; an alert the other side receives is a tls.AlertError.
func TestSessionHandshakeFailuresAreTyped(t *testing.T) {
	l := lab(t)
	other, err := labpki.NewCA("another CA", time.Now())
	require.NoError(t, err)

	t.Run("unknown authority", func(t *testing.T) {
		c := l.ClientConfig("localhost")
		c.RootCAs = other.Pool
		p := newPair(t, c, l.ServerConfig(false))
		p.run()
		require.ErrorIs(t, p.cErr, ErrHandshake)
		var ua x509.UnknownAuthorityError
		require.ErrorAs(t, p.cErr, &ua)
		require.ErrorIs(t, p.sErr, ErrHandshake)
		var alert tls.AlertError
		require.ErrorAs(t, p.sErr, &alert, "the server hears the client's alert: %v", p.sErr)
	})
	t.Run("no client certificate", func(t *testing.T) {
		c := l.ClientConfig("localhost")
		c.Certificates = nil
		p := newPair(t, c, l.ServerConfig(true))
		p.run()
		require.ErrorIs(t, p.sErr, ErrHandshake)
		// TLS 1.3: the client's handshake has finished; the refusal arrives as an alert on its
		// first read, still a handshake failure since no application data came first.
		for range 10 {
			if p.cErr != nil || !p.step() {
				break
			}
		}
		require.ErrorIs(t, p.cErr, ErrHandshake)
		var alert tls.AlertError
		require.ErrorAs(t, p.cErr, &alert)
	})
}

// Close fails a handshake waiting for the peer, and its goroutine ends (the cleanup waits).
func TestSessionCloseEndsTheHandshake(t *testing.T) {
	l := lab(t)
	var wg sync.WaitGroup
	s := Client(l.ClientConfig("localhost"), func() {}, nil, nil)
	s.Start(&wg)
	s.Close()
	await.Wait(t, &wg, 5*time.Second)
	_, err := s.Traffic(nil, discard{})
	require.True(t, errors.Is(err, ErrClosed) || errors.Is(err, ErrHandshake), "%v", err)
}

// Config defaults MinVersion to TLS 1.2, keeps one the caller chose, and does not modify the
// caller's config.
func TestConfigDefaults(t *testing.T) {
	in := &tls.Config{}
	c := Config(in)
	require.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
	require.True(t, c.DynamicRecordSizingDisabled)
	require.Zero(t, in.MinVersion)
	require.Equal(t, uint16(tls.VersionTLS13), Config(&tls.Config{MinVersion: tls.VersionTLS13}).MinVersion)
}

// A peer that floods ciphertext faster than the handshake reads it is refused once the backlog
// passes maxHandshakeBacklog, not buffered without bound (here the handshake never runs).
func TestSessionHandshakeBacklogIsBounded(t *testing.T) {
	l := lab(t)
	s := Server(Config(l.ServerConfig(false)), func() {}, nil, nil)
	defer s.Close()
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 2*maxHandshakeBacklog/len(chunk) && err == nil; i++ {
		_, err = s.Traffic(chunk, discard{})
	}
	require.ErrorIs(t, err, ErrHandshake)
	require.LessOrEqual(t, len(s.a.hsIn), maxHandshakeBacklog)
}
