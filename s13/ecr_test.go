package s13

import (
	"errors"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendECRVector05(t *testing.T) {
	want := vector(t, "05_ecr")

	t.Run("explicit Session-Id", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		assert.Equal(t, want, AppendECR(nil, &env, &req))
	})
	t.Run("generated Session-Id", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		env.SessionHi, env.SessionLo = 1700000000, 42
		req.SessionID = ""
		assert.Equal(t, want, AppendECR(nil, &env, &req))
	})
	t.Run("appends after existing bytes", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		prefix := []byte{1, 2, 3}
		got := AppendECR(append([]byte(nil), prefix...), &env, &req)
		assert.Equal(t, prefix, got[:3])
		assert.Equal(t, want, got[3:])
	})
	t.Run("hand-built parts match the vector", func(t *testing.T) {
		// Guards the builders that the error tests rely on.
		assert.Equal(t, want, ecrMessage(ecrParts()))
	})
}

func TestAppendECRVector06Retransmit(t *testing.T) {
	want := vector(t, "06_ecr_retransmit_T")
	for _, generated := range []bool{false, true} {
		env, req := vectorEnvelope, vectorRequest
		env.Retransmit, env.HopByHop = true, 0x5b000001
		if generated {
			env.SessionHi, env.SessionLo = 1700000000, 42
			req.SessionID = ""
		}
		assert.Equal(t, want, AppendECR(nil, &env, &req), "generated Session-Id: %v", generated)
	}
}

func TestAppendECROptionalAVPs(t *testing.T) {
	env := vectorEnvelope
	req := Request{IMEI: testIMEI, DestinationRealm: realm, DestinationHost: eirHost, SessionID: sessionID}
	msg := AppendECR(nil, &env, &req)

	r, err := ParseECR(msg)
	require.NoError(t, err)
	assert.Equal(t, eirHost, string(r.DestinationHost))
	assert.Nil(t, r.SoftwareVersion, "empty SoftwareVersion is omitted")
	assert.Nil(t, r.UserName, "empty IMSI is omitted")

	// Destination-Host sits between Origin-Realm and Destination-Realm (ABNF order).
	var codes []uint32
	it := framing.AVPs(msg)
	for it.Next() {
		a := *it.AVP()
		codes = append(codes, a.Code)
	}
	require.NoError(t, it.Err())
	assert.Equal(t, []uint32{framing.AVPSessionID, framing.AVPVendorSpecificApplicationID,
		framing.AVPAuthSessionState, framing.AVPOriginHost, framing.AVPOriginRealm,
		framing.AVPDestinationHost, framing.AVPDestinationRealm, AVPTerminalInformation}, codes)
}

func TestAppendECRAllocs(t *testing.T) {
	env, req := vectorEnvelope, vectorRequest
	req.SessionID = ""
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		env.SessionLo++
		buf = AppendECR(buf[:0], &env, &req)
	})
	assert.Zero(t, allocs)
}

func TestParseECRVector05(t *testing.T) {
	r, err := ParseECR(vector(t, "05_ecr"))
	require.NoError(t, err)
	assert.Equal(t, framing.Header{Version: 1, Length: 340, Flags: framing.FlagRequest | framing.FlagProxiable,
		Code: CommandCode, AppID: AppID, HopByHop: 0x2a000003, EndToEnd: 0x10000003}, r.Header)
	assert.Equal(t, sessionID, string(r.SessionID))
	assert.Equal(t, mmeHost, string(r.OriginHost))
	assert.Equal(t, realm, string(r.OriginRealm))
	assert.Nil(t, r.DestinationHost)
	assert.Equal(t, realm, string(r.DestinationRealm))
	assert.Equal(t, testIMEI, string(r.IMEI))
	assert.Equal(t, testSV, string(r.SoftwareVersion))
	assert.Equal(t, testIMSI, string(r.UserName))
	assert.Equal(t, framing.NoStateMaintained, r.AuthSessionState)
	assert.Zero(t, r.NumProxyInfo)
	assert.Empty(t, r.ProxyInfos())
}

func TestParseECRVector06(t *testing.T) {
	r, err := ParseECR(vector(t, "06_ecr_retransmit_T"))
	require.NoError(t, err)
	assert.True(t, r.Header.IsRetransmit())
	assert.Equal(t, uint32(0x5b000001), r.Header.HopByHop)
	assert.Equal(t, testIMEI, string(r.IMEI))

	// The answer never carries T (RFC 6733 §3), and keeps the ids.
	eca := AppendECA(nil, &r, &eirIdentity, &Verdict{})
	h, err := framing.ParseHeader(eca)
	require.NoError(t, err)
	assert.Equal(t, framing.FlagProxiable, h.Flags)
	assert.Equal(t, uint32(0x5b000001), h.HopByHop)
	assert.Equal(t, uint32(0x10000003), h.EndToEnd)
}

