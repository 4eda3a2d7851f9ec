package baseline

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The baseline takes its connection identities from package engine, which brings gnet and its
// process-wide pool into the binary: leakcheck knows that pool.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

var testReq = s13.Request{IMEI: "35209900176148", SoftwareVersion: "23", IMSI: "001010123456789"}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func testConfig(addr string) Config {
	return Config{
		Addr: addr, Conns: 1, OriginHost: "gw.test.local", OriginRealm: "test.local",
		RequestTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second,
	}
}

func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	cl, err := Dial(ctxT(t, 5*time.Second), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close(ctxT(t, 5*time.Second)) })
	return cl
}

// requireDrained closes cl and requires that nothing was left outstanding. A callback runs before
// its request stops counting as pending, so Close, which waits for that, is the event to await;
// reading Pending right after the last callback races with it.
func requireDrained(t *testing.T, cl *Client) {
	t.Helper()
	require.NoError(t, cl.Close(ctxT(t, 5*time.Second)))
	assert.Zero(t, cl.Pending())
}

// result is one callback invocation.
type result struct {
	a   s13.Answer
	err error
}

// collector counts callback invocations per request index.
type collector struct {
	mu    sync.Mutex
	calls map[int]int
	res   map[int]result
	wg    sync.WaitGroup
}

func newCollector(n int) *collector {
	c := &collector{calls: map[int]int{}, res: map[int]result{}}
	c.wg.Add(n)
	return c
}

func (c *collector) cb(i int) func(s13.Answer, error) {
	return func(a s13.Answer, err error) {
		c.mu.Lock()
		c.calls[i]++
		first := c.calls[i] == 1
		c.res[i] = result{a.Clone(), err}
		c.mu.Unlock()
		if first {
			c.wg.Done()
		}
	}
}

// wait waits for every request's first callback, or fails the test when ctx ends.
func (c *collector) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	ch := make(chan struct{})
	go func() { c.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatal("callbacks missing")
	}
}

// The CER carries our identity, the socket's address as Host-IP-Address and S13 as a
// Vendor-Specific-Application-Id; Check then returns the decoded ECA.
func TestCapabilitiesAndCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	cerCh := make(chan framing.Capabilities, 1)
	var served sync.WaitGroup
	served.Add(1)
	go func() {
		defer served.Done()
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		id := framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
		buf := make([]byte, 0, 8192)
		tmp := make([]byte, 4096)
		for {
			n, err := nc.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				l, ferr := framing.FrameLen(buf, 0)
				if ferr != nil || l == 0 {
					break
				}
				msg := append([]byte(nil), buf[:l]...)
				buf = buf[l:]
				h, _ := framing.ParseHeader(msg)
				switch h.Code {
				case framing.CmdCapabilitiesExchange:
					caps, _ := framing.ParseCER(msg)
					cerCh <- caps
					_, _ = nc.Write(framing.AppendCEA(nil, h, framing.Success, &framing.Capabilities{
						OriginHost: id.OriginHost, OriginRealm: id.OriginRealm, VendorID: framing.Vendor3GPP,
						ProductName: "fake", HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
						AuthAppIDs: []uint32{framing.AppS13},
					}, ""))
				case s13.CommandCode:
					req, _ := s13.ParseECR(msg)
					_, _ = nc.Write(s13.AppendECA(nil, &req, &id, &s13.Verdict{EquipmentStatus: s13.Greylisted}))
				case framing.CmdDisconnectPeer:
					_, _ = nc.Write(framing.AppendDPA(nil, h, framing.Success, &id))
				}
			}
			if err != nil {
				return
			}
		}
	}()
	cl := dial(t, testConfig(ln.Addr().String()))
	caps := await.Recv(t, cerCh, 5*time.Second)
	assert.Equal(t, "gw.test.local", caps.OriginHost)
	assert.Equal(t, "test.local", caps.OriginRealm)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, caps.HostIPAddresses)
	assert.Contains(t, caps.VendorSpecificApps, framing.VendorApp{VendorID: 10415, AuthAppID: 16777252})

	a, err := cl.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.True(t, a.HasEquipmentStatus)
	assert.Equal(t, s13.Greylisted, a.EquipmentStatus)
	assert.Equal(t, "eir.test.local", string(a.OriginHost))
	require.NoError(t, cl.Close(ctxT(t, 5*time.Second)))
	served.Wait()
}

