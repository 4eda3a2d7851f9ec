package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// labFiles is a labpki.Lab written out as the PEM files the flags take.
type labFiles struct {
	lab                    *labpki.Lab
	dir                    string
	ca                     string // the lab CA
	serverCert, serverKey  string // localhost, 127.0.0.1
	clientCert, clientKey  string
	otherCert, otherKey    string // another CA's leaf: its key matches neither lab leaf
	garbage, empty, bigger string // text without PEM, an empty file, a file over tlsFileMax
}

func newLabFiles(t *testing.T) labFiles {
	t.Helper()
	now := time.Now()
	lab, err := labpki.New(now)
	require.NoError(t, err)
	other, err := labpki.NewCA("other CA", now)
	require.NoError(t, err)
	otherLeaf, err := other.Issue(labpki.Leaf{CommonName: "localhost", Names: []string{"localhost"}}, now)
	require.NoError(t, err)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	f := labFiles{lab: lab, dir: dir, ca: p("ca.pem"),
		serverCert: p("server.pem"), serverKey: p("server.key"),
		clientCert: p("client.pem"), clientKey: p("client.key"),
		otherCert: p("other.pem"), otherKey: p("other.key"),
		garbage: p("garbage.pem"), empty: p("empty.pem"), bigger: p("big.pem")}
	require.NoError(t, os.WriteFile(f.ca, lab.CA.PEM, 0o644))
	require.NoError(t, labpki.WritePEM(lab.Server, f.serverCert, f.serverKey))
	require.NoError(t, labpki.WritePEM(lab.Client, f.clientCert, f.clientKey))
	require.NoError(t, labpki.WritePEM(otherLeaf, f.otherCert, f.otherKey))
	require.NoError(t, os.WriteFile(f.garbage, []byte("not a certificate\n"), 0o644))
	require.NoError(t, os.WriteFile(f.empty, nil, 0o644))
	big := append([]byte(nil), lab.CA.PEM...)
	for len(big) <= tlsFileMax {
		big = append(big, lab.CA.PEM...)
	}
	require.NoError(t, os.WriteFile(f.bigger, big, 0o644))
	return f
}

// parseRunTLS parses run arguments as the command line does; a key log it opens is closed
// when the test ends.
func parseRunTLS(t *testing.T, args ...string) (*runOpts, error) {
	t.Helper()
	o, err := parseRunFlags("run", args, false)
	if o != nil && o.tlsKeyLog != nil {
		t.Cleanup(func() { o.tlsKeyLog.Close() })
	}
	return o, err
}

// parseServeTLS parses serve arguments as the command line does.
func parseServeTLS(t *testing.T, args ...string) (*serveOpts, error) {
	t.Helper()
	o, err := parseServeFlags(args)
	if o != nil && o.tlsKeyLog != nil {
		t.Cleanup(func() { o.tlsKeyLog.Close() })
	}
	return o, err
}

// handshake is labpki.Handshake with the tests' bound.
func handshake(t *testing.T, client, server *tls.Config) (cerr, serr error) {
	t.Helper()
	return labpki.Handshake(client, server, 10*time.Second)
}

// The TLS flags are on run's and serve's command lines and selftest has only its --tls switch;
// without any of them a run and a serve stay plain TCP (no config built).
func TestTLSFlagsRegistered(t *testing.T) {
	for _, args := range [][]string{{"run", "--tls"}, {"run", "--tls-ca", "x"}, {"serve", "--tls-client-ca", "x"}} {
		code, _, errOut := cli(t, ctxT(t, 10*time.Second), args...)
		assert.Equal(t, exitUsage, code, args)
		assert.NotContains(t, errOut, "flag provided but not defined", args)
		assert.Contains(t, errOut, "--"+strings.TrimPrefix(args[1], "--"), args)
	}
	code, _, errOut := cli(t, ctxT(t, 10*time.Second), "selftest", "--tls-ca", "x")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "flag provided but not defined", "selftest makes its own certificates")
	o, err := parseRunFlags("run", []string{"--dra", "127.0.0.1:3868"}, false)
	require.NoError(t, err)
	assert.Nil(t, o.tls)
	s, err := parseServeFlags(nil)
	require.NoError(t, err)
	assert.Nil(t, s.tls)
}

