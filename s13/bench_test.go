package s13

import (
	"fmt"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// BenchmarkAppendECR encodes a realistic request into a reused buffer: a generated Session-Id
// (formatted in place) and IMEIs from a pre-generated pool, as a load generator would.
func BenchmarkAppendECR(b *testing.B) {
	imeis := make([]string, 1024)
	for i := range imeis {
		imeis[i] = fmt.Sprintf("35209900%06d", i*7919%1000000)
	}
	env := vectorEnvelope
	env.SessionHi = 1700000000
	req := Request{SoftwareVersion: testSV, IMSI: testIMSI, DestinationRealm: realm}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		env.HopByHop++
		env.EndToEnd++
		env.SessionLo++
		req.IMEI = imeis[env.HopByHop%uint32(len(imeis))]
		buf = AppendECR(buf[:0], &env, &req)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkParseECA decodes vector 07 (2001 WHITELISTED).
func BenchmarkParseECA(b *testing.B) {
	msg := vector(b, "07_eca_whitelisted")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := ParseECA(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseECR decodes vector 05.
func BenchmarkParseECR(b *testing.B) {
	msg := vector(b, "05_ecr")
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := ParseECR(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendECA encodes the 2001 WHITELISTED answer to vector 05 into a reused buffer.
func BenchmarkAppendECA(b *testing.B) {
	req, err := ParseECR(vector(b, "05_ecr"))
	if err != nil {
		b.Fatal(err)
	}
	id := framing.Identity{OriginHost: eirHost, OriginRealm: realm}
	v := Verdict{EquipmentStatus: Whitelisted}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendECA(buf[:0], &req, &id, &v)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkValidate checks a typical request: 15-digit IMEI, Software-Version, 15-digit IMSI,
// Destination-Realm.
func BenchmarkValidate(b *testing.B) {
	req := Request{IMEI: "352099001234563", SoftwareVersion: testSV, IMSI: testIMSI, DestinationRealm: realm}
	b.ReportAllocs()
	for b.Loop() {
		if err := req.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
