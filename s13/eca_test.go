package s13

import (
	"errors"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseECAVectors(t *testing.T) {
	t.Run("07 whitelisted", func(t *testing.T) {
		a, err := ParseECA(vector(t, "07_eca_whitelisted"))
		require.NoError(t, err)
		assert.Equal(t, uint32(0x2a000003), a.HopByHop)
		assert.Equal(t, uint32(0x10000003), a.EndToEnd)
		assert.Equal(t, framing.FlagProxiable, a.Flags)
		assert.False(t, a.IsError())
		assert.True(t, a.Succeeded())
		assert.Equal(t, framing.Success, a.ResultCode)
		assert.False(t, a.HasExperimentalResult)
		assert.True(t, a.HasEquipmentStatus)
		assert.Equal(t, Whitelisted, a.EquipmentStatus)
		assert.Equal(t, sessionID, string(a.SessionID))
		assert.Equal(t, eirHost, string(a.OriginHost))
		assert.Equal(t, realm, string(a.OriginRealm))
		assert.Nil(t, a.ErrorMessage)
		assert.Nil(t, a.FailedAVP)
		assert.Equal(t, "DIAMETER_SUCCESS WHITELISTED", a.String())
	})
	t.Run("08 equipment unknown", func(t *testing.T) {
		a, err := ParseECA(vector(t, "08_eca_equipment_unknown"))
		require.NoError(t, err)
		assert.False(t, a.Succeeded())
		assert.Equal(t, framing.ResultCode(0), a.ResultCode)
		assert.True(t, a.HasExperimentalResult)
		assert.Equal(t, ExperimentalResult{VendorID: VendorID, Code: EquipmentUnknown}, a.ExperimentalResult)
		assert.False(t, a.HasEquipmentStatus)
		assert.Equal(t, sessionID, string(a.SessionID))
		assert.Equal(t, "DIAMETER_ERROR_EQUIPMENT_UNKNOWN", a.String())
	})
	t.Run("09 answer-message 3002", func(t *testing.T) {
		a, err := ParseECA(vector(t, "09_answer_3002_unable_to_deliver"))
		require.NoError(t, err)
		assert.True(t, a.IsError())
		assert.Equal(t, framing.UnableToDeliver, a.ResultCode)
		assert.False(t, a.HasExperimentalResult)
		assert.False(t, a.HasEquipmentStatus)
		assert.Equal(t, "no route", string(a.ErrorMessage))
		assert.Equal(t, draHost, string(a.OriginHost))
		assert.Equal(t, sessionID, string(a.SessionID))
		assert.Equal(t, "DIAMETER_UNABLE_TO_DELIVER (E)", a.String())
	})
}

func TestAppendECAReencodesVectors(t *testing.T) {
	req, err := ParseECR(vector(t, "05_ecr"))
	require.NoError(t, err)
	id := eirIdentity

	t.Run("07", func(t *testing.T) {
		want := vector(t, "07_eca_whitelisted")
		assert.Equal(t, want, AppendECA(nil, &req, &id, &Verdict{}), "zero Verdict is 2001 WHITELISTED")
		assert.Equal(t, want, AppendECA(nil, &req, &id, &Verdict{ResultCode: framing.Success, EquipmentStatus: Whitelisted}))
	})
	t.Run("08", func(t *testing.T) {
		want := vector(t, "08_eca_equipment_unknown")
		assert.Equal(t, want, AppendECA(nil, &req, &id, &Verdict{Experimental: EquipmentUnknown}))
		// Experimental wins; Equipment-Status only travels with 2001.
		assert.Equal(t, want, AppendECA(nil, &req, &id,
			&Verdict{ResultCode: framing.Success, Experimental: EquipmentUnknown, EquipmentStatus: Blacklisted}))
	})
}

func TestParseECAResultCodeVsExperimental5001(t *testing.T) {
	rc := ecaMessage(replaced(without(ecaParts(), "Equipment-Status"), "Result-Code",
		avpU32(framing.AVPResultCode, fM, 0, 5001)))
	a, err := ParseECA(rc)
	require.NoError(t, err)
	assert.Equal(t, framing.AVPUnsupported, a.ResultCode)
	assert.False(t, a.HasExperimentalResult)

	ex := ecaMessage(replaced(without(ecaParts(), "Equipment-Status"), "Result-Code", experimentalResult(VendorID, 5001)))
	b, err := ParseECA(ex)
	require.NoError(t, err)
	assert.Equal(t, framing.ResultCode(0), b.ResultCode)
	assert.True(t, b.HasExperimentalResult)
	assert.Equal(t, ExperimentalResultCode(5001), b.ExperimentalResult.Code)
	assert.NotEqual(t, a.String(), b.String())
}

func TestParseECAErrors(t *testing.T) {
	base := ecaParts()
	tests := []struct {
		name string
		msg  []byte
		want error
		code uint32 // AVP code the *framing.AVPError names, when non-zero
	}{
		{"missing Origin-Host", ecaMessage(without(base, "Origin-Host")), framing.ErrMissingAVP, framing.AVPOriginHost},
		{"missing Origin-Realm", ecaMessage(without(base, "Origin-Realm")), framing.ErrMissingAVP, framing.AVPOriginRealm},
		{"both results", ecaMessage(appended(base, experimentalResult(VendorID, 5422))), ErrBothResults, 0},
		{"no result", ecaMessage(without(base, "Result-Code")), ErrNoResult, 0},
		{"duplicate Result-Code", ecaMessage(appended(base, avpU32(framing.AVPResultCode, fM, 0, 2001))),
			framing.ErrDuplicateAVP, framing.AVPResultCode},
		{"duplicate Equipment-Status", ecaMessage(appended(base, avpU32(AVPEquipmentStatus, fM, v3g, 1))),
			framing.ErrDuplicateAVP, AVPEquipmentStatus},
		{"unknown base M-bit AVP", ecaMessage(appended(base, avpStr(9999, fM, 0, "x"))), ErrUnsupportedAVP, 9999},
		{"unknown 3GPP M-bit AVP", ecaMessage(appended(base, avpStr(1500, fM, v3g, "x"))), ErrUnsupportedAVP, 1500},
		{"Result-Code of 3 octets", ecaMessage(replaced(base, "Result-Code",
			avpRaw(framing.AVPResultCode, fM, 0, 11, []byte{0, 7, 0xd1}))), framing.ErrAVPData, framing.AVPResultCode},
		{"zero AVP length inside Experimental-Result", ecaMessage(replaced(base, "Result-Code",
			avpGroup(framing.AVPExperimentalResult, fM, 0, avpRaw(framing.AVPVendorID, fM, 0, 0, []byte{0, 0, 0x28, 0xaf})))),
			framing.ErrAVPLength, framing.AVPVendorID},
		{"Experimental-Result without Vendor-Id", ecaMessage(replaced(base, "Result-Code",
			avpGroup(framing.AVPExperimentalResult, fM, 0, avpU32(framing.AVPExperimentalResultCode, fM, 0, 5422)))),
			framing.ErrMissingAVP, framing.AVPVendorID},
		{"Terminal-Information with a zero-length member", ecaMessage(appended(base,
			avpGroup(AVPTerminalInformation, fM, v3g, avpRaw(AVPIMEI, fM|framing.AVPFlagVendor, v3g, 0, nil)))),
			ErrUnsupportedAVP, AVPTerminalInformation},
		{"AVP length past the end", ecaMessage(appended(base, avpRaw(framing.AVPErrorMessage, 0, 0, 200, []byte("abcd")))),
			framing.ErrAVPOverrun, framing.AVPErrorMessage},
		{"wrong command (DWA)", vector(t, "04_dwa"), ErrNotECA, 0},
		{"request (ECR)", vector(t, "05_ecr"), ErrNotECA, 0},
		{"other application", message(framing.FlagProxiable, CommandCode, 4, base), ErrNotECA, 0},
		{"bad version", vector(t, "90_bad_version_dwr"), framing.ErrVersion, 0},
		{"truncated", vector(t, "07_eca_whitelisted")[:100], framing.ErrTruncated, 0},
		{"E bit without Result-Code", message(framing.FlagProxiable|framing.FlagError, CommandCode, AppID,
			replaced(base, "Result-Code", experimentalResult(VendorID, 5422))), ErrNoResult, 0},
		{"E bit with Result-Code 2001", message(framing.FlagProxiable|framing.FlagError, CommandCode, AppID, base),
			ErrInvalidHeaderBits, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseECA(tt.msg)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			if tt.code != 0 {
				var ae *framing.AVPError
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.code, ae.Code)
			}
		})
	}
}