func TestParseECRRoundTripsAppendECR(t *testing.T) {
	env := vectorEnvelope
	req := Request{IMEI: "352099001761481", SoftwareVersion: "07", IMSI: testIMSI, DestinationRealm: realm,
		DestinationHost: eirHost, SessionID: sessionID}
	r, err := ParseECR(AppendECR(nil, &env, &req))
	require.NoError(t, err)
	assert.Equal(t, req.IMEI, string(r.IMEI))
	assert.Equal(t, req.SoftwareVersion, string(r.SoftwareVersion))
	assert.Equal(t, req.DestinationHost, string(r.DestinationHost))
}

func TestParseECRAcceptsOptionalAndUnknownNonMandatoryAVPs(t *testing.T) {
	imei15 := "352099001761480" // 15th digit is a spare 0, not the Luhn digit 1: still accepted
	ps := replaced(ecrParts(), "Terminal-Information", terminalInfo(
		avpStr(AVPIMEI, fM, v3g, imei15),
		avpStr(AVP3GPP2MEID, fM, v3g, "meid"),
		avpStr(1499, 0, v3g, "unknown, no M bit"),
		avpStr(AVPSoftwareVersion, fM, v3g, testSV)))
	ps = appended(ps,
		avpStr(framing.AVPDestinationHost, fM, 0, eirHost),
		avpU32(framing.AVPDRMP, 0, 0, 15),
		avpU32(framing.AVPOriginStateID, fM, 0, 7),
		avpStr(framing.AVPRouteRecord, fM, 0, draHost),
		avpStr(framing.AVPRouteRecord, fM, 0, "dra2"),
		avpStr(9999, 0, 0, "unknown, no M bit"),
		avpStr(1500, 0, 77, "vendor-specific, no M bit"))
	// Session-Id need not come first.
	ps = append(ps[1:], ps[0])
	r, err := ParseECR(ecrMessage(ps))
	require.NoError(t, err)
	assert.Equal(t, imei15, string(r.IMEI))
	assert.Equal(t, eirHost, string(r.DestinationHost))
	assert.Equal(t, sessionID, string(r.SessionID))
}

func TestParseECRAuthSessionStateZero(t *testing.T) {
	r, err := ParseECR(ecrMessage(replaced(ecrParts(), "Auth-Session-State",
		avpU32(framing.AVPAuthSessionState, fM, 0, 0))))
	require.NoError(t, err)
	assert.Equal(t, framing.StateMaintained, r.AuthSessionState)
	// The EIR's answer says what it does: no state (RFC 6733 §8.11: the server's value binds).
	a := AppendECA(nil, &r, &eirIdentity, &Verdict{})
	v, ok, err := framing.Find(a, framing.AVPAuthSessionState, 0)
	require.NoError(t, err)
	require.True(t, ok)
	n, _ := v.Int32()
	assert.Equal(t, framing.NoStateMaintained, n)
}

func TestParseECRProxyInfoEchoed(t *testing.T) {
	pi := [][]byte{proxyInfo("a"), proxyInfo("bb"), proxyInfo("ccc")}
	// Interleaved with Route-Record: the order among Proxy-Info is what counts.
	ps := appended(ecrParts(), pi[0], avpStr(framing.AVPRouteRecord, fM, 0, draHost), pi[1], pi[2])
	r, err := ParseECR(ecrMessage(ps))
	require.NoError(t, err)
	require.Equal(t, 3, r.NumProxyInfo)
	for i := range pi {
		assert.Equal(t, pi[i], r.ProxyInfos()[i])
	}

	for _, v := range []Verdict{{}, {ResultCode: framing.TooBusy, ErrorMessage: "busy"}} {
		eca := AppendECA(nil, &r, &eirIdentity, &v)
		var got [][]byte
		it := framing.AVPs(eca)
		for it.Next() {
			a := *it.AVP()
			if a.Code == framing.AVPProxyInfo {
				got = append(got, eca[a.Offset:a.Offset+a.Len()])
			}
		}
		require.NoError(t, it.Err())
		assert.Equal(t, pi, got, "verdict %+v", v)
		_, err := ParseECA(eca)
		require.NoError(t, err)
	}
}

