package labpki

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// Handshake runs one TLS handshake between client and server over loopback TCP (net.Pipe is
// unbuffered, and TLS 1.3's two sides write at once) and returns each side's error; d bounds
// each side. The client then writes a byte that the server reads, because a TLS 1.3 client
// finishes its handshake before the server has judged its certificate: a refused client
// certificate shows as the server's error. A failure to set up the sockets is both errors.
// Safe for concurrent use.
func Handshake(client, server *tls.Config, d time.Duration) (cerr, serr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(d))
		s := tls.Server(c, server)
		if err = s.Handshake(); err == nil {
			_, err = s.Read(make([]byte, 1))
		}
		done <- err
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err, err
	}
	defer a.Close()
	_ = a.SetDeadline(time.Now().Add(d))
	c := tls.Client(a, client)
	if cerr = c.Handshake(); cerr == nil {
		_, _ = c.Write([]byte{0})
	}
	a.Close()
	timer := time.NewTimer(d + 5*time.Second)
	defer timer.Stop()
	select {
	case serr = <-done:
	case <-timer.C:
		// Not expected: the server's socket has the deadline d from its accept on.
		serr = fmt.Errorf("labpki: the server side of the handshake did not finish within %v", d+5*time.Second)
	}
	if cerr == nil && serr != nil && serr.Error() == "EOF" {
		serr = nil
	}
	return cerr, serr
}
