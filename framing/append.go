package framing

import (
	"encoding/binary"
	"math"
	"net/netip"
	"time"
)

// The Append functions encode one AVP at the end of dst and return the extended slice, in the
// style of strconv.Append*: with a reused buffer they allocate nothing. flags is the AVP flags
// octet (usually AVPFlagMandatory or 0); the V bit is set exactly when vendor != 0, because RFC
// 6733 §4.1 forbids sending Vendor-ID 0. Padding to a 4-octet boundary is appended.

// AppendAVPHeader appends an AVP header for dataLen octets of data; the caller appends the data
// and then the padding (AppendPadding).
func AppendAVPHeader(dst []byte, code uint32, flags uint8, vendor uint32, dataLen int) []byte {
	length := AVPHeaderLen + dataLen
	if vendor != 0 {
		flags |= AVPFlagVendor
		length += 4
	} else {
		flags &^= AVPFlagVendor
	}
	// One 8-byte store instead of eight one-byte appends, each with its own bounds check: every
	// encoder writes these headers.
	dst = binary.BigEndian.AppendUint64(dst, uint64(code)<<32|uint64(flags)<<24|uint64(length)&0xffffff)
	if vendor != 0 {
		dst = binary.BigEndian.AppendUint32(dst, vendor)
	}
	return dst
}

// AppendPadding appends the zero octets that align dataLen octets of data to 4.
func AppendPadding(dst []byte, dataLen int) []byte {
	switch dataLen & 3 {
	case 1:
		return append(dst, 0, 0, 0)
	case 2:
		return append(dst, 0, 0)
	case 3:
		return append(dst, 0)
	}
	return dst
}

// AppendUint32 appends an Unsigned32 AVP.
func AppendUint32(dst []byte, code uint32, flags uint8, vendor uint32, v uint32) []byte {
	dst = AppendAVPHeader(dst, code, flags, vendor, 4)
	return binary.BigEndian.AppendUint32(dst, v)
}

// AppendInt32 appends an Integer32 AVP.
func AppendInt32(dst []byte, code uint32, flags uint8, vendor uint32, v int32) []byte {
	return AppendUint32(dst, code, flags, vendor, uint32(v))
}

// AppendEnumerated appends an Enumerated AVP (an Integer32 on the wire).
func AppendEnumerated(dst []byte, code uint32, flags uint8, vendor uint32, v int32) []byte {
	return AppendUint32(dst, code, flags, vendor, uint32(v))
}

// AppendUint64 appends an Unsigned64 AVP.
func AppendUint64(dst []byte, code uint32, flags uint8, vendor uint32, v uint64) []byte {
	dst = AppendAVPHeader(dst, code, flags, vendor, 8)
	return binary.BigEndian.AppendUint64(dst, v)
}

// AppendInt64 appends an Integer64 AVP.
func AppendInt64(dst []byte, code uint32, flags uint8, vendor uint32, v int64) []byte {
	return AppendUint64(dst, code, flags, vendor, uint64(v))
}

// AppendFloat32 appends a Float32 AVP.
func AppendFloat32(dst []byte, code uint32, flags uint8, vendor uint32, v float32) []byte {
	return AppendUint32(dst, code, flags, vendor, math.Float32bits(v))
}

// AppendFloat64 appends a Float64 AVP.
func AppendFloat64(dst []byte, code uint32, flags uint8, vendor uint32, v float64) []byte {
	return AppendUint64(dst, code, flags, vendor, math.Float64bits(v))
}

// AppendOctets appends an OctetString AVP (or any type derived from it) holding v.
func AppendOctets(dst []byte, code uint32, flags uint8, vendor uint32, v []byte) []byte {
	dst = AppendAVPHeader(dst, code, flags, vendor, len(v))
	dst = append(dst, v...)
	return AppendPadding(dst, len(v))
}

// AppendString appends an OctetString-derived AVP (UTF8String, DiameterIdentity, DiameterURI)
// holding s, without converting s to a []byte.
func AppendString(dst []byte, code uint32, flags uint8, vendor uint32, s string) []byte {
	dst = AppendAVPHeader(dst, code, flags, vendor, len(s))
	dst = append(dst, s...)
	return AppendPadding(dst, len(s))
}

// AppendAddress appends an Address AVP: family 1 and 4 octets for IPv4 (including IPv4-mapped
// IPv6), family 2 and 16 octets for IPv6. An invalid addr is encoded as the IPv4 unspecified
// address; callers validate configuration before encoding.
func AppendAddress(dst []byte, code uint32, flags uint8, vendor uint32, addr netip.Addr) []byte {
	addr = addr.Unmap()
	if addr.Is6() {
		dst = AppendAVPHeader(dst, code, flags, vendor, 18)
		a := addr.As16()
		dst = append(dst, 0, AddressFamilyIPv6)
		dst = append(dst, a[:]...)
		return AppendPadding(dst, 18)
	}
	var a [4]byte
	if addr.Is4() {
		a = addr.As4()
	}
	dst = AppendAVPHeader(dst, code, flags, vendor, 6)
	dst = append(dst, 0, AddressFamilyIPv4, a[0], a[1], a[2], a[3])
	return AppendPadding(dst, 6)
}

// AppendTime appends a Time AVP: NTP seconds, wrapping into era 1 after 2036-02-07 06:28:16 UTC
// as RFC 5905 and RFC 6733 §4.3.1 require.
func AppendTime(dst []byte, code uint32, flags uint8, vendor uint32, t time.Time) []byte {
	return AppendUint32(dst, code, flags, vendor, uint32(t.Unix()+ntpUnixDelta))
}

// BeginAVP appends an AVP header with a zero length, for data whose size is not known up front
// (a number formatted in place, say). Append the data, then call EndAVP with the returned mark.
func BeginAVP(dst []byte, code uint32, flags uint8, vendor uint32) ([]byte, int) {
	mark := len(dst)
	return AppendAVPHeader(dst, code, flags, vendor, 0), mark
}

// EndAVP back-patches the length of the AVP that starts at mark and appends its padding.
func EndAVP(dst []byte, mark int) []byte {
	n := len(dst) - mark
	putBE24(dst[mark+5:mark+8], uint32(n))
	return AppendPadding(dst, n)
}

// BeginGrouped starts a Grouped AVP; append its members, then call EndGrouped with the mark.
func BeginGrouped(dst []byte, code uint32, flags uint8, vendor uint32) ([]byte, int) {
	return BeginAVP(dst, code, flags, vendor)
}

// EndGrouped back-patches the length of the Grouped AVP that starts at mark. Members are padded
// already, so a Grouped length is a multiple of 4 and adds no padding of its own.
func EndGrouped(dst []byte, mark int) []byte { return EndAVP(dst, mark) }