func TestParseECASkipsUnknownOptionalAVPs(t *testing.T) {
	msg := ecaMessage(appended(ecaParts(),
		avpStr(9999, 0, 0, "x"),
		avpStr(1500, 0, v3g, "y"),
		avpStr(framing.AVPRouteRecord, fM, 0, draHost),
		avpGroup(framing.AVPProxyInfo, fM, 0, avpStr(framing.AVPProxyHost, fM, 0, draHost), avpStr(framing.AVPProxyState, fM, 0, "s")),
	))
	a, err := ParseECA(msg)
	require.NoError(t, err)
	assert.True(t, a.Succeeded())
	assert.Equal(t, Whitelisted, a.EquipmentStatus)
}

func TestParseECAIgnoresTrailingBytes(t *testing.T) {
	msg := append(vector(t, "07_eca_whitelisted"), 0xde, 0xad, 0xbe, 0xef)
	a, err := ParseECA(msg)
	require.NoError(t, err)
	assert.True(t, a.Succeeded())
}

func TestAnswerCloneIsIndependent(t *testing.T) {
	msg := append(vector(t, "09_answer_3002_unable_to_deliver"), []byte{}...)
	a, err := ParseECA(msg)
	require.NoError(t, err)
	c := a.Clone()
	assert.Equal(t, a, c)

	// Overwrite the receive buffer, as the next read would.
	for i := range msg {
		msg[i] = 'Z'
	}
	assert.Equal(t, sessionID, string(c.SessionID))
	assert.Equal(t, draHost, string(c.OriginHost))
	assert.Equal(t, realm, string(c.OriginRealm))
	assert.Equal(t, "no route", string(c.ErrorMessage))
	assert.NotEqual(t, sessionID, string(a.SessionID), "the original aliases the buffer")

	// Fields of the clone do not overlap: appending to one cannot clobber the next.
	_ = append(c.SessionID, "XXXXXXXX"...)
	assert.Equal(t, draHost, string(c.OriginHost))
	assert.Nil(t, c.FailedAVP, "absent fields stay nil")

	var empty Answer
	assert.Equal(t, empty, empty.Clone())
}

