package s13

import (
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
)

// This file is the ME-Identity-Check-Answer both ways (TS 29.272 §7.2.20): the EIR encodes one
// from its Verdict (AppendECA, or AppendRequestError for an ECR that ParseECR rejected), the
// client decodes one, or the E-bit answer-message a DRA sends instead (ParseECA).

// ExperimentalResult is the Experimental-Result grouped AVP: {Vendor-Id}{Experimental-Result-Code}.
type ExperimentalResult struct {
	VendorID uint32
	Code     ExperimentalResultCode
}

// Answer is a decoded ME-Identity-Check-Answer, or an E-bit answer-message that a DRA sent in its
// place. Result-Code and Experimental-Result are kept apart: the same number means different
// things in each. Byte fields alias the parsed message; Clone copies them.
type Answer struct {
	HopByHop uint32
	EndToEnd uint32
	Flags    uint8 // header flags: E marks a protocol error (answer-message grammar)

	ResultCode            framing.ResultCode // 0 when absent
	ExperimentalResult    ExperimentalResult // zero when absent
	HasExperimentalResult bool
	EquipmentStatus       EquipmentStatus // meaningful when HasEquipmentStatus
	HasEquipmentStatus    bool

	SessionID          []byte
	OriginHost         []byte
	OriginRealm        []byte
	ErrorMessage       []byte
	ErrorReportingHost []byte
	FailedAVP          []byte // the Failed-AVP's data (the offending AVPs), nil when absent
}

// IsError reports the E bit.
func (a *Answer) IsError() bool { return a.Flags&framing.FlagError != 0 }

// Succeeded reports Result-Code 2001 (DIAMETER_SUCCESS).
func (a *Answer) Succeeded() bool { return a.ResultCode == framing.Success }

// Clone returns a copy whose byte fields share one new backing array instead of the message.
func (a *Answer) Clone() Answer {
	c := *a
	n := len(a.SessionID) + len(a.OriginHost) + len(a.OriginRealm) + len(a.ErrorMessage) +
		len(a.ErrorReportingHost) + len(a.FailedAVP)
	if n == 0 {
		return c
	}
	buf := make([]byte, 0, n)
	own := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		buf = append(buf, b...)
		return buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	c.SessionID = own(a.SessionID)
	c.OriginHost = own(a.OriginHost)
	c.OriginRealm = own(a.OriginRealm)
	c.ErrorMessage = own(a.ErrorMessage)
	c.ErrorReportingHost = own(a.ErrorReportingHost)
	c.FailedAVP = own(a.FailedAVP)
	return c
}

// String summarises the outcome for logs: "DIAMETER_SUCCESS WHITELISTED",
// "DIAMETER_ERROR_EQUIPMENT_UNKNOWN", "DIAMETER_TOO_BUSY (E)".
func (a *Answer) String() string {
	var s string
	switch {
	case a.HasExperimentalResult:
		s = a.ExperimentalResult.Code.String()
	default:
		s = a.ResultCode.String()
	}
	if a.HasEquipmentStatus {
		s += " " + a.EquipmentStatus.String()
	}
	if a.IsError() {
		s += " (E)"
	}
	return s
}

// The EIR side: encoding.

// Verdict is the EIR's decision on one ECR, as AppendECA encodes it:
//
//   - Experimental != 0: Experimental-Result {Vendor-Id 10415, Experimental-Result-Code
//     Experimental} (e.g. EquipmentUnknown, 5422); ResultCode and EquipmentStatus are ignored.
//   - otherwise Result-Code ResultCode, where 0 means DIAMETER_SUCCESS (2001). A 3xxx code is a
//     protocol error, sent as an E-bit answer-message (RFC 6733 §7.2).
//   - EquipmentStatus is sent only with DIAMETER_SUCCESS (TS 29.272 §7.2.20), so the zero
//     Verdict answers 2001 WHITELISTED.
//
// ErrorMessage (optional, sent without the M bit) and FailedAVP (zero or more encoded AVPs,
// wrapped in one Failed-AVP) explain an error.
type Verdict struct {
	ResultCode      framing.ResultCode
	Experimental    ExperimentalResultCode
	EquipmentStatus EquipmentStatus
	ErrorMessage    string
	FailedAVP       []byte
}

