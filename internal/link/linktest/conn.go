// Package linktest is a gnet.Conn without a socket, for tests and fuzz targets that play gnet's
// part: they hand each read to a loop's OnTraffic and report closes with OnClose.
package linktest

import (
	"net"

	"github.com/panjf2000/gnet/v2"
)

// Conn is a gnet.Conn without a socket. The methods the engine's and the server's read and write
// paths use are implemented; any other call panics on the nil embedded interface, which a fuzzer
// reports. Not safe for concurrent use: it belongs to the test goroutine that plays the loop.
type Conn struct {
	gnet.Conn
	Ctx        any
	In         []byte // the next read
	Out        []byte // everything written
	Closed     bool   // Close was called (or the test saw gnet.Close returned)
	Reset      bool   // SetLinger(0) was called: the close is an RST
	Gone       bool   // for the test: OnClose has run
	Unsent     int    // what OutboundBuffered reports: bytes gnet holds that the peer has not read
	LocalPort  int    // of 127.0.0.1
	RemotePort int    // of 127.0.0.1
}

// Next hands over the whole pending read, as gnet does with its ring empty.
func (c *Conn) Next(int) ([]byte, error) {
	b := c.In
	c.In = nil
	return b, nil
}

// Discard drops the pending read.
func (c *Conn) Discard(int) (int, error) {
	n := len(c.In)
	c.In = nil
	return n, nil
}

// InboundBuffered is the length of the pending read.
func (c *Conn) InboundBuffered() int { return len(c.In) }

// Write appends b to Out.
func (c *Conn) Write(b []byte) (int, error) {
	c.Out = append(c.Out, b...)
	return len(b), nil
}

// Writev appends each of bs to Out.
func (c *Conn) Writev(bs [][]byte) (int, error) {
	n := 0
	for _, b := range bs {
		k, _ := c.Write(b)
		n += k
	}
	return n, nil
}

func (c *Conn) Flush() error              { return nil } // nothing is buffered
func (c *Conn) OutboundBuffered() int     { return c.Unsent }
func (c *Conn) Context() any              { return c.Ctx }                // as set
func (c *Conn) SetContext(ctx any)        { c.Ctx = ctx }                 // kept in Ctx
func (c *Conn) EventLoop() gnet.EventLoop { return nil }                  // one loop, no gnet: the server keys its loops by it
func (c *Conn) Fd() int                   { return -1 }                   // no socket
func (c *Conn) SetNoDelay(bool) error     { return nil }                  // no socket
func (c *Conn) SetReadBuffer(int) error   { return nil }                  // no socket
func (c *Conn) SetWriteBuffer(int) error  { return nil }                  // no socket
func (c *Conn) Close() error              { c.Closed = true; return nil } // noted in Closed

// SetLinger notes an RST request in Reset.
func (c *Conn) SetLinger(sec int) error {
	c.Reset = sec == 0
	return nil
}

// LocalAddr is 127.0.0.1:LocalPort.
func (c *Conn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.LocalPort}
}

// RemoteAddr is 127.0.0.1:RemotePort.
func (c *Conn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.RemotePort}
}
