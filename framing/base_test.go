package framing_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
)

var (
	mme = framing.Identity{OriginHost: mmeHost, OriginRealm: realm, OriginStateID: stateID}
	dra = framing.Identity{OriginHost: draHost, OriginRealm: realm}
)

func TestDWRRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		id   framing.Identity
	}{
		{"with Origin-State-Id", mme},
		{"without Origin-State-Id", framing.Identity{OriginHost: "a", OriginRealm: "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendDWR(nil, 0x2a000002, 0x10000002, &tc.id)
			h, err := framing.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, framing.Header{Version: 1, Length: uint32(len(b)), Flags: framing.FlagRequest,
				Code: framing.CmdDeviceWatchdog, HopByHop: 0x2a000002, EndToEnd: 0x10000002}, h)

			got, err := framing.ParseDWR(b)
			require.NoError(t, err)
			assert.Equal(t, tc.id.OriginHost, string(got.OriginHost))
			assert.Equal(t, tc.id.OriginRealm, string(got.OriginRealm))
			assert.Equal(t, tc.id.OriginStateID != 0, got.HasOriginStateID, "0 means not sent")
			assert.Equal(t, tc.id.OriginStateID, got.OriginStateID)
		})
	}
}

func TestAnswerHeader(t *testing.T) {
	cases := []struct {
		name      string
		reqFlags  uint8
		wantFlags uint8
	}{
		{"plain request", framing.FlagRequest, 0},
		{"P is kept", framing.FlagRequest | framing.FlagProxiable, framing.FlagProxiable},
		{"T and reserved bits are dropped", framing.FlagRequest | framing.FlagProxiable | framing.FlagRetransmit | 0x0f,
			framing.FlagProxiable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := framing.Header{Version: 1, Length: 340, Flags: tc.reqFlags, Code: framing.CmdMEIdentityCheck,
				AppID: framing.AppS13, HopByHop: 0x5b000001, EndToEnd: 0x10000003}
			assert.Equal(t, framing.Header{Version: 1, Flags: tc.wantFlags, Code: framing.CmdMEIdentityCheck,
				AppID: framing.AppS13, HopByHop: 0x5b000001, EndToEnd: 0x10000003}, framing.AnswerHeader(req))
		})
	}
}

func TestAnswersCopyRequestIDs(t *testing.T) {
	req := framing.Header{Version: 1, Flags: framing.FlagRequest | framing.FlagRetransmit,
		Code: framing.CmdDeviceWatchdog, HopByHop: 11, EndToEnd: 22}
	cases := []struct {
		name  string
		code  uint32
		b     []byte
		parse func([]byte) (framing.Base, error)
	}{
		{"DWA", framing.CmdDeviceWatchdog, framing.AppendDWA(nil, req, framing.Success, &dra), framing.ParseDWA},
		{"DPA", framing.CmdDisconnectPeer, framing.AppendDPA(nil, withCode(req, framing.CmdDisconnectPeer), framing.TooBusy, &dra), framing.ParseDPA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := framing.ParseHeader(tc.b)
			require.NoError(t, err)
			assert.Equal(t, tc.code, h.Code)
			assert.Equal(t, uint8(0), h.Flags, "an answer has no R, T or E")
			assert.Equal(t, uint32(11), h.HopByHop)
			assert.Equal(t, uint32(22), h.EndToEnd)
			got, err := tc.parse(tc.b)
			require.NoError(t, err)
			assert.True(t, got.HasResultCode)
			assert.Equal(t, draHost, string(got.OriginHost))
		})
	}
}

func withCode(h framing.Header, code uint32) framing.Header { h.Code = code; return h }

