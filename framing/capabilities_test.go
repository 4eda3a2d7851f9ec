package framing_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

func fullCapabilities() framing.Capabilities {
	return framing.Capabilities{
		OriginHost:  mmeHost,
		OriginRealm: realm,
		HostIPAddresses: []netip.Addr{
			netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10"),
		},
		VendorID:           framing.Vendor3GPP,
		ProductName:        "go-s13",
		OriginStateID:      stateID,
		HasOriginStateID:   true,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP, 5535},
		AuthAppIDs:         []uint32{4},
		AcctAppIDs:         []uint32{3},
		VendorSpecificApps: []framing.VendorApp{
			{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13},
			{VendorID: framing.Vendor3GPP, AcctAppID: 16777999},
		},
		FirmwareRevision: 7,
	}
}

func TestCERRoundTrip(t *testing.T) {
	c := fullCapabilities()
	b := framing.AppendCER(nil, 1, 2, &c)
	h, err := framing.ParseHeader(b)
	require.NoError(t, err)
	assert.Equal(t, framing.FlagRequest, h.Flags, "a CER is never proxiable")
	assert.Equal(t, framing.AppCommon, h.AppID)
	assert.Equal(t, framing.CmdCapabilitiesExchange, h.Code)

	got, err := framing.ParseCER(b)
	require.NoError(t, err)
	assert.Equal(t, c, got)

	for _, code := range []uint32{framing.AVPProductName, framing.AVPFirmwareRevision} {
		a, ok, err := framing.Find(b, code, 0)
		require.NoError(t, err)
		require.True(t, ok)
		assert.False(t, a.Mandatory(), "AVP %d is sent without M (RFC 6733 §4.5)", code)
	}
	_, ok, err := framing.Find(b, framing.AVPDestinationRealm, 0)
	require.NoError(t, err)
	assert.False(t, ok, "a CER carries no Destination-Realm")
}

func TestCEARoundTrip(t *testing.T) {
	req := framing.Header{Flags: framing.FlagRequest, Code: framing.CmdCapabilitiesExchange, HopByHop: 5, EndToEnd: 6}
	c := fullCapabilities()
	cases := []struct {
		name  string
		rc    framing.ResultCode
		msg   string
		eFlag bool
	}{
		{"success", framing.Success, "", false},
		{"3010 sets E", framing.UnknownPeer, "who are you", true},
		{"5010 keeps E clear", framing.NoCommonApplication, "no S13", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendCEA(nil, req, tc.rc, &c, tc.msg)
			h, err := framing.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, tc.eFlag, h.IsError())
			assert.False(t, h.IsRequest())
			assert.Equal(t, uint32(5), h.HopByHop)

			a, err := framing.ParseCEA(b)
			require.NoError(t, err)
			assert.Equal(t, tc.rc, a.ResultCode)
			assert.Equal(t, tc.eFlag, a.Error)
			assert.Equal(t, tc.msg, a.ErrorMessage)
			assert.Equal(t, c, a.Capabilities)
		})
	}
}

// capMsg builds a CER (request) or CEA from AVP builders, for malformed cases.
func capMsg(request bool, flags uint8, avps ...func([]byte) []byte) []byte {
	if request {
		flags |= framing.FlagRequest
	}
	return msg(flags, framing.CmdCapabilitiesExchange, avps...)
}

func addr(code uint32, s string) func([]byte) []byte {
	return func(b []byte) []byte {
		return framing.AppendAddress(b, code, framing.AVPFlagMandatory, 0, netip.MustParseAddr(s))
	}
}

func vsai(members ...func([]byte) []byte) func([]byte) []byte {
	return func(b []byte) []byte {
		b, g := framing.BeginGrouped(b, framing.AVPVendorSpecificApplicationID, framing.AVPFlagMandatory, 0)
		for _, m := range members {
			b = m(b)
		}
		return framing.EndGrouped(b, g)
	}
}

