package framing

import "strconv"

// Vendor and application identifiers.
const (
	Vendor3GPP uint32 = 10415 // 3GPP, on every TS 29.272 AVP

	AppCommon uint32 = 0          // base protocol messages (CER, DWR, DPR)
	AppS13    uint32 = 16777252   // 3GPP S13/S13'
	AppRelay  uint32 = 0xFFFFFFFF // advertised by relay agents: supports every application
)

// Base command codes (RFC 6733 §3.1).
const (
	CmdCapabilitiesExchange uint32 = 257 // CER/CEA
	CmdDeviceWatchdog       uint32 = 280 // DWR/DWA
	CmdDisconnectPeer       uint32 = 282 // DPR/DPA
	CmdMEIdentityCheck      uint32 = 324 // ECR/ECA (TS 29.272), here because routing needs it
)

// CommandName returns the short name of a request or answer: "CER", "DWA", "ECR", or the code.
func CommandName(code uint32, request bool) string {
	var s string
	switch code {
	case CmdCapabilitiesExchange:
		s = "CE"
	case CmdDeviceWatchdog:
		s = "DW"
	case CmdDisconnectPeer:
		s = "DP"
	case CmdMEIdentityCheck:
		s = "EC"
	default:
		if request {
			return "request " + strconv.FormatUint(uint64(code), 10)
		}
		return "answer " + strconv.FormatUint(uint64(code), 10)
	}
	if request {
		return s + "R"
	}
	return s + "A"
}

// Base AVP codes (RFC 6733 §4.5). None carries a Vendor-ID.
const (
	AVPUserName                    uint32 = 1
	AVPProxyState                  uint32 = 33
	AVPHostIPAddress               uint32 = 257
	AVPAuthApplicationID           uint32 = 258
	AVPAcctApplicationID           uint32 = 259
	AVPVendorSpecificApplicationID uint32 = 260
	AVPRedirectHostUsage           uint32 = 261
	AVPRedirectMaxCacheTime        uint32 = 262
	AVPSessionID                   uint32 = 263
	AVPOriginHost                  uint32 = 264
	AVPSupportedVendorID           uint32 = 265
	AVPVendorID                    uint32 = 266
	AVPFirmwareRevision            uint32 = 267
	AVPResultCode                  uint32 = 268
	AVPProductName                 uint32 = 269
	AVPDisconnectCause             uint32 = 273
	AVPAuthSessionState            uint32 = 277
	AVPOriginStateID               uint32 = 278
	AVPFailedAVP                   uint32 = 279
	AVPProxyHost                   uint32 = 280
	AVPErrorMessage                uint32 = 281
	AVPRouteRecord                 uint32 = 282
	AVPDestinationRealm            uint32 = 283
	AVPProxyInfo                   uint32 = 284
	AVPRedirectHost                uint32 = 292
	AVPDestinationHost             uint32 = 293
	AVPErrorReportingHost          uint32 = 294
	AVPOriginRealm                 uint32 = 296
	AVPExperimentalResult          uint32 = 297
	AVPExperimentalResultCode      uint32 = 298
	AVPInbandSecurityID            uint32 = 299
	AVPDRMP                        uint32 = 301
)

// Auth-Session-State values (RFC 6733 §8.11).
const (
	StateMaintained   int32 = 0
	NoStateMaintained int32 = 1
)

// ResultCode is a Result-Code value (RFC 6733 §7.1). Experimental-Result-Code values live in
// their application's package: the same number means something else there.
type ResultCode uint32

// Result-Code values (RFC 6733 §7.1, RFC 7075 for 3011).
const (
	MultiRoundAuth          ResultCode = 1001
	Success                 ResultCode = 2001
	LimitedSuccess          ResultCode = 2002
	CommandUnsupported      ResultCode = 3001
	UnableToDeliver         ResultCode = 3002
	RealmNotServed          ResultCode = 3003
	TooBusy                 ResultCode = 3004
	LoopDetected            ResultCode = 3005
	RedirectIndication      ResultCode = 3006
	ApplicationUnsupported  ResultCode = 3007
	InvalidHdrBits          ResultCode = 3008
	InvalidAVPBits          ResultCode = 3009
	UnknownPeer             ResultCode = 3010
	RealmRedirectIndication ResultCode = 3011
	AuthenticationRejected  ResultCode = 4001
	OutOfSpace              ResultCode = 4002
	ElectionLost            ResultCode = 4003
	AVPUnsupported          ResultCode = 5001
	UnknownSessionID        ResultCode = 5002
	AuthorizationRejected   ResultCode = 5003
	InvalidAVPValue         ResultCode = 5004
	MissingAVP              ResultCode = 5005
	ResourcesExceeded       ResultCode = 5006
	ContradictingAVPs       ResultCode = 5007
	AVPNotAllowed           ResultCode = 5008
	AVPOccursTooManyTimes   ResultCode = 5009
	NoCommonApplication     ResultCode = 5010
	UnsupportedVersion      ResultCode = 5011
	UnableToComply          ResultCode = 5012
	InvalidBitInHeader      ResultCode = 5013
	InvalidAVPLength        ResultCode = 5014
	InvalidMessageLength    ResultCode = 5015
	InvalidAVPBitCombo      ResultCode = 5016
	NoCommonSecurity        ResultCode = 5017
)