func TestParseECRMaxProxyInfo(t *testing.T) {
	ps := ecrParts()
	for i := range MaxProxyInfo {
		ps = appended(ps, proxyInfo(string(rune('a'+i))))
	}
	r, err := ParseECR(ecrMessage(ps))
	require.NoError(t, err)
	assert.Equal(t, MaxProxyInfo, r.NumProxyInfo)

	extra := proxyInfo("overflow")
	r, err = ParseECR(ecrMessage(appended(ps, extra)))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, framing.AVPOccursTooManyTimes, re.ResultCode)
	assert.Equal(t, extra, re.FailedAVP)
	assert.Equal(t, MaxProxyInfo, r.NumProxyInfo, "the first MaxProxyInfo are kept for the answer")
}

func TestParseECRErrors(t *testing.T) {
	base := ecrParts()
	ti := func(members ...[]byte) []part {
		return replaced(base, "Terminal-Information", terminalInfo(members...))
	}
	imei := avpStr(AVPIMEI, fM, v3g, testIMEI)
	sv := avpStr(AVPSoftwareVersion, fM, v3g, testSV)
	unknownM := avpStr(9999, fM, 0, "abc")
	unknownVendorM := avpStr(AVPEquipmentStatus, fM, v3g, "zz") // an ECA AVP, not in the ECR grammar
	badASS := avpRaw(framing.AVPAuthSessionState, fM, 0, 13, []byte{0, 0, 0, 1, 0, 0, 0, 0})
	zeroLenIMEI := avpRaw(AVPIMEI, fM|framing.AVPFlagVendor, v3g, 0, nil)
	overrunUserName := avpRaw(framing.AVPUserName, fM, 0, 255, []byte("0010"))
	secondOH := avpStr(framing.AVPOriginHost, fM, 0, "other.host")

	tests := []struct {
		name   string
		msg    []byte
		rc     framing.ResultCode
		failed []byte // exact Failed-AVP content
		is     error
		code   uint32 // AVP code named by the *framing.AVPError
	}{
		// 5005: a zero-filled example of the missing AVP, with Vendor-Id where it has one.
		{"missing Session-Id", ecrMessage(without(base, "Session-Id")), framing.MissingAVP,
			unhex(t, "00000107 40000008"), framing.ErrMissingAVP, framing.AVPSessionID},
		{"missing Auth-Session-State", ecrMessage(without(base, "Auth-Session-State")), framing.MissingAVP,
			unhex(t, "00000115 4000000c 00000000"), framing.ErrMissingAVP, framing.AVPAuthSessionState},
		{"missing Origin-Host", ecrMessage(without(base, "Origin-Host")), framing.MissingAVP,
			unhex(t, "00000108 40000008"), framing.ErrMissingAVP, framing.AVPOriginHost},
		{"missing Origin-Realm", ecrMessage(without(base, "Origin-Realm")), framing.MissingAVP,
			unhex(t, "00000128 40000008"), framing.ErrMissingAVP, framing.AVPOriginRealm},
		{"missing Destination-Realm", ecrMessage(without(base, "Destination-Realm")), framing.MissingAVP,
			unhex(t, "0000011b 40000008"), framing.ErrMissingAVP, framing.AVPDestinationRealm},
		{"missing Terminal-Information", ecrMessage(without(base, "Terminal-Information")), framing.MissingAVP,
			unhex(t, "00000579 c000000c 000028af"), framing.ErrMissingAVP, AVPTerminalInformation},
		{"missing IMEI", ecrMessage(ti(sv)), framing.MissingAVP,
			unhex(t, "0000057a c000000c 000028af"), framing.ErrMissingAVP, AVPIMEI},
		// 5001: the unknown AVP as received.
		{"unknown M-bit AVP", ecrMessage(appended(base, unknownM)), framing.AVPUnsupported,
			pad4(unknownM), ErrUnsupportedAVP, 9999},
		{"unknown M-bit 3GPP AVP", ecrMessage(appended(base, unknownVendorM)), framing.AVPUnsupported,
			pad4(unknownVendorM), ErrUnsupportedAVP, AVPEquipmentStatus},
		{"unknown M-bit AVP in Terminal-Information", ecrMessage(ti(imei, unknownM, sv)), framing.AVPUnsupported,
			pad4(unknownM), ErrUnsupportedAVP, 9999},
		{"IMEI without Vendor-Id is unknown", ecrMessage(ti(avpStr(AVPIMEI, fM, 0, testIMEI))), framing.AVPUnsupported,
			pad4(avpStr(AVPIMEI, fM, 0, testIMEI)), ErrUnsupportedAVP, AVPIMEI},
		// 5009: the second occurrence.
		{"duplicate Origin-Host", ecrMessage(appended(base, secondOH)), framing.AVPOccursTooManyTimes,
			pad4(secondOH), framing.ErrDuplicateAVP, framing.AVPOriginHost},
		{"duplicate Terminal-Information", ecrMessage(appended(base, terminalInfo(imei))), framing.AVPOccursTooManyTimes,
			terminalInfo(imei), framing.ErrDuplicateAVP, AVPTerminalInformation},
		{"duplicate IMEI", ecrMessage(ti(imei, avpStr(AVPIMEI, fM, v3g, "49015420323751"))), framing.AVPOccursTooManyTimes,
			pad4(avpStr(AVPIMEI, fM, v3g, "49015420323751")), framing.ErrDuplicateAVP, AVPIMEI},
		{"duplicate Session-Id", ecrMessage(appended(base, avpStr(framing.AVPSessionID, fM, 0, "x;1;2"))),
			framing.AVPOccursTooManyTimes, pad4(avpStr(framing.AVPSessionID, fM, 0, "x;1;2")), framing.ErrDuplicateAVP, framing.AVPSessionID},
		// 5014: a fixed-size value of the wrong size, as received.
		{"Auth-Session-State of 5 octets", ecrMessage(replaced(base, "Auth-Session-State", badASS)), framing.InvalidAVPLength,
			pad4(badASS[:13]), framing.ErrAVPData, framing.AVPAuthSessionState},
		// 5014: a broken AVP length; the header with a zero payload of the type's minimum size.
		{"zero AVP length inside Terminal-Information", ecrMessage(ti(zeroLenIMEI, sv)), framing.InvalidAVPLength,
			unhex(t, "0000057a c000000c 000028af"), framing.ErrAVPLength, AVPIMEI},
		{"AVP length past the message end", ecrMessage(replaced(base, "User-Name", overrunUserName)), framing.InvalidAVPLength,
			unhex(t, "00000001 40000008"), framing.ErrAVPOverrun, framing.AVPUserName},
		{"Auth-Session-State length past the end", ecrMessage(append(without(base, "Auth-Session-State"),
			part{"x", avpRaw(framing.AVPAuthSessionState, fM, 0, 64, []byte{0, 0, 0, 1})})), framing.InvalidAVPLength,
			unhex(t, "00000115 4000000c 00000000"), framing.ErrAVPOverrun, framing.AVPAuthSessionState},
		{"Terminal-Information length past the end", ecrMessage(append(without(base, "Terminal-Information"),
			part{"x", avpRaw(AVPTerminalInformation, fM|framing.AVPFlagVendor, v3g, 400, imei)})), framing.InvalidAVPLength,
			unhex(t, "00000579 c000000c 000028af"), framing.ErrAVPOverrun, AVPTerminalInformation},
		{"header cut short at the message end", ecrMessage(appended(base, []byte{0, 0, 1, 0x2c})), framing.InvalidAVPLength,
			unhex(t, "0000012c 00000008"), framing.ErrAVPOverrun, 0},
		{"zero length inside Proxy-Info", ecrMessage(appended(base, avpGroup(framing.AVPProxyInfo, fM, 0,
			avpRaw(framing.AVPProxyHost, fM, 0, 0, nil)))), framing.InvalidAVPLength,
			unhex(t, "00000118 40000008"), framing.ErrAVPLength, framing.AVPProxyHost},
		{"zero length inside Vendor-Specific-Application-Id", ecrMessage(replaced(base, "VSAI",
			avpGroup(framing.AVPVendorSpecificApplicationID, fM, 0, avpRaw(framing.AVPVendorID, fM, 0, 0, nil)))),
			framing.InvalidAVPLength, unhex(t, "0000010a 4000000c 00000000"), framing.ErrAVPLength, framing.AVPVendorID},
		// 5004: well framed, value out of range; the AVP as received.
		{"Auth-Session-State 2", ecrMessage(replaced(base, "Auth-Session-State", avpU32(framing.AVPAuthSessionState, fM, 0, 2))),
			framing.InvalidAVPValue, avpU32(framing.AVPAuthSessionState, fM, 0, 2), ErrInvalidAVPValue, framing.AVPAuthSessionState},
		{"IMEI of 13 digits", ecrMessage(ti(avpStr(AVPIMEI, fM, v3g, "3520990017614"))), framing.InvalidAVPValue,
			pad4(avpStr(AVPIMEI, fM, v3g, "3520990017614")), ErrInvalidAVPValue, AVPIMEI},
		{"IMEI of 16 digits", ecrMessage(ti(avpStr(AVPIMEI, fM, v3g, "3520990017614823"))), framing.InvalidAVPValue,
			pad4(avpStr(AVPIMEI, fM, v3g, "3520990017614823")), ErrInvalidAVPValue, AVPIMEI},
		{"IMEI with a letter", ecrMessage(ti(avpStr(AVPIMEI, fM, v3g, "3520990017614A"))), framing.InvalidAVPValue,
			pad4(avpStr(AVPIMEI, fM, v3g, "3520990017614A")), ErrInvalidAVPValue, AVPIMEI},
		{"Software-Version of 1 digit", ecrMessage(ti(imei, avpStr(AVPSoftwareVersion, fM, v3g, "2"))), framing.InvalidAVPValue,
			pad4(avpStr(AVPSoftwareVersion, fM, v3g, "2")), ErrInvalidAVPValue, AVPSoftwareVersion},
		{"empty Origin-Host", ecrMessage(replaced(base, "Origin-Host", avpStr(framing.AVPOriginHost, fM, 0, ""))), framing.InvalidAVPValue,
			avpStr(framing.AVPOriginHost, fM, 0, ""), ErrInvalidAVPValue, framing.AVPOriginHost},
		{"DRMP 16", ecrMessage(appended(base, avpU32(framing.AVPDRMP, 0, 0, 16))), framing.InvalidAVPValue,
			avpU32(framing.AVPDRMP, 0, 0, 16), ErrInvalidAVPValue, framing.AVPDRMP},
		// 3008: the E bit in a request.
		{"E bit", message(framing.FlagRequest|framing.FlagProxiable|framing.FlagError, CommandCode, AppID, base),
			framing.InvalidHdrBits, nil, ErrInvalidHeaderBits, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseECR(tt.msg)
			var re *RequestError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.rc, re.ResultCode)
			assert.Equal(t, tt.failed, re.FailedAVP)
			assert.ErrorIs(t, err, tt.is)
			assert.NotEmpty(t, err.Error())
			if tt.code != 0 {
				var ae *framing.AVPError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.code, ae.Code)
			}
			assert.Equal(t, uint32(0x2a000003), r.Header.HopByHop, "the header is kept for the answer")

			// The error is answerable, and the answer is a valid ECA for the client.
			ans := AppendRequestError(nil, &r, &eirIdentity, re)
			a, err := ParseECA(ans)
			require.NoError(t, err)
			assert.Equal(t, tt.rc, a.ResultCode)
			assert.Equal(t, tt.rc.IsProtocolError(), a.IsError())
			assert.Equal(t, r.Header.HopByHop, a.HopByHop)
			assert.Equal(t, r.Header.EndToEnd, a.EndToEnd)
			assert.False(t, a.HasEquipmentStatus)
			assert.NotEmpty(t, a.ErrorMessage)
			if tt.failed != nil {
				assert.Equal(t, tt.failed, a.FailedAVP)
			}
			if len(r.SessionID) > 0 {
				assert.Equal(t, r.SessionID, a.SessionID)
			}
		})
	}
}

