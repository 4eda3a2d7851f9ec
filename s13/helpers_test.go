package s13

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
)

// Values of the test vectors (testdata/README.md).
const (
	mmeHost   = "mme1.epc.mnc001.mcc001.3gppnetwork.org"
	eirHost   = "eir1.epc.mnc001.mcc001.3gppnetwork.org"
	draHost   = "dra1.epc.mnc001.mcc001.3gppnetwork.org"
	realm     = "epc.mnc001.mcc001.3gppnetwork.org"
	sessionID = "mme1.epc.mnc001.mcc001.3gppnetwork.org;1700000000;42"
	testIMEI  = "35209900176148"
	testSV    = "23"
	testIMSI  = "001010123456789"
)

var (
	vectorEnvelope = Envelope{
		HopByHop: 0x2a000003, EndToEnd: 0x10000003,
		OriginHost: mmeHost, OriginRealm: realm,
	}
	vectorRequest = Request{
		IMEI: testIMEI, SoftwareVersion: testSV, IMSI: testIMSI,
		DestinationRealm: realm, SessionID: sessionID,
	}
	eirIdentity = framing.Identity{OriginHost: eirHost, OriginRealm: realm}
)

// vector returns the bytes of testdata/vectors/<name>.hex: these tests are the byte-for-byte
// contract with the vectors.
var vector = fixtures.Vector

// --- hand-built messages -------------------------------------------------------------------

const (
	fM  = framing.AVPFlagMandatory
	v3g = VendorID
)

// part is one encoded top-level AVP of a message under construction, named for editing.
type part struct {
	name string
	b    []byte
}

func avpStr(code uint32, flags uint8, vendor uint32, s string) []byte {
	return framing.AppendString(nil, code, flags, vendor, s)
}

func avpU32(code uint32, flags uint8, vendor uint32, v uint32) []byte {
	return framing.AppendUint32(nil, code, flags, vendor, v)
}

func avpGroup(code uint32, flags uint8, vendor uint32, members ...[]byte) []byte {
	b, g := framing.BeginGrouped(nil, code, flags, vendor)
	for _, m := range members {
		b = append(b, m...)
	}
	return framing.EndGrouped(b, g)
}

// avpRaw encodes an AVP header with an arbitrary length field followed by data, unpadded.
func avpRaw(code uint32, flags uint8, vendor uint32, length int, data []byte) []byte {
	b := []byte{byte(code >> 24), byte(code >> 16), byte(code >> 8), byte(code), flags,
		byte(length >> 16), byte(length >> 8), byte(length)}
	if flags&framing.AVPFlagVendor != 0 {
		b = append(b, byte(vendor>>24), byte(vendor>>16), byte(vendor>>8), byte(vendor))
	}
	return append(b, data...)
}

func vsai() []byte {
	return avpGroup(framing.AVPVendorSpecificApplicationID, fM, 0,
		avpU32(framing.AVPVendorID, fM, 0, VendorID), avpU32(framing.AVPAuthApplicationID, fM, 0, AppID))
}

func terminalInfo(members ...[]byte) []byte {
	return avpGroup(AVPTerminalInformation, fM, v3g, members...)
}

// ecrParts is vector 05 as editable parts.
func ecrParts() []part {
	return []part{
		{"Session-Id", avpStr(framing.AVPSessionID, fM, 0, sessionID)},
		{"VSAI", vsai()},
		{"Auth-Session-State", avpU32(framing.AVPAuthSessionState, fM, 0, 1)},
		{"Origin-Host", avpStr(framing.AVPOriginHost, fM, 0, mmeHost)},
		{"Origin-Realm", avpStr(framing.AVPOriginRealm, fM, 0, realm)},
		{"Destination-Realm", avpStr(framing.AVPDestinationRealm, fM, 0, realm)},
		{"Terminal-Information", terminalInfo(
			avpStr(AVPIMEI, fM, v3g, testIMEI), avpStr(AVPSoftwareVersion, fM, v3g, testSV))},
		{"User-Name", avpStr(framing.AVPUserName, fM, 0, testIMSI)},
	}
}

func without(ps []part, name string) []part {
	var out []part
	for _, p := range ps {
		if p.name != name {
			out = append(out, p)
		}
	}
	return out
}

func replaced(ps []part, name string, b []byte) []part {
	out := append([]part(nil), ps...)
	for i := range out {
		if out[i].name == name {
			out[i].b = b
		}
	}
	return out
}

func appended(ps []part, bs ...[]byte) []part {
	out := append([]part(nil), ps...)
	for _, b := range bs {
		out = append(out, part{"extra", b})
	}
	return out
}

// message builds a message with the given flags, command and application around ps, padding the
// body to 4 octets so that the header stays valid whatever the parts hold.
func message(flags uint8, code, app uint32, ps []part) []byte {
	b, m := framing.BeginMessage(nil, framing.Header{Flags: flags, Code: code, AppID: app,
		HopByHop: 0x2a000003, EndToEnd: 0x10000003})
	for _, p := range ps {
		b = append(b, p.b...)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return framing.EndMessage(b, m)
}

func ecrMessage(ps []part) []byte {
	return message(framing.FlagRequest|framing.FlagProxiable, CommandCode, AppID, ps)
}

// ecaParts is vector 07 as editable parts.
func ecaParts() []part {
	return []part{
		{"Session-Id", avpStr(framing.AVPSessionID, fM, 0, sessionID)},
		{"VSAI", vsai()},
		{"Result-Code", avpU32(framing.AVPResultCode, fM, 0, uint32(framing.Success))},
		{"Auth-Session-State", avpU32(framing.AVPAuthSessionState, fM, 0, 1)},
		{"Origin-Host", avpStr(framing.AVPOriginHost, fM, 0, eirHost)},
		{"Origin-Realm", avpStr(framing.AVPOriginRealm, fM, 0, realm)},
		{"Equipment-Status", avpU32(AVPEquipmentStatus, fM, v3g, 0)},
	}
}

func experimentalResult(vendor, code uint32) []byte {
	return avpGroup(framing.AVPExperimentalResult, fM, 0,
		avpU32(framing.AVPVendorID, fM, 0, vendor), avpU32(framing.AVPExperimentalResultCode, fM, 0, code))
}

func ecaMessage(ps []part) []byte {
	return message(framing.FlagProxiable, CommandCode, AppID, ps)
}

// pad4 returns b padded with zeros to a multiple of 4 octets.
func pad4(b []byte) []byte {
	out := append([]byte(nil), b...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func proxyInfo(state string) []byte {
	return avpGroup(framing.AVPProxyInfo, fM, 0,
		avpStr(framing.AVPProxyHost, fM, 0, draHost), avpStr(framing.AVPProxyState, fM, 0, state))
}
