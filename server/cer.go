package server

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"syscall"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/panjf2000/gnet/v2"
)

// This file is the responder side of the capabilities exchange (RFC 6733 §5.3): the first message
// must be a CER; Process-CER decides between CEA 2001 with our capabilities and an error and a
// close, which the state machine carries out.

// cer handles the first message, which must be a CER (RFC 6733 §5.3); anything else closes the
// connection without an answer, as freeDiameter does.
func (c *conn) cer(msg []byte, h *framing.Header, now int64) {
	l := c.l
	s := l.s
	if h.Code != framing.CmdCapabilitiesExchange || !h.IsRequest() {
		l.ctr[cNoCER]++
		c.record(recCER, now, slog.LevelInfo, "first message is not a CER, closing", "command", framing.CommandName(h.Code, h.IsRequest()))
		c.step(fsm.Event{Kind: fsm.EvMessage}, h, now)
		return
	}
	l.ctr[cCERs]++
	c.ip = localIP(c.gc)
	peer, err := framing.ParseCER(msg)
	rc, text := framing.Success, ""
	switch {
	case err != nil:
		rc, text = cerErrorCode(err), "malformed CER"
	case !c.allowed(peer.OriginHost):
		rc, text = framing.UnknownPeer, "peer not allowed"
	case !s.commonApp(&peer):
		rc, text = framing.NoCommonApplication, "no common application"
	case s.cfg.DuplicateIdentity == RejectDuplicates:
		if !s.register(peer.OriginHost) {
			rc, text = framing.UnableToComply, "Origin-Host already connected"
		} else {
			c.registered = true
			c.peerHost = peer.OriginHost
		}
	}
	ev := fsm.EvCEROK
	if rc != framing.Success {
		ev = fsm.EvCERRejected
		l.ctr[cCERRejects]++
		if err != nil {
			text += ": " + err.Error()
		}
		c.record(recCER, now, slog.LevelWarn, "CER rejected", "peer_host", peer.OriginHost, "peer_realm", peer.OriginRealm,
			"result", rc.String(), "reason", text)
	}
	out := c.step(fsm.Event{Kind: ev}, h, now)
	if out.Do.Has(fsm.ActSendCEA) {
		if rc == framing.UnknownPeer {
			c.out.B = framing.AppendAnswerMessage(c.out.B, *h, &s.id, &framing.ErrorAnswer{ResultCode: rc, ErrorMessage: text})
		} else {
			caps := c.capabilities()
			c.out.B = framing.AppendCEA(c.out.B, *h, rc, &caps, text)
		}
		l.touch(c)
	}
	if out.To == fsm.ROpen {
		c.peerHost, c.peerRealm = peer.OriginHost, peer.OriginRealm
		s.peers.Add(1)
		c.record(recCER, now, slog.LevelInfo, "CER accepted", "product", peer.ProductName, "apps", link.AppList(&peer))
	}
}

// allowed asks Config.AllowOrigin; a panic there refuses the peer rather than the process.
func (c *conn) allowed(host string) (ok bool) {
	f := c.l.s.cfg.AllowOrigin
	if f == nil {
		return true
	}
	defer func() {
		if r := recover(); r != nil {
			c.l.s.log.Error("AllowOrigin panicked", "origin_host", host, "panic", r)
			ok = false
		}
	}()
	return f(host)
}

// cerErrorCode maps a CER decoding error to the Result-Code that describes it (RFC 6733 §7.1.5).
func cerErrorCode(err error) framing.ResultCode {
	switch {
	case errors.Is(err, framing.ErrMissingAVP):
		return framing.MissingAVP
	case errors.Is(err, framing.ErrDuplicateAVP):
		return framing.AVPOccursTooManyTimes
	case errors.Is(err, framing.ErrAVPLength), errors.Is(err, framing.ErrAVPOverrun):
		return framing.InvalidAVPLength
	case errors.Is(err, framing.ErrAVPData):
		return framing.InvalidAVPValue
	}
	return framing.UnableToComply
}

// capabilities is our CEA for this connection: Host-IP-Address is the accepted socket's address.
func (c *conn) capabilities() framing.Capabilities {
	caps := c.l.s.caps
	ip := c.ip
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	caps.HostIPAddresses = []netip.Addr{ip}
	return caps
}

// localIP is the local address of the accepted socket. gnet reports the listener's address for
// accepted connections (0.0.0.0 on a wildcard listener), so it is asked of the kernel.
func localIP(gc gnet.Conn) netip.Addr {
	if sa, err := syscall.Getsockname(gc.Fd()); err == nil {
		if ap, ok := sockaddrAddrPort(sa); ok && !ap.Addr().IsUnspecified() {
			return ap.Addr()
		}
	}
	if a, ok := gc.LocalAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