func TestParseECAAllocs(t *testing.T) {
	for _, name := range []string{"07_eca_whitelisted", "08_eca_equipment_unknown", "09_answer_3002_unable_to_deliver"} {
		msg := vector(t, name)
		var a Answer
		var err error
		allocs := testing.AllocsPerRun(100, func() { a, err = ParseECA(msg) })
		require.NoError(t, err)
		assert.Zero(t, allocs, name)
		_ = a
	}
}

func TestParseECAErrorsMatchOneSentinel(t *testing.T) {
	// ErrNotECA and the framing sentinels are distinct: a caller can branch on them.
	_, err := ParseECA(vector(t, "03_dwr"))
	assert.ErrorIs(t, err, ErrNotECA)
	assert.False(t, errors.Is(err, framing.ErrUnexpectedMessage))
}

func TestAppendECAVerdicts(t *testing.T) {
	req, err := ParseECR(vector(t, "05_ecr"))
	require.NoError(t, err)
	failed := avpStr(9999, fM, 0, "abc")

	tests := []struct {
		name  string
		v     Verdict
		check func(t *testing.T, a Answer)
	}{
		{"blacklisted", Verdict{EquipmentStatus: Blacklisted}, func(t *testing.T, a Answer) {
			assert.True(t, a.Succeeded())
			assert.True(t, a.HasEquipmentStatus)
			assert.Equal(t, Blacklisted, a.EquipmentStatus)
		}},
		{"greylisted 2001", Verdict{ResultCode: framing.Success, EquipmentStatus: Greylisted}, func(t *testing.T, a Answer) {
			assert.Equal(t, Greylisted, a.EquipmentStatus)
		}},
		{"5012 no status, no E bit", Verdict{ResultCode: framing.UnableToComply, EquipmentStatus: Blacklisted,
			ErrorMessage: "nope", FailedAVP: pad4(failed)}, func(t *testing.T, a Answer) {
			assert.False(t, a.IsError())
			assert.Equal(t, framing.UnableToComply, a.ResultCode)
			assert.False(t, a.HasEquipmentStatus)
			assert.Equal(t, "nope", string(a.ErrorMessage))
			assert.Equal(t, pad4(failed), a.FailedAVP)
		}},
		{"experimental 5001 is not Result-Code 5001", Verdict{Experimental: 5001}, func(t *testing.T, a Answer) {
			assert.Zero(t, a.ResultCode)
			assert.Equal(t, ExperimentalResult{VendorID, 5001}, a.ExperimentalResult)
		}},
		{"3004 answer-message", Verdict{ResultCode: framing.TooBusy, ErrorMessage: "busy"}, func(t *testing.T, a Answer) {
			assert.True(t, a.IsError())
			assert.Equal(t, framing.TooBusy, a.ResultCode)
			assert.False(t, a.HasEquipmentStatus)
			assert.Equal(t, "busy", string(a.ErrorMessage))
			assert.Equal(t, sessionID, string(a.SessionID))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := AppendECA(nil, &req, &eirIdentity, &tt.v)
			a, err := ParseECA(msg)
			require.NoError(t, err)
			assert.Equal(t, eirHost, string(a.OriginHost))
			assert.Equal(t, realm, string(a.OriginRealm))
			assert.Equal(t, uint32(0x2a000003), a.HopByHop)
			assert.Equal(t, uint32(0x10000003), a.EndToEnd)
			assert.Equal(t, framing.FlagProxiable, a.Flags&framing.FlagProxiable, "P kept")
			tt.check(t, a)
		})
	}
}

