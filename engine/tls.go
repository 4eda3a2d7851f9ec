package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/tlslink"
	"github.com/panjf2000/gnet/v2"
)

// This file is a DRA connection's TLS (RFC 6733 §13): a tlslink.Session between the gnet
// connection and the connection's reassembler and batch. The handshake starts in OnOpen, with
// the CER already sealed behind it, so the CEA timer bounds handshake and CEA together; the
// state machine does not know TLS is there.

// draTLS is the tls.Config the engine uses for dc: nil for TCP, else tlslink.Config's copy
// with ServerName defaulted to the host of dc.Address, so verification checks the name the
// operator dialled (crypto/tls verifies an IP literal against the IP SANs).
func draTLS(dc DRA) *tls.Config {
	if dc.TLS == nil {
		return nil
	}
	c := tlslink.Config(dc.TLS)
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(dc.Address); err == nil {
			c.ServerName = host
		}
	}
	return c
}

// startTLS begins the handshake on a socket just opened; the goroutine it runs on ends when
// the handshake does or the session closes (closed).
func (p *draConn) startTLS(c gnet.Conn) {
	if p.dra.tls == nil {
		return
	}
	p.tls = tlslink.Client(p.dra.tls, func() { _ = c.Wake(nil) }, c.LocalAddr(), c.RemoteAddr())
	p.tls.Start(&p.e.dials.handshakes)
}

// tlsInfo is what the connection's handshake agreed; zero over TCP. Called with the CEA,
// which only a completed handshake delivers, so the session's handshake goroutine is done.
func (p *draConn) tlsInfo() TLSInfo {
	if p.tls == nil {
		return TLSInfo{}
	}
	cs := p.tls.ConnectionState()
	return TLSInfo{Version: cs.Version, CipherSuite: cs.CipherSuite}
}

// tlsTraffic decrypts one read (or a wake-up of the handshake: data empty) into the
// reassembler and writes at once what the session has for the wire: a handshake flight waits
// for no flush.
func (p *draConn) tlsTraffic(c gnet.Conn, data []byte) {
	out, err := p.tls.Traffic(data, p)
	if len(out) > 0 && p.conn == c {
		p.stats.add(cBytesOut, uint64(len(out)))
		_, _ = c.Write(out) // a failure runs OnClose inside it
	}
	if err != nil && p.conn == c && !p.closing {
		p.tlsFailed(err)
	}
}

// Plain is the session's sink: decrypted bytes go to the reassembler as a TCP read's would.
func (p *draConn) Plain(b []byte) bool {
	if err := p.frames.Feed(b, p); err != nil {
		p.framingError(err)
	}
	return !p.closing && p.conn != nil
}

// sealFlush is Flush's write over TLS: the batch as records, counted as wire bytes.
func (p *draConn) sealFlush(c gnet.Conn, b []byte) {
	wire, err := p.tls.Seal(b)
	if len(wire) > 0 {
		p.stats.add(cBytesOut, uint64(len(wire)))
		_, _ = c.Write(wire)
	}
	if err != nil && p.conn == c && !p.closing {
		p.tlsFailed(err)
	}
}

// tlsFailed ends a connection whose TLS failed. A handshake failure is a failed capabilities
// exchange to the state machine (the close, then the reconnect backoff, which grows until a
// CEA is accepted); a record failure later resets the stream, which cannot be trusted any more.
func (p *draConn) tlsFailed(err error) {
	sentinel := ErrTLS
	if errors.Is(err, tlslink.ErrHandshake) {
		sentinel = ErrTLSHandshake
	}
	p.stats.setError(&Error{Err: sentinel, DRA: p.dra.name, Conn: p.index, Cause: err})
	p.e.log.Warn("TLS failed", "dra", p.dra.name, "conn", p.index, "addr", p.dra.addr, "err", err)
	if sentinel == ErrTLSHandshake && p.m.State() == fsm.CERSent {
		p.step(fsm.Event{Kind: fsm.EvCEAFailed}, nil)
		return
	}
	p.closeConn(sentinel == ErrTLS)
}

// handshakeTimedOut records why a connection whose CEA timer expired before its TLS handshake
// completed is closed.
func (p *draConn) handshakeTimedOut() {
	if p.tls != nil && !p.tls.Open() && p.m.State() == fsm.CERSent {
		p.stats.setError(&Error{Err: ErrTLSHandshake, DRA: p.dra.name, Conn: p.index,
			Cause: fmt.Errorf("no TLS handshake within CEATimeout %v", p.e.cfg.CEATimeout)})
	}
}

// endTLS closes the session of a transport gone; its handshake goroutine, if still running,
// ends. It returns the handshake's failure that the loop had not heard of yet, as the
// connection's error.
func (p *draConn) endTLS() error {
	if p.tls == nil {
		return nil
	}
	seen := p.tls.Seen()
	err := p.tls.Close()
	completed := p.tls.Completed()
	p.tls = nil
	if err == nil && !seen && p.m.State() == fsm.CERSent {
		// A TLS 1.3 server checks our certificate after our side of the handshake is over; its
		// refusal alert often arrives with its FIN, or not at all (freeDiameter closes without
		// one). A close before any record of the CEA is that refusal as far as we can tell.
		// Under TLS 1.2 the same refusal comes before our handshake is over (GnuTLS, again
		// without an alert): the handshake only saw the transport go.
		err = errPeerClosedAfterHandshake
		if !completed {
			err = errPeerClosedInHandshake
		}
	}
	if err != nil {
		p.e.log.Warn("TLS failed", "dra", p.dra.name, "conn", p.index, "addr", p.dra.addr, "err", err)
		return &Error{Err: ErrTLSHandshake, DRA: p.dra.name, Conn: p.index, Cause: err}
	}
	return nil
}
