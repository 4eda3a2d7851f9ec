package framing_test

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// Benchmarks of the per-message hot path: every one must report 0 allocs/op.

func BenchmarkFrameLen(b *testing.B) {
	// A read buffer holding one ECR and the first bytes of the next message.
	buf := concat(vector(b, "05_ecr"), vector(b, "07_eca_whitelisted")[:10])
	b.ReportAllocs()
	b.SetBytes(340)
	for b.Loop() {
		if n, err := framing.FrameLen(buf, 0); n != 340 || err != nil {
			b.Fatalf("FrameLen = %d, %v", n, err)
		}
	}
}

// BenchmarkScanECAAVPs scans every AVP of an ECA and of its Grouped members, as a decoder does.
func BenchmarkScanECAAVPs(b *testing.B) {
	eca := vector(b, "08_eca_equipment_unknown") // has two Grouped AVPs
	b.ReportAllocs()
	b.SetBytes(int64(len(eca)))
	for b.Loop() {
		if n, err := scanGrouped(framing.AVPs(eca)); n != 10 || err != nil {
			b.Fatalf("scanned %d AVPs, %v", n, err)
		}
	}
}

func BenchmarkAppendDWR(b *testing.B) {
	id := framing.Identity{OriginHost: mmeHost, OriginRealm: realm, OriginStateID: stateID}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = framing.AppendDWR(buf[:0], 0x2a000002, 0x10000002, &id)
	}
	if len(buf) != 124 {
		b.Fatalf("DWR of %d bytes", len(buf))
	}
}

func BenchmarkParseDWA(b *testing.B) {
	dwa := vector(b, "04_dwa")
	b.ReportAllocs()
	b.SetBytes(int64(len(dwa)))
	for b.Loop() {
		if a, err := framing.ParseDWA(dwa); err != nil || a.ResultCode != framing.Success {
			b.Fatalf("ParseDWA: %v", err)
		}
	}
}
