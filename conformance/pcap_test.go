package conformance

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html) with
// LINKTYPE_ETHERNET frames, as Linux writes for the loopback interface (all-zero MACs).
const (
	pcapMagic        = 0xa1b2c3d4 // microsecond timestamps
	pcapSnapLen      = 262144
	linkTypeEthernet = 1

	etherTypeIPv4 = 0x0800
	ipProtoTCP    = 6

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10

	tcpWindow = 65535

	ethHeaderLen  = 14
	ipHeaderLen   = 20
	ipChecksumAt  = ethHeaderLen + 10               // offset in a frame
	tcpChecksumAt = ethHeaderLen + ipHeaderLen + 16 // offset in a frame
)

// pcapWriter accumulates a capture file in memory.
type pcapWriter struct {
	buf     []byte
	ts      time.Time // timestamp of the next packet
	count   int       // packets written so far: the frame number of the last one
	offsets []int     // offset of each packet's frame data in buf
	lens    []int     // length of each packet's frame
}

// newPcapWriter starts a capture whose first packet is stamped at start.
func newPcapWriter(start time.Time) *pcapWriter {
	w := &pcapWriter{ts: start}
	w.buf = binary.LittleEndian.AppendUint32(w.buf, pcapMagic)
	w.buf = binary.LittleEndian.AppendUint16(w.buf, 2) // version 2.4
	w.buf = binary.LittleEndian.AppendUint16(w.buf, 4)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0) // thiszone
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0) // sigfigs
	w.buf = binary.LittleEndian.AppendUint32(w.buf, pcapSnapLen)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, linkTypeEthernet)
	return w
}

// packet appends one captured frame and advances the clock by 100 µs.
func (w *pcapWriter) packet(frame []byte) {
	us := w.ts.UnixMicro()
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(us/1e6))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(us%1e6))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(frame))) // captured
	w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(len(frame))) // on the wire
	w.offsets = append(w.offsets, len(w.buf))
	w.lens = append(w.lens, len(frame))
	w.buf = append(w.buf, frame...)
	w.count++
	w.ts = w.ts.Add(100 * time.Microsecond)
}

// frame returns frame n (1-based, as tshark numbers them) inside the capture, for tests that
// damage a packet after it was written.
func (w *pcapWriter) frame(n int) []byte {
	return w.buf[w.offsets[n-1] : w.offsets[n-1]+w.lens[n-1]]
}

// writeFile writes the capture to path.
func (w *pcapWriter) writeFile(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, w.buf, 0o644))
}

// tcpFlow is one TCP connection between a client and a server, both IPv4. It keeps each side's
// next sequence number so that every segment carries the sequence and acknowledgement numbers a
// real stack would, and Wireshark's TCP analysis has nothing to remark on.
type tcpFlow struct {
	w              *pcapWriter
	client, server netip.AddrPort
	cliSeq, srvSeq uint32 // next sequence number each side sends
	ipID           uint16
}

// newTCPFlow describes a connection from client to server; cliISN and srvISN are the initial
// sequence numbers of the two sides.
func newTCPFlow(w *pcapWriter, client, server netip.AddrPort, cliISN, srvISN uint32) *tcpFlow {
	if !client.Addr().Is4() || !server.Addr().Is4() {
		panic("tcpFlow: IPv4 addresses only")
	}
	return &tcpFlow{w: w, client: client, server: server, cliSeq: cliISN, srvSeq: srvISN, ipID: 0x4000}
}

// handshake writes SYN, SYN-ACK, ACK.
func (f *tcpFlow) handshake() {
	f.segment(true, tcpSYN, f.cliSeq, 0, nil)
	f.cliSeq++
	f.segment(false, tcpSYN|tcpACK, f.srvSeq, f.cliSeq, nil)
	f.srvSeq++
	f.segment(true, tcpACK, f.cliSeq, f.srvSeq, nil)
}

// send writes payload as one PSH-ACK segment from the client (fromClient) or the server.
func (f *tcpFlow) send(fromClient bool, payload []byte) {
	if fromClient {
		f.segment(true, tcpPSH|tcpACK, f.cliSeq, f.srvSeq, payload)
		f.cliSeq += uint32(len(payload))
	} else {
		f.segment(false, tcpPSH|tcpACK, f.srvSeq, f.cliSeq, payload)
		f.srvSeq += uint32(len(payload))
	}
}