func TestParseECRFirstErrorWinsButSessionAndProxyInfoAreCollected(t *testing.T) {
	// The first problem is reported (RFC 6733 §7); the scan still collects what the answer echoes.
	ps := []part{
		{"Session-Id", avpStr(framing.AVPSessionID, fM, 0, sessionID)},
		{"bad", avpStr(9999, fM, 0, "first")},
		{"dup", avpStr(framing.AVPSessionID, fM, 0, "second;1;1")}, // would be 5009: too late
		{"pi", proxyInfo("x")},
	}
	r, err := ParseECR(ecrMessage(ps))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, framing.AVPUnsupported, re.ResultCode)
	assert.Equal(t, sessionID, string(r.SessionID))
	require.Equal(t, 1, r.NumProxyInfo)
	assert.Equal(t, proxyInfo("x"), r.ProxyInfo[0])

	ans := AppendRequestError(nil, &r, &eirIdentity, re)
	a, err := ParseECA(ans)
	require.NoError(t, err)
	assert.Equal(t, sessionID, string(a.SessionID))
	_, found, err := framing.Find(ans, framing.AVPProxyInfo, 0)
	require.NoError(t, err)
	assert.True(t, found)
}

func TestParseECRSessionIdAfterError(t *testing.T) {
	// An error before Session-Id (here a missing-value problem early on) still lets a later
	// Session-Id be echoed.
	ps := []part{
		{"bad", avpU32(framing.AVPAuthSessionState, fM, 0, 9)},
		{"Session-Id", avpStr(framing.AVPSessionID, fM, 0, sessionID)},
	}
	r, err := ParseECR(ecrMessage(ps))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, framing.InvalidAVPValue, re.ResultCode)
	assert.Equal(t, sessionID, string(r.SessionID))
}

