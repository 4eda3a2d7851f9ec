package engine

import (
	"encoding/binary"
	"fmt"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// The fuzz targets drive what a hostile DRA reaches: the bytes it sends, cut into reads at
// arbitrary places, through the gnet handler's OnTraffic (stream reassembly, dispatch, the state
// machine, answer matching, failover) of an engine built with New and never started. A fake
// gnet.Conn stands in for the socket and the test plays gnet's part: it opens the connections,
// hands each read to OnTraffic and reports closes with OnClose. Seeds: f.Add below and the
// committed corpus in testdata/fuzz/<FuzzName>/.

// fuzzConn is a gnet.Conn without a socket (see linktest.Conn).
type fuzzConn = linktest.Conn

// fuzzRig is an engine whose connections are fuzzConns, one per DRA.
type fuzzRig struct {
	t     testing.TB
	e     *Engine
	h     *handler
	conns []*fuzzConn // in e.peers order
}

const fuzzMaxInFlight = 32

// newFuzzRig builds an engine with one connection to each of dras DRAs and opens each
// connection as far as CERSent. Its timers are long, so nothing fires during a run on its own:
// no request times out and no reconnect dials.
func newFuzzRig(t testing.TB, dras int) *fuzzRig {
	cfg := Config{
		OriginHost:      "gw.test.local",
		OriginRealm:     "test.local",
		ConnectionCount: 1,
		InboxSize:       64,
		MaxInFlight:     fuzzMaxInFlight,
		RequestTimeout:  time.Hour,
		BackoffInitial:  time.Hour,
		BackoffMax:      time.Hour,
		FragmentTimeout: time.Hour,
		seed:            1,
		noJitter:        true,
	}
	for i := range dras {
		cfg.DRAs = append(cfg.DRAs, DRA{Name: string(rune('a' + i)), Address: "127.0.0.1:3868"})
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &fuzzRig{t: t, e: e, h: &handler{e: e}}
	for _, p := range e.peers {
		// Connecting without a dial: the fake conn is the dial's result.
		p.m.Step(fsm.Event{Kind: fsm.EvStart})
		c := &fuzzConn{LocalPort: 40000, RemotePort: 3868, Ctx: &connCtx{p: p, attempt: p.attempt}}
		if _, act := r.h.OnOpen(c); act != gnet.None {
			t.Fatalf("OnOpen refused the connection")
		}
		r.conns = append(r.conns, c)
	}
	return r
}

// read hands b to connection i as one read, as gnet would: the buffer is overwritten after
// OnTraffic returns, since gnet reuses it, so nothing may keep a reference to it.
func (r *fuzzRig) read(i int, b []byte) {
	c := r.conns[i]
	if c.Gone {
		return
	}
	buf := append([]byte(nil), b...)
	c.In = buf
	r.h.OnTraffic(c)
	for k := range buf {
		buf[k] = 0xa5
	}
	r.check()
}

// drop reports connection i closed, as gnet does after Close or when the peer goes.
func (r *fuzzRig) drop(i int) {
	c := r.conns[i]
	if !c.Gone {
		c.Gone = true
		r.h.OnClose(c, nil)
		r.check()
	}
}

// markStarted makes Go accept requests on an engine that was never started: the rig plays the
// loop. The one place that knows how the engine records that it runs.
func markStarted(e *Engine) { e.life.state.Store(lifeRunning) }

// open answers connection i's CER with a CEA 2001 from a relay.
func (r *fuzzRig) open(i int) {
	c := r.conns[i]
	h, err := framing.ParseHeader(c.Out)
	if err != nil || h.Code != framing.CmdCapabilitiesExchange || !h.IsRequest() {
		r.t.Fatalf("connection %d wrote no CER first (%v)", i, err)
	}
	r.read(i, framing.AppendCEA(nil, h, framing.Success, draCaps(), ""))
	endSettles(r.e)
	if !r.e.Stats().Conns[i].Usable {
		r.t.Fatalf("connection %d not usable after a CEA 2001", i)
	}
}

func draCaps() *framing.Capabilities {
	return &framing.Capabilities{
		OriginHost: "dra.test.local", OriginRealm: "test.local", VendorID: framing.Vendor3GPP,
		ProductName: "fuzz", HostIPAddresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		AuthAppIDs: []uint32{framing.AppRelay},
	}
}

// check asserts what must hold after every event: in-flight levels within the window, nothing
// outstanding below zero.
func (r *fuzzRig) check() {
	st := r.e.Stats()
	if st.Outstanding < 0 {
		r.t.Fatalf("outstanding %d", st.Outstanding)
	}
	for _, c := range st.Conns {
		if c.InFlight < 0 || c.InFlight > fuzzMaxInFlight {
			r.t.Fatalf("connection %s/%d: in flight %d", c.DRA, c.Index, c.InFlight)
		}
	}
}

// requests returns the Hop-by-Hop and End-to-End ids of the ECRs written on connection i.
func (r *fuzzRig) requests(i int) [][2]uint32 {
	var ids [][2]uint32
	for b := r.conns[i].Out; ; {
		n, err := framing.FrameLen(b, 0)
		if err != nil || n == 0 || n > len(b) {
			return ids
		}
		if h, err := framing.ParseHeader(b); err == nil && h.Code == s13.CommandCode && h.IsRequest() {
			ids = append(ids, [2]uint32{h.HopByHop, h.EndToEnd})
		}
		b = b[n:]
	}
}

// patchIDs gives every answer in stream the ids of one of the requests in ids (chosen by the
// answer's own Hop-by-Hop), so that fuzzed answers reach the matching and decoding of answers
// instead of being dropped as unknown. It stops at the first frame that does not parse.
func patchIDs(stream []byte, ids [][2]uint32) {
	if len(ids) == 0 {
		return
	}
	for b := stream; ; {
		n, err := framing.FrameLen(b, 0)
		if err != nil || n == 0 || n > len(b) {
			return
		}
		if b[4]&framing.FlagRequest == 0 {
			id := ids[binary.BigEndian.Uint32(b[12:16])%uint32(len(ids))]
			binary.BigEndian.PutUint32(b[12:16], id[0])
			binary.BigEndian.PutUint32(b[16:20], id[1])
		}
		b = b[n:]
	}
}

// addStreamSeeds adds the vectors and a few answers, alone and back to back.
func addStreamSeeds(f *testing.F, add func(stream []byte)) {
	vec := fixtures.Vectors(f)
	var all []byte
	for _, name := range []string{"02_cea_relay", "03_dwr", "04_dwa", "05_ecr", "07_eca_whitelisted",
		"08_eca_equipment_unknown", "09_answer_3002_unable_to_deliver", "10_dpr", "11_dpa",
		"90_bad_version_dwr", "91_bad_msglen_dwr", "92_bad_avplen_dwr"} {
		add(vec[name])
		if name[0] != '9' {
			all = append(all, vec[name]...)
		}
	}
	add(all)
	add(vec["07_eca_whitelisted"][:100])
	id := &framing.Identity{OriginHost: "dra.test.local", OriginRealm: "test.local"}
	ecr := framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable, Code: s13.CommandCode, AppID: framing.AppS13}
	busy := framing.AppendAnswerMessage(nil, ecr, id, &framing.ErrorAnswer{ResultCode: framing.TooBusy})
	add(busy)
	add(append(append([]byte(nil), busy...), vec["07_eca_whitelisted"]...))
}

// FuzzEngineRead feeds a stream from the DRA to an open connection while up to 31 requests
// are outstanding, then closes both connections. Nothing may panic, in-flight levels stay within
// the window, nothing written grows out of proportion to what was read, every accepted request
// completes exactly once, and where the stream was cut into reads changes no outcome.
func FuzzEngineRead(f *testing.F) {
	addStreamSeeds(f, func(stream []byte) {
		f.Add(uint8(4), true, []byte(nil), stream)
		f.Add(uint8(2), true, []byte{1, 3, 16, 19, 20, 21}, stream)
		f.Add(uint8(0), false, []byte{7}, stream)
	})
	f.Fuzz(func(t *testing.T, nreq uint8, patch bool, splits, stream []byte) {
		n := int(nreq % fuzzMaxInFlight)
		got, gotStats := readStream(t, n, patch, stream, splits)
		want, wantStats := readStream(t, n, patch, stream, nil)
		// A framing reset drops what the connection had not written yet (its batch: our answers
		// to the peer's requests of the same read), so with fewer reads no more is written than
		// with more. Everything else is the same.
		for i := range gotStats {
			if i < len(wantStats) && gotStats[i].FramingResets > 0 && wantStats[i].FramingResets > 0 &&
				gotStats[i].MessagesOut >= wantStats[i].MessagesOut {
				gotStats[i].MessagesOut = wantStats[i].MessagesOut
			}
		}
		if !slices.Equal(got, want) || !slices.Equal(gotStats, wantStats) {
			t.Fatalf("cut into reads at %v the stream had other outcomes than in one read:\n%q\n%+v\n%q\n%+v",
				splits, got, gotStats, want, wantStats)
		}
	})
}

// readStream opens two connections, sends n requests on the first, hands it stream in the reads
// splits says (the answers among it given the requests' ids when patch is set), then closes
// both. It returns each request's outcome and the connections' counters, less the byte counts
// and round-trip times, which depend on where the stream was cut.
func readStream(t *testing.T, n int, patch bool, stream, splits []byte) ([]string, []Counters) {
	r := newFuzzRig(t, 2)
	r.open(0)
	r.open(1)
	markStarted(r.e)
	done := make([]int, n)
	outcome := make([]string, n)
	for i := range n {
		err := r.e.Go(testReq, func(a s13.Answer, err error) {
			done[i]++
			outcome[i] = fmt.Sprintf("%d %d %d %v", a.ResultCode, a.ExperimentalResult.Code, a.EquipmentStatus, err)
		})
		if err != nil {
			t.Fatalf("Go %d: %v", i, err)
		}
	}
	r.read(0, nil) // the loop's round: the requests go out, all on the first connection
	before := [2]int{len(r.conns[0].Out), len(r.conns[1].Out)}
	if patch {
		stream = append([]byte(nil), stream...)
		patchIDs(stream, r.requests(0))
	}
	for _, b := range fixtures.Reads(stream, splits) {
		if r.conns[0].Closed {
			break // gnet delivers nothing more once Close was called
		}
		r.read(0, b)
		for i, d := range done {
			if d > 1 {
				t.Fatalf("request %d completed %d times", i, d)
			}
		}
	}
	// Bounded output: each message read gets at most one answer of about its own size.
	for i, c := range r.conns {
		if grown := len(c.Out) - before[i]; grown > 2*len(stream)+(len(stream)/framing.HeaderLen+1)*1024+n*1024 {
			t.Fatalf("connection %d wrote %d bytes for %d read", i, grown, len(stream))
		}
	}
	r.drop(0) // its requests fail over to the second connection
	r.drop(1) // and from there fail for good
	for i, d := range done {
		if d != 1 {
			t.Fatalf("request %d completed %d times, want once", i, d)
		}
	}
	st := r.e.Stats()
	if st.Outstanding != 0 || st.Total.InFlight != 0 {
		t.Fatalf("outstanding %d, in flight %d after every connection closed", st.Outstanding, st.Total.InFlight)
	}
	var counters []Counters
	for _, c := range st.Conns {
		c.BytesIn, c.BytesOut = 0, 0
		// The round trips' times follow the clock; their number does not.
		n := c.Latency.Count()
		c.Latency = Latency{}
		c.Latency.Buckets[0] = n
		counters = append(counters, c.Counters)
	}
	return outcome, counters
}

// FuzzEngineCEA hands arbitrary bytes, with the Hop-by-Hop and End-to-End ids of our CER, to
// a connection waiting for its CEA. The connection may become usable only when they are one
// whole CEA without the E bit, with Result-Code 2001 and S13 (16777252) or Relay (0xffffffff)
// among its application ids (RFC 6733 §5.3, §2.4); then the peer's Origin-Host is recorded.
func FuzzEngineCEA(f *testing.F) {
	vec := fixtures.Vectors(f)
	for _, v := range vec {
		f.Add(v)
	}
	cer := framing.Header{Flags: framing.FlagRequest, Code: framing.CmdCapabilitiesExchange}
	caps := draCaps()
	f.Add(framing.AppendCEA(nil, cer, framing.Success, caps, ""))
	caps.AuthAppIDs = nil
	f.Add(framing.AppendCEA(nil, cer, framing.Success, caps, ""))
	caps.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}
	f.Add(framing.AppendCEA(nil, cer, framing.Success, caps, ""))
	caps.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AcctAppID: framing.AppS13}}
	f.Add(framing.AppendCEA(nil, cer, framing.Success, caps, ""))
	caps.VendorSpecificApps, caps.AcctAppIDs = nil, []uint32{framing.AppRelay}
	f.Add(framing.AppendCEA(nil, cer, framing.NoCommonApplication, caps, "no common application"))
	f.Add(framing.AppendAnswerMessage(nil, cer, &framing.Identity{OriginHost: "dra.test.local", OriginRealm: "test.local"},
		&framing.ErrorAnswer{ResultCode: framing.UnknownPeer}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := newFuzzRig(t, 1)
		in, want := append([]byte(nil), msg...), false
		if len(in) >= framing.HeaderLen { // it answers our CER: the ids are not what is fuzzed here
			copy(in[12:framing.HeaderLen], r.conns[0].Out[12:framing.HeaderLen])
		}
		if n, err := framing.FrameLen(in, r.e.Config().MaxMessageSize); err == nil && n > 0 && n <= len(in) {
			in = in[:n] // one message: what follows it is another test
			want = acceptableCEA(in)
		}
		r.read(0, in)
		endSettles(r.e)
		st := r.e.Stats().Conns[0]
		if st.Usable != want {
			t.Fatalf("usable %v after %x, want %v (state %s)", st.Usable, in, want, st.State)
		}
		if want {
			a, _ := framing.ParseCEA(in)
			if st.PeerOriginHost != a.OriginHost {
				t.Fatalf("peer Origin-Host %q, CEA says %q", st.PeerOriginHost, a.OriginHost)
			}
		}
		r.drop(0)
	})
}

// acceptableCEA is the test's own statement of a CEA the engine must accept.
func acceptableCEA(msg []byte) bool {
	a, err := framing.ParseCEA(msg)
	if err != nil || a.Error || a.ResultCode != 2001 {
		return false
	}
	ok := func(id uint32) bool { return id == 16777252 || id == 0xffffffff }
	for _, id := range append(append([]uint32(nil), a.AuthAppIDs...), a.AcctAppIDs...) {
		if ok(id) {
			return true
		}
	}
	for _, v := range a.VendorSpecificApps {
		if ok(v.AuthAppID) || ok(v.AcctAppID) {
			return true
		}
	}
	return false
}
