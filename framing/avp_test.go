package framing_test

import (
	"errors"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

// avpLayout is what a scan should report for one AVP.
type avpLayout struct {
	code, vendor uint32
	flags        uint8
	offset, len  int
}

func layoutOf(a framing.AVP) avpLayout {
	return avpLayout{code: a.Code, vendor: a.Vendor, flags: a.Flags, offset: a.Offset, len: a.Len()}
}

// TestScanECRLayout checks the scan of vector 05 against the byte map in PROTOCOL.md §8,
// including the absolute offsets of Grouped members.
func TestScanECRLayout(t *testing.T) {
	ecr := vector(t, "05_ecr")
	var top []avpLayout
	it := framing.AVPs(ecr)
	for it.Next() {
		a := *it.AVP()
		top = append(top, layoutOf(a))
	}
	require.NoError(t, it.Err())
	assert.Equal(t, []avpLayout{
		{framing.AVPSessionID, 0, 0x40, 20, 60},
		{framing.AVPVendorSpecificApplicationID, 0, 0x40, 80, 32},
		{framing.AVPAuthSessionState, 0, 0x40, 112, 12},
		{framing.AVPOriginHost, 0, 0x40, 124, 46},
		{framing.AVPOriginRealm, 0, 0x40, 172, 41},
		{framing.AVPDestinationRealm, 0, 0x40, 216, 41},
		{1401, framing.Vendor3GPP, 0xc0, 260, 56},
		{framing.AVPUserName, 0, 0x40, 316, 23},
	}, top)

	groupOf := func(code, vendor uint32) []avpLayout {
		g, ok, err := framing.Find(ecr, code, vendor)
		require.NoError(t, err)
		require.True(t, ok)
		var out []avpLayout
		git := g.Grouped()
		for git.Next() {
			m := *git.AVP()
			out = append(out, layoutOf(m))
		}
		require.NoError(t, git.Err())
		return out
	}
	assert.Equal(t, []avpLayout{
		{framing.AVPVendorID, 0, 0x40, 88, 12},
		{framing.AVPAuthApplicationID, 0, 0x40, 100, 12},
	}, groupOf(framing.AVPVendorSpecificApplicationID, 0))
	assert.Equal(t, []avpLayout{
		{1402, framing.Vendor3GPP, 0xc0, 272, 26},
		{1403, framing.Vendor3GPP, 0xc0, 300, 14},
	}, groupOf(1401, framing.Vendor3GPP))
}

func TestScanZeroCopy(t *testing.T) {
	ecr := vector(t, "05_ecr")
	a, ok, err := framing.Find(ecr, framing.AVPUserName, 0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "001010123456789", string(a.Data))
	assert.Same(t, &ecr[a.Offset+framing.AVPHeaderLen], &a.Data[0], "Data aliases the message")
	assert.Equal(t, len(a.Data), cap(a.Data), "capacity is capped so an append cannot clobber the padding")

	ecr[a.Offset+framing.AVPHeaderLen] = '9'
	assert.Equal(t, byte('9'), a.Data[0])

	// A vendor AVP's data starts after the 12-byte header.
	v, ok, err := framing.Find(ecr, 1401, framing.Vendor3GPP)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, framing.AVPVendorHeaderLen, v.HeaderLen())
	assert.Same(t, &ecr[v.Offset+framing.AVPVendorHeaderLen], &v.Data[0])
}