func TestParseECRTooBrokenForSessionID(t *testing.T) {
	// The first AVP has length 0: nothing after it can be framed, yet the request is answered.
	msg := ecrMessage([]part{{"broken", avpRaw(framing.AVPSessionID, fM, 0, 0, []byte("junk"))}})
	r, err := ParseECR(msg)
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, framing.InvalidAVPLength, re.ResultCode)
	assert.ErrorIs(t, err, framing.ErrAVPLength)
	assert.Equal(t, unhex(t, "00000107 40000008"), re.FailedAVP)
	assert.Nil(t, r.SessionID)

	ans := AppendRequestError(nil, &r, &eirIdentity, re)
	a, err := ParseECA(ans)
	require.NoError(t, err)
	assert.Nil(t, a.SessionID)
	assert.Equal(t, framing.InvalidAVPLength, a.ResultCode)
	assert.Equal(t, re.FailedAVP, a.FailedAVP)
	assert.False(t, a.IsError(), "5xxx answers use the ECA grammar without the E bit")
}

func TestParseECRNotAnECR(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"DWR", vector(t, "03_dwr"), ErrNotECR},
		{"ECA", vector(t, "07_eca_whitelisted"), ErrNotECR},
		{"other application", message(framing.FlagRequest|framing.FlagProxiable, CommandCode, 16777251, ecrParts()), ErrNotECR},
		{"bad version", vector(t, "90_bad_version_dwr"), framing.ErrVersion},
		{"bad message length", vector(t, "91_bad_msglen_dwr"), framing.ErrMessageLength},
		{"truncated", vector(t, "05_ecr")[:200], framing.ErrTruncated},
		{"short", []byte{1, 0, 0}, framing.ErrShortBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseECR(tt.msg)
			assert.ErrorIs(t, err, tt.want)
			var re *RequestError
			assert.False(t, errors.As(err, &re), "not answerable as an ECR")
		})
	}
}