func TestAppendECAAnswerMessageMatchesFraming(t *testing.T) {
	// With no Proxy-Info, a 3xxx verdict is exactly framing's answer-message.
	req, err := ParseECR(vector(t, "05_ecr"))
	require.NoError(t, err)
	id := eirIdentity
	id.OriginStateID = 5
	want := framing.AppendAnswerMessage(nil, req.Header, &id, &framing.ErrorAnswer{
		ResultCode: framing.UnableToDeliver, SessionID: req.SessionID, ErrorMessage: "no route"})
	assert.Equal(t, want, AppendECA(nil, &req, &id, &Verdict{ResultCode: framing.UnableToDeliver, ErrorMessage: "no route"}))
}

func TestAppendECAAllocs(t *testing.T) {
	req, err := ParseECR(ecrMessage(appended(ecrParts(), proxyInfo("a"))))
	require.NoError(t, err)
	id := eirIdentity
	buf := make([]byte, 0, 1024)
	for _, v := range []Verdict{{}, {Experimental: EquipmentUnknown}, {ResultCode: framing.TooBusy, ErrorMessage: "busy"}} {
		allocs := testing.AllocsPerRun(100, func() { buf = AppendECA(buf[:0], &req, &id, &v) })
		assert.Zero(t, allocs, "%+v", v)
	}
}
