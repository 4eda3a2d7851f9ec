package engine

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/ratelog/ratelogtest"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eirID is the test peer's identity, for messages a test writes in its name.
var eirID = &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}

// foreign returns h with a Hop-by-Hop id no request of ours has.
func foreign(h framing.Header) framing.Header {
	h.HopByHop ^= 0x5a5a0000
	return h
}

// A DWA whose ids are not our DWR's does not clear the pending DWR: a peer that answers every
// DWR so still takes the connection to SUSPECT (RFC 6733 §3: an answer with unknown ids "MUST
// be discarded"). It still proves the peer alive, as any message does (RFC 3539 §3.4.1).
func TestForeignDWADoesNotClearPendingDWR(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	fast(&cfg, 200*time.Millisecond, 100*time.Millisecond)
	w := watchStates(&cfg)
	startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	peer.SetIgnoreDWR(true)
	go func() { // answer every DWR with a foreign DWA until the test ends
		for {
			ev, err := peer.Await(ctx, testpeer.GotDWR)
			if err != nil {
				return
			}
			_ = ev.Conn.Write(framing.AppendDWA(nil, foreign(ev.Header), framing.Success, eirID))
		}
	}()
	w.await(t, ctx, 1, fsm.Suspect)
}

// DWAs nobody asked for do not count toward REOPEN's three: after three of them and the answer
// to REOPEN's first DWR the connection is still in REOPEN, and it opens after two more genuine
// DWAs. A DWR from the peer, written behind them, is the fence: its DWA comes back once the
// engine has handled everything before it.
func TestUnsolicitedDWAsDoNotCountInReopen(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	c, dwr := reopened(t, ctx, peer, w)

	var b []byte
	for range 3 {
		b = framing.AppendDWA(b, foreign(dwr), framing.Success, eirID)
	}
	b = framing.AppendDWA(b, dwr, framing.Success, eirID)
	b = framing.AppendDWR(b, 0x77000001, 0x77000001, eirID)
	require.NoError(t, c.Write(b))
	var next []framing.Header // the DWR the genuine DWA triggers comes just before the fence
	for {
		ev, err := peer.Next(ctx)
		require.NoError(t, err)
		if ev.Kind == testpeer.GotDWR {
			next = append(next, ev.Header)
		}
		if ev.Kind == testpeer.GotDWA {
			break
		}
	}
	assert.Equal(t, "Reopen", e.state(0), "one genuine DWA of three")
	require.Len(t, next, 1, "one DWR per genuine DWA")

	for k := range 2 {
		require.NoError(t, c.Write(framing.AppendDWA(nil, next[k], framing.Success, eirID)))
		if k == 0 {
			ev, err := peer.Await(ctx, testpeer.GotDWR)
			require.NoError(t, err)
			next = append(next, ev.Header)
		}
	}
	w.await(t, ctx, 1, fsm.Open)
	// The fence, a DWR right after the CEA, is also the pattern of the peer's own REOPEN
	// (peerreopen.go): the connection takes traffic once two more DWRs have been answered.
	for range 2 {
		require.NoError(t, c.SendDWR())
		_, err := peer.Await(ctx, testpeer.GotDWA)
		require.NoError(t, err)
	}
	_, err := e.Check(ctx, testReq) // publishes the counters
	require.NoError(t, err)
	assert.EqualValues(t, 3, e.Stats().Total.UnknownBaseAnswers)
	assert.EqualValues(t, 1, e.Stats().Total.PeerReopens)
}

// A peer cannot make the loop write a log record per message: 20,000 DWAs with an error code,
// nobody's answer, give a handful of warnings, and every one of them is counted.
func TestBogusDWAsRateLimitedInLog(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	logs := &ratelogtest.Counter{}
	cfg.Logger = slog.New(logs)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 20*time.Second)
	c := peer.Conns()[0]
	const n = 20000
	var b []byte
	for k := range n {
		h := framing.Header{Code: framing.CmdDeviceWatchdog, HopByHop: uint32(k), EndToEnd: uint32(k)}
		b = framing.AppendDWA(b, h, framing.UnableToComply, eirID)
		if len(b) > 64<<10 || k == n-1 {
			require.NoError(t, c.Write(b))
			b = b[:0]
		}
	}
	_, err := e.Check(ctx, testReq) // its answer comes after the DWAs on the stream
	require.NoError(t, err)
	assert.EqualValues(t, n, e.Stats().Total.UnknownBaseAnswers)
	assert.Less(t, logs.Warns(), int64(10), "warnings are rate-limited per connection")
	assert.Equal(t, "Open", e.state(0))
}

// A CEA that does not answer our CER (foreign Hop-by-Hop id) is not a capabilities exchange:
// the connection never opens on it.
func TestForeignCEARejected(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	caps := &framing.Capabilities{OriginHost: eirID.OriginHost, OriginRealm: eirID.OriginRealm, VendorID: framing.Vendor3GPP,
		ProductName: "raw", HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}}
	go func() { // answer each connection's CER with a CEA to some other request, then hold it
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				cer := make([]byte, 20, 4096)
				if _, err := io.ReadFull(nc, cer); err != nil {
					return
				}
				cer = cer[:int(cer[1])<<16|int(cer[2])<<8|int(cer[3])]
				if _, err := io.ReadFull(nc, cer[20:]); err != nil {
					return
				}
				h, _, err := framing.ParseBase(cer)
				if err != nil {
					return
				}
				_, _ = nc.Write(framing.AppendCEA(nil, foreign(h), framing.Success, caps, ""))
				_, _ = io.Copy(io.Discard, nc) // until the engine closes
			}()
		}
	}()
	cfg := testConfig(ln.Addr().String())
	w := watchStates(&cfg)
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctxT(t, 3*time.Second)) })
	ctx := ctxT(t, 5*time.Second)
	go func() { _ = e.Start(ctx) }()
	for {
		select {
		case sc := <-w.ch:
			require.NotEqual(t, fsm.Open, sc.To, "opened on a CEA that answers no CER of ours")
			if sc.From == fsm.CERSent {
				assert.Equal(t, fsm.Failed, sc.To)
				assert.Contains(t, e.Stats().Conns[0].LastError, ErrUnknownAnswer.Error())
				return
			}
		case <-ctx.Done():
			t.Fatal("the connection never left CERSent")
		}
	}
}

// A DPA that does not answer our DPR does not end the connection; the genuine one does.
func TestForeignDPAIgnored(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	ctx := ctxT(t, 5*time.Second)
	peer.SetSilent(true)
	closed := make(chan error, 1)
	go func() { closed <- e.Close(ctx) }()
	dpr, err := peer.Await(ctx, testpeer.GotDPR)
	require.NoError(t, err)
	// A DWR behind the foreign DPA: a connection still open after the DPA answers it.
	b := framing.AppendDPA(nil, foreign(dpr.Header), framing.Success, eirID)
	b = framing.AppendDWR(b, 0x77000001, 0x77000001, eirID)
	require.NoError(t, dpr.Conn.Write(b))
	_, err = peer.Await(ctx, testpeer.GotDWA)
	require.NoError(t, err, "the foreign DPA closed the connection")
	require.NoError(t, dpr.Conn.Write(framing.AppendDPA(nil, dpr.Header, framing.Success, eirID)))
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	assert.EqualValues(t, 1, e.Stats().Total.UnknownBaseAnswers, "the foreign DPA was counted, not taken for ours")
}
