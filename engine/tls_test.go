package engine

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testLab(t *testing.T) *labpki.Lab {
	t.Helper()
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	return l
}

// tlsConfigFor is testConfig with every DRA over TLS with cli.
func tlsConfigFor(cli *tls.Config, addrs ...string) Config {
	cfg := testConfig(addrs...)
	for i := range cfg.DRAs {
		cfg.DRAs[i].TLS = cli
	}
	return cfg
}

// An ECR over TLS to a DRA that requires a client certificate: the CER goes out after the
// handshake, inside it, and the ServerName defaults to the address's host (the lab server
// certificate names 127.0.0.1). The byte counters count the wire: the server's certificate
// arrives in them.
func TestTLSCheck(t *testing.T) {
	l := testLab(t)
	peer := testpeer.StartT(t, testpeer.Config{TLS: l.ServerConfig(true)})
	cli := l.ClientConfig("") // no ServerName: the engine's default
	e := startEngine(t, tlsConfigFor(cli, peer.Addr()))
	a, err := e.Check(ctxT(t, 5*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, s13.Whitelisted, a.EquipmentStatus)
	assert.Empty(t, cli.ServerName, "the caller's config is not modified")
	cs := e.Stats().Conns[0]
	assert.Greater(t, cs.BytesIn, uint64(len(l.Server.Certificate[0])), "BytesIn counts wire bytes, the certificate included")
	assert.Nil(t, cs.LastErr)
}

// ConnStats.TLS names what the handshake agreed, read from the session: the version the DRA
// allowed (TLS 1.2 when it goes no higher) and the suite; zero over TCP.
func TestConnStatsNameTheTLSAgreed(t *testing.T) {
	l := testLab(t)
	tls12 := l.ServerConfig(true)
	tls12.MaxVersion = tls.VersionTLS12
	for _, c := range []struct {
		name    string
		srv     *tls.Config
		version uint16
	}{{"tcp", nil, 0}, {"tls1.3", l.ServerConfig(true), tls.VersionTLS13}, {"tls1.2", tls12, tls.VersionTLS12}} {
		t.Run(c.name, func(t *testing.T) {
			peer := testpeer.StartT(t, testpeer.Config{TLS: c.srv})
			cfg := testConfig(peer.Addr())
			if c.srv != nil {
				cfg = tlsConfigFor(l.ClientConfig(""), peer.Addr())
			}
			e := startEngine(t, cfg)
			_, err := e.Check(ctxT(t, 5*time.Second), testReq)
			require.NoError(t, err)
			got := e.Stats().Conns[0].TLS
			assert.Equal(t, c.version, got.Version)
			if c.srv == nil {
				assert.Equal(t, TLSInfo{}, got)
				assert.Empty(t, got.String())
				return
			}
			assert.NotZero(t, got.CipherSuite)
			assert.Equal(t, tls.VersionName(c.version)+" "+tls.CipherSuiteName(got.CipherSuite), got.String())
		})
	}
}

// Each handshake failure is an ErrTLSHandshake wrapping its crypto/tls or x509 cause, set as
// the connection's last error, and is followed by the backoff: the next dial comes no sooner
// than BackoffInitial after the failure.
func TestTLSHandshakeFailuresAreTypedAndBackedOff(t *testing.T) {
	l := testLab(t)
	now := time.Now()
	other, err := labpki.NewCA("another CA", now)
	require.NoError(t, err)
	expired, err := l.CA.Issue(labpki.Leaf{CommonName: "localhost", Names: []string{"127.0.0.1"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, now)
	require.NoError(t, err)

	cases := []struct {
		name  string
		srv   func(*tls.Config)
		cli   func(*tls.Config)
		check func(t *testing.T, err error)
	}{
		{"unknown authority", nil, func(c *tls.Config) { c.RootCAs = other.Pool }, func(t *testing.T, err error) {
			var e x509.UnknownAuthorityError
			assert.ErrorAs(t, err, &e)
		}},
		{"wrong name", nil, func(c *tls.Config) { c.ServerName = "eir.elsewhere.example" }, func(t *testing.T, err error) {
			var e x509.HostnameError
			assert.ErrorAs(t, err, &e)
		}},
		{"expired", func(c *tls.Config) { c.Certificates = []tls.Certificate{expired} }, nil, func(t *testing.T, err error) {
			var e x509.CertificateInvalidError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, x509.Expired, e.Reason)
		}},
		{"no client certificate", nil, func(c *tls.Config) { c.Certificates = nil }, func(t *testing.T, err error) {
			if errors.Is(err, errPeerClosedAfterHandshake) {
				return // TLS 1.3: the server's alert was lost with its close (endTLS)
			}
			var e tls.AlertError
			require.ErrorAs(t, err, &e)
			assert.Contains(t, e.Error(), "certificate")
		}},
		{"protocol version", func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }, nil,
			func(t *testing.T, err error) {
				var e tls.AlertError
				require.ErrorAs(t, err, &e)
				assert.Contains(t, e.Error(), "protocol version")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli := l.ServerConfig(true), l.ClientConfig("")
			if tc.srv != nil {
				tc.srv(srv)
			}
			if tc.cli != nil {
				tc.cli(cli)
			}
			peer := testpeer.StartT(t, testpeer.Config{TLS: srv})
			cfg := tlsConfigFor(cli, peer.Addr())
			cfg.BackoffInitial, cfg.BackoffMax, cfg.noJitter = 300*time.Millisecond, time.Second, true
			w := watchStates(&cfg)
			e, ctx := startInBackground(t, cfg)
			_, err := peer.Await(ctx, testpeer.Accepted)
			require.NoError(t, err)
			w.await(t, ctx, 1, fsm.Reconnecting)
			failedAt := time.Now()
			le := e.Stats().Conns[0].LastErr
			require.ErrorIs(t, le, ErrTLSHandshake, "%v", le)
			tc.check(t, le)
			_, err = peer.Await(ctx, testpeer.Accepted) // the redial
			require.NoError(t, err)
			assert.GreaterOrEqual(t, time.Since(failedAt), cfg.BackoffInitial*9/10, "the redial came before the backoff")
			assert.Zero(t, peer.ECRs.Load())
		})
	}
}

// A DRA that accepts the connection and never answers the ClientHello: CEATimeout bounds the
// handshake, the error says so, and the handshake's goroutine ends (TestMain checks leaks).
func TestTLSHandshakeThatNeverCompletesIsBoundedByCEATimeout(t *testing.T) {
	l := testLab(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c // accepted, never read nor written
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range held {
			_ = c.Close()
		}
	})
	cfg := tlsConfigFor(l.ClientConfig(""), ln.Addr().String())
	cfg.CEATimeout = 300 * time.Millisecond
	cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
	w := watchStates(&cfg)
	e, ctx := startInBackground(t, cfg)
	w.await(t, ctx, 1, fsm.CERSent)
	sentAt := time.Now()
	w.await(t, ctx, 1, fsm.Failed)
	assert.GreaterOrEqual(t, time.Since(sentAt), cfg.CEATimeout*9/10)
	w.await(t, ctx, 1, fsm.Reconnecting)
	le := e.Stats().Conns[0].LastErr
	require.ErrorIs(t, le, ErrTLSHandshake, "%v", le)
	assert.Contains(t, le.Error(), "CEATimeout")
	await.Wait(t, &e.dials.handshakes, 5*time.Second)
}

