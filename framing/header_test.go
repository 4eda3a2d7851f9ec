package framing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

func TestHeaderRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		h    framing.Header
		wire string
	}{
		{
			name: "ECR of vector 05",
			h: framing.Header{Version: 1, Length: 340, Flags: framing.FlagRequest | framing.FlagProxiable,
				Code: framing.CmdMEIdentityCheck, AppID: framing.AppS13, HopByHop: 0x2a000003, EndToEnd: 0x10000003},
			wire: "01000154 c0000144 01000024 2a000003 10000003",
		},
		{
			name: "smallest message, all id bits set",
			h: framing.Header{Version: 1, Length: 20, Code: framing.CmdDeviceWatchdog,
				AppID: framing.AppRelay, HopByHop: 0xffffffff, EndToEnd: 0xffffffff},
			wire: "01000014 00000118 ffffffff ffffffff ffffffff",
		},
		{
			name: "24-bit fields at their maximum",
			h: framing.Header{Version: 1, Length: 0xfffffc, Flags: 0xff, Code: 0xffffff,
				AppID: 1, HopByHop: 2, EndToEnd: 3},
			wire: "01fffffc ffffffff 00000001 00000002 00000003",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendHeader(nil, tc.h)
			require.Equal(t, unhex(t, tc.wire), b)
			got, err := framing.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, tc.h, got)
		})
	}
}

func TestAppendHeaderDefaultsVersionAndAppends(t *testing.T) {
	prefix := []byte{0xaa, 0xbb}
	b := framing.AppendHeader(prefix, framing.Header{Length: 20, Code: framing.CmdDeviceWatchdog})
	require.Len(t, b, 2+framing.HeaderLen)
	assert.Equal(t, []byte{0xaa, 0xbb}, b[:2], "existing bytes are kept")
	assert.Equal(t, byte(framing.Version), b[2], "a zero Version is written as 1")
}

func TestHeaderFlags(t *testing.T) {
	cases := []struct {
		flags         uint8
		r, p, e, tBit bool
		reserved      uint8
		description   string
	}{
		{flags: 0x00, description: "answer"},
		{flags: 0x80, r: true, description: "R"},
		{flags: 0x40, p: true, description: "P"},
		{flags: 0x20, e: true, description: "E"},
		{flags: 0x10, tBit: true, description: "T"},
		{flags: 0xc0, r: true, p: true, description: "proxiable request"},
		{flags: 0xd0, r: true, p: true, tBit: true, description: "retransmitted request"},
		{flags: 0x60, p: true, e: true, description: "protocol error answer"},
		{flags: 0x0f, reserved: 0x0f, description: "reserved bits only"},
		{flags: 0x85, r: true, reserved: 0x05, description: "reserved bits beside R"},
	}
	for _, tc := range cases {
		t.Run(tc.description, func(t *testing.T) {
			b := framing.AppendHeader(nil, framing.Header{Length: 20, Flags: tc.flags})
			h, err := framing.ParseHeader(b)
			require.NoError(t, err, "reserved bits are ignored on receipt, not rejected")
			assert.Equal(t, tc.flags, h.Flags, "flags are kept as received")
			assert.Equal(t, tc.r, h.IsRequest())
			assert.Equal(t, tc.p, h.IsProxiable())
			assert.Equal(t, tc.e, h.IsError())
			assert.Equal(t, tc.tBit, h.IsRetransmit())
			assert.Equal(t, tc.reserved, h.Reserved())
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, framing.ErrShortBuffer},
		{"19 bytes", make([]byte, 19), framing.ErrShortBuffer},
		{"version 0", unhex(t, "00000014 80000118 00000000 00000001 00000001"), framing.ErrVersion},
		{"version 2", unhex(t, "02000014 80000118 00000000 00000001 00000001"), framing.ErrVersion},
		{"length 0", unhex(t, "01000000 80000118 00000000 00000001 00000001"), framing.ErrMessageLength},
		{"length 16", unhex(t, "01000010 80000118 00000000 00000001 00000001"), framing.ErrMessageLength},
		{"length 19", unhex(t, "01000013 80000118 00000000 00000001 00000001"), framing.ErrMessageLength},
		{"length 22", unhex(t, "01000016 80000118 00000000 00000001 00000001"), framing.ErrMessageLength},
		{"length 122", unhex(t, "0100007a 80000118 00000000 00000001 00000001"), framing.ErrMessageLength},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := framing.ParseHeader(tc.b)
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, framing.Header{}, h)
		})
	}
}