// Requests alternate over the connections, each presenting its own Origin-Host.
func TestRoundRobinWithIdentityPerConnection(t *testing.T) {
	var mu sync.Mutex
	perConn := map[string]int{}
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(c *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		mu.Lock()
		perConn[*c.Origin.Load()+"/"+string(req.OriginHost)]++
		mu.Unlock()
		return testpeer.Reply{}
	}})
	cfg := testConfig(peer.Addr())
	cfg.Conns, cfg.IdentityPerConnection = 3, true
	cl := dial(t, cfg)
	for range 30 {
		_, err := cl.Check(ctxT(t, 2*time.Second), testReq)
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

// Config.Identity is the engine's rule, so that a peer sees the same Origin-Hosts from either
// client.
func TestConfigIdentity(t *testing.T) {
	shared := Config{OriginHost: "gw.test.local"}
	per := Config{OriginHost: "gw.test.local", IdentityPerConnection: true}
	for k := 1; k <= 3; k++ {
		assert.Equal(t, "gw.test.local", shared.Identity(k))
		assert.Equal(t, engine.ConnectionIdentity("gw.test.local", engine.IdentityPerConnection, k), per.Identity(k))
	}
	assert.Equal(t, "gw-2.test.local", per.Identity(2))
}

// Many concurrent requests, answered at once, late or never: every callback runs exactly once,
// with the answer its request asked for or ErrTimeout.
func TestGoExactlyOnce(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		switch req.IMEI[13] {
		case '1':
			return testpeer.Reply{Verdict: s13.Verdict{EquipmentStatus: s13.Blacklisted}}
		case '2':
			return testpeer.Reply{Drop: true}
		case '3':
			return testpeer.Reply{Verdict: s13.Verdict{Experimental: s13.EquipmentUnknown}, Delay: 20 * time.Millisecond}
		}
		return testpeer.Reply{}
	}})
	cfg := testConfig(peer.Addr())
	cfg.Conns, cfg.RequestTimeout = 2, 300*time.Millisecond
	cl := dial(t, cfg)
	const n = 400
	col := newCollector(n)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				req := testReq
				req.IMEI = "3520990017614" + string(rune('0'+i%4))
				if err := cl.Go(req, col.cb(i)); err != nil {
					t.Errorf("Go %d: %v", i, err)
				}
			}
		}()
	}
	await.Wait(t, &wg, 10*time.Second)
	col.wait(t, ctxT(t, 5*time.Second))
	col.mu.Lock()
	defer col.mu.Unlock()
	for i := range n {
		require.Equal(t, 1, col.calls[i], "request %d", i)
		r := col.res[i]
		switch i % 4 {
		case 0:
			require.NoError(t, r.err)
			assert.Equal(t, s13.Whitelisted, r.a.EquipmentStatus)
		case 1:
			require.NoError(t, r.err)
			assert.Equal(t, s13.Blacklisted, r.a.EquipmentStatus)
		case 2:
			assert.ErrorIs(t, r.err, ErrTimeout, "request %d", i)
		case 3:
			require.NoError(t, r.err)
			assert.Equal(t, s13.EquipmentUnknown, r.a.ExperimentalResult.Code)
		}
	}
	requireDrained(t, cl)
}

// A callback may submit the next request: a closed loop runs to its end on the reader goroutine.
func TestGoFromCallback(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cl := dial(t, testConfig(peer.Addr()))
	const n = 1000
	var count atomic.Int64
	done := make(chan error, 1)
	var next func(s13.Answer, error)
	next = func(_ s13.Answer, err error) {
		if err != nil {
			done <- err
			return
		}
		if count.Add(1) == n {
			done <- nil
			return
		}
		if err := cl.Go(testReq, next); err != nil {
			done <- err
		}
	}
	require.NoError(t, cl.Go(testReq, next))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctxT(t, 10*time.Second).Done():
		t.Fatal("closed loop stalled")
	}
	assert.EqualValues(t, n, count.Load())
	assert.EqualValues(t, n, peer.ECRs.Load())
}

// An unanswered Check fails with ErrTimeout at the earlier of RequestTimeout and ctx's deadline;
// its late answer is dropped.
func TestTimeouts(t *testing.T) {
	release := make(chan struct{})
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		await.Within(release, 10*time.Second) // answers only after the test let it: late
		return testpeer.Reply{}
	}})
	defer close(release)
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 100 * time.Millisecond
	cl := dial(t, cfg)

	start := time.Now()
	_, err := cl.Check(ctxT(t, 5*time.Second), testReq)
	require.ErrorIs(t, err, ErrTimeout)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	cfg.RequestTimeout = 5 * time.Second
	cl2 := dial(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = cl2.Check(ctx, testReq)
	require.ErrorIs(t, err, ErrTimeout) // from the request's timer or from ctx: they race
	assert.Less(t, time.Since(start), time.Second)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = cl2.Check(ctx, testReq)
	require.ErrorIs(t, err, context.Canceled)
}