// A DRA that completes the TLS handshake and then closes the socket without a record (what a
// TLS 1.3 server refusing our certificate does when its alert is lost, and what freeDiameter
// does): while the CER waits for its CEA that is a handshake failure, not a bare EOF.
func TestTLSSilentCloseAfterHandshakeIsAHandshakeFailure(t *testing.T) {
	l := testLab(t)
	addr := serveRaw(t, func(raw net.Conn) {
		_ = tls.Server(raw, l.ServerConfig(true)).Handshake()
	})
	le := handshakeFailure(t, tlsConfigFor(l.ClientConfig(""), addr))
	assert.ErrorIs(t, le, errPeerClosedAfterHandshake)
}

// A DRA that reads the ClientHello and closes without an answer or an alert (what GnuTLS does
// under TLS 1.2 to a client without the certificate it requires: freeDiameter): a handshake
// failure that says the handshake never completed.
func TestTLSSilentCloseDuringHandshakeIsAHandshakeFailure(t *testing.T) {
	l := testLab(t)
	addr := serveRaw(t, func(raw net.Conn) {
		_, _ = raw.Read(make([]byte, 512)) // some of the ClientHello
	})
	le := handshakeFailure(t, tlsConfigFor(l.ClientConfig(""), addr))
	assert.ErrorIs(t, le, errPeerClosedInHandshake)
}

// serveRaw accepts connections on 127.0.0.1 until the test ends, runs serve on each (its reads
// bounded by a deadline) and closes it then without close_notify or alert; it returns the address.
func serveRaw(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
			serve(raw)
			_ = raw.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		select { // a serve in progress ends by its deadline
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the raw peer's accept loop did not end")
		}
	})
	return ln.Addr().String()
}

// handshakeFailure starts an engine with cfg (one connection), waits for its first failure and
// returns the connection's last error, an ErrTLSHandshake.
func handshakeFailure(t *testing.T, cfg Config) error {
	t.Helper()
	cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
	w := watchStates(&cfg)
	e, ctx := startInBackground(t, cfg)
	w.await(t, ctx, 1, fsm.Reconnecting)
	le := e.Stats().Conns[0].LastErr
	require.ErrorIs(t, le, ErrTLSHandshake, "%v", le)
	return le
}

// A corrupt record on an established TLS connection (§4 scenario 21's bytes, below TLS): it
// cannot be authenticated, so the connection is reset with ErrTLS and redialled, and the next
// request is answered on the new one.
func TestTLSCorruptRecordResetsTheConnection(t *testing.T) {
	l := testLab(t)
	peer := testpeer.StartT(t, testpeer.Config{TLS: l.ServerConfig(true)})
	cfg := tlsConfigFor(l.ClientConfig(""), peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 10*time.Second)
	_, err := e.Check(ctx, testReq)
	require.NoError(t, err)
	junk := append([]byte{23, 3, 3, 0, 32}, make([]byte, 32)...) // application data no key made
	require.NoError(t, peer.Conns()[0].WriteBelowTLS(junk))
	w.await(t, ctx, 1, fsm.Reconnecting)
	le := e.Stats().Conns[0].LastErr
	require.ErrorIs(t, le, ErrTLS, "%v", le)
	assert.NotErrorIs(t, le, ErrTLSHandshake)
	w.await(t, ctx, 1, fsm.Reopen)
	require.NoError(t, e.WaitReady(ctx))
	_, err = e.Check(ctx, testReq)
	require.NoError(t, err)
}
