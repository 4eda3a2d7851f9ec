package framing_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

// decodeOne scans b, which must hold exactly one AVP.
func decodeOne(tb testing.TB, b []byte) framing.AVP {
	tb.Helper()
	it := framing.Scan(b)
	ok := it.Next()
	a := *it.AVP()
	require.True(tb, ok, "no AVP: %v", it.Err())
	more := it.Next()
	require.False(tb, more, "more than one AVP")
	require.NoError(tb, it.Err())
	return a
}

func TestAppendTypes(t *testing.T) {
	const m = framing.AVPFlagMandatory
	cases := []struct {
		name   string
		append func([]byte) []byte
		wire   string
		decode func(framing.AVP) (any, error)
		want   any
	}{
		{
			name:   "Unsigned32",
			append: func(b []byte) []byte { return framing.AppendUint32(b, 268, m, 0, 2001) },
			wire:   "0000010c 4000000c 000007d1",
			decode: func(a framing.AVP) (any, error) { return a.Uint32() },
			want:   uint32(2001),
		},
		{
			name:   "Unsigned32 with vendor",
			append: func(b []byte) []byte { return framing.AppendUint32(b, 1445, m, framing.Vendor3GPP, 2) },
			wire:   "000005a5 c0000010 000028af 00000002",
			decode: func(a framing.AVP) (any, error) { return a.Uint32() },
			want:   uint32(2),
		},
		{
			name:   "Integer32",
			append: func(b []byte) []byte { return framing.AppendInt32(b, 7, m, 0, -1) },
			wire:   "00000007 4000000c ffffffff",
			decode: func(a framing.AVP) (any, error) { return a.Int32() },
			want:   int32(-1),
		},
		{
			name:   "Unsigned64",
			append: func(b []byte) []byte { return framing.AppendUint64(b, 7, m, 0, 0x0102030405060708) },
			wire:   "00000007 40000010 01020304 05060708",
			decode: func(a framing.AVP) (any, error) { return a.Uint64() },
			want:   uint64(0x0102030405060708),
		},
		{
			name:   "Integer64",
			append: func(b []byte) []byte { return framing.AppendInt64(b, 7, 0, 0, -2) },
			wire:   "00000007 00000010 ffffffff fffffffe",
			decode: func(a framing.AVP) (any, error) { return a.Int64() },
			want:   int64(-2),
		},
		{
			name:   "Float32",
			append: func(b []byte) []byte { return framing.AppendFloat32(b, 7, 0, 0, 1.5) },
			wire:   "00000007 0000000c 3fc00000",
			decode: func(a framing.AVP) (any, error) { return a.Float32() },
			want:   float32(1.5),
		},
		{
			name:   "Float64",
			append: func(b []byte) []byte { return framing.AppendFloat64(b, 7, 0, 0, -2.5) },
			wire:   "00000007 00000010 c0040000 00000000",
			decode: func(a framing.AVP) (any, error) { return a.Float64() },
			want:   float64(-2.5),
		},
		{
			name:   "OctetString, pad 3",
			append: func(b []byte) []byte { return framing.AppendOctets(b, 33, m, 0, []byte{1, 2, 3, 4, 5}) },
			wire:   "00000021 4000000d 01020304 05000000",
			decode: func(a framing.AVP) (any, error) { return a.Data, nil },
			want:   []byte{1, 2, 3, 4, 5},
		},
		{
			name:   "empty OctetString",
			append: func(b []byte) []byte { return framing.AppendOctets(b, 33, m, 0, nil) },
			wire:   "00000021 40000008",
			decode: func(a framing.AVP) (any, error) { return len(a.Data), nil },
			want:   0,
		},
		{
			name:   "UTF8String counts octets, pad 2",
			append: func(b []byte) []byte { return framing.AppendString(b, 281, 0, 0, "héllo") },
			wire:   "00000119 0000000e 68c3a96c 6c6f0000",
			decode: func(a framing.AVP) (any, error) { return string(a.Data), nil },
			want:   "héllo",
		},
		{
			name:   "DiameterIdentity, vendor, pad 1",
			append: func(b []byte) []byte { return framing.AppendString(b, 1402, m, framing.Vendor3GPP, "abc") },
			wire:   "0000057a c000000f 000028af 61626300",
			decode: func(a framing.AVP) (any, error) { return string(a.Data), nil },
			want:   "abc",
		},
		{
			name: "Enumerated",
			append: func(b []byte) []byte {
				return framing.AppendEnumerated(b, 273, m, 0, int32(framing.DoNotWantToTalkToYou))
			},
			wire:   "00000111 4000000c 00000002",
			decode: func(a framing.AVP) (any, error) { return a.Int32() },
			want:   int32(2),
		},
		{
			name: "Address IPv4",
			append: func(b []byte) []byte {
				return framing.AppendAddress(b, 257, m, 0, netip.MustParseAddr("192.0.2.10"))
			},
			wire:   "00000101 4000000e 0001c000 020a0000",
			decode: func(a framing.AVP) (any, error) { return a.Address() },
			want:   netip.MustParseAddr("192.0.2.10"),
		},
		{
			name: "Address IPv4-mapped IPv6 is sent as IPv4",
			append: func(b []byte) []byte {
				return framing.AppendAddress(b, 257, m, 0, netip.MustParseAddr("::ffff:192.0.2.10"))
			},
			wire:   "00000101 4000000e 0001c000 020a0000",
			decode: func(a framing.AVP) (any, error) { return a.Address() },
			want:   netip.MustParseAddr("192.0.2.10"),
		},
		{
			name: "Address IPv6: family 2, length 26, pad 2",
			append: func(b []byte) []byte {
				return framing.AppendAddress(b, 257, m, 0, netip.MustParseAddr("2001:db8::1"))
			},
			wire:   "00000101 4000001a 00022001 0db80000 00000000 00000000 00010000",
			decode: func(a framing.AVP) (any, error) { return a.Address() },
			want:   netip.MustParseAddr("2001:db8::1"),
		},
		{
			name:   "Time 1700000000",
			append: func(b []byte) []byte { return framing.AppendTime(b, 55, m, 0, time.Unix(1700000000, 0)) },
			wire:   "00000037 4000000c e8fe6f80",
			decode: func(a framing.AVP) (any, error) { return a.Time() },
			want:   time.Unix(1700000000, 0).UTC(),
		},
		{
			name:   "Time after the 2036 wrap",
			append: func(b []byte) []byte { return framing.AppendTime(b, 55, m, 0, time.Unix(2200000000, 0)) },
			wire:   "00000037 4000000c 06cbd480",
			decode: func(a framing.AVP) (any, error) { return a.Time() },
			want:   time.Unix(2200000000, 0).UTC(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.append(nil)
			require.Equal(t, unhex(t, tc.wire), b)
			require.Zero(t, len(b)%4, "padded to 4 octets")
			got, err := tc.decode(decodeOne(t, b))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)

			// Appending keeps what dst held.
			prefix := []byte{9, 9, 9, 9}
			b = tc.append(append([]byte(nil), prefix...))
			assert.Equal(t, prefix, b[:4])
			assert.Equal(t, unhex(t, tc.wire), b[4:])
		})
	}
}