func TestDPRRoundTrip(t *testing.T) {
	for _, cause := range []framing.DisconnectCause{framing.Rebooting, framing.Busy, framing.DoNotWantToTalkToYou, 7} {
		t.Run(cause.String(), func(t *testing.T) {
			b := framing.AppendDPR(nil, 1, 2, &mme, cause)
			got, err := framing.ParseDPR(b)
			require.NoError(t, err)
			assert.True(t, got.HasDisconnectCause)
			assert.Equal(t, cause, got.DisconnectCause)
			assert.False(t, got.HasOriginStateID, "a DPR has no Origin-State-Id")
		})
	}
}

// msg builds a message with the given header and AVPs, for hand-made malformed cases.
func msg(flags uint8, code uint32, avps ...func([]byte) []byte) []byte {
	b, m := framing.BeginMessage(nil, framing.Header{Flags: flags, Code: code})
	for _, a := range avps {
		b = a(b)
	}
	return framing.EndMessage(b, m)
}

func str(code uint32, s string) func([]byte) []byte {
	return func(b []byte) []byte { return framing.AppendString(b, code, framing.AVPFlagMandatory, 0, s) }
}

func u32(code uint32, v uint32) func([]byte) []byte {
	return func(b []byte) []byte { return framing.AppendUint32(b, code, framing.AVPFlagMandatory, 0, v) }
}

func vendorU32(code uint32, v uint32) func([]byte) []byte {
	return func(b []byte) []byte {
		return framing.AppendUint32(b, code, framing.AVPFlagMandatory, framing.Vendor3GPP, v)
	}
}

func raw(tb testing.TB, hexStr string) func([]byte) []byte {
	data := unhex(tb, hexStr)
	return func(b []byte) []byte { return append(b, data...) }
}

func TestParseBaseMessagesErrors(t *testing.T) {
	const R = framing.FlagRequest
	oh, or := str(framing.AVPOriginHost, "h"), str(framing.AVPOriginRealm, "r")
	rc := u32(framing.AVPResultCode, 2001)
	dc := u32(framing.AVPDisconnectCause, 0)
	type parser = func([]byte) (framing.Base, error)
	cases := []struct {
		name  string
		parse parser
		msg   []byte
		want  error
		code  uint32 // AVP named by the AVPError; 0 when the error is not about an AVP
	}{
		{"DWR ok", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or), nil, 0},
		{"DWR without Origin-Host", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, or), framing.ErrMissingAVP, framing.AVPOriginHost},
		{"DWR with empty Origin-Host", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, str(framing.AVPOriginHost, ""), or), framing.ErrMissingAVP, framing.AVPOriginHost},
		{"DWR without Origin-Realm", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh), framing.ErrMissingAVP, framing.AVPOriginRealm},
		{"DWR given a DWA", framing.ParseDWR, msg(0, framing.CmdDeviceWatchdog, rc, oh, or), framing.ErrUnexpectedMessage, 0},
		{"DWR given a DPR", framing.ParseDWR, msg(R, framing.CmdDisconnectPeer, oh, or, dc), framing.ErrUnexpectedMessage, 0},
		{"DWR with two Origin-Hosts", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or, oh), framing.ErrDuplicateAVP, framing.AVPOriginHost},
		{"DWR with short Origin-State-Id", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or, raw(t, "00000116 4000000a 0001 0000")), framing.ErrAVPData, framing.AVPOriginStateID},
		{"DWR ignores a vendor AVP with a base code", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or, vendorU32(framing.AVPOriginHost, 1)), nil, 0},
		{"DWR skips unknown AVPs", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, u32(9999, 1), oh, or), nil, 0},
		{"DWA ok", framing.ParseDWA, msg(0, framing.CmdDeviceWatchdog, rc, oh, or), nil, 0},
		{"DWA without Result-Code", framing.ParseDWA, msg(0, framing.CmdDeviceWatchdog, oh, or), framing.ErrMissingAVP, framing.AVPResultCode},
		{"DWA with vendor Result-Code only", framing.ParseDWA, msg(0, framing.CmdDeviceWatchdog, vendorU32(framing.AVPResultCode, 2001), oh, or), framing.ErrMissingAVP, framing.AVPResultCode},
		{"DWA with two Result-Codes", framing.ParseDWA, msg(0, framing.CmdDeviceWatchdog, rc, rc, oh, or), framing.ErrDuplicateAVP, framing.AVPResultCode},
		{"DWA with 8-octet Result-Code", framing.ParseDWA, msg(0, framing.CmdDeviceWatchdog, raw(t, "0000010c 40000010 00000000 000007d1"), oh, or), framing.ErrAVPData, framing.AVPResultCode},
		{"DWA given a DWR", framing.ParseDWA, msg(R, framing.CmdDeviceWatchdog, rc, oh, or), framing.ErrUnexpectedMessage, 0},
		{"DPR ok", framing.ParseDPR, msg(R, framing.CmdDisconnectPeer, oh, or, dc), nil, 0},
		{"DPR without Disconnect-Cause", framing.ParseDPR, msg(R, framing.CmdDisconnectPeer, oh, or), framing.ErrMissingAVP, framing.AVPDisconnectCause},
		{"DPR with short Disconnect-Cause", framing.ParseDPR, msg(R, framing.CmdDisconnectPeer, oh, or, raw(t, "00000111 40000009 00 000000")), framing.ErrAVPData, framing.AVPDisconnectCause},
		{"DPA ok", framing.ParseDPA, msg(0, framing.CmdDisconnectPeer, rc, oh, or), nil, 0},
		{"DPA without Origin-Realm", framing.ParseDPA, msg(0, framing.CmdDisconnectPeer, rc, oh), framing.ErrMissingAVP, framing.AVPOriginRealm},
		{"DPA given a DWA", framing.ParseDPA, msg(0, framing.CmdDeviceWatchdog, rc, oh, or), framing.ErrUnexpectedMessage, 0},
		{"truncated", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or)[:28], framing.ErrTruncated, 0},
		{"short", framing.ParseDWR, make([]byte, 12), framing.ErrShortBuffer, 0},
		{"bad AVP length", framing.ParseDWR, msg(R, framing.CmdDeviceWatchdog, oh, or, raw(t, "00000001 40000004")), framing.ErrAVPLength, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.parse(tc.msg)
			requireParseError(t, err, tc.want, tc.code)
		})
	}
}