func TestScanPadding(t *testing.T) {
	b := unhex(t, `
		00000001 40000009 61 000000
		00000002 4000000a 6162 0000
		00000003 4000000b 616263 00
		00000004 4000000c 61626364
		00000005 0000000d 6162636465 000000`)
	want := []string{"a", "ab", "abc", "abcd", "abcde"}
	wantOff := []int{0, 12, 24, 36, 48}
	it := framing.Scan(b)
	var i int
	for it.Next() {
		a := *it.AVP()
		require.Less(t, i, len(want))
		assert.Equal(t, uint32(i+1), a.Code)
		assert.Equal(t, want[i], string(a.Data))
		assert.Equal(t, wantOff[i], a.Offset)
		i++
	}
	require.NoError(t, it.Err())
	assert.Equal(t, len(want), i)
	assert.Equal(t, len(b), it.Offset())

	// The last AVP of a sloppy Grouped may lack its padding: accepted, the scan ends cleanly.
	short := unhex(t, "00000001 40000009 61")
	it = framing.Scan(short)
	ok := it.Next()
	a := *it.AVP()
	require.True(t, ok)
	assert.Equal(t, "a", string(a.Data))
	ok = it.Next()
	assert.False(t, ok)
	assert.NoError(t, it.Err())
}

func TestScanNestedGrouped(t *testing.T) {
	// outer{ inner{ leaf } , sibling } built with the encoders, scanned back to depth 3.
	b := []byte{0xee, 0xee, 0xee, 0xee} // a prefix shifts every offset
	b, outer := framing.BeginGrouped(b, 100, framing.AVPFlagMandatory, framing.Vendor3GPP)
	b, inner := framing.BeginGrouped(b, 101, framing.AVPFlagMandatory, 0)
	b = framing.AppendString(b, 102, 0, framing.Vendor3GPP, "leaf!")
	b = framing.EndGrouped(b, inner)
	b = framing.AppendUint32(b, 103, framing.AVPFlagMandatory, 0, 7)
	b = framing.EndGrouped(b, outer)

	it := framing.Scan(b[4:])
	ok := it.Next()
	o := *it.AVP()
	require.True(t, ok)
	ok = it.Next()
	require.False(t, ok)
	require.NoError(t, it.Err())
	assert.Equal(t, 0, o.Offset)

	oit := o.Grouped()
	ok = oit.Next()
	in := *oit.AVP()
	require.True(t, ok)
	assert.Equal(t, uint32(101), in.Code)
	assert.Equal(t, 12, in.Offset, "members are offset from the scanned buffer, not the parent")
	ok = oit.Next()
	sib := *oit.AVP()
	require.True(t, ok)
	assert.Equal(t, uint32(103), sib.Code)
	ok = oit.Next()
	require.False(t, ok)
	require.NoError(t, oit.Err())

	iit := in.Grouped()
	ok = iit.Next()
	leaf := *iit.AVP()
	require.True(t, ok)
	assert.Equal(t, uint32(102), leaf.Code)
	assert.Equal(t, 20, leaf.Offset)
	assert.Equal(t, "leaf!", string(leaf.Data))
	v, err := sib.Uint32()
	require.NoError(t, err)
	assert.Equal(t, uint32(7), v)
}

func TestScanErrors(t *testing.T) {
	// good is a valid 12-byte AVP placed in front so the error offset is not trivially 0.
	const good = "00000001 4000000c 00000001 "
	cases := []struct {
		name   string
		hex    string
		want   error
		code   uint32
		offset int
	}{
		{"length 0", good + "00000002 40000000 00000000", framing.ErrAVPLength, 2, 12},
		{"length 7", good + "00000002 40000007 00000000", framing.ErrAVPLength, 2, 12},
		{"length 8 with V bit", good + "00000002 c0000008 000028af", framing.ErrAVPLength, 2, 12},
		{"length 11 with V bit", good + "00000002 c000000b 000028af 00000000", framing.ErrAVPLength, 2, 12},
		{"length past the end", good + "00000002 40000010 00000000", framing.ErrAVPOverrun, 2, 12},
		{"length far past the end", good + "00000002 40ffffff 00000000", framing.ErrAVPOverrun, 2, 12},
		{"truncated header", good + "00000002 40", framing.ErrAVPOverrun, 0, 12},
		{"one stray byte", good + "00", framing.ErrAVPOverrun, 0, 12},
		{"truncated vendor header", good + "00000002 c000000c 0000", framing.ErrAVPOverrun, 2, 12},
		{"first AVP bad", "00000009 40000004", framing.ErrAVPLength, 9, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := unhex(t, tc.hex)
			it := framing.Scan(b)
			steps := 0
			for it.Next() {
				_ = *it.AVP()
				steps++
				require.LessOrEqual(t, steps, len(b)/8+1, "scan does not terminate")
			}
			err := it.Err()
			require.ErrorIs(t, err, tc.want)
			var ae *framing.AVPError
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, tc.code, ae.Code)
			assert.Equal(t, tc.offset, ae.Offset)
			assert.Equal(t, tc.offset, it.Offset(), "the scan stops at the bad AVP")

			// The error is sticky: no further AVPs, same error.
			ok := it.Next()
			assert.False(t, ok)
			assert.Same(t, err, it.Err())
		})
	}
}