func TestAppendAddressInvalid(t *testing.T) {
	// The zero netip.Addr is documented to encode as 0.0.0.0.
	b := framing.AppendAddress(nil, 257, framing.AVPFlagMandatory, 0, netip.Addr{})
	assert.Equal(t, unhex(t, "00000101 4000000e 00010000 00000000"), b)
}

// TestTimeEras checks the NTP era rule around both wrap points (RFC 5905, RFC 6733 §4.3.1).
func TestTimeEras(t *testing.T) {
	cases := []struct {
		name string
		unix int64
		ntp  uint32
	}{
		{"1968-01-20 03:14:08, first second of the MSB-set range", -61505152, 0x80000000},
		{"1970 epoch", 0, 2208988800},
		{"2036-02-07 06:28:15, last second of era 0", 2085978495, 0xffffffff},
		{"2036-02-07 06:28:16, first second of era 1", 2085978496, 0},
		{"2104-02-26 09:42:23, last second before the MSB rule flips back", 2085978496 + 0x7fffffff, 0x7fffffff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendTime(nil, 55, 0, 0, time.Unix(tc.unix, 0))
			a := decodeOne(t, b)
			v, err := a.Uint32()
			require.NoError(t, err)
			assert.Equal(t, tc.ntp, v)
			tm, err := a.Time()
			require.NoError(t, err)
			assert.Equal(t, tc.unix, tm.Unix())
			assert.Equal(t, time.UTC, tm.Location())
		})
	}
}