// ParseECRInto resets what a previous ECR left in r: the fields, and the Proxy-Info it had. A
// message that is no ECR leaves r zero, as ParseECR returns it.
func TestParseECRIntoResets(t *testing.T) {
	var r ECR
	require.NoError(t, ParseECRInto(ecrMessage(appended(ecrParts(), proxyInfo("a"), proxyInfo("b"))), &r))
	require.Equal(t, 2, r.NumProxyInfo)
	require.NotEmpty(t, r.SoftwareVersion)

	plain := vector(t, "05_ecr")
	want, err := ParseECR(plain)
	require.NoError(t, err)
	require.NoError(t, ParseECRInto(plain, &r))
	assert.Equal(t, want, r, "nothing of the first ECR is left")

	eca := AppendECA(nil, &want, &eirIdentity, &Verdict{})
	require.ErrorIs(t, ParseECRInto(eca, &r), ErrNotECR)
	assert.Equal(t, ECR{}, r)
	require.Error(t, ParseECRInto(plain[:10], &r), "short")
	assert.Equal(t, ECR{}, r)
}

func TestParseECRAllocs(t *testing.T) {
	msgs := map[string][]byte{
		"05":         vector(t, "05_ecr"),
		"proxy-info": ecrMessage(appended(ecrParts(), proxyInfo("a"), proxyInfo("b"))),
	}
	for name, msg := range msgs {
		var r ECR
		var err error
		allocs := testing.AllocsPerRun(100, func() { r, err = ParseECR(msg) })
		require.NoError(t, err)
		assert.Zero(t, allocs, name)
		assert.Zero(t, testing.AllocsPerRun(100, func() { err = ParseECRInto(msg, &r) }), name)
		require.NoError(t, err)
	}
}