// TestScanErrorOffsetsAbsolute checks that an error inside a Grouped AVP of a message reports its
// offset from the message start, as the top-level scan does.
func TestScanErrorOffsetsAbsolute(t *testing.T) {
	b, m := framing.BeginMessage(nil, framing.Header{Code: framing.CmdDeviceWatchdog, Flags: framing.FlagRequest})
	b = framing.AppendString(b, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "host") // 20..32
	b, g := framing.BeginGrouped(b, framing.AVPProxyInfo, framing.AVPFlagMandatory, 0)      // 32
	b = framing.AppendString(b, framing.AVPProxyHost, framing.AVPFlagMandatory, 0, "dra")   // 40..52
	bad := len(b)                                                                           // 52
	b = framing.AppendUint32(b, framing.AVPProxyState, framing.AVPFlagMandatory, 0, 1)
	b = framing.EndGrouped(b, g)
	b = framing.EndMessage(b, m)
	b[bad+7] = 0x40 // Proxy-State length 64: past the end of its parent

	it := framing.AVPs(b)
	var group framing.AVP
	for it.Next() {
		a := *it.AVP()
		if a.Code == framing.AVPProxyInfo {
			group = a
		}
	}
	require.NoError(t, it.Err(), "the top level is intact")
	require.Equal(t, 32, group.Offset)

	git := group.Grouped()
	for git.Next() {
		_ = *git.AVP()
	}
	var ae *framing.AVPError
	require.True(t, errors.As(git.Err(), &ae))
	assert.ErrorIs(t, ae, framing.ErrAVPOverrun)
	assert.Equal(t, framing.AVPProxyState, ae.Code)
	assert.Equal(t, bad, ae.Offset)
}

func TestAVPsBounds(t *testing.T) {
	dwr := vector(t, "03_dwr")

	it := framing.AVPs(dwr[:10])
	ok := it.Next()
	assert.False(t, ok)
	assert.ErrorIs(t, it.Err(), framing.ErrShortBuffer)

	it = framing.AVPs(dwr[:len(dwr)-4])
	ok = it.Next()
	assert.False(t, ok)
	assert.ErrorIs(t, it.Err(), framing.ErrTruncated)

	// A Message Length below the header is a length error, not a truncation.
	it = framing.AVPs(unhex(t, "01000010 80000118 00000000 00000001 00000001"))
	ok = it.Next()
	assert.False(t, ok)
	assert.ErrorIs(t, it.Err(), framing.ErrMessageLength)

	// Bytes after Message Length belong to the next message and are not scanned.
	two := concat(dwr, vector(t, "04_dwa"))
	it = framing.AVPs(two)
	n := 0
	for it.Next() {
		_ = *it.AVP()
		n++
	}
	require.NoError(t, it.Err())
	assert.Equal(t, 3, n)
	assert.Equal(t, len(dwr), it.Offset())

	// A header-only message has no AVPs and no error.
	it = framing.AVPs(framing.AppendHeader(nil, framing.Header{Length: 20}))
	ok = it.Next()
	assert.False(t, ok)
	assert.NoError(t, it.Err())

	// The zero Iter is empty.
	var zero framing.Iter
	ok = zero.Next()
	assert.False(t, ok)
	assert.NoError(t, zero.Err())
}

