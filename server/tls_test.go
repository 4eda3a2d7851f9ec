package server_test

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialTLS is dial over TLS: the handshake is done when it returns, or its error is returned.
func dialTLS(t *testing.T, addr string, cfg *tls.Config) (*client, error) {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout}
	tc, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { tc.Close() })
	return &client{t: t, nc: tc, hbh: 0x1000, e2e: 0x7000}, nil
}

// A TLS listener that requires client certificates: a client with one exchanges CER/CEA and
// ECR/ECA inside TLS; one without is refused by the handshake, closed and counted, and the
// loop goes on serving the first client meanwhile (one loop: a blocked loop would stall it).
func TestTLSServerRequiresClientCertificates(t *testing.T) {
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	srv := startServer(t, server.Config{TLS: l.ServerConfig(true), Handler: fdEIR(t), Loops: 1})

	good, err := dialTLS(t, srv.Addr(), l.ClientConfig("localhost"))
	require.NoError(t, err)
	good.open(cliHost)

	nocert := l.ClientConfig("localhost")
	nocert.Certificates = nil
	bad, err := dialTLS(t, srv.Addr(), nocert) // TLS 1.3: the refusal comes on the first read
	if err == nil {
		_, _, err = bad.next(ioTimeout)
	}
	require.ErrorContains(t, err, "certificate required") // crypto/tls's client has no exported alert type here
	eventually(t, func() bool { return srv.Stats().TLSHandshakeFailures == 1 }, "the failed handshake is counted")

	good.send(good.ecr("35209900176148"))
	a, _ := good.eca()
	assert.Equal(t, s13.Whitelisted, a.EquipmentStatus)
	st := srv.Stats()
	assert.Equal(t, uint64(1), st.TLSHandshakeFailures)
	assert.Equal(t, int64(1), st.Peers)
}

// A client that connects and never starts its handshake is closed after CERTimeout, and counted.
func TestTLSServerClosesASilentClientAfterCERTimeout(t *testing.T) {
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	srv := startServer(t, server.Config{TLS: l.ServerConfig(false), CERTimeout: 300 * time.Millisecond})
	c := dial(t, srv.Addr()) // plain TCP, says nothing
	start := time.Now()
	err = c.expectClosed(5*time.Second, false)
	require.True(t, isEOF(err) || isReset(err), "%v", err)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	eventually(t, func() bool { return srv.Stats().TLSHandshakeFailures == 1 }, "the silent client is counted")
}

// Config.TLS without a certificate is a configuration error naming the field.
func TestTLSServerConfigNeedsACertificate(t *testing.T) {
	_, err := server.New(server.Config{OriginHost: srvHost, OriginRealm: realm, TLS: &tls.Config{}})
	var ce *server.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "TLS", ce.Field)
	assert.ErrorIs(t, err, server.ErrInvalidConfig)
}