var resultCodeNames = map[ResultCode]string{
	MultiRoundAuth:          "DIAMETER_MULTI_ROUND_AUTH",
	Success:                 "DIAMETER_SUCCESS",
	LimitedSuccess:          "DIAMETER_LIMITED_SUCCESS",
	CommandUnsupported:      "DIAMETER_COMMAND_UNSUPPORTED",
	UnableToDeliver:         "DIAMETER_UNABLE_TO_DELIVER",
	RealmNotServed:          "DIAMETER_REALM_NOT_SERVED",
	TooBusy:                 "DIAMETER_TOO_BUSY",
	LoopDetected:            "DIAMETER_LOOP_DETECTED",
	RedirectIndication:      "DIAMETER_REDIRECT_INDICATION",
	ApplicationUnsupported:  "DIAMETER_APPLICATION_UNSUPPORTED",
	InvalidHdrBits:          "DIAMETER_INVALID_HDR_BITS",
	InvalidAVPBits:          "DIAMETER_INVALID_AVP_BITS",
	UnknownPeer:             "DIAMETER_UNKNOWN_PEER",
	RealmRedirectIndication: "DIAMETER_REALM_REDIRECT_INDICATION",
	AuthenticationRejected:  "DIAMETER_AUTHENTICATION_REJECTED",
	OutOfSpace:              "DIAMETER_OUT_OF_SPACE",
	ElectionLost:            "ELECTION_LOST",
	AVPUnsupported:          "DIAMETER_AVP_UNSUPPORTED",
	UnknownSessionID:        "DIAMETER_UNKNOWN_SESSION_ID",
	AuthorizationRejected:   "DIAMETER_AUTHORIZATION_REJECTED",
	InvalidAVPValue:         "DIAMETER_INVALID_AVP_VALUE",
	MissingAVP:              "DIAMETER_MISSING_AVP",
	ResourcesExceeded:       "DIAMETER_RESOURCES_EXCEEDED",
	ContradictingAVPs:       "DIAMETER_CONTRADICTING_AVPS",
	AVPNotAllowed:           "DIAMETER_AVP_NOT_ALLOWED",
	AVPOccursTooManyTimes:   "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES",
	NoCommonApplication:     "DIAMETER_NO_COMMON_APPLICATION",
	UnsupportedVersion:      "DIAMETER_UNSUPPORTED_VERSION",
	UnableToComply:          "DIAMETER_UNABLE_TO_COMPLY",
	InvalidBitInHeader:      "DIAMETER_INVALID_BIT_IN_HEADER",
	InvalidAVPLength:        "DIAMETER_INVALID_AVP_LENGTH",
	InvalidMessageLength:    "DIAMETER_INVALID_MESSAGE_LENGTH",
	InvalidAVPBitCombo:      "DIAMETER_INVALID_AVP_BIT_COMBO",
	NoCommonSecurity:        "DIAMETER_NO_COMMON_SECURITY",
}

// String returns the RFC name, e.g. "DIAMETER_SUCCESS", or the number for unknown codes.
func (c ResultCode) String() string {
	if s, ok := resultCodeNames[c]; ok {
		return s
	}
	return "Result-Code " + strconv.FormatUint(uint64(c), 10)
}

// Class is the thousands digit: 1 informational, 2 success, 3 protocol error, 4 transient
// failure, 5 permanent failure (RFC 6733 §7.1). Other digits are returned as they are; RFC 6733
// says to treat them as permanent failures, which is the caller's decision to make.
func (c ResultCode) Class() int { return int(c / 1000) }

// IsSuccess reports a 2xxx code.
func (c ResultCode) IsSuccess() bool { return c.Class() == 2 }

// IsProtocolError reports a 3xxx code, which answers carry with the E bit.
func (c ResultCode) IsProtocolError() bool { return c.Class() == 3 }

// DisconnectCause is the Disconnect-Cause of a DPR (RFC 6733 §5.4.3).
type DisconnectCause int32

// Disconnect-Cause values.
const (
	Rebooting            DisconnectCause = 0 // the receiver MAY reconnect
	Busy                 DisconnectCause = 1 // SHOULD NOT reconnect soon
	DoNotWantToTalkToYou DisconnectCause = 2 // SHOULD NOT reconnect soon
)

// String returns the RFC name.
func (c DisconnectCause) String() string {
	switch c {
	case Rebooting:
		return "REBOOTING"
	case Busy:
		return "BUSY"
	case DoNotWantToTalkToYou:
		return "DO_NOT_WANT_TO_TALK_TO_YOU"
	}
	return "Disconnect-Cause " + strconv.FormatInt(int64(c), 10)
}

// ShouldNotReconnect reports the causes after which the DPR receiver should stay away
// (RFC 6733 §5.4.3): BUSY and DO_NOT_WANT_TO_TALK_TO_YOU.
func (c DisconnectCause) ShouldNotReconnect() bool { return c == Busy || c == DoNotWantToTalkToYou }
