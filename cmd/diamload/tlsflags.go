package main

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
)

// The TLS flags of run and serve (RFC 6733 §13: TLS starts on connect, CER/CEA run inside it),
// turned into *tls.Config values before anything dials or listens, so a bad certificate is a
// usage error (exit 2) naming the flag and the file.
//
// run and serve register them (registerTLSFlags); selftest does not (its --tls makes
// throwaway certificates), and with the flags unregistered the build steps below change nothing.

// tlsScheme marks a --dra address as TLS: tls://host:port.
const tlsScheme = "tls://"

// tlsFileMax bounds what a --tls-* file may hold: a certificate chain or a CA bundle is far
// smaller, and a path to a device or a huge file must not be read whole.
const tlsFileMax = 1 << 20

// tlsFlags are the TLS flags of run or serve as given on the command line.
type tlsFlags struct {
	registered bool   // registerTLSFlags ran: the flags below exist
	all        bool   // run --tls: every --dra over TLS
	ca         string // run --tls-ca: trust these CAs instead of the system's
	cert, key  string // our certificate chain and its key (run: the client's; serve: the server's)
	serverName string // run --tls-server-name
	insecure   bool   // run --tls-insecure-skip-verify
	clientCA   string // serve --tls-client-ca
	keyLog     string // --tls-keylog
}

// registerTLSFlags registers the TLS flags of run (serve false) or serve on fs.
func registerTLSFlags(fs *flag.FlagSet, f *tlsFlags, serve bool) {
	f.registered = true
	fs.StringVar(&f.cert, "tls-cert", "", "our TLS certificate chain, PEM `file` (with --tls-key)")
	fs.StringVar(&f.key, "tls-key", "", "the private key of --tls-cert, PEM `file`")
	fs.StringVar(&f.keyLog, "tls-keylog", "", "lab only: append the TLS session keys to `file` (NSS key log format, for tshark -o tls.keylog_file:); anyone holding it can decrypt the traffic")
	if serve {
		fs.StringVar(&f.clientCA, "tls-client-ca", "", "require a client certificate signed by a CA of this PEM `file` (needs --tls-cert)")
		return
	}
	fs.BoolVar(&f.all, "tls", false, "connect to every --dra over TLS (RFC 6733 TLS/TCP, port 5868 by convention); tls://host:port does it for one --dra")
	fs.StringVar(&f.ca, "tls-ca", "", "trust the CAs of this PEM `file` for the DRAs' certificates (default: the system's)")
	fs.StringVar(&f.serverName, "tls-server-name", "", "the `name` the DRAs' certificates must carry, sent as SNI (default: each --dra's host)")
	fs.BoolVar(&f.insecure, "tls-insecure-skip-verify", false, "lab only: disables verification of the DRAs' certificates (chain and name), so anyone on the path can read and change the traffic")
}

// splitTLSPeers strips the tls:// marks from the --dra addresses, before they are checked as
// host:port, and says which peers use TLS (all of them with --tls). With the flags
// unregistered (selftest) it returns the peers unchanged and none over TLS.
func splitTLSPeers(f *tlsFlags, peers []string) ([]string, []bool) {
	if !f.registered {
		return peers, nil
	}
	out := make([]string, len(peers))
	useTLS := make([]bool, len(peers))
	for i, p := range peers {
		if len(p) >= len(tlsScheme) && strings.EqualFold(p[:len(tlsScheme)], tlsScheme) {
			p, useTLS[i] = p[len(tlsScheme):], true
		}
		out[i], useTLS[i] = p, useTLS[i] || f.all
	}
	return out, useTLS
}