func TestFind(t *testing.T) {
	ecr := vector(t, "05_ecr")
	cases := []struct {
		name         string
		code, vendor uint32
		found        bool
		offset       int
	}{
		{"first AVP", framing.AVPSessionID, 0, true, 20},
		{"last AVP", framing.AVPUserName, 0, true, 316},
		{"vendor AVP", 1401, framing.Vendor3GPP, true, 260},
		{"vendor AVP asked without vendor", 1401, 0, false, 0},
		{"only inside a Grouped", framing.AVPVendorID, 0, false, 0},
		{"absent", framing.AVPResultCode, 0, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, ok, err := framing.Find(ecr, tc.code, tc.vendor)
			require.NoError(t, err)
			assert.Equal(t, tc.found, ok)
			if tc.found {
				assert.True(t, a.Is(tc.code, tc.vendor))
				assert.Equal(t, tc.offset, a.Offset)
			}
		})
	}

	// An AVP before the damage is found; one after it reports the scan error.
	bad := vector(t, "92_bad_avplen_dwr")
	_, ok, err := framing.Find(bad, framing.AVPOriginHost, 0)
	assert.True(t, ok)
	assert.NoError(t, err)
	_, ok, err = framing.Find(bad, framing.AVPOriginStateID, 0)
	assert.False(t, ok)
	assert.ErrorIs(t, err, framing.ErrAVPOverrun)
}

func TestAVPAccessors(t *testing.T) {
	one := func(tb testing.TB, b []byte) *framing.AVP {
		tb.Helper()
		it := framing.Scan(b)
		ok := it.Next()
		a := *it.AVP()
		require.True(tb, ok, "%v", it.Err())
		return &a
	}
	t.Run("integers", func(t *testing.T) {
		a := one(t, unhex(t, "00000001 4000000c fffffffe"))
		u, err := a.Uint32()
		require.NoError(t, err)
		assert.Equal(t, uint32(0xfffffffe), u)
		i, err := a.Int32()
		require.NoError(t, err)
		assert.Equal(t, int32(-2), i)

		a = one(t, unhex(t, "00000001 40000010 ffffffff fffffffd"))
		u64, err := a.Uint64()
		require.NoError(t, err)
		assert.Equal(t, uint64(math.MaxUint64-2), u64)
		i64, err := a.Int64()
		require.NoError(t, err)
		assert.Equal(t, int64(-3), i64)
	})
	t.Run("floats", func(t *testing.T) {
		f, err := one(t, unhex(t, "00000001 4000000c 3fc00000")).Float32()
		require.NoError(t, err)
		assert.Equal(t, float32(1.5), f)
		d, err := one(t, unhex(t, "00000001 40000010 c0040000 00000000")).Float64()
		require.NoError(t, err)
		assert.Equal(t, -2.5, d)
	})
	t.Run("addresses", func(t *testing.T) {
		ip, err := one(t, unhex(t, "00000101 4000000e 0001c000 020a0000")).Address()
		require.NoError(t, err)
		assert.Equal(t, netip.MustParseAddr("192.0.2.10"), ip)
		ip, err = one(t, unhex(t, "00000101 4000001a 00022001 0db80000 00000000 00000000 00010000")).Address()
		require.NoError(t, err)
		assert.Equal(t, netip.MustParseAddr("2001:db8::1"), ip)
	})
	t.Run("time", func(t *testing.T) {
		tm, err := one(t, unhex(t, "00000037 4000000c e8fe6f80")).Time()
		require.NoError(t, err)
		assert.Equal(t, time.Unix(1700000000, 0).UTC(), tm)
	})

	// Wrong sizes and families are ErrAVPData naming the AVP.
	bad := []struct {
		name string
		hex  string
		call func(*framing.AVP) error
	}{
		{"Uint32 of 3 octets", "00000001 4000000b 000001 00", func(a *framing.AVP) error { _, err := a.Uint32(); return err }},
		{"Int32 of 8 octets", "00000001 40000010 00000000 00000001", func(a *framing.AVP) error { _, err := a.Int32(); return err }},
		{"Uint64 of 4 octets", "00000001 4000000c 00000001", func(a *framing.AVP) error { _, err := a.Uint64(); return err }},
		{"Int64 of 0 octets", "00000001 40000008", func(a *framing.AVP) error { _, err := a.Int64(); return err }},
		{"Float32 of 8 octets", "00000001 40000010 00000000 00000001", func(a *framing.AVP) error { _, err := a.Float32(); return err }},
		{"Float64 of 4 octets", "00000001 4000000c 00000001", func(a *framing.AVP) error { _, err := a.Float64(); return err }},
		{"Address of 1 octet", "00000001 40000009 00 000000", func(a *framing.AVP) error { _, err := a.Address(); return err }},
		{"Address family 3", "00000001 4000000e 0003c000 020a0000", func(a *framing.AVP) error { _, err := a.Address(); return err }},
		{"IPv4 with 16 octets", "00000001 4000001a 00012001 0db80000 00000000 00000000 00010000", func(a *framing.AVP) error { _, err := a.Address(); return err }},
		{"IPv6 with 4 octets", "00000001 4000000e 0002c000 020a0000", func(a *framing.AVP) error { _, err := a.Address(); return err }},
		{"Time of 8 octets", "00000001 40000010 00000000 00000001", func(a *framing.AVP) error { _, err := a.Time(); return err }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(one(t, unhex(t, "00000000 00000000 "+tc.hex)[8:]))
			require.ErrorIs(t, err, framing.ErrAVPData)
			var ae *framing.AVPError
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, uint32(1), ae.Code)
		})
	}
}

