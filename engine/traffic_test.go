package engine

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Requests alternate over a DRA's connections, each with its own Origin-Host.
func TestRoundRobinWithIdentityPerConnection(t *testing.T) {
	var mu sync.Mutex
	perConn := map[string]int{}
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(c *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		mu.Lock()
		perConn[*c.Origin.Load()+"/"+string(req.OriginHost)]++
		mu.Unlock()
		return testpeer.Reply{}
	}})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Address: peer.Addr(), Connections: 3, Identity: IdentityPerConnection}}
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 3)
	for i := 0; i < 30; i++ {
		_, err := e.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{
		"gw-1.test.local/gw-1.test.local": 10,
		"gw-2.test.local/gw-2.test.local": 10,
		"gw-3.test.local/gw-3.test.local": 10,
	}, perConn)
}

// Go delivers each answer once, on the loop, and the Answer's views are valid in the callback.
func TestGoAsync(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		if string(req.IMEI[:8]) == "99000001" {
			return testpeer.Reply{Verdict: s13.Verdict{EquipmentStatus: s13.Blacklisted}}
		}
		return testpeer.Reply{Verdict: s13.Verdict{Experimental: s13.EquipmentUnknown}}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	const n = 200
	var wg sync.WaitGroup
	var black, unknown, calls atomic.Int64
	wg.Add(n)
	for i := 0; i < n; i++ {
		req := testReq
		if i%2 == 0 {
			req.IMEI = "99000001123456"
		}
		require.NoError(t, e.Go(req, func(a s13.Answer, err error) {
			defer wg.Done()
			calls.Add(1)
			if err != nil {
				t.Errorf("answer %v", err)
				return
			}
			switch {
			case a.HasEquipmentStatus && a.EquipmentStatus == s13.Blacklisted:
				black.Add(1)
			case a.HasExperimentalResult && a.ExperimentalResult.Code == s13.EquipmentUnknown && a.ResultCode == 0:
				unknown.Add(1)
			}
		}))
	}
	await.Wait(t, &wg, 10*time.Second)
	assert.EqualValues(t, n, calls.Load())
	assert.EqualValues(t, n/2, black.Load())
	assert.EqualValues(t, n/2, unknown.Load())
	// Counters are published once per loop round, after its callbacks; a Check publishes them
	// before it returns, so one more (blacklisted, 2001) request is the fence to await.
	_, err := e.Check(ctxT(t, 2*time.Second), s13.Request{IMEI: "99000001123456"})
	require.NoError(t, err)
	st := e.Stats().Total
	assert.EqualValues(t, n/2+1, st.Answers.Success)
	assert.EqualValues(t, n/2, st.Answers.Experimental)
	assert.Equal(t, 0, st.InFlight)
}

// No answer: ErrTimeout naming the DRA, and the late answer is dropped and counted.
func TestTimeoutAndLateAnswer(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: 300 * time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 100 * time.Millisecond
	e := startEngine(t, cfg)
	start := time.Now()
	_, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.ErrorIs(t, err, ErrTimeout)
	var ee *Error
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, peer.Addr(), ee.DRA)
	assert.Equal(t, 1, ee.Conn)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Eventually(t, func() bool { return e.Stats().Total.UnknownAnswers == 1 }, 2*time.Second, 5*time.Millisecond,
		"the late answer must be counted as unknown")
	assert.EqualValues(t, 1, e.Stats().Total.Timeouts)
	// the connection is still fine
	_, err = e.Check(ctxT(t, 2*time.Second), testReq)
	require.ErrorIs(t, err, ErrTimeout)
}

// A context deadline shorter than RequestTimeout wins.
func TestContextDeadline(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	start := time.Now()
	_, err := e.Check(ctxT(t, 50*time.Millisecond), testReq)
	require.ErrorIs(t, err, ErrTimeout)
	assert.Less(t, time.Since(start), time.Second)
}