// A connection reset fails its pending requests with ErrConnectionLost; with no connection left,
// Go refuses new ones with ErrNoConnection.
func TestConnectionLost(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cl := dial(t, testConfig(peer.Addr()))
	const n = 10
	col := newCollector(n)
	for i := range n {
		require.NoError(t, cl.Go(testReq, col.cb(i)))
	}
	for range n {
		_, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotECR)
		require.NoError(t, err)
	}
	for _, c := range peer.Conns() {
		c.Reset()
	}
	col.wait(t, ctxT(t, 2*time.Second))
	col.mu.Lock()
	for i := range n {
		assert.Equal(t, 1, col.calls[i])
		assert.ErrorIs(t, col.res[i].err, ErrConnectionLost)
	}
	col.mu.Unlock()
	assert.ErrorIs(t, cl.Go(testReq, func(s13.Answer, error) { t.Error("callback after refusal") }), ErrNoConnection)
	requireDrained(t, cl)
}

// The peer's DWR is answered with a DWA; an unknown request with an E-bit 3001.
func TestAnswersPeerRequests(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	dial(t, testConfig(peer.Addr()))
	conns := peer.Conns()
	require.Len(t, conns, 1)
	require.NoError(t, conns[0].SendDWR())
	ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotDWA)
	require.NoError(t, err)
	assert.Equal(t, "gw.test.local", ev.Origin)

	id := framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	// A request with an unknown command code (an AA-Request, 265) on an otherwise healthy link.
	msg, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 265, AppID: 1, HopByHop: 77, EndToEnd: 78})
	msg = framing.AppendString(msg, framing.AVPSessionID, framing.AVPFlagMandatory, 0, "eir;1;2")
	msg = framing.AppendString(msg, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, id.OriginHost)
	msg = framing.AppendString(msg, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, id.OriginRealm)
	msg = framing.EndMessage(msg, m)
	require.NoError(t, conns[0].Write(msg))
	ev, err = peer.Await(ctxT(t, 2*time.Second), testpeer.GotOther)
	require.NoError(t, err)
	assert.EqualValues(t, 265, ev.Header.Code)
	assert.False(t, ev.Header.IsRequest())
	assert.True(t, ev.Header.IsError())
	assert.EqualValues(t, 77, ev.Header.HopByHop)
}

// After the peer's DPR (answered with DPA) that connection takes no new requests; the others do.
func TestPeerDisconnect(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.Conns, cfg.IdentityPerConnection = 2, true
	cl := dial(t, cfg)
	conns := peer.Conns()
	require.Len(t, conns, 2)
	leaving := conns[0]
	require.NoError(t, leaving.SendDPR(framing.Busy))
	ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotDPA)
	require.NoError(t, err)
	require.Same(t, leaving, ev.Conn)
	gone := *leaving.Origin.Load()
	for range 10 {
		_, err := cl.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err)
		ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotECR)
		require.NoError(t, err)
		assert.NotEqual(t, gone, ev.Origin)
	}
}

// Close waits for outstanding requests, sends DPR, waits for the DPA, and refuses new requests.
func TestCloseGraceful(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: 50 * time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.Conns = 2
	cl, err := Dial(ctxT(t, 2*time.Second), cfg)
	require.NoError(t, err)
	const n = 20
	col := newCollector(n)
	for i := range n {
		require.NoError(t, cl.Go(testReq, col.cb(i)))
	}
	require.NoError(t, cl.Close(ctxT(t, 5*time.Second)))
	col.wait(t, ctxT(t, time.Second)) // already done: Close drained them
	for i := range n {
		assert.NoError(t, col.res[i].err)
	}
	for range 2 {
		_, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotDPR)
		require.NoError(t, err)
	}
	assert.ErrorIs(t, cl.Go(testReq, func(s13.Answer, error) {}), ErrClosed)
	_, err = cl.Check(ctxT(t, time.Second), testReq)
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, cl.Close(ctxT(t, time.Second)), "a second Close returns the first's result")
}

// Close cut short by its context fails what is still outstanding with ErrClosed, exactly once,
// and does not wait long for a DPA that never comes.
func TestCloseCutShort(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = time.Minute
	cl, err := Dial(ctxT(t, 2*time.Second), cfg)
	require.NoError(t, err)
	const n = 5
	col := newCollector(n)
	for i := range n {
		require.NoError(t, cl.Go(testReq, col.cb(i)))
	}
	peer.SetSilent(true) // no DPA either
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = cl.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), DPATimeout)
	col.wait(t, ctxT(t, time.Second))
	col.mu.Lock()
	defer col.mu.Unlock()
	for i := range n {
		assert.Equal(t, 1, col.calls[i])
		assert.ErrorIs(t, col.res[i].err, ErrClosed)
	}
}