func TestParseBase(t *testing.T) {
	failed := framing.AppendUint32(nil, 9999, framing.AVPFlagMandatory, 0, 1)
	b := msg(framing.FlagProxiable|framing.FlagError, framing.CmdMEIdentityCheck,
		str(framing.AVPSessionID, "s;1;2"),
		str(framing.AVPOriginHost, "h"),
		str(framing.AVPOriginRealm, "r"),
		u32(framing.AVPResultCode, 5001),
		u32(framing.AVPOriginStateID, 0),
		func(b []byte) []byte { return framing.AppendString(b, framing.AVPErrorMessage, 0, 0, "why") },
		func(b []byte) []byte {
			b, g := framing.BeginGrouped(b, framing.AVPFailedAVP, framing.AVPFlagMandatory, 0)
			b = append(b, failed...)
			return framing.EndGrouped(b, g)
		},
	)
	h, got, err := framing.ParseBase(b)
	require.NoError(t, err)
	assert.Equal(t, framing.CmdMEIdentityCheck, h.Code)
	assert.Equal(t, framing.Base{
		ResultCode:       framing.AVPUnsupported,
		HasResultCode:    true,
		OriginHost:       []byte("h"),
		OriginRealm:      []byte("r"),
		OriginStateID:    0,
		HasOriginStateID: true, // present, even though 0
		SessionID:        []byte("s;1;2"),
		ErrorMessage:     []byte("why"),
		FailedAVP:        failed,
	}, got)

	// ParseBase does not judge the command; ParseAnswerMessage needs the E bit.
	_, err = framing.ParseAnswerMessage(b)
	require.NoError(t, err)
}