// A full window refuses at once with ErrBusy; the accepted requests still complete.
func TestBusy(t *testing.T) {
	release := make(chan struct{})
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: 200 * time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.MaxInFlight = 4
	e := startEngine(t, cfg)
	var wg sync.WaitGroup
	var ok atomic.Int64
	busy := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		err := e.Go(testReq, func(_ s13.Answer, err error) {
			defer wg.Done()
			if err == nil {
				ok.Add(1)
			}
		})
		if err != nil {
			wg.Done()
			require.ErrorIs(t, err, ErrBusy)
			busy++
		}
	}
	close(release)
	await.Wait(t, &wg, 10*time.Second)
	assert.Equal(t, 6, busy)
	assert.EqualValues(t, 4, ok.Load())
}

// An answer nobody asked for is dropped and counted; the connection stays up.
func TestUnknownHopByHopDropped(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	_, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	c := peer.Conns()[0]
	bogus := s13.AppendECA(nil, &s13.ECR{Header: framing.Header{Code: 324, AppID: s13.AppID, HopByHop: 0xdeadbeef, EndToEnd: 1, Flags: framing.FlagRequest}},
		&framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, &s13.Verdict{})
	require.NoError(t, c.Write(bogus))
	require.Eventually(t, func() bool { return e.Stats().Total.UnknownAnswers == 1 }, 2*time.Second, time.Millisecond)
	_, err = e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
}

// A request we do not serve — here S6a's, an application we do not advertise — gets an E-bit
// answer-message (its Result-Code, 3007 here, is link.Unsupported's choice, tested there), echoing
// its identifiers, and the connection stays.
func TestUnknownRequestAnswered3001(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	startEngine(t, testConfig(peer.Addr()))
	c := peer.Conns()[0]
	req, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable, Code: 316, AppID: 16777251, HopByHop: 77, EndToEnd: 78})
	req = framing.AppendString(req, framing.AVPSessionID, framing.AVPFlagMandatory, 0, "eir.test.local;1;2")
	req = framing.AppendString(req, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "eir.test.local")
	req = framing.AppendString(req, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, "test.local")
	req = framing.EndMessage(req, m)
	require.NoError(t, c.Write(req))
	ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotOther)
	require.NoError(t, err)
	assert.EqualValues(t, 316, ev.Header.Code)
	assert.True(t, ev.Header.IsError())
	assert.EqualValues(t, 77, ev.Header.HopByHop)
	assert.Equal(t, "gw.test.local", ev.Origin)
}

// An ECA that cannot be decoded completes its request with ErrMalformedAnswer.
func TestMalformedAnswer(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		// An ECA with no Result-Code and no Experimental-Result.
		b, m := framing.BeginMessage(nil, framing.AnswerHeader(req.Header))
		b = framing.AppendOctets(b, framing.AVPSessionID, framing.AVPFlagMandatory, 0, req.SessionID)
		b = framing.AppendString(b, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "eir.test.local")
		b = framing.AppendString(b, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, "test.local")
		return testpeer.Reply{Raw: framing.EndMessage(b, m)}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	_, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.ErrorIs(t, err, ErrMalformedAnswer)
	require.ErrorIs(t, err, s13.ErrNoResult)
	assert.EqualValues(t, 1, e.Stats().Total.MalformedAnswers)
}