func TestAVPErrorMessage(t *testing.T) {
	e := &framing.AVPError{Code: 1402, Vendor: framing.Vendor3GPP, Offset: 272, Err: framing.ErrAVPData}
	assert.Contains(t, e.Error(), "AVP 1402 vendor 10415 at offset 272")
	assert.ErrorIs(t, e, framing.ErrAVPData)
	e = &framing.AVPError{Code: 264, Offset: 20, Err: framing.ErrMissingAVP}
	assert.Contains(t, e.Error(), "AVP 264 at offset 20")
}

// isGrouped reports the Grouped AVPs of the vectors.
func isGrouped(a framing.AVP) bool {
	switch {
	case a.Is(framing.AVPVendorSpecificApplicationID, 0), a.Is(framing.AVPExperimentalResult, 0),
		a.Is(framing.AVPFailedAVP, 0), a.Is(framing.AVPProxyInfo, 0), a.Is(1401, framing.Vendor3GPP):
		return true
	}
	return false
}

// scanGrouped walks every AVP of it and of the Grouped AVPs inside, as a decoder does.
func scanGrouped(it framing.Iter) (n int, err error) {
	for it.Next() {
		a := *it.AVP()
		n++
		if isGrouped(a) {
			m, err := scanGrouped(a.Grouped())
			n += m
			if err != nil {
				return n, err
			}
		}
	}
	return n, it.Err()
}

// TestScanDoesNotAllocate: a clean scan allocates nothing (only an error allocates its AVPError).
func TestScanDoesNotAllocate(t *testing.T) {
	cases := []struct {
		name string
		avps int
	}{
		{"01_cer", 10}, {"05_ecr", 12}, {"07_eca_whitelisted", 9}, {"08_eca_equipment_unknown", 10},
	}
	for _, tc := range cases {
		msg := vector(t, tc.name)
		var n int
		var err error
		allocs := testing.AllocsPerRun(100, func() { n, err = scanGrouped(framing.AVPs(msg)) })
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.avps, n, tc.name)
		assert.Zero(t, allocs, tc.name)
	}
}
