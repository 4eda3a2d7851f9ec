package engine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TLS interop: freeDiameter's DRA and EIR over TLS from the connect on (RFC 6733 §13). .ci/run
// starts them with FD_TLS=1 and sets DIAMGW_FD_DRA_TLS (127.0.0.1:5868), DIAMGW_FD_EIR_TLS
// (127.0.0.1:5869) and DIAMGW_FD_TLS_DIR, the run directory's tls/ (ca.pem, client.pem,
// client.key, made by start.sh). freeDiameter requires a client certificate of that CA and does
// not compare its name with Origin-Host; its server certificates name dra.test.local and
// eir.test.local only (no IP address), so the ServerName is set, not left to the address.

const (
	fdDRAName = "dra.test.local"
	fdEIRName = "eir.test.local"
)

// fdTLS is a client config for freeDiameter's TLS ports that verifies serverName and presents
// start.sh's client certificate.
func fdTLS(t *testing.T, serverName string) *tls.Config {
	t.Helper()
	dir := os.Getenv("DIAMGW_FD_TLS_DIR")
	if dir == "" {
		skipOrFail(t, "DIAMGW_FD_TLS_DIR is not set: no freeDiameter TLS material (start ../shared/peers/freediameter/start.sh dra with FD_TLS=1 and set it to RUN_DIR/tls)")
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca), "no certificate in %s", filepath.Join(dir, "ca.pem"))
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"))
	require.NoError(t, err)
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: serverName,
		Certificates: []tls.Certificate{cert}}
}

// fdTLSConfig is fdConfig for the peer at env over TLS, verifying serverName.
func fdTLSConfig(t *testing.T, host, env, serverName string) Config {
	t.Helper()
	cfg := fdConfig(host, fdAddr(t, env))
	cfg.DRAs[0].TLS = fdTLS(t, serverName)
	return cfg
}

// The capabilities exchange runs inside TLS: the DRA (Relay only) answers CEA 2001 and relays
// the ECR to its EIR; the wire carried more than the plaintext (the DRA's certificate).
func TestInteropTLSCapabilitiesDRA(t *testing.T) {
	e, a := checkCapabilities(t, fdTLSConfig(t, "gw-tls-dra", "DIAMGW_FD_DRA_TLS", fdDRAName), fdDRAName)
	assert.Equal(t, fdEIRName, string(a.OriginHost), "answered by the EIR behind the DRA")
	cs := e.Stats().Conns[0]
	assert.Equal(t, "Open", cs.State)
	assert.Nil(t, cs.LastErr)
	assert.Greater(t, cs.BytesIn, uint64(1000), "the wire carried the TLS handshake (an RSA 2048 certificate)")
}

// The EIR's own TLS port, directly.
func TestInteropTLSCapabilitiesEIR(t *testing.T) {
	checkCapabilities(t, fdTLSConfig(t, "gw-tls-eir", "DIAMGW_FD_EIR_TLS", fdEIRName), fdEIRName)
}

// Every outcome of eir_rules.conf through the DRA over TLS, as TestInteropOutcomesThroughDRA
// checks them over TCP (checkFDOutcomes): answers, E-bit answers, a lost request's timeout and
// a late answer dropped.
func TestInteropTLSOutcomesThroughDRA(t *testing.T) {
	cfg := fdTLSConfig(t, "gw-tls-outcomes", "DIAMGW_FD_DRA_TLS", fdDRAName)
	cfg.RequestTimeout = 4 * time.Second
	checkFDOutcomes(t, startEngine(t, cfg))
}