// tls:// marks one DRA, --tls all of them; each TLS DRA gets its own config, TLS 1.2 at least,
// verifying the DRA's host unless --tls-server-name names another; the others stay plain.
func TestRunTLSPerDRA(t *testing.T) {
	f := newLabFiles(t)
	o, err := parseRunTLS(t, "--dra", "tls://127.0.0.1:5868", "--dra", "127.0.0.1:3868",
		"--dra", "TLS://localhost:5868", "--tls-ca", f.ca)
	require.NoError(t, err)
	assert.Equal(t, stringList{"127.0.0.1:5868", "127.0.0.1:3868", "localhost:5868"}, o.peers)
	require.Len(t, o.tls, 3)
	require.NotNil(t, o.tls[0])
	assert.Nil(t, o.tls[1], "a --dra without tls:// is plain TCP")
	require.NotNil(t, o.tls[2])
	assert.NotSame(t, o.tls[0], o.tls[2], "one config per DRA")
	assert.Equal(t, "127.0.0.1", o.tls[0].ServerName)
	assert.Equal(t, "localhost", o.tls[2].ServerName)
	for _, c := range []*tls.Config{o.tls[0], o.tls[2]} {
		assert.Equal(t, uint16(tls.VersionTLS12), c.MinVersion)
		assert.Zero(t, c.MaxVersion, "TLS 1.3 is offered")
		assert.False(t, c.InsecureSkipVerify)
		assert.True(t, c.RootCAs.Equal(f.lab.CA.Pool), "RootCAs are --tls-ca's")
		assert.Empty(t, c.Certificates, "no client certificate without --tls-cert")
		assert.Nil(t, c.KeyLogWriter)
	}

	o, err = parseRunTLS(t, "--tls", "--dra", "127.0.0.1:5868", "--dra", "10.0.0.1:5868",
		"--tls-server-name", "dra.test.local")
	require.NoError(t, err)
	require.Len(t, o.tls, 2)
	for _, c := range o.tls {
		require.NotNil(t, c, "--tls: every DRA")
		assert.Equal(t, "dra.test.local", c.ServerName)
		assert.Nil(t, c.RootCAs, "no --tls-ca: the system's roots")
	}
}

// The configs do what they say in a real handshake: the CA file is trusted, the client
// certificate is presented, the name is verified, and verification can be turned off.
func TestRunTLSHandshakes(t *testing.T) {
	f := newLabFiles(t)
	cfg := func(args ...string) *tls.Config {
		t.Helper()
		o, err := parseRunTLS(t, append([]string{"--dra", "tls://127.0.0.1:5868"}, args...)...)
		require.NoError(t, err)
		require.Len(t, o.tls, 1)
		require.NotNil(t, o.tls[0])
		return o.tls[0]
	}
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError

	cerr, serr := handshake(t, cfg("--tls-ca", f.ca, "--tls-cert", f.clientCert, "--tls-key", f.clientKey),
		f.lab.ServerConfig(true))
	require.NoError(t, cerr)
	require.NoError(t, serr, "the client certificate is presented and verified")

	cerr, _ = handshake(t, cfg("--tls-ca", f.ca, "--tls-server-name", "eir.example"), f.lab.ServerConfig(false))
	require.ErrorAs(t, cerr, &hostname, "--tls-server-name is verified")

	cerr, _ = handshake(t, cfg(), f.lab.ServerConfig(false))
	require.ErrorAs(t, cerr, &unknown, "without --tls-ca the lab CA is not trusted")

	cerr, serr = handshake(t, cfg("--tls-insecure-skip-verify"), f.lab.ServerConfig(false))
	require.NoError(t, cerr, "lab only: any certificate")
	require.NoError(t, serr)

	_, serr = handshake(t, cfg("--tls-ca", f.ca), f.lab.ServerConfig(true))
	require.Error(t, serr, "no --tls-cert: no client certificate")
}