func TestParseAnswerMessageNeedsEBit(t *testing.T) {
	oh, or, rc := str(framing.AVPOriginHost, "h"), str(framing.AVPOriginRealm, "r"), u32(framing.AVPResultCode, 3002)
	cases := []struct {
		name  string
		flags uint8
		avps  []func([]byte) []byte
		want  error
	}{
		{"E answer", framing.FlagError, []func([]byte) []byte{oh, or, rc}, nil},
		{"answer without E", 0, []func([]byte) []byte{oh, or, rc}, framing.ErrUnexpectedMessage},
		{"request with E", framing.FlagRequest | framing.FlagError, []func([]byte) []byte{oh, or, rc}, framing.ErrUnexpectedMessage},
		{"E answer without Result-Code", framing.FlagError, []func([]byte) []byte{oh, or}, framing.ErrMissingAVP},
		{"E answer without Origin-Host", framing.FlagError, []func([]byte) []byte{or, rc}, framing.ErrMissingAVP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := framing.ParseAnswerMessage(msg(tc.flags, 316, tc.avps...))
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
}

func TestAppendAnswerMessage(t *testing.T) {
	req := framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable | framing.FlagRetransmit,
		Code: framing.CmdMEIdentityCheck, AppID: framing.AppS13, HopByHop: 3, EndToEnd: 4}
	failed := framing.AppendString(nil, 1402, framing.AVPFlagMandatory, framing.Vendor3GPP, "bad")
	proxy := func() []byte {
		b, g := framing.BeginGrouped(nil, framing.AVPProxyInfo, framing.AVPFlagMandatory, 0)
		b = framing.AppendString(b, framing.AVPProxyHost, framing.AVPFlagMandatory, 0, "dra")
		b = framing.AppendOctets(b, framing.AVPProxyState, framing.AVPFlagMandatory, 0, []byte{1, 2, 3})
		return framing.EndGrouped(b, g)
	}()

	cases := []struct {
		name      string
		e         framing.ErrorAnswer
		wantFlags uint8
		wantCodes []uint32
	}{
		{"3xxx sets E", framing.ErrorAnswer{ResultCode: framing.TooBusy},
			framing.FlagProxiable | framing.FlagError,
			[]uint32{framing.AVPOriginHost, framing.AVPOriginRealm, framing.AVPResultCode, framing.AVPOriginStateID}},
		{"5xxx does not", framing.ErrorAnswer{ResultCode: framing.AVPUnsupported, FailedAVP: failed},
			framing.FlagProxiable,
			[]uint32{framing.AVPOriginHost, framing.AVPOriginRealm, framing.AVPResultCode, framing.AVPOriginStateID, framing.AVPFailedAVP}},
		{"everything, in ABNF order", framing.ErrorAnswer{ResultCode: framing.UnableToDeliver, SessionID: []byte("s"),
			ErrorMessage: "no route", FailedAVP: failed, ProxyInfo: [][]byte{proxy, proxy}},
			framing.FlagProxiable | framing.FlagError,
			[]uint32{framing.AVPSessionID, framing.AVPOriginHost, framing.AVPOriginRealm, framing.AVPResultCode,
				framing.AVPOriginStateID, framing.AVPErrorMessage, framing.AVPFailedAVP, framing.AVPProxyInfo, framing.AVPProxyInfo}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := framing.AppendAnswerMessage(nil, req, &mme, &tc.e)
			h, err := framing.ParseHeader(b)
			require.NoError(t, err)
			assert.Equal(t, tc.wantFlags, h.Flags)
			assert.Equal(t, req.HopByHop, h.HopByHop)
			assert.Equal(t, req.EndToEnd, h.EndToEnd)
			assert.Equal(t, req.AppID, h.AppID)

			var codes []uint32
			it := framing.AVPs(b)
			for it.Next() {
				a := *it.AVP()
				codes = append(codes, a.Code)
				switch a.Code {
				case framing.AVPErrorMessage:
					assert.False(t, a.Mandatory(), "Error-Message has no M bit")
				case framing.AVPProxyInfo:
					assert.Equal(t, proxy[8:], a.Data, "Proxy-Info is copied verbatim")
				}
			}
			require.NoError(t, it.Err())
			assert.Equal(t, tc.wantCodes, codes)

			_, got, err := framing.ParseBase(b)
			require.NoError(t, err)
			assert.Equal(t, tc.e.ResultCode, got.ResultCode)
			if tc.e.FailedAVP != nil {
				assert.Equal(t, failed, got.FailedAVP, "Failed-AVP wraps the offending AVP")
			} else {
				assert.Nil(t, got.FailedAVP)
			}
			assert.Equal(t, tc.e.ErrorMessage, string(got.ErrorMessage))
		})
	}
}

