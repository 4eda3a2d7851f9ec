package framing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

func TestFrameLenNeedMore(t *testing.T) {
	dwr := vector(t, "03_dwr")
	for n := 0; n < len(dwr); n++ {
		got, err := framing.FrameLen(dwr[:n], 0)
		require.NoError(t, err, "prefix of %d bytes", n)
		require.Zero(t, got, "prefix of %d bytes", n)
	}
	// Below four bytes nothing is judged, not even a bad version.
	for n := 0; n < 4; n++ {
		got, err := framing.FrameLen([]byte{2, 0, 0, 1}[:n], 0)
		require.NoError(t, err)
		require.Zero(t, got)
	}
}

func TestFrameLenExactAndConcatenated(t *testing.T) {
	dwr, dwa, ecr := vector(t, "03_dwr"), vector(t, "04_dwa"), vector(t, "05_ecr")

	n, err := framing.FrameLen(dwr, 0)
	require.NoError(t, err)
	assert.Equal(t, len(dwr), n)

	stream := concat(dwr, ecr, dwa)
	n, err = framing.FrameLen(stream, 0)
	require.NoError(t, err)
	assert.Equal(t, len(dwr), n, "only the first message is framed")
	n, err = framing.FrameLen(stream[len(dwr):], 0)
	require.NoError(t, err)
	assert.Equal(t, len(ecr), n)
	n, err = framing.FrameLen(stream[len(dwr)+len(ecr):], 0)
	require.NoError(t, err)
	assert.Equal(t, len(dwa), n)

	// A complete message followed by a partial one is still framed.
	n, err = framing.FrameLen(concat(dwr, ecr[:7]), 0)
	require.NoError(t, err)
	assert.Equal(t, len(dwr), n)
}

// TestFrameLenEveryBoundary delivers a stream of every valid vector in two reads, split at every
// offset, and checks that a reader built on FrameLen recovers all messages in order.
func TestFrameLenEveryBoundary(t *testing.T) {
	var msgs [][]byte
	for _, name := range validVectors {
		msgs = append(msgs, vector(t, name))
	}
	stream := concat(msgs...)

	for cut := 0; cut <= len(stream); cut++ {
		var buf []byte
		var got [][]byte
		for _, piece := range [][]byte{stream[:cut], stream[cut:]} {
			buf = append(buf, piece...)
			for {
				n, err := framing.FrameLen(buf, 0)
				require.NoError(t, err, "cut at %d", cut)
				if n == 0 {
					break
				}
				got = append(got, append([]byte(nil), buf[:n]...))
				buf = buf[n:]
			}
		}
		require.Empty(t, buf, "cut at %d: bytes left over", cut)
		require.Equal(t, msgs, got, "cut at %d", cut)
	}
}

func TestFrameLenErrors(t *testing.T) {
	cases := []struct {
		name  string
		first string // the first four bytes: errors must not wait for the rest
		max   int
		want  error
	}{
		{"version 0", "00 00007c", 0, framing.ErrVersion},
		{"version 2", "02 00007c", 0, framing.ErrVersion},
		{"version 255", "ff 00007c", 0, framing.ErrVersion},
		{"length 0", "01 000000", 0, framing.ErrMessageLength},
		{"length 16", "01 000010", 0, framing.ErrMessageLength},
		{"length 19", "01 000013", 0, framing.ErrMessageLength},
		{"length 21", "01 000015", 0, framing.ErrMessageLength},
		{"length 122 (vector 91)", "01 00007a", 0, framing.ErrMessageLength},
		{"length max 24-bit", "01 ffffff", framing.MaxMessageLength, framing.ErrMessageLength},
		{"above configured max", "01 000068", 100, framing.ErrMessageTooLarge},
		{"above default max", "01 010004", 0, framing.ErrMessageTooLarge},
		{"negative max means default", "01 010004", -1, framing.ErrMessageTooLarge},
		{"bad version wins over length", "02 000013", 0, framing.ErrVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := framing.FrameLen(unhex(t, tc.first), tc.max)
			require.ErrorIs(t, err, tc.want)
			assert.Zero(t, n)
		})
	}
}

func TestFrameLenMaxBoundary(t *testing.T) {
	msg := func(length int) []byte {
		b := framing.AppendHeader(nil, framing.Header{Length: uint32(length)})
		return append(b, make([]byte, length-framing.HeaderLen)...)
	}
	cases := []struct {
		name   string
		length int
		max    int
		ok     bool
	}{
		{"equal to configured max", 100, 100, true},
		{"one word above configured max", 104, 100, false},
		{"equal to default max", framing.DefaultMaxMessageSize, 0, true},
		{"above default max", framing.DefaultMaxMessageSize + 4, 0, false},
		{"configured above default", framing.DefaultMaxMessageSize + 4, framing.DefaultMaxMessageSize + 4, true},
		{"largest 24-bit length", framing.MaxMessageLength - 3, framing.MaxMessageLength, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := msg(tc.length)
			n, err := framing.FrameLen(b, tc.max)
			if !tc.ok {
				require.ErrorIs(t, err, framing.ErrMessageTooLarge)
				assert.Zero(t, n)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.length, n)
			// With only the header there, the accepted length means "wait for more".
			n, err = framing.FrameLen(b[:framing.HeaderLen], tc.max)
			require.NoError(t, err)
			assert.Zero(t, n)
		})
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// MessageLength reads the length from the first four bytes, before the rest has arrived, and
// judges the header exactly as FrameLen does.
func TestMessageLength(t *testing.T) {
	dwr := vector(t, "03_dwr")
	for n := 0; n < 4; n++ {
		got, err := framing.MessageLength(dwr[:n], 0)
		require.NoError(t, err)
		require.Zero(t, got, "prefix of %d bytes", n)
	}
	for n := 4; n <= len(dwr); n++ {
		got, err := framing.MessageLength(dwr[:n], 0)
		require.NoError(t, err)
		require.Equal(t, len(dwr), got, "prefix of %d bytes", n)
	}
	_, err := framing.MessageLength([]byte{2, 0, 0, 20}, 0)
	assert.ErrorIs(t, err, framing.ErrVersion)
	_, err = framing.MessageLength([]byte{1, 0, 8, 0}, 1024)
	assert.ErrorIs(t, err, framing.ErrMessageTooLarge)
}
