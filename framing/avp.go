package framing

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// AVP flags (RFC 6733 §4.1).
const (
	AVPFlagVendor    uint8 = 0x80 // V: Vendor-ID present
	AVPFlagMandatory uint8 = 0x40 // M
	AVPFlagProtected uint8 = 0x20 // P: reserved for end-to-end security, send 0
)

// AVP header sizes: without and with the Vendor-ID field.
const (
	AVPHeaderLen       = 8
	AVPVendorHeaderLen = 12
)

// AVP is a view of one AVP inside a buffer. Data aliases that buffer (no padding included).
type AVP struct {
	Code   uint32
	Flags  uint8
	Vendor uint32 // 0 when the V bit is clear
	Data   []byte
	Offset int // offset of the AVP header from the start of the buffer the scan began on
}

// Mandatory reports the M bit.
func (a *AVP) Mandatory() bool { return a.Flags&AVPFlagMandatory != 0 }

// Is reports whether a has the given code and vendor.
func (a *AVP) Is(code, vendor uint32) bool { return a.Code == code && a.Vendor == vendor }

// HeaderLen is the size of a's header: 12 with the V bit, else 8. It follows the V flag, never the
// Vendor-ID value (jdiameter #86: deriving it from the value misframes everything after).
func (a *AVP) HeaderLen() int {
	if a.Flags&AVPFlagVendor != 0 {
		return AVPVendorHeaderLen
	}
	return AVPHeaderLen
}

// Len is the AVP Length field: header plus data, without padding.
func (a *AVP) Len() int { return a.HeaderLen() + len(a.Data) }

// Uint32 decodes Unsigned32 (also Enumerated values read as unsigned).
func (a *AVP) Uint32() (uint32, error) { return Uint32At(a.Code, a.Vendor, a.Data, a.Offset) }

// Uint32At is AVP.Uint32 for an AVP held as the values AVPAt returns, its header at offset off.
// Safe for concurrent use.
func Uint32At(code, vendor uint32, data []byte, off int) (uint32, error) {
	if len(data) != 4 {
		return 0, avpErr(ErrAVPData, code, vendor, off)
	}
	return binary.BigEndian.Uint32(data), nil
}

// Int32 decodes Integer32 and Enumerated.
func (a *AVP) Int32() (int32, error) {
	v, err := a.Uint32()
	return int32(v), err
}

// Uint64 decodes Unsigned64.
func (a *AVP) Uint64() (uint64, error) {
	if len(a.Data) != 8 {
		return 0, a.dataErr()
	}
	return binary.BigEndian.Uint64(a.Data), nil
}

// Int64 decodes Integer64.
func (a *AVP) Int64() (int64, error) {
	v, err := a.Uint64()
	return int64(v), err
}

// Float32 decodes Float32.
func (a *AVP) Float32() (float32, error) {
	v, err := a.Uint32()
	return math.Float32frombits(v), err
}

// Float64 decodes Float64.
func (a *AVP) Float64() (float64, error) {
	v, err := a.Uint64()
	return math.Float64frombits(v), err
}

// Address family numbers used by the Address type (RFC 6733 §4.3.1, IANA).
const (
	AddressFamilyIPv4 = 1
	AddressFamilyIPv6 = 2
)

// Address decodes the Address type: a 2-octet family and the address. IPv4 (family 1, 4 octets)
// and IPv6 (family 2, 16 octets) are supported; other families are ErrAVPData.
func (a *AVP) Address() (netip.Addr, error) {
	if len(a.Data) < 2 {
		return netip.Addr{}, a.dataErr()
	}
	fam := binary.BigEndian.Uint16(a.Data)
	switch {
	case fam == AddressFamilyIPv4 && len(a.Data) == 6:
		return netip.AddrFrom4([4]byte(a.Data[2:6])), nil
	case fam == AddressFamilyIPv6 && len(a.Data) == 18:
		return netip.AddrFrom16([16]byte(a.Data[2:18])), nil
	}
	return netip.Addr{}, a.dataErr()
}

// Time decodes the Time type (NTP seconds since 1900) with the RFC 5905/SNTP era rule: values with
// the top bit set are 1968-2036, values with it clear are 2036-2104 (RFC 6733 §4.3.1).
func (a *AVP) Time() (time.Time, error) {
	v, err := a.Uint32()
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(ntpToUnix(v), 0).UTC(), nil
}

// Grouped iterates the members of a Grouped AVP. Offsets stay relative to the outer buffer.
func (a *AVP) Grouped() Iter {
	return Iter{b: a.Data, base: a.Offset + a.HeaderLen()}
}

func (a *AVP) dataErr() error { return avpErr(ErrAVPData, a.Code, a.Vendor, a.Offset) }

// ntpUnixDelta is the number of seconds from 1900-01-01 to 1970-01-01.
const ntpUnixDelta = 2208988800

func ntpToUnix(v uint32) int64 {
	if v&0x80000000 != 0 {
		return int64(v) - ntpUnixDelta // era 0: 1968-2036
	}
	return int64(v) + 1<<32 - ntpUnixDelta // era 1: 2036-2104
}

