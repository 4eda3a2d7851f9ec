package bench

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/payload"
	"github.com/hsdfat8/diam-gw/s13"
)

// BenchmarkCodecRoundTrip is one S13 exchange in memory per op, both sides: the client encodes an
// ECR (generated Session-Id, IMEI from a pool), the stream splitter measures it, the EIR decodes
// and checks it and encodes the 2001 WHITELISTED ECA, and the client decodes that. Buffers are
// reused, as the engine and the server reuse theirs: 0 allocations expected.
func BenchmarkCodecRoundTrip(b *testing.B) {
	gen, err := payload.NewIMEIGenSeed("35209900xxxxxx", 1)
	if err != nil {
		b.Fatal(err)
	}
	imeis := gen.Pool(1024)
	env := s13.Envelope{
		HopByHop: 0x2a000000, EndToEnd: 0x10000000, SessionHi: 1700000000,
		OriginHost: "mme1.epc.mnc001.mcc001.3gppnetwork.org", OriginRealm: "epc.mnc001.mcc001.3gppnetwork.org",
	}
	req := s13.Request{SoftwareVersion: "23", IMSI: "001010123456789", DestinationRealm: "epc.mnc001.mcc001.3gppnetwork.org"}
	eir := framing.Identity{OriginHost: "eir1.epc.mnc001.mcc001.3gppnetwork.org", OriginRealm: "epc.mnc001.mcc001.3gppnetwork.org"}
	verdict := s13.Verdict{EquipmentStatus: s13.Whitelisted}
	ecr := make([]byte, 0, 512)
	eca := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		env.HopByHop++
		env.EndToEnd++
		env.SessionLo++
		req.IMEI = imeis.Next()
		ecr = s13.AppendECR(ecr[:0], &env, &req)
		n, err := framing.FrameLen(ecr, 0)
		if err != nil || n != len(ecr) {
			b.Fatalf("FrameLen = %d, %v; want %d", n, err, len(ecr))
		}
		in, err := s13.ParseECR(ecr[:n])
		if err != nil {
			b.Fatal(err)
		}
		eca = s13.AppendECA(eca[:0], &in, &eir, &verdict)
		a, err := s13.ParseECA(eca)
		if err != nil {
			b.Fatal(err)
		}
		if a.HopByHop != env.HopByHop || a.ResultCode != framing.Success || !a.HasEquipmentStatus {
			b.Fatalf("answer %+v does not match request %#x", a, env.HopByHop)
		}
	}
	b.SetBytes(int64(len(ecr) + len(eca)))
}