// runTLSConfigs builds, for each peer (split by splitTLSPeers), its TLS config: nil for a
// plain TCP peer; a nil slice when no peer uses TLS. The configs share one base
// (clientTLSConfig) and differ in ServerName. It opens --tls-keylog last, so an error leaves
// nothing open; the returned file is the caller's to close when the run ends.
func runTLSConfigs(f *tlsFlags, cmd string, peers []string, useTLS []bool) ([]*tls.Config, *os.File, error) {
	if !f.registered {
		return nil, nil, nil
	}
	if !slices.Contains(useTLS, true) {
		switch flagName, given := f.firstClientFlag(); {
		case f.all:
			return nil, nil, &tlsFlagError{Cmd: cmd, Flag: "tls", Kind: errTLSUnused,
				Err: errors.New("no --dra (the embedded EIR speaks plain TCP)")}
		case given:
			return nil, nil, &tlsFlagError{Cmd: cmd, Flag: flagName, Kind: errTLSUnused,
				Err: errors.New("add --tls, or give a --dra as tls://host:port")}
		}
		return nil, nil, nil
	}
	base, err := clientTLSConfig(f, cmd)
	if err != nil {
		return nil, nil, err
	}
	keyLog, err := openKeyLog(cmd, f.keyLog)
	if err != nil {
		return nil, nil, err
	}
	if keyLog != nil {
		base.KeyLogWriter = keyLog
	}
	per := make([]*tls.Config, len(peers))
	for i, p := range peers {
		if !useTLS[i] {
			continue
		}
		c := base.Clone()
		if c.ServerName == "" {
			// What tls.Dial would verify: the host the address names (an IP literal is checked
			// against the certificate's IP addresses and sent without SNI).
			c.ServerName, _, _ = net.SplitHostPort(p)
		}
		per[i] = c
	}
	return per, keyLog, nil
}

// firstClientFlag names the first run TLS flag given that only a TLS connection uses.
func (f *tlsFlags) firstClientFlag() (string, bool) {
	for _, s := range []struct {
		name string
		set  bool
	}{{"tls-ca", f.ca != ""}, {"tls-cert", f.cert != ""}, {"tls-key", f.key != ""},
		{"tls-server-name", f.serverName != ""}, {"tls-insecure-skip-verify", f.insecure},
		{"tls-keylog", f.keyLog != ""}} {
		if s.set {
			return s.name, true
		}
	}
	return "", false
}

// clientTLSConfig is the config every TLS DRA of a run shares: TLS 1.2 at least (crypto/tls
// prefers 1.3), the CAs of --tls-ca (nil RootCAs: the system's), our certificate if given, and
// --tls-server-name (empty: resolveRunTLS sets each DRA's host).
func clientTLSConfig(f *tlsFlags, cmd string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName, InsecureSkipVerify: f.insecure}
	if f.ca != "" {
		pool, err := loadCertPool(cmd, "tls-ca", f.ca)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	cert, err := loadKeyPair(cmd, f.cert, f.key)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		c.Certificates = []tls.Certificate{*cert}
	}
	return c, nil
}

// resolveServeTLS builds serve's TLS config (nil without --tls-cert) and opens --tls-keylog,
// last. With the flags unregistered it returns nil.
func resolveServeTLS(f *tlsFlags) (*tls.Config, *os.File, error) {
	if !f.registered {
		return nil, nil, nil
	}
	c, err := serverTLSConfig(f)
	if err != nil || c == nil {
		return nil, nil, err
	}
	kl, err := openKeyLog("serve", f.keyLog)
	if err != nil {
		return nil, nil, err
	}
	if kl != nil {
		c.KeyLogWriter = kl
	}
	return c, kl, nil
}