func TestAppendVendorFlag(t *testing.T) {
	cases := []struct {
		name      string
		flags     uint8
		vendor    uint32
		wantFlags uint8
		wantLen   int
	}{
		{"no vendor", framing.AVPFlagMandatory, 0, 0x40, 12},
		{"vendor sets V", framing.AVPFlagMandatory, framing.Vendor3GPP, 0xc0, 16},
		{"vendor sets V without M", 0, framing.Vendor3GPP, 0x80, 16},
		{"V asked with vendor 0 is cleared", framing.AVPFlagVendor | framing.AVPFlagMandatory, 0, 0x40, 12},
		{"other bits are kept", framing.AVPFlagProtected, 0, 0x20, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendUint32(nil, 1, tc.flags, tc.vendor, 5)
			require.Len(t, b, tc.wantLen)
			a := decodeOne(t, b)
			assert.Equal(t, tc.wantFlags, a.Flags)
			assert.Equal(t, tc.vendor, a.Vendor)
			assert.Equal(t, tc.wantLen, a.Len())
		})
	}
}

func TestAppendPadding(t *testing.T) {
	for n := 0; n < 9; n++ {
		b := framing.AppendPadding(make([]byte, n), n)
		assert.Zero(t, len(b)%4, "data length %d", n)
		assert.Less(t, len(b)-n, 4, "data length %d", n)
		assert.Equal(t, make([]byte, len(b)), b, "padding is zeros")
	}
}

func TestBeginEndAVP(t *testing.T) {
	cases := []struct {
		name   string
		vendor uint32
		data   string
		wire   string
	}{
		{"5 octets", 0, "12345", "00000001 4000000d 31323334 35000000"},
		{"4 octets", 0, "1234", "00000001 4000000c 31323334"},
		{"vendor, 2 octets", framing.Vendor3GPP, "23", "00000001 c000000e 000028af 32330000"},
		{"empty", 0, "", "00000001 40000008"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, mark := framing.BeginAVP([]byte{1, 2, 3, 4}, 1, framing.AVPFlagMandatory, tc.vendor)
			require.Equal(t, 4, mark)
			b = append(b, tc.data...)
			b = framing.EndAVP(b, mark)
			assert.Equal(t, unhex(t, tc.wire), b[4:])
			// Same bytes as the one-shot encoder.
			assert.Equal(t, framing.AppendString(nil, 1, framing.AVPFlagMandatory, tc.vendor, tc.data), b[4:])
		})
	}
}

