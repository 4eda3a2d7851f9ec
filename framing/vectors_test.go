package framing_test

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
)

// The vectors in testdata/vectors are hand-built messages that tshark decodes cleanly
// (testdata/README.md, PROTOCOL.md §8).

// validVectors are the well-formed messages in stream order; the negative 9x vectors are left out.
var validVectors = []string{
	"01_cer", "02_cea_relay", "03_dwr", "04_dwa", "05_ecr", "06_ecr_retransmit_T",
	"07_eca_whitelisted", "08_eca_equipment_unknown", "09_answer_3002_unable_to_deliver",
	"10_dpr", "11_dpa",
}

var negativeVectors = []string{"90_bad_version_dwr", "91_bad_msglen_dwr", "92_bad_avplen_dwr"}

// Values shared by the vectors (testdata/README.md).
const (
	mmeHost   = "mme1.epc.mnc001.mcc001.3gppnetwork.org"
	draHost   = "dra1.epc.mnc001.mcc001.3gppnetwork.org"
	realm     = "epc.mnc001.mcc001.3gppnetwork.org"
	sessionID = "mme1.epc.mnc001.mcc001.3gppnetwork.org;1700000000;42"
	stateID   = 0x6553f100
)

// vector returns the bytes of testdata/vectors/<name>.hex.
var vector = fixtures.Vector

// unhex decodes hex written with optional spaces, for byte layouts readable against the RFC.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func TestVectorsAllFrameAndScan(t *testing.T) {
	for _, name := range validVectors {
		t.Run(name, func(t *testing.T) {
			b := vector(t, name)
			n, err := framing.FrameLen(b, 0)
			require.NoError(t, err)
			require.Equal(t, len(b), n, "Message Length must cover the whole vector")
			it := framing.AVPs(b)
			for it.Next() {
				_ = *it.AVP()
			}
			require.NoError(t, it.Err())
			assert.Equal(t, len(b), it.Offset(), "scan must end exactly at Message Length")
		})
	}
}

func TestVectorCER(t *testing.T) {
	b := vector(t, "01_cer")
	h, err := framing.ParseHeader(b)
	require.NoError(t, err)
	assert.Equal(t, framing.Header{Version: 1, Length: 212, Flags: framing.FlagRequest,
		Code: framing.CmdCapabilitiesExchange, AppID: 0, HopByHop: 0x2a000001, EndToEnd: 0x10000001}, h)

	c, err := framing.ParseCER(b)
	require.NoError(t, err)
	want := framing.Capabilities{
		OriginHost:         mmeHost,
		OriginRealm:        realm,
		HostIPAddresses:    []netip.Addr{netip.MustParseAddr("192.0.2.10")},
		VendorID:           0,
		ProductName:        "go-s13",
		OriginStateID:      stateID,
		HasOriginStateID:   true,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
	}
	assert.Equal(t, want, c)
	assert.True(t, c.Supports(framing.AppS13))
	assert.False(t, c.IsRelay())

	// Product-Name is sent without the M bit (RFC 6733 §4.5).
	pn, ok, err := framing.Find(b, framing.AVPProductName, 0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, pn.Mandatory())

	out := framing.AppendCER(nil, h.HopByHop, h.EndToEnd, &c)
	assert.Equal(t, hex.EncodeToString(b), hex.EncodeToString(out))
}

func TestVectorCEARelay(t *testing.T) {
	b := vector(t, "02_cea_relay")
	a, err := framing.ParseCEA(b)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.False(t, a.Error)
	assert.Empty(t, a.ErrorMessage)
	assert.Equal(t, framing.Capabilities{
		OriginHost:      draHost,
		OriginRealm:     realm,
		HostIPAddresses: []netip.Addr{netip.MustParseAddr("192.0.2.20")},
		VendorID:        0,
		ProductName:     "dra",
		AuthAppIDs:      []uint32{framing.AppRelay},
	}, a.Capabilities)
	assert.True(t, a.IsRelay())
	assert.True(t, a.Supports(framing.AppS13), "a relay supports every application")

	// The CEA answers the CER of vector 01.
	req, err := framing.ParseHeader(vector(t, "01_cer"))
	require.NoError(t, err)
	out := framing.AppendCEA(nil, req, a.ResultCode, &a.Capabilities, a.ErrorMessage)
	assert.Equal(t, hex.EncodeToString(b), hex.EncodeToString(out))
}

func TestVectorDWRDWA(t *testing.T) {
	dwr := vector(t, "03_dwr")
	req, err := framing.ParseHeader(dwr)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x2a000002), req.HopByHop)
	assert.Equal(t, uint32(0x10000002), req.EndToEnd)

	b, err := framing.ParseDWR(dwr)
	require.NoError(t, err)
	assert.Equal(t, mmeHost, string(b.OriginHost))
	assert.Equal(t, realm, string(b.OriginRealm))
	assert.True(t, b.HasOriginStateID)
	assert.Equal(t, uint32(stateID), b.OriginStateID)
	assert.False(t, b.HasResultCode)

	mme := framing.Identity{OriginHost: mmeHost, OriginRealm: realm, OriginStateID: stateID}
	out := framing.AppendDWR(nil, req.HopByHop, req.EndToEnd, &mme)
	assert.Equal(t, hex.EncodeToString(dwr), hex.EncodeToString(out))

	dwa := vector(t, "04_dwa")
	a, err := framing.ParseDWA(dwa)
	require.NoError(t, err)
	assert.True(t, a.HasResultCode)
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.Equal(t, draHost, string(a.OriginHost))
	assert.Equal(t, realm, string(a.OriginRealm))
	assert.False(t, a.HasOriginStateID)

	dra := framing.Identity{OriginHost: draHost, OriginRealm: realm}
	out = framing.AppendDWA(nil, req, framing.Success, &dra)
	assert.Equal(t, hex.EncodeToString(dwa), hex.EncodeToString(out))
}