// --tls-keylog appends the session keys, owner-only, for tshark.
func TestTLSKeyLog(t *testing.T) {
	f := newLabFiles(t)
	path := filepath.Join(f.dir, "keys.log")
	o, err := parseRunTLS(t, "--dra", "tls://127.0.0.1:5868", "--tls-ca", f.ca, "--tls-keylog", path)
	require.NoError(t, err)
	require.NotNil(t, o.tlsKeyLog)
	require.Same(t, o.tlsKeyLog, o.tls[0].KeyLogWriter)
	cerr, serr := handshake(t, o.tls[0], f.lab.ServerConfig(false))
	require.NoError(t, cerr)
	require.NoError(t, serr)
	keys, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(keys), "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "NSS key log lines")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	s, err := parseServeTLS(t, "--tls-cert", f.serverCert, "--tls-key", f.serverKey, "--tls-keylog", path)
	require.NoError(t, err)
	require.Same(t, s.tlsKeyLog, s.tls.KeyLogWriter)
	before := len(keys)
	cerr, serr = handshake(t, f.lab.ClientConfig("localhost"), s.tls)
	require.NoError(t, cerr)
	require.NoError(t, serr)
	keys, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(keys[before:]), "SERVER_HANDSHAKE_TRAFFIC_SECRET ", "appended, not truncated")
}

// serve: --tls-cert/--tls-key serve TLS; --tls-client-ca requires a client certificate of
// those CAs.
func TestServeTLS(t *testing.T) {
	f := newLabFiles(t)
	s, err := parseServeTLS(t)
	require.NoError(t, err)
	assert.Nil(t, s.tls, "no flags: plain TCP")

	s, err = parseServeTLS(t, "--tls-cert", f.serverCert, "--tls-key", f.serverKey)
	require.NoError(t, err)
	require.NotNil(t, s.tls)
	assert.Equal(t, uint16(tls.VersionTLS12), s.tls.MinVersion)
	assert.Equal(t, tls.NoClientCert, s.tls.ClientAuth)
	noCert := f.lab.ClientConfig("localhost")
	noCert.Certificates = nil
	cerr, serr := handshake(t, noCert, s.tls)
	require.NoError(t, cerr)
	require.NoError(t, serr)

	s, err = parseServeTLS(t, "--tls-cert", f.serverCert, "--tls-key", f.serverKey, "--tls-client-ca", f.ca)
	require.NoError(t, err)
	assert.Equal(t, tls.RequireAndVerifyClientCert, s.tls.ClientAuth)
	assert.True(t, s.tls.ClientCAs.Equal(f.lab.CA.Pool))
	_, serr = handshake(t, noCert, s.tls)
	require.Error(t, serr, "a client without a certificate is refused")
	cerr, serr = handshake(t, f.lab.ClientConfig("localhost"), s.tls)
	require.NoError(t, cerr)
	require.NoError(t, serr, "the lab client certificate is accepted")
}