func TestMessage(t *testing.T) {
	dwr := vector(t, "03_dwr")

	t.Run("exact", func(t *testing.T) {
		m, h, err := framing.Message(dwr)
		require.NoError(t, err)
		assert.Equal(t, dwr, m)
		assert.Equal(t, uint32(len(dwr)), h.Length)
	})
	t.Run("cut to Message Length", func(t *testing.T) {
		two := append(append([]byte(nil), dwr...), vector(t, "04_dwa")...)
		m, _, err := framing.Message(two)
		require.NoError(t, err)
		assert.Len(t, m, len(dwr))
		assert.Equal(t, &two[0], &m[0], "the message aliases the input")
	})
	t.Run("truncated", func(t *testing.T) {
		_, _, err := framing.Message(dwr[:len(dwr)-4])
		assert.ErrorIs(t, err, framing.ErrTruncated)
	})
	t.Run("header error", func(t *testing.T) {
		_, _, err := framing.Message(vector(t, "90_bad_version_dwr"))
		assert.ErrorIs(t, err, framing.ErrVersion)
	})
}

func TestBeginEndMessage(t *testing.T) {
	prefix := framing.AppendDWR(nil, 1, 1, &framing.Identity{OriginHost: "a", OriginRealm: "b"})
	h := framing.Header{Flags: framing.FlagRequest, Code: framing.CmdDeviceWatchdog, HopByHop: 7, EndToEnd: 9,
		Length: 999} // ignored: BeginMessage writes 0 and EndMessage patches it
	b, mark := framing.BeginMessage(append([]byte(nil), prefix...), h)
	require.Equal(t, len(prefix), mark)
	b = framing.AppendUint32(b, framing.AVPOriginStateID, framing.AVPFlagMandatory, 0, 5)
	b = framing.EndMessage(b, mark)

	assert.Equal(t, prefix, b[:mark], "the earlier message is untouched")
	got, err := framing.ParseHeader(b[mark:])
	require.NoError(t, err)
	assert.Equal(t, uint32(framing.HeaderLen+12), got.Length)
	assert.Equal(t, uint32(7), got.HopByHop)
	n, err := framing.FrameLen(b[mark:], 0)
	require.NoError(t, err)
	assert.Equal(t, len(b)-mark, n)
}

func TestSetIDsAndFlagsInPlace(t *testing.T) {
	b := framing.AppendDWR(nil, 1, 2, &framing.Identity{OriginHost: "h", OriginRealm: "r"})
	before := append([]byte(nil), b...)
	framing.SetHopByHop(b, 0xdeadbeef)
	framing.SetEndToEnd(b, 0x01020304)
	framing.SetFlags(b, framing.FlagRequest|framing.FlagRetransmit)

	h, err := framing.ParseHeader(b)
	require.NoError(t, err)
	assert.Equal(t, uint32(0xdeadbeef), h.HopByHop)
	assert.Equal(t, uint32(0x01020304), h.EndToEnd)
	assert.True(t, h.IsRetransmit())
	assert.Equal(t, before[framing.HeaderLen:], b[framing.HeaderLen:], "only the header changes")
	assert.Equal(t, before[:4], b[:4])
	assert.Equal(t, before[5:12], b[5:12])
}

func TestHeaderString(t *testing.T) {
	h := framing.Header{Version: 1, Length: 124, Flags: 0x80, Code: 280, HopByHop: 0x2a000002, EndToEnd: 0x10000002}
	s := h.String()
	assert.Contains(t, s, "len=124")
	assert.Contains(t, s, "cmd=280")
	assert.Contains(t, s, "hbh=0x2a000002")
}