func TestParseCapabilitiesErrors(t *testing.T) {
	oh, or := str(framing.AVPOriginHost, "h"), str(framing.AVPOriginRealm, "r")
	ip := addr(framing.AVPHostIPAddress, "192.0.2.1")
	vid, pn := u32(framing.AVPVendorID, 0), str(framing.AVPProductName, "p")
	rc := u32(framing.AVPResultCode, 2001)
	auth := u32(framing.AVPAuthApplicationID, framing.AppS13)
	acct := u32(framing.AVPAcctApplicationID, 3)
	vend := u32(framing.AVPVendorID, framing.Vendor3GPP)

	type avps = []func([]byte) []byte
	cases := []struct {
		name    string
		cea     bool // parse with ParseCEA, else ParseCER
		request bool
		flags   uint8
		avps    avps
		want    error
		code    uint32
	}{
		{"CER ok", false, true, 0, avps{oh, or, ip, vid, pn}, nil, 0},
		{"CER without Origin-Host", false, true, 0, avps{or, ip, vid, pn}, framing.ErrMissingAVP, framing.AVPOriginHost},
		{"CER without Origin-Realm", false, true, 0, avps{oh, ip, vid, pn}, framing.ErrMissingAVP, framing.AVPOriginRealm},
		{"CER without Host-IP-Address", false, true, 0, avps{oh, or, vid, pn}, framing.ErrMissingAVP, framing.AVPHostIPAddress},
		{"CER without Vendor-Id", false, true, 0, avps{oh, or, ip, pn}, framing.ErrMissingAVP, framing.AVPVendorID},
		{"CER without Product-Name", false, true, 0, avps{oh, or, ip, vid}, framing.ErrMissingAVP, framing.AVPProductName},
		{"CER with two Origin-Realms", false, true, 0, avps{oh, or, or, ip, vid, pn}, framing.ErrDuplicateAVP, framing.AVPOriginRealm},
		{"CER with two Product-Names", false, true, 0, avps{oh, or, ip, vid, pn, pn}, framing.ErrDuplicateAVP, framing.AVPProductName},
		{"CER with bad Host-IP-Address", false, true, 0, avps{oh, or, str(framing.AVPHostIPAddress, "x"), vid, pn}, framing.ErrAVPData, framing.AVPHostIPAddress},
		{"CER with short Auth-Application-Id", false, true, 0, avps{oh, or, ip, vid, pn, str(framing.AVPAuthApplicationID, "ab")}, framing.ErrAVPData, framing.AVPAuthApplicationID},
		{"CER ignores Result-Code", false, true, 0, avps{oh, or, ip, vid, pn, rc, rc}, nil, 0},
		{"CER given a CEA", false, false, 0, avps{rc, oh, or, ip, vid, pn}, framing.ErrUnexpectedMessage, 0},
		{"VSAI ok", false, true, 0, avps{oh, or, ip, vid, pn, vsai(vend, auth)}, nil, 0},
		{"VSAI without Vendor-Id", false, true, 0, avps{oh, or, ip, vid, pn, vsai(auth)}, framing.ErrMissingAVP, framing.AVPVendorID},
		{"VSAI without application", false, true, 0, avps{oh, or, ip, vid, pn, vsai(vend)}, framing.ErrMissingAVP, framing.AVPAuthApplicationID},
		{"VSAI with Auth and Acct", false, true, 0, avps{oh, or, ip, vid, pn, vsai(vend, auth, acct)}, framing.ErrDuplicateAVP, framing.AVPVendorSpecificApplicationID},
		{"VSAI with two Vendor-Ids", false, true, 0, avps{oh, or, ip, vid, pn, vsai(vend, vend, auth)}, framing.ErrDuplicateAVP, framing.AVPVendorSpecificApplicationID},
		{"VSAI with a broken member", false, true, 0, avps{oh, or, ip, vid, pn, vsai(vend, raw(t, "00000102 40000004"))}, framing.ErrAVPLength, framing.AVPAuthApplicationID},
		{"CEA ok", true, false, 0, avps{rc, oh, or, ip, vid, pn}, nil, 0},
		{"CEA without Result-Code", true, false, 0, avps{oh, or, ip, vid, pn}, framing.ErrMissingAVP, framing.AVPResultCode},
		{"CEA with two Result-Codes", true, false, 0, avps{rc, rc, oh, or, ip, vid, pn}, framing.ErrDuplicateAVP, framing.AVPResultCode},
		{"CEA without Host-IP-Address", true, false, 0, avps{rc, oh, or, vid, pn}, framing.ErrMissingAVP, framing.AVPHostIPAddress},
		{"E-bit CEA may omit capability AVPs", true, false, framing.FlagError, avps{u32(framing.AVPResultCode, 3010), oh, or}, nil, 0},
		{"E-bit CEA still needs Origin-Host", true, false, framing.FlagError, avps{u32(framing.AVPResultCode, 3010), or}, framing.ErrMissingAVP, framing.AVPOriginHost},
		{"CEA with two Error-Messages", true, false, 0, avps{rc, oh, or, ip, vid, pn, str(framing.AVPErrorMessage, "a"), str(framing.AVPErrorMessage, "b")}, framing.ErrDuplicateAVP, framing.AVPErrorMessage},
		{"CEA given a CER", true, true, 0, avps{rc, oh, or, ip, vid, pn}, framing.ErrUnexpectedMessage, 0},
		{"CEA with overrun", true, false, 0, avps{rc, oh, or, ip, vid, pn, raw(t, "00000001 40000010")}, framing.ErrAVPOverrun, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := capMsg(tc.request, tc.flags, tc.avps...)
			var err error
			if tc.cea {
				_, err = framing.ParseCEA(b)
			} else {
				_, err = framing.ParseCER(b)
			}
			requireParseError(t, err, tc.want, tc.code)
		})
	}
}