// AppendECA appends the ME-Identity-Check-Answer to req in the TS 29.272 §7.2.20 order:
// Session-Id, Vendor-Specific-Application-Id {10415, 16777252}, Result-Code or
// Experimental-Result, Auth-Session-State (NO_STATE_MAINTAINED: the server's value is the binding
// one, RFC 6733 §8.11, and S13 is stateless), Origin-Host, Origin-Realm, Equipment-Status,
// Error-Message, Failed-AVP, and the request's Proxy-Info AVPs in order. The header answers
// req.Header (framing.AnswerHeader: same ids and application, P kept). A 3xxx ResultCode gives
// the E-bit answer-message of framing.AppendAnswerMessage instead (Session-Id, Origin-Host,
// Origin-Realm, Result-Code, Origin-State-Id, Error-Message, Failed-AVP, Proxy-Info). Session-Id
// is omitted when req has none (an error answer to a request too broken to carry one).
// id.OriginStateID is sent only in the answer-message form. AppendECA allocates nothing when dst
// has room, and is safe for concurrent use on distinct buffers.
func AppendECA(dst []byte, req *ECR, id *framing.Identity, v *Verdict) []byte {
	rc := v.ResultCode
	if rc == 0 {
		rc = framing.Success
	}
	if v.Experimental == 0 && rc.IsProtocolError() {
		ea := framing.ErrorAnswer{ResultCode: rc, ErrorMessage: v.ErrorMessage, FailedAVP: v.FailedAVP,
			ProxyInfo: req.ProxyInfo[:min(max(req.NumProxyInfo, 0), MaxProxyInfo)]}
		if len(req.SessionID) > 0 {
			ea.SessionID = req.SessionID
		}
		return framing.AppendAnswerMessage(dst, req.Header, id, &ea)
	}
	const m = framing.AVPFlagMandatory
	dst, mark := framing.BeginMessage(dst, framing.AnswerHeader(req.Header))
	if len(req.SessionID) > 0 {
		dst = framing.AppendOctets(dst, framing.AVPSessionID, m, 0, req.SessionID)
	}
	dst = appendVendorSpecificApp(dst)
	if v.Experimental != 0 {
		var g int
		dst, g = framing.BeginGrouped(dst, framing.AVPExperimentalResult, m, 0)
		dst = framing.AppendUint32(dst, framing.AVPVendorID, m, 0, VendorID)
		dst = framing.AppendUint32(dst, framing.AVPExperimentalResultCode, m, 0, uint32(v.Experimental))
		dst = framing.EndGrouped(dst, g)
	} else {
		dst = framing.AppendUint32(dst, framing.AVPResultCode, m, 0, uint32(rc))
	}
	dst = framing.AppendEnumerated(dst, framing.AVPAuthSessionState, m, 0, framing.NoStateMaintained)
	dst = framing.AppendString(dst, framing.AVPOriginHost, m, 0, id.OriginHost)
	dst = framing.AppendString(dst, framing.AVPOriginRealm, m, 0, id.OriginRealm)
	if v.Experimental == 0 && rc == framing.Success {
		dst = framing.AppendEnumerated(dst, AVPEquipmentStatus, m, VendorID, int32(v.EquipmentStatus))
	}
	if v.ErrorMessage != "" {
		dst = framing.AppendString(dst, framing.AVPErrorMessage, 0, 0, v.ErrorMessage)
	}
	if len(v.FailedAVP) > 0 {
		var g int
		dst, g = framing.BeginGrouped(dst, framing.AVPFailedAVP, m, 0)
		dst = append(dst, v.FailedAVP...)
		dst = framing.EndGrouped(dst, g)
	}
	dst = appendProxyInfos(dst, req)
	return framing.EndMessage(dst, mark)
}

func appendProxyInfos(dst []byte, req *ECR) []byte {
	for _, pi := range req.ProxyInfo[:min(max(req.NumProxyInfo, 0), MaxProxyInfo)] {
		dst = append(dst, pi...)
		dst = framing.AppendPadding(dst, len(pi)) // in case a caller built req by hand
	}
	return dst
}