// An answer that fails to decode costs its own request only: the connection stays up (no reset,
// no reconnect) and the next request on it is answered (catalogue scenarios 21, 22, 25).
func TestMalformedAnswersKeepTheConnection(t *testing.T) {
	eir := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	var n atomic.Int32
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		ok := s13.AppendECA(nil, req, eir, &s13.Verdict{ResultCode: framing.Success})
		switch n.Add(1) {
		case 1: // an unknown AVP with the M bit: 5001 material, not a verdict
			bad := framing.AppendString(ok, 9999, framing.AVPFlagMandatory, 0, "x")
			setMessageLength(bad)
			return testpeer.Reply{Raw: bad}
		case 2: // Result-Code twice
			bad := framing.AppendUint32(ok, framing.AVPResultCode, framing.AVPFlagMandatory, 0, 5012)
			setMessageLength(bad)
			return testpeer.Reply{Raw: bad}
		}
		return testpeer.Reply{Raw: ok}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	for _, want := range []error{s13.ErrUnsupportedAVP, framing.ErrDuplicateAVP} {
		_, err := e.Check(ctxT(t, 2*time.Second), testReq)
		require.ErrorIs(t, err, ErrMalformedAnswer)
		require.ErrorIs(t, err, want)
	}
	ans, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.True(t, ans.Succeeded())
	st := e.Stats()
	assert.EqualValues(t, 2, st.Total.MalformedAnswers)
	assert.Zero(t, st.Total.FramingResets)
	assert.Zero(t, st.Total.Reconnects, "the same connection throughout")
}

// setMessageLength rewrites the header's length for AVPs appended after EndMessage.
func setMessageLength(msg []byte) {
	n := len(msg)
	msg[1], msg[2], msg[3] = byte(n>>16), byte(n>>8), byte(n)
}

// The same ECA twice in a row completes its request once; the twin finds nothing pending and is
// counted unknown (catalogue scenario 27).
func TestDuplicateAnswerCompletesOnce(t *testing.T) {
	eir := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		eca := s13.AppendECA(nil, req, eir, &s13.Verdict{ResultCode: framing.Success, EquipmentStatus: s13.Greylisted})
		return testpeer.Reply{Raw: append(eca, eca...)}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	var calls atomic.Int32
	done := make(chan s13.Answer, 2)
	require.NoError(t, e.Go(testReq, func(a s13.Answer, err error) {
		calls.Add(1)
		assert.NoError(t, err)
		done <- a.Clone()
	}))
	ans := await.Recv(t, done, 2*time.Second)
	assert.Equal(t, s13.Greylisted, ans.EquipmentStatus)
	require.Eventually(t, func() bool { return e.Stats().Total.UnknownAnswers == 1 }, 2*time.Second, time.Millisecond)
	_, err := e.Check(ctxT(t, 2*time.Second), testReq) // a later request is not handed the twin
	require.NoError(t, err)
	assert.EqualValues(t, 1, calls.Load())
}

// A panicking callback is recovered; the loop and other requests carry on.
func TestCallbackPanicRecovered(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	done := make(chan struct{})
	require.NoError(t, e.Go(testReq, func(s13.Answer, error) { panic("boom") }))
	require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) { assert.NoError(t, err); close(done) }))
	await.Recv(t, done, 5*time.Second)
	assert.EqualValues(t, 1, e.Stats().CallbackPanics)
}

// Invalid requests are refused before anything is sent.
func TestInvalidRequest(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	_, err := e.Check(ctxT(t, time.Second), s13.Request{IMEI: "12ab"})
	require.ErrorIs(t, err, ErrInvalidRequest)
	require.ErrorIs(t, err, s13.ErrInvalidRequest)
	err = e.Go(testReq, nil)
	require.ErrorIs(t, err, ErrInvalidRequest)
	assert.Zero(t, peer.ECRs.Load())
}

// The Session-Id is generated from our Origin-Host and is unique per request.
func TestSessionIDs(t *testing.T) {
	ids := make(chan string, 10)
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		ids <- string(req.SessionID)
		return testpeer.Reply{}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		a, err := e.Check(ctxT(t, time.Second), testReq)
		require.NoError(t, err)
		id := await.Recv(t, ids, 5*time.Second)
		assert.Equal(t, id, string(a.SessionID))
		assert.Regexp(t, `^gw\.test\.local;\d+;\d+$`, id)
		seen[id] = true
	}
	assert.Len(t, seen, 5)
	req := testReq
	req.SessionID = "mine;1;2"
	a, err := e.Check(ctxT(t, time.Second), req)
	require.NoError(t, err)
	assert.Equal(t, "mine;1;2", await.Recv(t, ids, 5*time.Second))
	assert.Equal(t, "mine;1;2", string(a.SessionID))
}