func TestParseCEAFields(t *testing.T) {
	// The Failed-AVP is not parsed, only noted.
	b := capMsg(false, framing.FlagError,
		u32(framing.AVPResultCode, 3010), str(framing.AVPOriginHost, "h"), str(framing.AVPOriginRealm, "r"),
		func(b []byte) []byte { return framing.AppendString(b, framing.AVPErrorMessage, 0, 0, "unknown peer") },
		func(b []byte) []byte {
			b, g := framing.BeginGrouped(b, framing.AVPFailedAVP, framing.AVPFlagMandatory, 0)
			b = framing.AppendString(b, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "x")
			return framing.EndGrouped(b, g)
		},
	)
	a, err := framing.ParseCEA(b)
	require.NoError(t, err)
	assert.True(t, a.Error)
	assert.Equal(t, framing.UnknownPeer, a.ResultCode)
	assert.Equal(t, "unknown peer", a.ErrorMessage)
	assert.True(t, a.FailedAVP)
	assert.Equal(t, "h", a.OriginHost, "the Origin-Host inside Failed-AVP is not the sender's")
	assert.Empty(t, a.HostIPAddresses)
}

func TestSupports(t *testing.T) {
	cases := []struct {
		name    string
		c       framing.Capabilities
		app     uint32
		want    bool
		isRelay bool
	}{
		{"auth id", framing.Capabilities{AuthAppIDs: []uint32{framing.AppS13}}, framing.AppS13, true, false},
		{"acct id", framing.Capabilities{AcctAppIDs: []uint32{framing.AppS13}}, framing.AppS13, true, false},
		{"VSAI auth, any vendor", framing.Capabilities{VendorSpecificApps: []framing.VendorApp{{VendorID: 1, AuthAppID: framing.AppS13}}}, framing.AppS13, true, false},
		{"VSAI acct", framing.Capabilities{VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AcctAppID: framing.AppS13}}}, framing.AppS13, true, false},
		{"other app", framing.Capabilities{AuthAppIDs: []uint32{4}, VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: 16777251}}}, framing.AppS13, false, false},
		{"nothing advertised", framing.Capabilities{}, framing.AppS13, false, false},
		{"relay in auth", framing.Capabilities{AuthAppIDs: []uint32{framing.AppRelay}}, framing.AppS13, true, true},
		{"relay in acct", framing.Capabilities{AcctAppIDs: []uint32{framing.AppRelay}}, framing.AppS13, true, true},
		// The unused half of a VSAI is 0, which must not read as advertising application 0.
		{"VSAI does not advertise app 0", framing.Capabilities{VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}}, framing.AppCommon, false, false},
		{"explicit app 0", framing.Capabilities{AuthAppIDs: []uint32{framing.AppCommon}}, framing.AppCommon, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.c.Supports(tc.app))
			assert.Equal(t, tc.isRelay, tc.c.IsRelay())
		})
	}
}