// TLS 1.2 works too (freeDiameter's GnuTLS offers both; crypto/tls prefers 1.3).
func TestInteropTLS12(t *testing.T) {
	cfg := fdTLSConfig(t, "gw-tls12", "DIAMGW_FD_DRA_TLS", fdDRAName)
	cfg.DRAs[0].TLS.MaxVersion = tls.VersionTLS12
	e := startEngine(t, cfg)
	a, err := e.Check(ctxT(t, 5*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, a.ResultCode)
}

// The DRA's own DWRs arrive inside TLS on an idle connection and are answered.
func TestInteropTLSPeerWatchdog(t *testing.T) {
	checkPeerWatchdog(t, fdTLSConfig(t, "gw-tls-watchdog", "DIAMGW_FD_DRA_TLS", fdDRAName))
}

// A mixed pool on one DRA: one connection over TLS, two over TCP (own identities each: the DRA
// refuses a second CER from a connected Origin-Host), all carrying traffic.
func TestInteropTLSMixedPool(t *testing.T) {
	tlsAddr, tcpAddr := fdAddr(t, "DIAMGW_FD_DRA_TLS"), fdAddr(t, "DIAMGW_FD_DRA")
	cfg := fdConfig("gw-tls-mixed", tlsAddr)
	cfg.DRAs[0].Name, cfg.DRAs[0].TLS = "tls", fdTLS(t, fdDRAName)
	cfg.DRAs = append(cfg.DRAs, DRA{Name: "tcp", Address: tcpAddr, Connections: 2, Identity: IdentityPerConnection})
	e := startPool(t, cfg, 3, 30)
	byDRA := map[string]uint64{}
	for _, c := range e.Stats().Conns {
		assert.Equal(t, "Open", c.State, c.OriginHost)
		assert.Equal(t, c.Requests, c.Answers.Success, c.OriginHost)
		byDRA[c.DRA] += c.Answers.Success
	}
	assert.Positive(t, byDRA["tls"], "the TLS connection carried traffic: %v", byDRA)
	assert.Positive(t, byDRA["tcp"], "the TCP connections carried traffic: %v", byDRA)
	assert.Equal(t, uint64(30), byDRA["tls"]+byDRA["tcp"])
}

// Close sends DPR inside TLS and the DRA answers; an immediate reconnect with the same identity
// is then clean (its first ECR is answered: no REOPEN, ../shared/peers/README.md quirk 1).
func TestInteropTLSCloseThenReconnect(t *testing.T) {
	checkCloseThenReconnect(t, fdTLSConfig(t, "gw-tls-reconnect", "DIAMGW_FD_DRA_TLS", fdDRAName))
}

// The handshakes freeDiameter's DRA refuses, or we refuse, are typed ErrTLSHandshake with the
// cause matchable, and the connection backs off without a request on it: a CA that did not sign
// the DRA's certificate, a name the certificate does not carry (127.0.0.1, the address's host
// and so the default ServerName, has no IP SAN there), no client certificate. freeDiameter
// closes without an alert when the client certificate is missing (GnuTLS): under TLS 1.3 our
// side of the handshake is done by then, so it is the close before any record that says so
// (errPeerClosedAfterHandshake); under TLS 1.2 it closes during our handshake
// (errPeerClosedInHandshake).
func TestInteropTLSRefusalsAreTyped(t *testing.T) {
	other, err := labpki.NewCA("not the S13 test CA", time.Now())
	require.NoError(t, err)
	cases := []struct {
		name  string
		cli   func(*tls.Config)
		check func(t *testing.T, err error)
	}{
		{"unknown CA", func(c *tls.Config) { c.RootCAs = other.Pool }, func(t *testing.T, err error) {
			var e x509.UnknownAuthorityError
			assert.ErrorAs(t, err, &e)
		}},
		{"address as name", func(c *tls.Config) { c.ServerName = "" }, func(t *testing.T, err error) {
			var e x509.HostnameError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "127.0.0.1", e.Host)
		}},
		{"EIR's name at the DRA", func(c *tls.Config) { c.ServerName = fdEIRName }, func(t *testing.T, err error) {
			var e x509.HostnameError
			require.ErrorAs(t, err, &e)
			assert.Equal(t, fdEIRName, e.Host)
		}},
		{"no client certificate TLS 1.3", func(c *tls.Config) { c.Certificates = nil }, func(t *testing.T, err error) {
			assert.ErrorIs(t, err, errPeerClosedAfterHandshake)
		}},
		{"no client certificate TLS 1.2", func(c *tls.Config) { c.Certificates, c.MaxVersion = nil, tls.VersionTLS12 },
			func(t *testing.T, err error) {
				assert.ErrorIs(t, err, errPeerClosedInHandshake)
			}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fdTLSConfig(t, fmt.Sprintf("gw-tls-refused-%d", i), "DIAMGW_FD_DRA_TLS", fdDRAName)
			tc.cli(cfg.DRAs[0].TLS)
			cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
			w := watchStates(&cfg)
			e, ctx := startInBackground(t, cfg)
			sc := w.awaitWhere(t, ctx, func(sc StateChange) bool { return sc.To == fsm.Reconnecting || sc.To == fsm.Open },
				"the connection neither failed nor opened")
			require.Equal(t, fsm.Reconnecting, sc.To, "the handshake was accepted")
			cs := e.Stats().Conns[0]
			require.ErrorIs(t, cs.LastErr, ErrTLSHandshake, "%v", cs.LastErr)
			tc.check(t, cs.LastErr)
			assert.Zero(t, cs.Requests)
			assert.Zero(t, cs.Answers.Total())
		})
	}
}