func TestGroupedLength(t *testing.T) {
	// Members of data length 1, 5 and 6 pad to 12, 16 and 16 octets; the nested Grouped holds a
	// 13-octet AVP padded to 16 plus its own 8-octet header.
	b := []byte{0xff}
	b, g := framing.BeginGrouped(b, 1401, framing.AVPFlagMandatory, framing.Vendor3GPP)
	b = framing.AppendString(b, 1, 0, 0, "a")
	b = framing.AppendString(b, 2, 0, 0, "abcde")
	b = framing.AppendAddress(b, 3, 0, 0, netip.MustParseAddr("192.0.2.1"))
	b, inner := framing.BeginGrouped(b, 4, framing.AVPFlagMandatory, 0)
	b = framing.AppendString(b, 5, 0, 0, "abcde")
	b = framing.EndGrouped(b, inner)
	b = framing.EndGrouped(b, g)

	const want = 12 + (12 + 16 + 16) + (8 + 16)
	a := decodeOne(t, b[1:])
	assert.Equal(t, want, a.Len())
	assert.Equal(t, len(b)-1, a.Len(), "a Grouped adds no padding of its own")
	assert.Equal(t, uint8(0xc0), a.Flags)
	assert.Equal(t, framing.Vendor3GPP, a.Vendor)

	var codes []uint32
	var lens []int
	it := a.Grouped()
	for it.Next() {
		m := *it.AVP()
		codes = append(codes, m.Code)
		lens = append(lens, m.Len())
	}
	require.NoError(t, it.Err())
	assert.Equal(t, []uint32{1, 2, 3, 4}, codes)
	assert.Equal(t, []int{9, 13, 14, 24}, lens)
}

func TestAppendDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 512)
	addr := netip.MustParseAddr("2001:db8::1")
	now := time.Unix(1700000000, 0)
	allocs := testing.AllocsPerRun(100, func() {
		b := buf[:0]
		b, g := framing.BeginGrouped(b, 1401, framing.AVPFlagMandatory, framing.Vendor3GPP)
		b = framing.AppendString(b, 1402, framing.AVPFlagMandatory, framing.Vendor3GPP, "35209900176148")
		b = framing.AppendUint64(b, 2, 0, 0, 1)
		b = framing.AppendAddress(b, 257, framing.AVPFlagMandatory, 0, addr)
		b = framing.AppendTime(b, 55, 0, 0, now)
		b = framing.EndGrouped(b, g)
		buf = b
	})
	assert.Zero(t, allocs)
	assert.NotEmpty(t, buf)
}

// TestHeadersEveryBit writes headers whose every field uses all its bits (a 32-bit AVP code, a
// 24-bit length, all flags) and checks each byte: the encoders store whole words, so a shift or
// mask off by one would move or drop bits no vector exercises. Bits above a 24-bit field are
// dropped, as the wire has no room for them.
func TestHeadersEveryBit(t *testing.T) {
	got := framing.AppendAVPHeader([]byte{0xee}, 0xfedcba98, 0x7f, 0, 0xabcdef-framing.AVPHeaderLen)
	assert.Equal(t, []byte{0xee, 0xfe, 0xdc, 0xba, 0x98, 0x7f, 0xab, 0xcd, 0xef}, got, "AVP header, no vendor (V cleared)")

	got = framing.AppendAVPHeader(nil, 0x01020304, 0x20, 0x0a0b0c0d, 0x01ffff00)
	want := []byte{0x01, 0x02, 0x03, 0x04, 0xa0, 0xff, 0xff, 0x0c, 0x0a, 0x0b, 0x0c, 0x0d}
	assert.Equal(t, want, got, "AVP header with vendor (V set), length's bits above 24 dropped")

	h := framing.Header{Version: 0x81, Length: 0xff123456, Flags: 0xf5, Code: 0xffabcdef, AppID: 0x89abcdef,
		HopByHop: 0x01234567, EndToEnd: 0xfedcba98}
	want = []byte{0x81, 0x12, 0x34, 0x56, 0xf5, 0xab, 0xcd, 0xef, 0x89, 0xab, 0xcd, 0xef,
		0x01, 0x23, 0x45, 0x67, 0xfe, 0xdc, 0xba, 0x98}
	assert.Equal(t, append([]byte{0xee}, want...), framing.AppendHeader([]byte{0xee}, h), "message header")
}
