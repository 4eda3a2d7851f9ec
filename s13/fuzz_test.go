package s13

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// The committed seed corpus lives in testdata/fuzz/<Name>/; the vectors are added here as well
// so that a plain `go test` runs them through the same checks.

var fuzzVectors = []string{
	"05_ecr", "06_ecr_retransmit_T", "07_eca_whitelisted", "08_eca_equipment_unknown",
	"09_answer_3002_unable_to_deliver", "03_dwr", "92_bad_avplen_dwr",
}

// framingSentinels are the errors a message-level failure may match.
var framingSentinels = []error{
	framing.ErrShortBuffer, framing.ErrVersion, framing.ErrMessageLength, framing.ErrTruncated,
	framing.ErrAVPLength, framing.ErrAVPOverrun, framing.ErrAVPData, framing.ErrMissingAVP,
	framing.ErrDuplicateAVP,
}

func matchesAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func FuzzParseECA(f *testing.F) {
	for _, name := range fuzzVectors {
		f.Add(vector(f, name))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, err := ParseECA(msg)
		if err != nil {
			if !matchesAny(err, append(framingSentinels, ErrNotECA, ErrNoResult, ErrBothResults, ErrUnsupportedAVP, ErrInvalidHeaderBits)...) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if a.OriginHost == nil || a.OriginRealm == nil {
			t.Fatal("accepted without Origin-Host or Origin-Realm")
		}
		if a.IsError() && a.ResultCode < 3000 {
			t.Fatalf("accepted an E-bit answer with Result-Code %d", a.ResultCode)
		}
		if a.HasExperimentalResult && a.ResultCode != 0 {
			t.Fatalf("both results accepted: %+v", a)
		}
		c := a.Clone()
		if !bytes.Equal(c.SessionID, a.SessionID) || !bytes.Equal(c.FailedAVP, a.FailedAVP) || c.ResultCode != a.ResultCode {
			t.Fatal("Clone differs")
		}
		_ = a.String()
	})
}

func FuzzParseECR(f *testing.F) {
	for _, name := range fuzzVectors {
		f.Add(vector(f, name))
	}
	id := framing.Identity{OriginHost: eirHost, OriginRealm: realm, OriginStateID: 9}
	verdicts := []Verdict{
		{EquipmentStatus: Greylisted},
		{Experimental: EquipmentUnknown},
		{ResultCode: framing.UnableToComply, ErrorMessage: "no", FailedAVP: []byte{0, 0, 0, 1, 0x40, 0, 0, 8}},
		{ResultCode: framing.TooBusy},
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := ParseECR(msg)
		var re *RequestError
		switch {
		case err == nil:
			if !digitsInRange(r.IMEI, IMEILen, MaxIMEILen) || len(r.SessionID) == 0 ||
				len(r.OriginHost) == 0 || len(r.OriginRealm) == 0 || len(r.DestinationRealm) == 0 {
				t.Fatalf("accepted an ECR without its required content: %+v", r)
			}
			for i := range verdicts {
				v := &verdicts[i]
				ans := AppendECA(nil, &r, &id, v)
				a, err := ParseECA(ans)
				if err != nil {
					t.Fatalf("answer to a valid ECR does not parse (%+v): %v", v, err)
				}
				checkAnswer(t, &r, &a, ans)
				switch {
				case v.Experimental != 0:
					if !a.HasExperimentalResult || a.ExperimentalResult.Code != v.Experimental {
						t.Fatalf("experimental result lost: %+v", a)
					}
				case v.ResultCode == 0:
					if !a.Succeeded() || !a.HasEquipmentStatus || a.EquipmentStatus != v.EquipmentStatus {
						t.Fatalf("success lost: %+v", a)
					}
				default:
					if a.ResultCode != v.ResultCode || a.HasEquipmentStatus {
						t.Fatalf("result lost: %+v", a)
					}
				}
			}
		case errors.As(err, &re):
			if !matchesAny(err, append(framingSentinels, ErrUnsupportedAVP, ErrInvalidAVPValue, ErrInvalidHeaderBits)...) {
				t.Fatalf("RequestError matches no sentinel: %v", err)
			}
			if re.ResultCode == 0 || re.ResultCode.IsSuccess() {
				t.Fatalf("RequestError with Result-Code %d", re.ResultCode)
			}
			if re.ResultCode != framing.InvalidHdrBits && len(re.FailedAVP) == 0 {
				t.Fatalf("%v without Failed-AVP", re.ResultCode)
			}
			if len(re.FailedAVP)%4 != 0 {
				t.Fatalf("Failed-AVP not padded: % x", re.FailedAVP)
			}
			ans := AppendRequestError(nil, &r, &id, re)
			a, err := ParseECA(ans)
			if err != nil {
				t.Fatalf("error answer does not parse: %v", err)
			}
			checkAnswer(t, &r, &a, ans)
			if a.ResultCode != re.ResultCode || !bytes.Equal(a.FailedAVP, re.FailedAVP) {
				t.Fatalf("error answer %+v for %v", a, re)
			}
		default:
			if !matchesAny(err, append(framingSentinels, ErrNotECR)...) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
		}
	})
}

// checkAnswer checks what every answer to r must carry (RFC 6733 §6.2).
func checkAnswer(t *testing.T, r *ECR, a *Answer, ans []byte) {
	t.Helper()
	if a.HopByHop != r.Header.HopByHop || a.EndToEnd != r.Header.EndToEnd {
		t.Fatal("identifiers not copied")
	}
	if a.Flags&framing.FlagProxiable != r.Header.Flags&framing.FlagProxiable || a.Flags&(framing.FlagRequest|framing.FlagRetransmit) != 0 {
		t.Fatalf("answer flags %#x for request flags %#x", a.Flags, r.Header.Flags)
	}
	if !bytes.Equal(a.SessionID, r.SessionID) {
		t.Fatalf("Session-Id %q, request had %q", a.SessionID, r.SessionID)
	}
	var got [][]byte
	it := framing.AVPs(ans)
	for it.Next() {
		av := *it.AVP()
		if av.Code == framing.AVPProxyInfo && av.Vendor == 0 {
			got = append(got, ans[av.Offset:av.Offset+(av.Len()+3)&^3])
		}
	}
	if len(got) != r.NumProxyInfo {
		t.Fatalf("%d Proxy-Info echoed, request had %d", len(got), r.NumProxyInfo)
	}
	for i := range got {
		if !bytes.Equal(got[i], r.ProxyInfo[i]) {
			t.Fatalf("Proxy-Info %d changed", i)
		}
	}
}
