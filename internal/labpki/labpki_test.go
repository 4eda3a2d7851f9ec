package labpki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// handshake is Handshake with the tests' bound.
func handshake(t *testing.T, client, server *tls.Config) (cerr, serr error) {
	t.Helper()
	return Handshake(client, server, 10*time.Second)
}

func TestLabHandshakeWithClientCertificate(t *testing.T) {
	lab, err := New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cerr, serr := handshake(t, lab.ClientConfig("localhost"), lab.ServerConfig(true))
	if cerr != nil || serr != nil {
		t.Fatalf("client %v, server %v", cerr, serr)
	}
	cerr, serr = handshake(t, lab.ClientConfig("127.0.0.1"), lab.ServerConfig(false))
	if cerr != nil || serr != nil {
		t.Fatalf("by IP: client %v, server %v", cerr, serr)
	}
}

func TestLabBrokenCertificatesFailVerification(t *testing.T) {
	now := time.Now()
	lab, err := New(now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other CA", now)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := lab.CA.Issue(Leaf{CommonName: "localhost", Names: []string{"localhost"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Issue(Leaf{CommonName: "localhost", Names: []string{"localhost"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError

	srv := lab.ServerConfig(false)
	srv.Certificates = []tls.Certificate{expired}
	if cerr, _ := handshake(t, lab.ClientConfig("localhost"), srv); !errors.As(cerr, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired leaf: %v", cerr)
	}
	srv.Certificates = []tls.Certificate{foreign}
	if cerr, _ := handshake(t, lab.ClientConfig("localhost"), srv); !errors.As(cerr, &unknown) {
		t.Errorf("foreign CA: %v", cerr)
	}
	if cerr, _ := handshake(t, lab.ClientConfig("eir.example"), lab.ServerConfig(false)); !errors.As(cerr, &hostname) {
		t.Errorf("wrong name: %v", cerr)
	}
	noCert := lab.ClientConfig("localhost")
	noCert.Certificates = nil
	if _, serr := handshake(t, noCert, lab.ServerConfig(true)); serr == nil {
		t.Error("a server requiring a client certificate accepted none")
	}
}

func TestWritePEMRoundTrips(t *testing.T) {
	lab, err := New(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "c.pem"), filepath.Join(dir, "c.key")
	if err := WritePEM(lab.Server, cp, kp); err != nil {
		t.Fatal(err)
	}
	got, err := tls.LoadX509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Certificate[0]) != string(lab.Server.Certificate[0]) {
		t.Error("the written certificate differs")
	}
	if err := WritePEM(lab.Server, filepath.Join(dir, "no", "such", "dir"), kp); !errors.Is(err, ErrLeaf) {
		t.Errorf("unwritable path: %v", err)
	}
}
