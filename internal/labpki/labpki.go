// Package labpki makes throwaway X.509 certificates in memory: a CA, server and client leaves
// signed by it, and the broken ones the TLS tests need (expired, wrong name, another CA). It is
// for tests and `diamload selftest --tls`, never for production keys: the keys are ECDSA P-256
// made fresh on each call and never written anywhere unless a caller asks (WritePEM).
package labpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ErrLeaf wraps every failure to make or encode a certificate.
var ErrLeaf = errors.New("labpki: certificate")

// CA is a throwaway certificate authority. Safe for concurrent use once made.
type CA struct {
	Cert *x509.Certificate
	Pool *x509.CertPool // holds only Cert
	PEM  []byte         // Cert, PEM-encoded
	key  *ecdsa.PrivateKey
}

// Leaf describes a certificate to issue. Zero NotBefore/NotAfter mean "from an hour ago for a
// day". Names are DNS names or IP literals; both go in the SubjectAltName.
type Leaf struct {
	CommonName string
	Names      []string
	Client     bool // ExtKeyUsageClientAuth instead of ServerAuth
	NotBefore  time.Time
	NotAfter   time.Time
}

// NewCA makes a CA named name. Now is the clock the validity is measured from.
func NewCA(name string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: CA key: %v", ErrLeaf, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"diam-gw lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("%w: CA: %v", ErrLeaf, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: CA: %v", ErrLeaf, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Pool: pool, PEM: pemBlock("CERTIFICATE", der), key: key}, nil
}

// Issue signs a leaf for l. The result carries the chain (leaf only; the CA is the trust anchor)
// and its parsed Leaf.
func (ca *CA) Issue(l Leaf, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: key for %q: %v", ErrLeaf, l.CommonName, err)
	}
	notBefore, notAfter := l.NotBefore, l.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = now.Add(24 * time.Hour)
	}
	usage := x509.ExtKeyUsageServerAuth
	if l.Client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"diam-gw lab"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, n := range l.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %q: %v", ErrLeaf, l.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %q: %v", ErrLeaf, l.CommonName, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Lab is the usual set: one CA, a server leaf for localhost and 127.0.0.1, a client leaf.
type Lab struct {
	CA     *CA
	Server tls.Certificate
	Client tls.Certificate
}

// New makes a Lab valid from an hour before now for a day.
func New(now time.Time) (*Lab, error) {
	ca, err := NewCA("diam-gw lab CA", now)
	if err != nil {
		return nil, err
	}
	srv, err := ca.Issue(Leaf{CommonName: "localhost", Names: []string{"localhost", "127.0.0.1"}}, now)
	if err != nil {
		return nil, err
	}
	cli, err := ca.Issue(Leaf{CommonName: "diam-gw client", Client: true}, now)
	if err != nil {
		return nil, err
	}
	return &Lab{CA: ca, Server: srv, Client: cli}, nil
}

// ServerConfig is a TLS 1.2+ server config presenting the server leaf; with requireClient it
// demands a client certificate signed by the lab CA.
func (l *Lab) ServerConfig(requireClient bool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{l.Server}}
	if requireClient {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = l.CA.Pool
	}
	return c
}

// ClientConfig is a TLS 1.2+ client config trusting the lab CA, verifying serverName, and
// presenting the client leaf.
func (l *Lab) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		RootCAs:      l.CA.Pool,
		ServerName:   serverName,
		Certificates: []tls.Certificate{l.Client},
	}
}

// WritePEM writes a certificate and its key as PEM files (0600 for the key).
func WritePEM(cert tls.Certificate, certPath, keyPath string) error {
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pemBlock("CERTIFICATE", der)...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("%w: key: %v", ErrLeaf, err)
	}
	if err := os.WriteFile(filepath.Clean(certPath), chain, 0o644); err != nil {
		return fmt.Errorf("%w: %v", ErrLeaf, err)
	}
	if err := os.WriteFile(filepath.Clean(keyPath), pemBlock("PRIVATE KEY", key), 0o600); err != nil {
		return fmt.Errorf("%w: %v", ErrLeaf, err)
	}
	return nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}