// AppendRequestError appends the answer to an ECR that ParseECR rejected with e, using the ECR
// that ParseECR returned alongside (its Header, and Session-Id and Proxy-Info when they could be
// read). 5xxx codes use the ECA grammar without the E bit (RFC 6733 §7.1.5), with e.FailedAVP in
// Failed-AVP; 3xxx codes the E-bit answer-message. Error-Message carries a fixed description of
// the cause. See AppendECA for the encoding; the same allocation rule applies.
func AppendRequestError(dst []byte, req *ECR, id *framing.Identity, e *RequestError) []byte {
	v := Verdict{ResultCode: e.ResultCode, ErrorMessage: e.reason(), FailedAVP: e.FailedAVP}
	if v.ResultCode == 0 || v.ResultCode == framing.Success {
		v.ResultCode = framing.UnableToComply // a RequestError is never a success
	}
	return AppendECA(dst, req, id, &v)
}

// The client side: decoding.

// single-occurrence AVPs of an ECA, by bit
const (
	ecaSessionID = 1 << iota
	ecaResultCode
	ecaExperimental
	ecaEquipmentStatus
	ecaOriginHost
	ecaOriginRealm
	ecaAuthSessionState
	ecaErrorMessage
	ecaErrorReportingHost
	ecaFailedAVP
	ecaVendorSpecificApp
	ecaOriginStateID
	ecaDRMP
)

// ParseECA decodes an ME-Identity-Check-Answer (TS 29.272 §7.2.20), or the E-bit answer-message
// (RFC 6733 §7.2) a DRA returns instead. It requires Origin-Host, Origin-Realm and exactly one of
// Result-Code / Experimental-Result (an E-bit answer: Result-Code). AVPs allowed once that occur
// twice are framing.ErrDuplicateAVP; an unknown AVP with the M bit is ErrUnsupportedAVP; unknown
// AVPs without it are skipped. It allocates nothing (the Answer aliases msg), only reads msg, and
// is safe for concurrent use.
func ParseECA(msg []byte) (Answer, error) {
	var a Answer
	err := ParseECAInto(msg, &a)
	return a, err
}

// ParseECAInto is ParseECA filling *a, which it resets first: a hot path keeps one Answer and
// saves copying it out of a return value.
func ParseECAInto(msg []byte, a *Answer) error {
	*a = Answer{}
	var h framing.Header
	msg, err := framing.ReadMessage(msg, &h)
	if err != nil {
		return err
	}
	if h.Code != CommandCode || h.IsRequest() || (h.AppID != AppID && !h.IsError()) {
		return fmt.Errorf("%w: %s, application %d", ErrNotECA, framing.CommandName(h.Code, h.IsRequest()), h.AppID)
	}
	a.HopByHop, a.EndToEnd, a.Flags = h.HopByHop, h.EndToEnd, h.Flags
	// One pass over the AVPs with each one in registers (framing.AVPAt), not an Iter's AVP in
	// memory: the ECA is the client's hottest decode.
	var seen uint32
	for off := framing.HeaderLen; off < len(msg); {
		code, flags, vendor, data, next, ok := framing.AVPAt(msg, off)
		if !ok {
			return framing.BadAVPAt(msg, off, 0)
		}
		var bit uint32
		var err error
		switch {
		case vendor == VendorID && code == AVPEquipmentStatus:
			bit = ecaEquipmentStatus
			var v uint32
			v, err = framing.Uint32At(code, vendor, data, off)
			a.EquipmentStatus, a.HasEquipmentStatus = EquipmentStatus(int32(v)), err == nil
		case vendor != 0:
			if flags&framing.AVPFlagMandatory != 0 {
				err = &framing.AVPError{Code: code, Vendor: vendor, Offset: off, Err: ErrUnsupportedAVP}
			}
		default:
			bit, err = a.base(code, flags, data, off)
		}
		if err != nil {
			return err
		}
		if bit != 0 {
			if seen&bit != 0 {
				return &framing.AVPError{Code: code, Vendor: vendor, Offset: off, Err: framing.ErrDuplicateAVP}
			}
			seen |= bit
		}
		off = next
	}
	switch {
	case seen&ecaOriginHost == 0:
		return &framing.AVPError{Code: framing.AVPOriginHost, Offset: framing.HeaderLen, Err: framing.ErrMissingAVP}
	case seen&ecaOriginRealm == 0:
		return &framing.AVPError{Code: framing.AVPOriginRealm, Offset: framing.HeaderLen, Err: framing.ErrMissingAVP}
	case seen&(ecaResultCode|ecaExperimental) == 0:
		return ErrNoResult
	case seen&ecaResultCode != 0 && seen&ecaExperimental != 0:
		return ErrBothResults
	case a.IsError() && seen&ecaResultCode == 0:
		return fmt.Errorf("%w: E-bit answer without Result-Code", ErrNoResult)
	case a.IsError() && a.ResultCode < 3000:
		// RFC 6733 §7.2: the E bit marks a protocol error (3xxx). A "success" with it set is a
		// contradiction, never a verdict to hand a caller.
		return fmt.Errorf("%w: E bit with Result-Code %d", ErrInvalidHeaderBits, uint32(a.ResultCode))
	}
	return nil
}

