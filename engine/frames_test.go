package engine

import (
	"bytes"
	"context"
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

func (c *collect) frame(msg []byte) bool {
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
		r := reassembler{max: framing.DefaultMaxMessageSize}
		var c collect
		require.NoError(t, r.feed(all[:cut], &c))
		require.NoError(t, r.feed(all[cut:], &c))
		require.Equal(t, want, c.got, "cut at %d", cut)
		assert.Empty(t, r.partial)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		r := reassembler{max: framing.DefaultMaxMessageSize}
		var c collect
		for rest := all; len(rest) > 0; {
			k := 1 + rng.IntN(min(len(rest), 40))
			require.NoError(t, r.feed(rest[:k], &c))
			rest = rest[k:]
		}
		require.Equal(t, want, c.got, "round %d", round)
	}
}

// A bad header is an error whether it arrives whole or in pieces; an over-long one is refused
// before its body arrives.
func TestReassemblerErrors(t *testing.T) {
	bad := []byte{2, 0, 0, 20}
	r := reassembler{max: 1024}
	var c collect
	require.ErrorIs(t, r.feed(bad, &c), framing.ErrVersion)
	r = reassembler{max: 1024}
	require.NoError(t, r.feed(bad[:2], &c))
	require.ErrorIs(t, r.feed(bad[2:], &c), framing.ErrVersion)
	assert.Empty(t, r.partial, "dropped after the error")
	r = reassembler{max: 1024}
	require.ErrorIs(t, r.feed([]byte{1, 0, 8, 0}, &c), framing.ErrMessageTooLarge)
	assert.Empty(t, c.got)
}

// A handler that stops (its connection is closing) stops the cutting, partial or not.
func TestReassemblerStops(t *testing.T) {
	all, want := stream(t)
	r := reassembler{max: framing.DefaultMaxMessageSize}
	c := collect{stop: 2}
	require.NoError(t, r.feed(all[:len(want[0])+3], &c))
	require.NoError(t, r.feed(all[len(want[0])+3:], &c))
	assert.Len(t, c.got, 2)
	assert.True(t, bytes.Equal(want[1], c.got[1]))
}

func TestReassemblerNoAllocations(t *testing.T) {
	all, _ := stream(t)
	r := reassembler{max: framing.DefaultMaxMessageSize}
	h := frameCounter{}
	r.partial = make([]byte, 0, 1024)
	assert.Zero(t, testing.AllocsPerRun(200, func() {
		_ = r.feed(all[:100], &h)
		_ = r.feed(all[100:], &h)
	}))
}

type frameCounter struct{ n int }

func (f *frameCounter) frame([]byte) bool { f.n++; return true }

// The fragment timer runs while a message is incomplete and starts over whenever a read
// completes messages: a busy stream whose every read ends mid-message is not a stalled one.
func TestFragmentTimerRestartsOnProgress(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	defer e.Close(context.Background())
	p := e.peers[0] // never connected; only its reassembler and fragment timer are used
	dwa := framing.AppendDWA(nil, framing.Header{Code: framing.CmdDeviceWatchdog}, framing.Success,
		&framing.Identity{OriginHost: "eir", OriginRealm: "r"})
	half := len(dwa) / 2
	T := int64(e.cfg.FragmentTimeout)
	var h frameCounter
	read := func(now int64, data []byte) {
		require.NoError(t, p.frames.feed(data, &h))
		p.frag.watch(now)
	}

	read(0, dwa[:half]) // A starts
	require.True(t, p.frag.timer.Armed())
	assert.Equal(t, T, p.frag.timer.At())
	read(T/2, dwa[half:half+1]) // no message completed: the deadline stays
	assert.Equal(t, T, p.frag.timer.At())
	read(T/2+1, append(dwa[half+1:], dwa[:half]...)) // A completes, B starts: progress
	assert.Equal(t, T/2+1+T, p.frag.timer.At())
	read(T, dwa[half:]) // B completes, nothing pending
	assert.False(t, p.frag.timer.Armed())
	assert.Equal(t, 2, h.n)
}