func TestNotStartedAndClosed(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrNotStarted)
	require.NoError(t, e.Close(ctxT(t, time.Second)))
	_, err = e.Check(ctxT(t, time.Second), testReq)
	require.True(t, errors.Is(err, ErrClosed) || errors.Is(err, ErrNotStarted), "%v", err)
	require.ErrorIs(t, e.Start(ctxT(t, time.Second)), ErrClosed)
}

// Answers written in pieces of every size (down to one byte per write) arrive whole. The kernel
// may coalesce the pieces before the loop reads them, so this is an end-to-end check; the split
// handling itself is tested deterministically in frames_test.go.
func TestFragmentedAnswers(t *testing.T) {
	var chunk atomic.Int64
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Chunk: int(chunk.Load())}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	for _, n := range []int64{1, 2, 3, 5, 7, 19, 64, 250, 4096} {
		chunk.Store(n)
		ans, err := e.Check(ctxT(t, 3*time.Second), testReq)
		require.NoError(t, err, "chunks of %d", n)
		assert.Equal(t, s13.Whitelisted, ans.EquipmentStatus, "chunks of %d", n)
	}
	assert.Zero(t, e.Stats().Total.FramingResets)
}

// A peer that sends part of a message and stalls has its stream reset after FragmentTimeout;
// the request fails over (here: no other connection, so it is lost) instead of waiting out the
// watchdog.
func TestStalledFragmentResets(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		full := s13.AppendECA(nil, req, &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, &s13.Verdict{})
		return testpeer.Reply{Raw: full[:len(full)/2]}
	}})
	cfg := testConfig(peer.Addr())
	cfg.FragmentTimeout = 200 * time.Millisecond
	cfg.RequestTimeout = 5 * time.Second
	e := startEngine(t, cfg)
	start := time.Now()
	_, err := e.Check(ctxT(t, 3*time.Second), testReq)
	require.ErrorIs(t, err, ErrConnectionLost)
	assert.Less(t, time.Since(start), 2*time.Second)
	st := e.Stats()
	assert.EqualValues(t, 1, st.Total.FramingResets)
	assert.Contains(t, st.Conns[0].LastError, "stayed incomplete")
}

// In a callback LoopTime is when the loop read the answer: after the request went out, and not
// after the callback runs. Epoch plus LoopElapsed is the same instant.
func TestLoopTime(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	before := time.Now()
	got := make(chan [3]time.Time, 1)
	require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) {
		got <- [3]time.Time{e.LoopTime(), time.Now(), e.Epoch().Add(e.LoopElapsed())}
	}))
	lt := await.Recv(t, got, 5*time.Second)
	assert.True(t, lt[0].After(before), "read after the request was submitted")
	assert.False(t, lt[0].After(lt[1]), "not after the callback's own clock reading")
	assert.True(t, lt[2].Equal(lt[0]), "Epoch().Add(LoopElapsed()) = LoopTime()")
	assert.False(t, e.Epoch().After(before), "the clock started at New")
}

