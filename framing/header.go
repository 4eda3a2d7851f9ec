package framing

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the size of the Diameter header (RFC 6733 §3).
const HeaderLen = 20

// Version is the only Diameter version (RFC 6733 §3: "MUST be set to 1").
const Version = 1

// Command flags (RFC 6733 §3).
const (
	FlagRequest    uint8 = 0x80 // R
	FlagProxiable  uint8 = 0x40 // P
	FlagError      uint8 = 0x20 // E: never in requests
	FlagRetransmit uint8 = 0x10 // T: potentially retransmitted after failover
	FlagsReserved  uint8 = 0x0F // sent as 0, ignored on receipt
)

// Header is a decoded Diameter header.
type Header struct {
	Version  uint8
	Length   uint32 // Message Length: the whole message, header and padded AVPs
	Flags    uint8
	Code     uint32 // Command Code (24 bits)
	AppID    uint32
	HopByHop uint32
	EndToEnd uint32
}

// IsRequest reports the R bit.
func (h Header) IsRequest() bool { return h.Flags&FlagRequest != 0 }

// IsProxiable reports the P bit.
func (h Header) IsProxiable() bool { return h.Flags&FlagProxiable != 0 }

// IsError reports the E bit.
func (h Header) IsError() bool { return h.Flags&FlagError != 0 }

// IsRetransmit reports the T bit.
func (h Header) IsRetransmit() bool { return h.Flags&FlagRetransmit != 0 }

// Reserved returns the reserved flag bits; RFC 6733 §3 says to ignore them on receipt.
func (h Header) Reserved() uint8 { return h.Flags & FlagsReserved }

// String renders the header for logs.
func (h Header) String() string {
	return fmt.Sprintf("v%d len=%d flags=%#02x cmd=%d app=%d hbh=%#08x e2e=%#08x",
		h.Version, h.Length, h.Flags, h.Code, h.AppID, h.HopByHop, h.EndToEnd)
}

// ParseHeader decodes the first 20 bytes of b. It checks the version and the length rules
// (20 <= Length, Length % 4 == 0) but not that b holds the whole message; use FrameLen or
// Message for that.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: header needs %d bytes, have %d", ErrShortBuffer, HeaderLen, len(b))
	}
	h := Header{
		Version:  b[0],
		Length:   be24(b[1:4]),
		Flags:    b[4],
		Code:     be24(b[5:8]),
		AppID:    binary.BigEndian.Uint32(b[8:12]),
		HopByHop: binary.BigEndian.Uint32(b[12:16]),
		EndToEnd: binary.BigEndian.Uint32(b[16:20]),
	}
	if err := checkVersionLength(h.Version, h.Length); err != nil {
		return Header{}, err
	}
	return h, nil
}

// AppendHeader appends the 20-byte encoding of h. Length is written as given; BeginMessage and
// EndMessage back-patch it for messages built in place.
func AppendHeader(dst []byte, h Header) []byte {
	v := h.Version
	if v == 0 {
		v = Version
	}
	// Word stores, not 20 byte appends (as AppendAVPHeader).
	dst = binary.BigEndian.AppendUint64(dst, uint64(v)<<56|uint64(h.Length&0xffffff)<<32|
		uint64(h.Flags)<<24|uint64(h.Code&0xffffff))
	dst = binary.BigEndian.AppendUint32(dst, h.AppID)
	return binary.BigEndian.AppendUint64(dst, uint64(h.HopByHop)<<32|uint64(h.EndToEnd))
}

// BeginMessage appends a header with a zero length and returns the offset at which the message
// starts; pass it to EndMessage once every AVP has been appended.
func BeginMessage(dst []byte, h Header) ([]byte, int) {
	mark := len(dst)
	h.Length = 0
	return AppendHeader(dst, h), mark
}

// EndMessage back-patches the Message Length of the message that starts at mark.
func EndMessage(dst []byte, mark int) []byte {
	putBE24(dst[mark+1:mark+4], uint32(len(dst)-mark))
	return dst
}

// Message checks that b starts with a complete, well-formed header and returns the message
// (b cut to Message Length) and its header.
func Message(b []byte) ([]byte, Header, error) {
	var h Header
	m, err := ReadMessage(b, &h)
	return m, h, err
}

// ReadMessage is Message filling *h: the form hot paths use, because a Header returned by value
// costs a store-forwarding stall in the caller's copy.
func ReadMessage(b []byte, h *Header) ([]byte, error) {
	if len(b) < HeaderLen {
		return nil, fmt.Errorf("%w: header needs %d bytes, have %d", ErrShortBuffer, HeaderLen, len(b))
	}
	n := be24(b[1:4])
	if err := checkVersionLength(b[0], n); err != nil {
		return nil, err
	}
	if int(n) > len(b) {
		return nil, fmt.Errorf("%w: Message Length %d, have %d bytes", ErrTruncated, n, len(b))
	}
	h.Version = b[0]
	h.Length = n
	h.Flags = b[4]
	h.Code = be24(b[5:8])
	h.AppID = binary.BigEndian.Uint32(b[8:12])
	h.HopByHop = binary.BigEndian.Uint32(b[12:16])
	h.EndToEnd = binary.BigEndian.Uint32(b[16:20])
	return b[:n], nil
}

// SetHopByHop overwrites the Hop-by-Hop Identifier of an encoded message in place.
func SetHopByHop(msg []byte, id uint32) { binary.BigEndian.PutUint32(msg[12:16], id) }

// SetEndToEnd overwrites the End-to-End Identifier of an encoded message in place.
func SetEndToEnd(msg []byte, id uint32) { binary.BigEndian.PutUint32(msg[16:20], id) }

// SetFlags overwrites the command flags of an encoded message in place.
func SetFlags(msg []byte, flags uint8) { msg[4] = flags }

func checkVersionLength(version uint8, length uint32) error {
	if version != Version {
		return fmt.Errorf("%w: version %d", ErrVersion, version)
	}
	if length < HeaderLen || length%4 != 0 {
		return fmt.Errorf("%w: Message Length %d", ErrMessageLength, length)
	}
	return nil
}

func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

func putBE24(b []byte, v uint32) { b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v) }