func TestDialErrors(t *testing.T) {
	t.Run("CEA 5010", func(t *testing.T) {
		peer := testpeer.StartT(t, testpeer.Config{CEAResult: framing.NoCommonApplication})
		_, err := Dial(ctxT(t, 2*time.Second), testConfig(peer.Addr()))
		require.ErrorIs(t, err, ErrCEARejected)
	})
	t.Run("no common application", func(t *testing.T) {
		peer := testpeer.StartT(t, testpeer.Config{NoCommonApp: true})
		_, err := Dial(ctxT(t, 2*time.Second), testConfig(peer.Addr()))
		require.ErrorIs(t, err, ErrCEARejected)
	})
	t.Run("relay accepted", func(t *testing.T) {
		peer := testpeer.StartT(t, testpeer.Config{Relay: true})
		cl := dial(t, testConfig(peer.Addr()))
		_, err := cl.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err)
	})
	t.Run("silent peer", func(t *testing.T) {
		peer := testpeer.StartT(t, testpeer.Config{})
		peer.SetSilent(true)
		cfg := testConfig(peer.Addr())
		cfg.ConnectTimeout = 100 * time.Millisecond
		_, err := Dial(ctxT(t, 2*time.Second), cfg)
		var ne net.Error
		require.True(t, errors.As(err, &ne) && ne.Timeout(), "want a timeout, got %v", err)
	})
	t.Run("second connection refused", func(t *testing.T) {
		// The first connection opens, the second is closed at once: Dial fails and closes the
		// first again (its socket sees EOF; goleak checks its goroutines).
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		firstClosed := make(chan struct{})
		go func() {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
			buf := make([]byte, 4096)
			n, _ := nc.Read(buf) // the CER (small: one read)
			h, _ := framing.ParseHeader(buf[:n])
			_, _ = nc.Write(framing.AppendCEA(nil, h, framing.Success, &framing.Capabilities{
				OriginHost: "eir.test.local", OriginRealm: "test.local", VendorID: framing.Vendor3GPP,
				ProductName: "fake", HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
				AuthAppIDs: []uint32{framing.AppS13},
			}, ""))
			second, err := ln.Accept()
			if err == nil {
				second.Close()
			}
			for {
				if _, err := nc.Read(buf); err != nil {
					close(firstClosed)
					return
				}
			}
		}()
		cfg := testConfig(ln.Addr().String())
		cfg.Conns = 2
		_, err = Dial(ctxT(t, 2*time.Second), cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "connection 2")
		select {
		case <-firstClosed:
		case <-ctxT(t, 2*time.Second).Done():
			t.Fatal("first connection left open")
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		_, err = Dial(ctxT(t, 2*time.Second), testConfig(addr))
		require.Error(t, err)
	})
	t.Run("invalid config and requests", func(t *testing.T) {
		_, err := Dial(ctxT(t, time.Second), Config{})
		require.ErrorIs(t, err, ErrInvalidConfig)
		peer := testpeer.StartT(t, testpeer.Config{})
		cl := dial(t, testConfig(peer.Addr()))
		assert.ErrorIs(t, cl.Go(testReq, nil), ErrInvalidRequest)
		bad := testReq
		bad.IMEI = "123"
		assert.ErrorIs(t, cl.Go(bad, func(s13.Answer, error) { t.Error("called") }), ErrInvalidRequest)
		_, err = cl.Check(ctxT(t, time.Second), bad)
		assert.ErrorIs(t, err, ErrInvalidRequest)
	})
}

// An answer that is not a valid ECA completes its request with ErrMalformedAnswer.
func TestMalformedAnswer(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		raw, m := framing.BeginMessage(nil, framing.AnswerHeader(req.Header))
		raw = framing.AppendUint32(raw, framing.AVPResultCode, framing.AVPFlagMandatory, 0, uint32(framing.Success))
		return testpeer.Reply{Raw: framing.EndMessage(raw, m)} // no Origin-Host, no Origin-Realm
	}})
	cl := dial(t, testConfig(peer.Addr()))
	_, err := cl.Check(ctxT(t, 2*time.Second), testReq)
	require.ErrorIs(t, err, ErrMalformedAnswer)
	require.ErrorIs(t, err, framing.ErrMissingAVP)
	_, err = cl.Check(ctxT(t, 2*time.Second), testReq)
	require.ErrorIs(t, err, ErrMalformedAnswer, "the connection stays usable")
}