// A CER on an open connection is refused with the answer the server gives too (link.SecondCER):
// a CEA with 5012 and no E bit, our capabilities in it; the connection stays and carries ECRs.
func TestSecondCERAnsweredWithCEA5012(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	c := peer.Conns()[0]
	cer := framing.AppendCER(nil, 91, 92, &framing.Capabilities{OriginHost: "eir.test.local",
		OriginRealm: "test.local", VendorID: framing.Vendor3GPP, ProductName: "testpeer",
		HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	require.NoError(t, c.Write(cer))
	ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotOther)
	require.NoError(t, err)
	assert.Equal(t, framing.CmdCapabilitiesExchange, ev.Header.Code)
	assert.False(t, ev.Header.IsRequest())
	assert.False(t, ev.Header.IsError(), "5012 is not a protocol error: no E bit (RFC 6733 §7.1.5)")
	assert.EqualValues(t, 91, ev.Header.HopByHop)
	cea, err := framing.ParseCEA(ev.Msg)
	require.NoError(t, err)
	assert.Equal(t, framing.UnableToComply, cea.ResultCode)
	assert.Equal(t, "gw.test.local", cea.OriginHost)
	assert.True(t, cea.Supports(framing.AppS13), "our capabilities, as the CEA grammar wants")
	_, err = e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err, "the connection stays")
}

// A peer that floods us with DWRs while our requests are in flight starves nothing: every DWR
// is answered and the requests still get their answers (catalogue scenario 38).
func TestDWRFloodDoesNotStarveAnswers(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	c := peer.Conns()[0]
	const flood = 5000
	sent := make(chan error, 1)
	go func() {
		for range flood {
			if err := c.SendDWR(); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for range 200 {
		_, err := e.Check(ctxT(t, 5*time.Second), testReq)
		require.NoError(t, err)
	}
	require.NoError(t, await.Recv(t, sent, 10*time.Second))
	require.Eventually(t, func() bool { return e.Stats().Total.DWRReceived == flood }, 10*time.Second, time.Millisecond,
		"every DWR taken in (each is answered with a DWA): %d of %d", e.Stats().Total.DWRReceived, flood)
	assert.Zero(t, e.Stats().Total.Reconnects)
}

// An answer carrying a pending ECR's identifiers under another command (a DWA here) is not the
// ECR's answer: it is dropped as an unknown base answer, and the ECR still gets its own ECA
// (catalogue scenario 29).
func TestAnswerOfAnotherCommandDoesNotCompleteTheRequest(t *testing.T) {
	eir := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		h := req.Header
		h.Code = framing.CmdDeviceWatchdog
		dwa := framing.AppendDWA(nil, h, framing.Success, eir)
		eca := s13.AppendECA(nil, req, eir, &s13.Verdict{ResultCode: framing.Success, EquipmentStatus: s13.Blacklisted})
		return testpeer.Reply{Raw: append(dwa, eca...)}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	ans, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, s13.Blacklisted, ans.EquipmentStatus, "its own ECA, not the DWA")
	assert.EqualValues(t, 1, e.Stats().Total.UnknownBaseAnswers)
}

// Submitting far beyond the in-flight cap (here 1,000 times it, from four goroutines, to a peer
// that never answers) is refused at once with ErrBusy and holds no memory: what is accepted is
// bounded by the cap, and the heap does not grow with the refusals (catalogue scenario 38).
func TestFloodBeyondTheCapIsRefusedInBoundedMemory(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cfg := testConfig(peer.Addr())
	cfg.MaxInFlight, cfg.RequestTimeout = 16, time.Minute
	e := startEngine(t, cfg)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const per = 4000
	var accepted, busy atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				switch err := e.Go(testReq, func(s13.Answer, error) {}); {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrBusy):
					busy.Add(1)
				default:
					t.Errorf("refused with %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	runtime.ReadMemStats(&after)
	assert.LessOrEqual(t, accepted.Load(), int64(cfg.MaxInFlight), "no more outstanding than the cap: none answers")
	assert.EqualValues(t, 4*per, accepted.Load()+busy.Load())
	assert.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(8<<20), "the refusals hold no memory")
	assert.EqualValues(t, accepted.Load(), e.Stats().Outstanding)
	// Not waiting the minute out: a Close cut short fails what is outstanding with ErrClosed.
	assert.ErrorIs(t, e.Close(ctxT(t, 200*time.Millisecond)), context.DeadlineExceeded)
}