// Every bad TLS flag is a usage error (exit 2, one line, the flag and the file named) of its
// own kind, found while parsing.
func TestTLSUsageErrors(t *testing.T) {
	f := newLabFiles(t)
	dra := []string{"--dra", "tls://127.0.0.1:5868"}
	missing := filepath.Join(f.dir, "missing.pem")
	cases := []struct {
		name  string
		serve bool
		args  []string
		kind  error
		want  string
	}{
		{"missing CA file", false, append(dra, "--tls-ca", missing), errTLSFile, "--tls-ca " + missing + ": unreadable file"},
		{"CA is a directory", false, append(dra, "--tls-ca", f.dir), errTLSFile, "--tls-ca " + f.dir},
		{"CA file too large", false, append(dra, "--tls-ca", f.bigger), errTLSFile, "larger than"},
		{"CA file without a certificate", false, append(dra, "--tls-ca", f.garbage), errTLSNoCert, "no certificate"},
		{"CA file empty", false, append(dra, "--tls-ca", f.empty), errTLSNoCert, "--tls-ca " + f.empty},
		{"CA file holding a key", false, append(dra, "--tls-ca", f.clientKey), errTLSNoCert, "no certificate"},
		{"cert without key", false, append(dra, "--tls-cert", f.clientCert), errTLSHalfPair, "--tls-cert " + f.clientCert},
		{"key without cert", false, append(dra, "--tls-key", f.clientKey), errTLSHalfPair, "--tls-key " + f.clientKey},
		{"cert file without a certificate", false, append(dra, "--tls-cert", f.garbage, "--tls-key", f.clientKey), errTLSNoCert, "--tls-cert"},
		{"missing cert file", false, append(dra, "--tls-cert", missing, "--tls-key", f.clientKey), errTLSFile, "--tls-cert"},
		{"missing key file", false, append(dra, "--tls-cert", f.clientCert, "--tls-key", missing), errTLSFile, "--tls-key"},
		{"key file without a key", false, append(dra, "--tls-cert", f.clientCert, "--tls-key", f.clientCert), errTLSNoKey, "no private key"},
		{"key of another certificate", false, append(dra, "--tls-cert", f.clientCert, "--tls-key", f.serverKey), errTLSKeyMismatch, "does not match"},
		{"key of another CA's leaf", false, append(dra, "--tls-cert", f.clientCert, "--tls-key", f.otherKey), errTLSKeyMismatch, "--tls-key " + f.otherKey},
		{"keylog in a missing directory", false, append(dra, "--tls-keylog", filepath.Join(missing, "k.log")), errTLSFile, "--tls-keylog"},
		{"CA without a TLS DRA", false, []string{"--dra", "127.0.0.1:3868", "--tls-ca", f.ca}, errTLSUnused, "--tls-ca: no connection uses TLS"},
		{"insecure without a TLS DRA", false, []string{"--dra", "127.0.0.1:3868", "--tls-insecure-skip-verify"}, errTLSUnused, "--tls-insecure-skip-verify"},
		{"--tls without --dra", false, []string{"--tls"}, errTLSUnused, "embedded EIR"},
		{"--tls with the baseline client", false, append(dra, "--client", "baseline"), errUsage, "--client baseline speaks plain TCP only"},
		{"tls:// without a port", false, []string{"--dra", "tls://127.0.0.1"}, errUsage, `invalid --dra "127.0.0.1": want host:port`},
		{"serve: client CA without cert", true, []string{"--tls-client-ca", f.ca}, errTLSClientCANeedsCert, "--tls-client-ca"},
		{"serve: keylog without cert", true, []string{"--tls-keylog", filepath.Join(f.dir, "k.log")}, errTLSUnused, "--tls-keylog"},
		{"serve: cert without key", true, []string{"--tls-cert", f.serverCert}, errTLSHalfPair, "--tls-cert"},
		{"serve: key of another certificate", true, []string{"--tls-cert", f.serverCert, "--tls-key", f.clientKey}, errTLSKeyMismatch, "--tls-key"},
		{"serve: client CA without a certificate", true, []string{"--tls-cert", f.serverCert, "--tls-key", f.serverKey, "--tls-client-ca", f.garbage}, errTLSNoCert, "--tls-client-ca " + f.garbage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			var cmd string
			if tc.serve {
				var o *serveOpts
				o, err = parseServeTLS(t, tc.args...)
				assert.Nil(t, o.tls)
				assert.Nil(t, o.tlsKeyLog, "nothing left open")
				cmd = "diamload serve: "
			} else {
				var o *runOpts
				o, err = parseRunTLS(t, tc.args...)
				assert.Nil(t, o.tls)
				assert.Nil(t, o.tlsKeyLog, "nothing left open")
				cmd = "diamload run: "
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, errUsage)
			assert.ErrorIs(t, err, tc.kind)
			assert.Equal(t, exitUsage, exitCode(err))
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), cmd), err.Error())
			requireOneLine(t, oneLine(err.Error()))
		})
	}
	_, err := parseRunTLS(t, append(dra, "--tls-ca", missing)...)
	assert.ErrorIs(t, err, fs.ErrNotExist, "the cause is kept")

	// The key log is opened last: a bad certificate leaves no file behind.
	keyLog := filepath.Join(f.dir, "keys.log")
	for _, args := range [][]string{append(dra, "--tls-ca", missing, "--tls-keylog", keyLog),
		append(dra, "--tls-cert", f.clientCert, "--tls-key", f.serverKey, "--tls-keylog", keyLog),
		append(dra, "--tls-keylog", keyLog, "--timeout", "0s")} {
		_, err = parseRunTLS(t, args...)
		require.ErrorIs(t, err, errUsage, args)
		_, err = os.Stat(keyLog)
		require.ErrorIs(t, err, fs.ErrNotExist, args)
	}
	_, err = parseServeTLS(t, "--tls-cert", f.serverCert, "--tls-key", f.clientKey, "--tls-keylog", keyLog)
	require.ErrorIs(t, err, errTLSKeyMismatch)
	_, err = os.Stat(keyLog)
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// The private key forms openssl and Go write: PKCS #8, PKCS #1 (RSA), SEC 1 (EC), with an EC
// PARAMETERS block before the key (openssl ecparam -genkey) skipped.
func TestParsePrivateKeyForms(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pk8, err := x509.MarshalPKCS8PrivateKey(ec)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(ec)
	require.NoError(t, err)
	enc := func(kind string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}) }
	for name, tc := range map[string]struct {
		pem  []byte
		want any
	}{
		"PKCS #8":            {enc("PRIVATE KEY", pk8), ec.Public()},
		"PKCS #1":            {enc("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), rk.Public()},
		"SEC 1":              {enc("EC PRIVATE KEY", sec1), ec.Public()},
		"SEC 1 after params": {append(enc("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), enc("EC PRIVATE KEY", sec1)...), ec.Public()},
	} {
		k, err := parsePrivateKey(tc.pem)
		require.NoError(t, err, name)
		assert.True(t, k.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tc.want), name)
	}
	_, err = parsePrivateKey(enc("PRIVATE KEY", []byte("junk")))
	assert.Error(t, err, "a PRIVATE KEY block that does not parse")
}

// The lab-only flags say so, and the insecure one says what it turns off.
func TestTLSFlagHelp(t *testing.T) {
	var rf, sf tlsFlags
	run, serve := flag.NewFlagSet("run", flag.ContinueOnError), flag.NewFlagSet("serve", flag.ContinueOnError)
	registerTLSFlags(run, &rf, false)
	registerTLSFlags(serve, &sf, true)
	insecure := run.Lookup("tls-insecure-skip-verify")
	require.NotNil(t, insecure)
	assert.Contains(t, insecure.Usage, "lab only")
	assert.Contains(t, insecure.Usage, "disables verification")
	for _, fs := range []*flag.FlagSet{run, serve} {
		kl := fs.Lookup("tls-keylog")
		require.NotNil(t, kl, fs.Name())
		assert.Contains(t, kl.Usage, "lab only", fs.Name())
	}
	for _, name := range []string{"tls", "tls-ca", "tls-cert", "tls-key", "tls-server-name"} {
		assert.NotNil(t, run.Lookup(name), name)
	}
	for _, name := range []string{"tls-cert", "tls-key", "tls-client-ca"} {
		assert.NotNil(t, serve.Lookup(name), name)
	}
	assert.Nil(t, serve.Lookup("tls-insecure-skip-verify"), "serve verifies its clients or asks for none")
	assert.Nil(t, run.Lookup("tls-client-ca"))
}

func TestTLSFlagErrorUnwraps(t *testing.T) {
	cause := errors.New("cause")
	e := &tlsFlagError{Cmd: "run", Flag: "tls-ca", Path: "/x", Kind: errTLSFile, Err: cause}
	assert.Equal(t, "diamload run: --tls-ca /x: unreadable file: cause", e.Error())
	assert.ErrorIs(t, e, cause)
	e = &tlsFlagError{Cmd: "serve", Flag: "tls-client-ca", Kind: errTLSClientCANeedsCert}
	assert.Equal(t, "diamload serve: --tls-client-ca: needs --tls-cert and --tls-key", e.Error())
	assert.ErrorIs(t, e, errUsage)
}

// End to end, as an operator types it: `serve` with a certificate and client certificates
// required, `run --dra tls://` with the lab CA and a client certificate. Every ECR is answered
// over TLS (the report's connection names the version the handshake agreed), the run closes
// cleanly (DPR/DPA inside TLS), and the server's statistics show the TLS connection. A run
// without a client certificate is refused by that server: its handshake fails, typed.
func TestRunTLSAgainstServeTLS(t *testing.T) {
	f := newLabFiles(t)
	srv := startServe(t, "--tls-cert", f.serverCert, "--tls-key", f.serverKey, "--tls-client-ca", f.ca)
	addr := srv.addr

	code, out, errOut := cli(t, ctxT(t, 60*time.Second), "run", "--dra", "tls://"+addr, "--tls-ca", f.ca,
		"--tls-cert", f.clientCert, "--tls-key", f.clientKey, "-n", "2000", "-c", "16", "--quiet", "--json", "-")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	rp, _ := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, uint64(2000), rp.Answers)
	assert.Empty(t, rp.CloseError, "DPR/DPA over TLS")
	require.Len(t, rp.Connections, 1)
	assert.Regexp(t, `^TLS 1\.3 TLS_`, rp.Connections[0].TLS)

	code, _, errOut = cli(t, ctxT(t, 60*time.Second), "run", "--dra", "tls://"+addr, "--tls-ca", f.ca,
		"-n", "10", "--quiet")
	assert.Equal(t, exitFailure, code, "no client certificate: refused")
	assert.Contains(t, errOut, "TLS handshake")

	srv.stop(t)
	assert.Regexp(t, `TLSHandshakeFailures:[1-9]`, srv.stdout.String(), "the refused run is counted by the server")
}

// selftest --tls runs over TLS and proves it: its transport check names the version and suite
// every connection's handshake agreed; a plain selftest's check says TCP.
func TestSelftestTLS(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 60*time.Second), "selftest", "--tls", "-d", "1s", "--quiet")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Regexp(t, `ok +transport: 1 of 1 connections over TLS \(TLS 1\.3 TLS_[A-Z0-9_]+\)`, out)
	assert.Contains(t, out, "ok   expected-outcomes")
	assert.NotRegexp(t, `(?m)^FAIL`, out)
}

// The transport check fails a run whose connections did not all use the transport asked for:
// a --tls selftest that fell back to TCP on one connection, or a TCP one that saw TLS.
func TestTransportCheck(t *testing.T) {
	for _, c := range []struct {
		name    string
		overTLS bool
		conns   []connReport
		ok      bool
	}{
		{"all TLS", true, []connReport{{TLS: "TLS 1.3 TLS_AES_128_GCM_SHA256"}, {TLS: "TLS 1.3 TLS_AES_128_GCM_SHA256"}}, true},
		{"one fell back to TCP", true, []connReport{{TLS: "TLS 1.3 TLS_AES_128_GCM_SHA256"}, {}}, false},
		{"none", true, nil, false},
		{"TCP", false, []connReport{{}}, true},
		{"TCP asked, TLS seen", false, []connReport{{TLS: "TLS 1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}}, false},
	} {
		rp := &report{Connections: c.conns}
		rp.addTransportCheck(c.overTLS)
		require.Len(t, rp.Checks, 1, c.name)
		assert.Equal(t, "transport", rp.Checks[0].Name)
		assert.Equal(t, c.ok, rp.Checks[0].OK, c.name+": "+rp.Checks[0].Detail)
	}
}