// base decodes one base-protocol (vendor 0) AVP of an ECA, at offset off, and returns its
// occurrence bit, 0 for AVPs that may repeat or are skipped.
func (a *Answer) base(code uint32, flags uint8, data []byte, off int) (uint32, error) {
	var err error
	switch code {
	case framing.AVPSessionID:
		a.SessionID = data
		return ecaSessionID, nil
	case framing.AVPResultCode:
		var v uint32
		v, err = framing.Uint32At(code, 0, data, off)
		a.ResultCode = framing.ResultCode(v)
		return ecaResultCode, err
	case framing.AVPExperimentalResult:
		a.ExperimentalResult, err = parseExperimentalResult(&framing.AVP{Code: code, Flags: flags, Data: data, Offset: off})
		a.HasExperimentalResult = err == nil
		return ecaExperimental, err
	case framing.AVPOriginHost:
		a.OriginHost = data
		return ecaOriginHost, nil
	case framing.AVPOriginRealm:
		a.OriginRealm = data
		return ecaOriginRealm, nil
	case framing.AVPErrorMessage:
		a.ErrorMessage = data
		return ecaErrorMessage, nil
	case framing.AVPErrorReportingHost:
		a.ErrorReportingHost = data
		return ecaErrorReportingHost, nil
	case framing.AVPFailedAVP:
		// Kept raw: a malformed Failed-AVP must not fail the answer (OTP codec_SUITE.failed_error).
		a.FailedAVP = data
		return ecaFailedAVP, nil
	case framing.AVPAuthSessionState:
		_, err = framing.Uint32At(code, 0, data, off)
		return ecaAuthSessionState, err
	case framing.AVPVendorSpecificApplicationID:
		return ecaVendorSpecificApp, nil
	case framing.AVPOriginStateID:
		_, err = framing.Uint32At(code, 0, data, off)
		return ecaOriginStateID, err
	case framing.AVPDRMP:
		return ecaDRMP, nil
	case framing.AVPProxyInfo, framing.AVPRouteRecord, framing.AVPRedirectHost,
		framing.AVPRedirectHostUsage, framing.AVPRedirectMaxCacheTime:
		return 0, nil
	}
	if flags&framing.AVPFlagMandatory != 0 {
		return 0, &framing.AVPError{Code: code, Offset: off, Err: ErrUnsupportedAVP}
	}
	return 0, nil
}

func parseExperimentalResult(g *framing.AVP) (ExperimentalResult, error) {
	var r ExperimentalResult
	var vendor, code bool
	it := g.Grouped()
	for it.Next() {
		m := it.AVP()
		if m.Vendor != 0 {
			continue
		}
		var err error
		switch m.Code {
		case framing.AVPVendorID:
			if vendor {
				return r, &framing.AVPError{Code: m.Code, Offset: m.Offset, Err: framing.ErrDuplicateAVP}
			}
			vendor = true
			r.VendorID, err = m.Uint32()
		case framing.AVPExperimentalResultCode:
			if code {
				return r, &framing.AVPError{Code: m.Code, Offset: m.Offset, Err: framing.ErrDuplicateAVP}
			}
			code = true
			var v uint32
			v, err = m.Uint32()
			r.Code = ExperimentalResultCode(v)
		}
		if err != nil {
			return r, err
		}
	}
	if it.Err() != nil {
		return r, it.Err()
	}
	if !vendor {
		return r, &framing.AVPError{Code: framing.AVPVendorID, Offset: g.Offset, Err: framing.ErrMissingAVP}
	}
	if !code {
		return r, &framing.AVPError{Code: framing.AVPExperimentalResultCode, Offset: g.Offset, Err: framing.ErrMissingAVP}
	}
	return r, nil
}
