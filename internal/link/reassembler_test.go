package link

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type collect struct {
	got  [][]byte
	stop int // stop after this many frames (0: never)
}

func (c *collect) Frame(msg []byte) bool {
	c.got = append(c.got, append([]byte(nil), msg...)) // frames alias the read buffer
	return c.stop == 0 || len(c.got) < c.stop
}

func stream(t *testing.T) ([]byte, [][]byte) {
	id := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	var msgs [][]byte
	msgs = append(msgs, framing.AppendDWA(nil, framing.Header{Code: framing.CmdDeviceWatchdog, HopByHop: 1}, framing.Success, id))
	for i := 0; i < 3; i++ {
		env := s13.Envelope{HopByHop: uint32(i), EndToEnd: 9, OriginHost: "gw.test.local", OriginRealm: "test.local", SessionLo: uint32(i)}
		msgs = append(msgs, s13.AppendECR(nil, &env, &s13.Request{IMEI: "35209900176148", DestinationRealm: "test.local"}))
	}
	var all []byte
	for _, m := range msgs {
		all = append(all, m...)
	}
	return all, msgs
}

// Every way of cutting the stream in two, and random cuts into many pieces, yields the same
// messages in order.
func TestReassemblerEverySplit(t *testing.T) {
	all, want := stream(t)
	for cut := 0; cut <= len(all); cut++ {
		r := Reassembler{Max: framing.DefaultMaxMessageSize}
		var c collect
		require.NoError(t, r.Feed(all[:cut], &c))
		require.NoError(t, r.Feed(all[cut:], &c))
		require.Equal(t, want, c.got, "cut at %d", cut)
		assert.Zero(t, r.Pending())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		r := Reassembler{Max: framing.DefaultMaxMessageSize}
		var c collect
		for rest := all; len(rest) > 0; {
			k := 1 + rng.IntN(min(len(rest), 40))
			require.NoError(t, r.Feed(rest[:k], &c))
			rest = rest[k:]
		}
		require.Equal(t, want, c.got, "round %d", round)
	}
}

// A bad header is an error whether it arrives whole or in pieces; an over-long one is refused
// before its body arrives.
func TestReassemblerErrors(t *testing.T) {
	bad := []byte{2, 0, 0, 20}
	r := Reassembler{Max: 1024}
	var c collect
	require.ErrorIs(t, r.Feed(bad, &c), framing.ErrVersion)
	r = Reassembler{Max: 1024}
	require.NoError(t, r.Feed(bad[:2], &c))
	require.ErrorIs(t, r.Feed(bad[2:], &c), framing.ErrVersion)
	assert.Zero(t, r.Pending(), "dropped after the error")
	r = Reassembler{Max: 1024}
	require.ErrorIs(t, r.Feed([]byte{1, 0, 8, 0}, &c), framing.ErrMessageTooLarge)
	assert.Empty(t, c.got)
}

// A handler that stops (its connection is closing) stops the cutting, partial or not.
func TestReassemblerStops(t *testing.T) {
	all, want := stream(t)
	r := Reassembler{Max: framing.DefaultMaxMessageSize}
	c := collect{stop: 2}
	require.NoError(t, r.Feed(all[:len(want[0])+3], &c))
	require.NoError(t, r.Feed(all[len(want[0])+3:], &c))
	assert.Len(t, c.got, 2)
	assert.True(t, bytes.Equal(want[1], c.got[1]))
}

func TestReassemblerNoAllocations(t *testing.T) {
	all, _ := stream(t)
	r := Reassembler{Max: framing.DefaultMaxMessageSize}
	h := frameCounter{}
	r.partial = make([]byte, 0, 1024)
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = r.Feed(all[:100], &h)
		_ = r.Feed(all[100:], &h)
	}))
}

type frameCounter struct{ n int }

func (f *frameCounter) Frame([]byte) bool { f.n++; return true }

// A message that grew the partial buffer past twice Max leaves no buffer that size behind once
// the stream is between messages again.
func TestReassemblerDropsAGrownBuffer(t *testing.T) {
	all, want := stream(t)
	r := Reassembler{Max: framing.DefaultMaxMessageSize}
	var c collect
	r.partial = make([]byte, 0, 2*r.Max+1) // as a burst of cut messages would leave it
	require.NoError(t, r.Feed(all[:10], &c))
	require.NoError(t, r.Feed(all[10:], &c))
	require.Equal(t, want, c.got)
	assert.Zero(t, cap(r.partial), "the grown buffer is dropped")
	assert.EqualValues(t, len(want), r.Cut())
}