func TestBaseParsersDoNotAllocate(t *testing.T) {
	dwr, dwa := vector(t, "03_dwr"), vector(t, "04_dwa")
	var err1, err2 error
	allocs := testing.AllocsPerRun(100, func() {
		_, err1 = framing.ParseDWR(dwr)
		_, err2 = framing.ParseDWA(dwa)
	})
	require.NoError(t, err1)
	require.NoError(t, err2)
	assert.Zero(t, allocs)
}

// requireParseError checks a parser's outcome: no error when want is nil, else an error matching
// want that is an AVPError about code, or no AVPError at all when code is 0.
func requireParseError(t *testing.T, err, want error, code uint32) {
	t.Helper()
	if want == nil {
		require.NoError(t, err)
		return
	}
	require.ErrorIs(t, err, want)
	var ae *framing.AVPError
	if code == 0 {
		assert.False(t, errors.As(err, &ae), "not an AVP error: %v", err)
		return
	}
	require.True(t, errors.As(err, &ae), "want an AVPError, got %v", err)
	assert.Equal(t, code, ae.Code)
}

// AppendErrorFor echoes the request's Session-Id and Proxy-Info AVPs, in order.
func TestAppendErrorFor(t *testing.T) {
	pi := func(host string) []byte {
		b, g := framing.BeginGrouped(nil, framing.AVPProxyInfo, framing.AVPFlagMandatory, 0)
		b = framing.AppendString(b, framing.AVPProxyHost, framing.AVPFlagMandatory, 0, host)
		b = framing.AppendOctets(b, framing.AVPProxyState, framing.AVPFlagMandatory, 0, []byte{7})
		return framing.EndGrouped(b, g)
	}
	req, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable, Code: 999, AppID: 5, HopByHop: 9, EndToEnd: 10})
	req = framing.AppendString(req, framing.AVPSessionID, framing.AVPFlagMandatory, 0, "a;1;2")
	req = append(req, pi("dra1")...)
	req = framing.AppendString(req, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "peer")
	req = append(req, pi("dra2")...)
	req = framing.EndMessage(req, m)
	h, err := framing.ParseHeader(req)
	require.NoError(t, err)

	ans := framing.AppendErrorFor(nil, req, &h, &mme, framing.CommandUnsupported, "no")
	b, err := framing.ParseAnswerMessage(ans)
	require.NoError(t, err)
	assert.Equal(t, framing.CommandUnsupported, b.ResultCode)
	assert.Equal(t, "a;1;2", string(b.SessionID))
	assert.Equal(t, "no", string(b.ErrorMessage))
	var echoed [][]byte
	it := framing.AVPs(ans)
	for it.Next() {
		if a := it.AVP(); a.Code == framing.AVPProxyInfo {
			echoed = append(echoed, ans[a.Offset:a.Offset+a.Len()])
		}
	}
	assert.Equal(t, [][]byte{pi("dra1"), pi("dra2")}, echoed)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		ans = framing.AppendErrorFor(ans[:0], req, &h, &mme, framing.CommandUnsupported, "")
	}))
}
