package server

import (
	"bytes"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"net/netip"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/panjf2000/gnet/v2"
)

// FuzzServerRead drives what a hostile client reaches: the bytes it sends, cut into reads at
// arbitrary places, through the gnet handler (OnOpen, OnTraffic, OnClose) of a server built with
// New and never started, answering ECRs with the EIR of testdata/eir_rules.conf. A fake
// gnet.Conn stands in for the socket; the test plays gnet's part. Seeds: f.Add below and the
// committed corpus in testdata/fuzz/FuzzServerRead/.

// fuzzConn is a gnet.Conn without a socket (see linktest.Conn).
type fuzzConn = linktest.Conn

// wholeMessages reports whether b is a sequence of complete, well-framed Diameter messages.
func wholeMessagesIn(b []byte) bool {
	for len(b) > 0 {
		n, err := framing.FrameLen(b, framing.MaxMessageLength)
		if err != nil || n == 0 || n > len(b) {
			return false
		}
		b = b[n:]
	}
	return true
}

func FuzzServerRead(f *testing.F) {
	vec := fixtures.Vectors(f)
	cli := &framing.Identity{OriginHost: "gw.test.local", OriginRealm: "test.local"}
	ecr := func(imei string) []byte {
		env := s13.Envelope{HopByHop: 7, EndToEnd: 9, OriginHost: cli.OriginHost, OriginRealm: cli.OriginRealm}
		return s13.AppendECR(nil, &env, &s13.Request{IMEI: imei, SoftwareVersion: "23", DestinationRealm: "test.local"})
	}
	var all []byte
	for _, b := range [][]byte{vec["03_dwr"], vec["05_ecr"], vec["06_ecr_retransmit_T"], ecr("99000001123456"),
		ecr("99000003123456"), ecr("99000006123456"), ecr("99000007123456"), vec["04_dwa"], vec["07_eca_whitelisted"],
		vec["01_cer"], vec["11_dpa"], vec["10_dpr"], vec["05_ecr"]} {
		f.Add(true, []byte(nil), b)
		all = append(all, b...)
	}
	f.Add(true, []byte(nil), all)
	f.Add(true, []byte{1, 2, 3, 17, 20, 21, 200}, all)
	f.Add(false, []byte(nil), append(append([]byte(nil), vec["01_cer"]...), all...))
	f.Add(false, []byte(nil), vec["03_dwr"])
	for _, name := range []string{"90_bad_version_dwr", "91_bad_msglen_dwr", "92_bad_avplen_dwr"} {
		f.Add(true, []byte(nil), vec[name])
		f.Add(true, []byte{5}, append(append([]byte(nil), vec["05_ecr"]...), vec[name]...))
	}
	rules, err := eir.LoadPolicy(fixtures.EIRRules(f))
	if err != nil {
		f.Fatal(err)
	}
	handler, err := eir.New(framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, rules)
	if err != nil {
		f.Fatal(err)
	}
	cer := framing.AppendCER(nil, 1, 1, &framing.Capabilities{
		OriginHost: cli.OriginHost, OriginRealm: cli.OriginRealm, VendorID: framing.Vendor3GPP, ProductName: "fuzz",
		HostIPAddresses:    []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
	})

	f.Fuzz(func(t *testing.T, withCER bool, splits, stream []byte) {
		if withCER { // past the capabilities exchange, where most of the server is
			stream = append(append([]byte(nil), cer...), stream...)
		}
		out, st := serveStream(t, handler, stream, splits)
		// Each message read gets at most one answer of about its own size.
		if bound := 2*len(stream) + (len(stream)/framing.HeaderLen+1)*1024; len(out) > bound {
			t.Fatalf("wrote %d bytes for %d read", len(out), len(stream))
		}
		// Where the reads were cut changes nothing but the number of writes and the bytes read
		// (the test stops reading at a close, as gnet does), except that a reset drops the answers
		// not yet written when it comes: more of them when the stream arrives in fewer reads.
		whole, wst := serveStream(t, handler, stream, nil)
		st.Writes, wst.Writes, st.BytesIn, wst.BytesIn = 0, 0, 0, 0
		same := bytes.Equal(out, whole)
		if st.FramingErrors > 0 {
			same = bytes.HasPrefix(out, whole)
			st.BytesOut, wst.BytesOut = 0, 0
		}
		if !same || st != wst {
			t.Fatalf("cut into reads at %v the stream got other answers than in one read:\n%x\n%+v\n%x\n%+v", splits, out, st, whole, wst)
		}
	})
}

// serveStream opens a connection to a fresh server, hands it stream in the reads splits says,
// closes it, and returns what the server wrote and its counters. It checks after every read that
// the output is whole messages and that no request got two answers, and after the close that
// the connection is forgotten.
func serveStream(t *testing.T, hd Handler, stream, splits []byte) ([]byte, Stats) {
	s, err := New(Config{OriginHost: "eir.test.local", OriginRealm: "test.local", OriginStateID: 1, Handler: hd})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{s: s}
	c := &fuzzConn{LocalPort: 3868, RemotePort: 40000}
	if _, act := h.OnOpen(c); act != gnet.None {
		t.Fatal("OnOpen refused the connection")
	}
	for _, b := range fixtures.Reads(stream, splits) {
		buf := append([]byte(nil), b...)
		c.In = buf
		if h.OnTraffic(c) == gnet.Close {
			c.Closed = true
		}
		for k := range buf { // gnet reuses its read buffer: nothing may keep a reference
			buf[k] = 0xa5
		}
		if !wholeMessagesIn(c.Out) {
			t.Fatalf("the server wrote something that is not whole Diameter messages: %x", c.Out)
		}
		if st := s.Stats(); st.Answers > st.Requests {
			t.Fatalf("%d answers to %d requests", st.Answers, st.Requests)
		}
		if c.Closed {
			break // gnet delivers nothing more once the connection is closed
		}
	}
	h.OnClose(c, nil)
	st := s.Stats()
	if st.Connections != 0 || st.Peers != 0 {
		t.Fatalf("after the close: %d connections, %d peers", st.Connections, st.Peers)
	}
	return c.Out, st
}