// serverTLSConfig is serve's config: TLS 1.2 at least, our certificate, and with
// --tls-client-ca a client certificate required and verified against those CAs. It is nil
// without --tls-cert and --tls-key.
func serverTLSConfig(f *tlsFlags) (*tls.Config, error) {
	cert, err := loadKeyPair("serve", f.cert, f.key)
	if err != nil {
		return nil, err
	}
	if cert == nil {
		switch {
		case f.clientCA != "":
			return nil, &tlsFlagError{Cmd: "serve", Flag: "tls-client-ca", Kind: errTLSClientCANeedsCert}
		case f.keyLog != "":
			return nil, &tlsFlagError{Cmd: "serve", Flag: "tls-keylog", Kind: errTLSUnused,
				Err: errors.New("add --tls-cert and --tls-key")}
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}}
	if f.clientCA != "" {
		pool, err := loadCertPool("serve", "tls-client-ca", f.clientCA)
		if err != nil {
			return nil, err
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// loadKeyPair loads --tls-cert and --tls-key: both or neither (nil, nil).
func loadKeyPair(cmd, certPath, keyPath string) (*tls.Certificate, error) {
	switch {
	case certPath == "" && keyPath == "":
		return nil, nil
	case keyPath == "":
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-cert", Path: certPath, Kind: errTLSHalfPair, Err: errors.New("no --tls-key")}
	case certPath == "":
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-key", Path: keyPath, Kind: errTLSHalfPair, Err: errors.New("no --tls-cert")}
	}
	certPEM, err := readTLSFile(cmd, "tls-cert", certPath)
	if err != nil {
		return nil, err
	}
	chain, leaf, err := parseCertChain(certPEM)
	if err != nil {
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-cert", Path: certPath, Kind: errTLSNoCert, Err: err}
	}
	keyPEM, err := readTLSFile(cmd, "tls-key", keyPath)
	if err != nil {
		return nil, err
	}
	key, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-key", Path: keyPath, Kind: errTLSNoKey, Err: err}
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-key", Path: keyPath, Kind: errTLSKeyMismatch,
			Err: fmt.Errorf("not the key of %s", certPath)}
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// parseCertChain returns the DER of every CERTIFICATE block, the first (the leaf) parsed.
func parseCertChain(data []byte) ([][]byte, *x509.Certificate, error) {
	var chain [][]byte
	var leaf *x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, err
		}
		if leaf == nil {
			leaf = c
		}
		chain = append(chain, b.Bytes)
	}
	if leaf == nil {
		return nil, nil, errors.New("no CERTIFICATE block")
	}
	return chain, leaf, nil
}

// parsePrivateKey returns the first private key block's key: PKCS #8, PKCS #1 (RSA) or SEC 1
// (EC), the forms openssl and Go write.
func parsePrivateKey(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil, errors.New("no PRIVATE KEY block")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		var k any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: %T cannot sign", b.Type, k)
		}
		return s, nil
	}
}

// loadCertPool is a pool of the certificates of a PEM file (--tls-ca, --tls-client-ca).
func loadCertPool(cmd, flagName, path string) (*x509.CertPool, error) {
	data, err := readTLSFile(cmd, flagName, path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &tlsFlagError{Cmd: cmd, Flag: flagName, Path: path, Kind: errTLSNoCert}
	}
	return pool, nil
}

// readTLSFile reads a --tls-* file of at most tlsFileMax bytes.
func readTLSFile(cmd, flagName, path string) ([]byte, error) {
	bad := func(err error) error {
		return &tlsFlagError{Cmd: cmd, Flag: flagName, Path: path, Kind: errTLSFile, Err: err}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, bad(err)
	}
	defer fh.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(fh, tlsFileMax+1)); err != nil {
		return nil, bad(err)
	}
	if b.Len() > tlsFileMax {
		return nil, bad(fmt.Errorf("larger than %d bytes", tlsFileMax))
	}
	return b.Bytes(), nil
}

// openKeyLog opens --tls-keylog for appending, owner-only: it holds the session keys. Empty
// path: nil. crypto/tls writes each line with one Write, which *os.File makes atomic
// between connections.
func openKeyLog(cmd, path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, &tlsFlagError{Cmd: cmd, Flag: "tls-keylog", Path: path, Kind: errTLSFile, Err: err}
	}
	return fh, nil
}
