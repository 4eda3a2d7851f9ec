package server

import (
	"errors"
	"log/slog"

	"github.com/hsdfat8/diam-gw/internal/tlslink"
)

// This file is a client connection's TLS (RFC 6733 §13): a tlslink.Session between the gnet
// connection and the connection's reassembler and batch. The handshake starts when the
// connection is accepted, under the CER timer, so CERTimeout bounds handshake and CER
// together; the state machine does not know TLS is there.

// startTLS begins the handshake of an accepted connection; its goroutine ends when the
// handshake does or the connection closes (endTLS).
func (c *conn) startTLS() {
	s := c.l.s
	if s.tls == nil {
		return
	}
	gc := c.gc
	c.tls = tlslink.Server(s.tls, func() { _ = gc.Wake(nil) }, gc.LocalAddr(), gc.RemoteAddr())
	c.tls.Start(&s.handshakes)
}

// tlsTraffic decrypts one read (or a handshake's wake-up: data empty) into the reassembler and
// writes at once what the session has for the wire: a handshake flight waits for no flush.
func (c *conn) tlsTraffic(data []byte) {
	l := c.l
	out, err := c.tls.Traffic(data, c)
	if len(out) > 0 && c.gc != nil {
		l.ctr[cWrites]++
		l.ctr[cBytesOut] += uint64(len(out))
		_, _ = c.gc.Write(out)
	}
	if err != nil && c.gc != nil {
		c.tlsFailed(err)
	}
}

// Plain is the session's sink: decrypted bytes go to the reassembler as a TCP read's would.
func (c *conn) Plain(b []byte) bool {
	if err := c.frames.Feed(b, c); err != nil {
		c.framingError(err)
	}
	return c.want == keepOpen
}

// seal is Flush's TLS step: the batch as records, to be written and counted as wire bytes.
func (c *conn) seal(b []byte) []byte {
	wire, err := c.tls.Seal(b)
	if err != nil {
		c.tlsFailed(err)
	}
	return wire
}

// tlsFailed closes a connection whose TLS failed: after a failed handshake with a FIN (its alert
// is written already), after a record failure with an RST (the stream cannot be trusted).
func (c *conn) tlsFailed(err error) {
	mode := closeRST
	if errors.Is(err, tlslink.ErrHandshake) {
		mode = closeFIN
		c.countHandshakeFailure()
	}
	c.record(recTLS, c.now, slog.LevelWarn, "TLS failed, closing", "err", err)
	c.close(mode)
}

func (c *conn) countHandshakeFailure() {
	if !c.tlsCounted {
		c.tlsCounted = true
		c.l.ctr[cTLSHandshakeFailures]++
	}
}

// endTLS closes the session of a connection gone; a handshake that had not completed is a
// failure, counted once.
func (c *conn) endTLS() {
	if c.tls == nil {
		return
	}
	open := c.tls.Open()
	err := c.tls.Close()
	c.tls = nil
	if !open {
		c.countHandshakeFailure()
	}
	if err != nil {
		c.record(recTLS, c.now, slog.LevelWarn, "TLS handshake failed", "err", err)
	}
}