// ack writes a bare ACK from one side acknowledging everything the other side sent.
func (f *tcpFlow) ack(fromClient bool) {
	if fromClient {
		f.segment(true, tcpACK, f.cliSeq, f.srvSeq, nil)
	} else {
		f.segment(false, tcpACK, f.srvSeq, f.cliSeq, nil)
	}
}

// skip advances one side's sequence number by n without writing anything, as if a segment of
// n bytes had not been captured. Only the tests that must make tshark complain use it.
func (f *tcpFlow) skip(fromClient bool, n uint32) {
	if fromClient {
		f.cliSeq += n
	} else {
		f.srvSeq += n
	}
}

// closeFromClient writes the client's FIN, the server's FIN-ACK and the client's last ACK.
func (f *tcpFlow) closeFromClient() {
	f.segment(true, tcpFIN|tcpACK, f.cliSeq, f.srvSeq, nil)
	f.cliSeq++
	f.segment(false, tcpFIN|tcpACK, f.srvSeq, f.cliSeq, nil)
	f.srvSeq++
	f.segment(true, tcpACK, f.cliSeq, f.srvSeq, nil)
}

// segment builds Ethernet + IPv4 + TCP around payload and writes it.
func (f *tcpFlow) segment(fromClient bool, flags uint8, seq, ack uint32, payload []byte) {
	src, dst := f.server, f.client
	if fromClient {
		src, dst = f.client, f.server
	}
	frame := make([]byte, 0, 14+20+20+len(payload))
	frame = append(frame, make([]byte, 12)...) // dst and src MAC: 00:00:00:00:00:00 on lo
	frame = binary.BigEndian.AppendUint16(frame, etherTypeIPv4)

	ip := len(frame)
	frame = append(frame, 0x45, 0) // version 4, IHL 5; DSCP/ECN 0
	frame = binary.BigEndian.AppendUint16(frame, uint16(20+20+len(payload)))
	frame = binary.BigEndian.AppendUint16(frame, f.ipID)
	f.ipID++
	frame = binary.BigEndian.AppendUint16(frame, 0x4000) // DF, fragment offset 0
	frame = append(frame, 64, ipProtoTCP)                // TTL, protocol
	frame = binary.BigEndian.AppendUint16(frame, 0)      // checksum, patched below
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	frame = append(frame, s4[:]...)
	frame = append(frame, d4[:]...)
	binary.BigEndian.PutUint16(frame[ip+10:], checksum(frame[ip:ip+20], 0))

	tcp := len(frame)
	frame = binary.BigEndian.AppendUint16(frame, src.Port())
	frame = binary.BigEndian.AppendUint16(frame, dst.Port())
	frame = binary.BigEndian.AppendUint32(frame, seq)
	frame = binary.BigEndian.AppendUint32(frame, ack)
	frame = append(frame, 5<<4, flags) // data offset 5 words, no options
	frame = binary.BigEndian.AppendUint16(frame, tcpWindow)
	frame = binary.BigEndian.AppendUint16(frame, 0) // checksum, patched below
	frame = binary.BigEndian.AppendUint16(frame, 0) // urgent pointer
	frame = append(frame, payload...)

	// Pseudo-header: source, destination, zero, protocol, TCP length.
	var pseudo uint32
	pseudo += uint32(s4[0])<<8 | uint32(s4[1])
	pseudo += uint32(s4[2])<<8 | uint32(s4[3])
	pseudo += uint32(d4[0])<<8 | uint32(d4[1])
	pseudo += uint32(d4[2])<<8 | uint32(d4[3])
	pseudo += ipProtoTCP
	pseudo += uint32(len(frame) - tcp)
	binary.BigEndian.PutUint16(frame[tcp+16:], checksum(frame[tcp:], pseudo))

	f.w.packet(frame)
}

// checksum is the Internet checksum (RFC 1071) of b, starting from the partial sum initial.
func checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// TestChecksum pins the checksum against the worked example of RFC 1071 §3 and the IPv4 header
// example that is quoted everywhere (Wikipedia "IPv4 header checksum"), so a pcap whose checksums
// tshark accepts cannot be an accident of tshark not checking.
func TestChecksum(t *testing.T) {
	// RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums (with end-around carry) to ddf2.
	require.Equal(t, ^uint16(0xddf2), checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0))
	hdr := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
		0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	require.Equal(t, uint16(0xb861), checksum(hdr, 0))
	binary.BigEndian.PutUint16(hdr[10:], 0xb861)
	require.Equal(t, uint16(0), checksum(hdr, 0), "a header with its checksum in place sums to zero")
}
