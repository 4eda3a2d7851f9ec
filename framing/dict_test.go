package framing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hsdfat8/diam-gw/framing"
)

func TestResultCode(t *testing.T) {
	cases := []struct {
		code                 framing.ResultCode
		name                 string
		class                int
		success, protocolErr bool
	}{
		{framing.MultiRoundAuth, "DIAMETER_MULTI_ROUND_AUTH", 1, false, false},
		{framing.Success, "DIAMETER_SUCCESS", 2, true, false},
		{framing.LimitedSuccess, "DIAMETER_LIMITED_SUCCESS", 2, true, false},
		{framing.UnableToDeliver, "DIAMETER_UNABLE_TO_DELIVER", 3, false, true},
		{framing.TooBusy, "DIAMETER_TOO_BUSY", 3, false, true},
		{framing.RealmRedirectIndication, "DIAMETER_REALM_REDIRECT_INDICATION", 3, false, true},
		{framing.ElectionLost, "ELECTION_LOST", 4, false, false},
		{framing.AVPUnsupported, "DIAMETER_AVP_UNSUPPORTED", 5, false, false},
		{framing.InvalidAVPLength, "DIAMETER_INVALID_AVP_LENGTH", 5, false, false},
		{framing.NoCommonSecurity, "DIAMETER_NO_COMMON_SECURITY", 5, false, false},
		{2999, "Result-Code 2999", 2, true, false},
		{0, "Result-Code 0", 0, false, false},
		{5422, "Result-Code 5422", 5, false, false}, // an Experimental-Result-Code, not ours to name
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.code.String())
			assert.Equal(t, tc.class, tc.code.Class())
			assert.Equal(t, tc.success, tc.code.IsSuccess())
			assert.Equal(t, tc.protocolErr, tc.code.IsProtocolError())
		})
	}
}

func TestDisconnectCause(t *testing.T) {
	cases := []struct {
		cause    framing.DisconnectCause
		name     string
		stayAway bool
	}{
		{framing.Rebooting, "REBOOTING", false},
		{framing.Busy, "BUSY", true},
		{framing.DoNotWantToTalkToYou, "DO_NOT_WANT_TO_TALK_TO_YOU", true},
		{3, "Disconnect-Cause 3", false},
		{-1, "Disconnect-Cause -1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.name, tc.cause.String())
			assert.Equal(t, tc.stayAway, tc.cause.ShouldNotReconnect())
		})
	}
}

func TestCommandName(t *testing.T) {
	cases := []struct {
		code    uint32
		request bool
		want    string
	}{
		{framing.CmdCapabilitiesExchange, true, "CER"},
		{framing.CmdCapabilitiesExchange, false, "CEA"},
		{framing.CmdDeviceWatchdog, true, "DWR"},
		{framing.CmdDeviceWatchdog, false, "DWA"},
		{framing.CmdDisconnectPeer, true, "DPR"},
		{framing.CmdDisconnectPeer, false, "DPA"},
		{framing.CmdMEIdentityCheck, true, "ECR"},
		{framing.CmdMEIdentityCheck, false, "ECA"},
		{316, true, "request 316"},
		{316, false, "answer 316"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, framing.CommandName(tc.code, tc.request))
	}
}