func TestVectorDPRDPA(t *testing.T) {
	dpr := vector(t, "10_dpr")
	req, err := framing.ParseHeader(dpr)
	require.NoError(t, err)
	b, err := framing.ParseDPR(dpr)
	require.NoError(t, err)
	assert.Equal(t, mmeHost, string(b.OriginHost))
	assert.Equal(t, realm, string(b.OriginRealm))
	assert.True(t, b.HasDisconnectCause)
	assert.Equal(t, framing.Rebooting, b.DisconnectCause)

	mme := framing.Identity{OriginHost: mmeHost, OriginRealm: realm}
	out := framing.AppendDPR(nil, req.HopByHop, req.EndToEnd, &mme, framing.Rebooting)
	assert.Equal(t, hex.EncodeToString(dpr), hex.EncodeToString(out))

	dpa := vector(t, "11_dpa")
	a, err := framing.ParseDPA(dpa)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.Equal(t, draHost, string(a.OriginHost))

	dra := framing.Identity{OriginHost: draHost, OriginRealm: realm}
	out = framing.AppendDPA(nil, req, framing.Success, &dra)
	assert.Equal(t, hex.EncodeToString(dpa), hex.EncodeToString(out))
}

func TestVectorAnswer3002(t *testing.T) {
	b := vector(t, "09_answer_3002_unable_to_deliver")
	h, err := framing.ParseHeader(b)
	require.NoError(t, err)
	assert.True(t, h.IsError())
	assert.True(t, h.IsProxiable())
	assert.False(t, h.IsRequest())
	assert.Equal(t, framing.AppS13, h.AppID)

	a, err := framing.ParseAnswerMessage(b)
	require.NoError(t, err)
	assert.Equal(t, framing.UnableToDeliver, a.ResultCode)
	assert.Equal(t, "no route", string(a.ErrorMessage))
	assert.Equal(t, sessionID, string(a.SessionID))
	assert.Equal(t, draHost, string(a.OriginHost))
	assert.Equal(t, realm, string(a.OriginRealm))
	assert.Nil(t, a.FailedAVP)

	em, ok, err := framing.Find(b, framing.AVPErrorMessage, 0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.False(t, em.Mandatory(), "Error-Message is sent without the M bit")

	// The DRA answers the ECR of vector 05, whose P bit the answer keeps.
	req, err := framing.ParseHeader(vector(t, "05_ecr"))
	require.NoError(t, err)
	dra := framing.Identity{OriginHost: draHost, OriginRealm: realm}
	out := framing.AppendAnswerMessage(nil, req, &dra, &framing.ErrorAnswer{
		ResultCode:   a.ResultCode,
		SessionID:    a.SessionID,
		ErrorMessage: string(a.ErrorMessage),
	})
	assert.Equal(t, hex.EncodeToString(b), hex.EncodeToString(out))
}

func TestVectorRetransmitT(t *testing.T) {
	orig, err := framing.ParseHeader(vector(t, "05_ecr"))
	require.NoError(t, err)
	retr, err := framing.ParseHeader(vector(t, "06_ecr_retransmit_T"))
	require.NoError(t, err)
	assert.False(t, orig.IsRetransmit())
	assert.True(t, retr.IsRetransmit())
	assert.Equal(t, orig.EndToEnd, retr.EndToEnd, "a retransmission keeps its End-to-End id")
	assert.Equal(t, uint32(0x5b000001), retr.HopByHop)

	// Patching the ids and flags of the original in place yields the retransmission.
	b := vector(t, "05_ecr")
	framing.SetFlags(b, orig.Flags|framing.FlagRetransmit)
	framing.SetHopByHop(b, 0x5b000001)
	assert.Equal(t, vector(t, "06_ecr_retransmit_T"), b)
}

func TestVectorsNegative(t *testing.T) {
	cases := []struct {
		name string
		want error
		// inHeader: the splitter rejects the stream from the first 4 bytes; otherwise the
		// message frames fine and only the AVP scan fails.
		inHeader bool
	}{
		{"90_bad_version_dwr", framing.ErrVersion, true},
		{"91_bad_msglen_dwr", framing.ErrMessageLength, true},
		{"92_bad_avplen_dwr", framing.ErrAVPOverrun, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := vector(t, tc.name)
			_, err := framing.ParseDWR(b)
			require.ErrorIs(t, err, tc.want)

			n, ferr := framing.FrameLen(b[:4], 0)
			assert.Zero(t, n)
			if tc.inHeader {
				assert.ErrorIs(t, ferr, tc.want)
				return
			}
			require.NoError(t, ferr)
			it := framing.AVPs(b)
			for it.Next() {
				_ = *it.AVP()
			}
			require.ErrorIs(t, it.Err(), tc.want)
			var ae *framing.AVPError
			require.True(t, errors.As(it.Err(), &ae))
			// Octets 73-75 hold the broken length: the Origin-Realm header is at 68.
			assert.Equal(t, framing.AVPOriginRealm, ae.Code)
			assert.Equal(t, 68, ae.Offset)
		})
	}
}