// Iter scans a sequence of AVPs without copying: a message body or a Grouped AVP's data. The zero
// value is an empty iterator. Every step advances by at least one AVP header, so a hostile length
// can end the scan with an error but never loop it. Use it as
//
//	for it.Next() {
//		a := it.AVP()
//		...
//	}
//	if err := it.Err(); err != nil { ... }
//
// The current AVP lives inside the iterator and is handed out by pointer: returning a 56-byte
// struct by value made every step stall on store forwarding (bench/results/2026-12-03-notes.md).
type Iter struct {
	b    []byte
	off  int
	base int
	err  error
	cur  AVP
}

// AVPs iterates the AVPs of msg, which must be a whole message (header included) with a valid
// Message Length, as returned by Message or cut by FrameLen. Offsets are from the message start.
func AVPs(msg []byte) Iter {
	if len(msg) < HeaderLen {
		return Iter{err: ErrShortBuffer}
	}
	end := int(be24(msg[1:4]))
	switch {
	case end < HeaderLen:
		return Iter{err: ErrMessageLength}
	case end > len(msg):
		return Iter{err: ErrTruncated}
	}
	return Iter{b: msg[HeaderLen:end], base: HeaderLen}
}

// Scan iterates the AVPs in b, with offsets relative to b.
func Scan(b []byte) Iter { return Iter{b: b} }

// Next moves to the next AVP and reports whether there is one; false at the end or on an error
// (see Err).
func (it *Iter) Next() bool {
	if it.err != nil || it.off >= len(it.b) {
		return false
	}
	code, flags, vendor, data, next, ok := AVPAt(it.b, it.off)
	if !ok {
		it.err = BadAVPAt(it.b, it.off, it.base)
		return false
	}
	a := &it.cur // field by field: a struct literal here is copied through memory, twice as slow
	a.Code, a.Flags, a.Vendor, a.Data, a.Offset = code, flags, vendor, data, it.base+it.off
	it.off = next
	return true
}

// AVPAt is the step Iter.Next takes, on plain values, for a decoder that walks a message in its
// own loop: a hot decoder keeps the AVP in registers instead of an Iter's AVP in memory (what
// BenchmarkParseECA and BenchmarkParseECR measure). It decodes the AVP at b[off:] (off < len(b)):
// its code, flags, Vendor-ID (0 without the V bit), data (aliasing b, no padding) and the offset
// of the AVP after it. ok is false when no well-formed AVP starts at off; BadAVPAt says why. It
// allocates nothing and is safe for concurrent use.
func AVPAt(b []byte, off int) (code uint32, flags uint8, vendor uint32, data []byte, next int, ok bool) {
	rest := b[off:]
	if len(rest) < AVPHeaderLen {
		return 0, 0, 0, nil, 0, false
	}
	w := binary.BigEndian.Uint64(rest) // code, flags, length in one load
	code, flags = uint32(w>>32), uint8(w>>24)
	length := int(w & 0xffffff)
	hdr := AVPHeaderLen
	if flags&AVPFlagVendor != 0 {
		if len(rest) < AVPVendorHeaderLen {
			return 0, 0, 0, nil, 0, false
		}
		hdr = AVPVendorHeaderLen
		vendor = binary.BigEndian.Uint32(rest[8:12])
	}
	if length < hdr || length > len(rest) {
		return 0, 0, 0, nil, 0, false
	}
	// The padding of the last AVP may be missing from a sloppy Grouped length; tolerate that
	// rather than reject an otherwise complete AVP.
	return code, flags, vendor, rest[hdr:length:length], off + min(pad4(length), len(rest)), true
}

// BadAVPAt is the *AVPError for an AVP at b[off:] that AVPAt rejected, its Offset base+off. It is
// safe for concurrent use.
func BadAVPAt(b []byte, off, base int) error {
	rest := b[off:]
	at := base + off
	if len(rest) < AVPHeaderLen {
		return avpErr(ErrAVPOverrun, 0, 0, at)
	}
	code, flags, length := binary.BigEndian.Uint32(rest[0:4]), rest[4], int(be24(rest[5:8]))
	hdr, vendor := AVPHeaderLen, uint32(0)
	if flags&AVPFlagVendor != 0 {
		if len(rest) < AVPVendorHeaderLen {
			return avpErr(ErrAVPOverrun, code, 0, at)
		}
		hdr, vendor = AVPVendorHeaderLen, binary.BigEndian.Uint32(rest[8:12])
	}
	if length < hdr {
		return avpErr(ErrAVPLength, code, vendor, at)
	}
	return avpErr(ErrAVPOverrun, code, vendor, at)
}

// AVP returns the current AVP. It is overwritten by the next call to Next; copy *it.AVP() to keep
// it (its Data still aliases the scanned buffer).
func (it *Iter) AVP() *AVP { return &it.cur }

// Err returns the error that ended the scan, or nil at a clean end.
func (it *Iter) Err() error { return it.err }

// Offset returns the position of the next AVP relative to the start of the scanned buffer.
func (it *Iter) Offset() int { return it.base + it.off }

// Find returns the first AVP of msg's top level with the given code and vendor.
func Find(msg []byte, code, vendor uint32) (AVP, bool, error) {
	it := AVPs(msg)
	for it.Next() {
		if a := it.AVP(); a.Code == code && a.Vendor == vendor {
			return *a, true, nil
		}
	}
	return AVP{}, false, it.Err()
}

func pad4(n int) int { return (n + 3) &^ 3 }
