package s13

import "errors"

// Sentinel errors of this package; decoding errors about the wire format itself match the
// framing sentinels (framing.ErrAVPLength, framing.ErrMissingAVP, ...) instead.
var (
	// ErrNotECA: the message is not an ME-Identity-Check-Answer (wrong command, R bit set, or
	// another application).
	ErrNotECA = errors.New("s13: not an ME-Identity-Check-Answer")
	// ErrNotECR: the message is not an ME-Identity-Check-Request.
	ErrNotECR = errors.New("s13: not an ME-Identity-Check-Request")
	// ErrNoResult: an ECA with neither Result-Code nor Experimental-Result.
	ErrNoResult = errors.New("s13: answer has no Result-Code or Experimental-Result")
	// ErrBothResults: an ECA with both Result-Code and Experimental-Result (TS 29.272 allows one).
	ErrBothResults = errors.New("s13: answer has both Result-Code and Experimental-Result")
	// ErrUnsupportedAVP: an AVP with the M bit that this application does not know
	// (RFC 6733 §4.1: DIAMETER_AVP_UNSUPPORTED).
	ErrUnsupportedAVP = errors.New("s13: unsupported mandatory AVP")
	// ErrInvalidRequest: a Request field that cannot be sent (bad IMEI, empty realm, ...), or a
	// malformed IMEI, IMEISV or IMSI given to the helpers in imei.go.
	ErrInvalidRequest = errors.New("s13: invalid request")
	// ErrInvalidAVPValue: a received request AVP is well framed but its value is not acceptable
	// (an IMEI that is not 14 or 15 digits, Auth-Session-State 7, an empty Origin-Host, ...):
	// answered with DIAMETER_INVALID_AVP_VALUE (5004).
	ErrInvalidAVPValue = errors.New("s13: invalid AVP value")
	// ErrInvalidHeaderBits: a request whose command flags are inconsistent (E bit set):
	// answered with DIAMETER_INVALID_HDR_BITS (3008, E bit); or an answer whose E bit contradicts
	// its Result-Code (an E-bit 1xxx or 2xxx): not an answer to act on.
	ErrInvalidHeaderBits = errors.New("s13: invalid header bits")
)
