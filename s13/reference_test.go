package s13

import (
	"encoding/binary"
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
)

// The decoders as they were before ParseECAInto and ParseECR walked their AVPs with framing.AVPAt
// (over a framing.Iter), kept as the reference the differential fuzz targets compare the fast
// decoders against (decode_diff_test.go). Only renamed.

func refParseECAInto(msg []byte, a *Answer) error {
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
	var seen uint32
	it := framing.AVPs(msg)
	for it.Next() {
		av := it.AVP()
		var bit uint32
		var err error
		switch {
		case av.Vendor == VendorID && av.Code == AVPEquipmentStatus:
			bit = ecaEquipmentStatus
			var v uint32
			v, err = av.Uint32()
			a.EquipmentStatus, a.HasEquipmentStatus = EquipmentStatus(int32(v)), err == nil
		case av.Vendor != 0:
			if av.Mandatory() {
				err = &framing.AVPError{Code: av.Code, Vendor: av.Vendor, Offset: av.Offset, Err: ErrUnsupportedAVP}
			}
		default:
			bit, err = refBase(a, av)
		}
		if err != nil {
			return err
		}
		if bit != 0 {
			if seen&bit != 0 {
				return &framing.AVPError{Code: av.Code, Vendor: av.Vendor, Offset: av.Offset, Err: framing.ErrDuplicateAVP}
			}
			seen |= bit
		}
	}
	if it.Err() != nil {
		return it.Err()
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

// base decodes one base-protocol (vendor 0) AVP of an ECA and returns its occurrence bit, 0 for
// AVPs that may repeat or are skipped.
func refBase(a *Answer, av *framing.AVP) (uint32, error) {
	var err error
	switch av.Code {
	case framing.AVPSessionID:
		a.SessionID = av.Data
		return ecaSessionID, nil
	case framing.AVPResultCode:
		var v uint32
		v, err = av.Uint32()
		a.ResultCode = framing.ResultCode(v)
		return ecaResultCode, err
	case framing.AVPExperimentalResult:
		a.ExperimentalResult, err = parseExperimentalResult(av)
		a.HasExperimentalResult = err == nil
		return ecaExperimental, err
	case framing.AVPOriginHost:
		a.OriginHost = av.Data
		return ecaOriginHost, nil
	case framing.AVPOriginRealm:
		a.OriginRealm = av.Data
		return ecaOriginRealm, nil
	case framing.AVPErrorMessage:
		a.ErrorMessage = av.Data
		return ecaErrorMessage, nil
	case framing.AVPErrorReportingHost:
		a.ErrorReportingHost = av.Data
		return ecaErrorReportingHost, nil
	case framing.AVPFailedAVP:
		// Kept raw: a malformed Failed-AVP must not fail the answer (OTP codec_SUITE.failed_error).
		a.FailedAVP = av.Data
		return ecaFailedAVP, nil
	case framing.AVPAuthSessionState:
		_, err = av.Uint32()
		return ecaAuthSessionState, err
	case framing.AVPVendorSpecificApplicationID:
		return ecaVendorSpecificApp, nil
	case framing.AVPOriginStateID:
		_, err = av.Uint32()
		return ecaOriginStateID, err
	case framing.AVPDRMP:
		return ecaDRMP, nil
	case framing.AVPProxyInfo, framing.AVPRouteRecord, framing.AVPRedirectHost,
		framing.AVPRedirectHostUsage, framing.AVPRedirectMaxCacheTime:
		return 0, nil
	}
	if av.Mandatory() {
		return 0, &framing.AVPError{Code: av.Code, Offset: av.Offset, Err: ErrUnsupportedAVP}
	}
	return 0, nil
}

func refParseECR(msg []byte) (ECR, error) {
	var p refECRParser
	msg, err := framing.ReadMessage(msg, &p.r.Header)
	if err != nil {
		return ECR{}, err
	}
	h := &p.r.Header
	if h.Code != CommandCode || !h.IsRequest() || h.AppID != AppID {
		return ECR{}, fmt.Errorf("%w: %s, application %d", ErrNotECR, framing.CommandName(h.Code, h.IsRequest()), h.AppID)
	}
	// The ECR is built inside the parser, not behind a pointer to a local, so that it stays on
	// the stack (escape analysis gives up on a pointer held by a struct whose methods it cannot
	// all inline).
	p.msg = msg
	if h.IsError() {
		p.fail(framing.InvalidHdrBits, nil, fmt.Errorf("%w: E bit in a request", ErrInvalidHeaderBits))
	}
	p.scan()
	if p.err != nil {
		return p.r, p.err
	}
	return p.r, nil
}

// refECRParser holds the state of one ParseECR call; it lives on the caller's stack.
type refECRParser struct {
	r    ECR
	msg  []byte
	seen uint32
	err  *RequestError // the first problem; later ones are ignored
}

// fail records a problem unless one is recorded already.
func (p *refECRParser) fail(rc framing.ResultCode, failed []byte, err error) {
	if p.err == nil {
		p.err = &RequestError{ResultCode: rc, FailedAVP: failed, Err: err}
	}
}

// once marks bit as seen; on a second occurrence it records 5009 and returns false.
func (p *refECRParser) once(bit uint32, a *framing.AVP) bool {
	if p.seen&bit != 0 {
		p.fail(framing.AVPOccursTooManyTimes, p.raw(a), refAVPError(framing.ErrDuplicateAVP, a))
		return false
	}
	p.seen |= bit
	return true
}

func (p *refECRParser) scan() {
	it := framing.AVPs(p.msg)
	for it.Next() {
		a := it.AVP()
		if p.err != nil {
			// Past the first error only what the answer echoes is still of interest.
			p.collect(a)
			continue
		}
		switch a.Vendor {
		case 0:
			p.base(a)
		case VendorID:
			if a.Code == AVPTerminalInformation {
				if p.once(ecrTerminalInformation, a) {
					p.terminalInformation(a)
				}
				break
			}
			p.unknown(a)
		default:
			p.unknown(a)
		}
	}
	if it.Err() != nil {
		p.framingError(it.Err(), len(p.msg))
	}
	if p.err != nil {
		return
	}
	p.required()
}

// collect picks up Session-Id and Proxy-Info after an error, for the error answer.
func (p *refECRParser) collect(a *framing.AVP) {
	if a.Vendor != 0 {
		return
	}
	switch a.Code {
	case framing.AVPSessionID:
		if p.seen&ecrSessionID == 0 && len(a.Data) > 0 {
			p.seen |= ecrSessionID
			p.r.SessionID = a.Data
		}
	case framing.AVPProxyInfo:
		if p.r.NumProxyInfo < MaxProxyInfo && p.groupOK(a) {
			p.r.ProxyInfo[p.r.NumProxyInfo] = p.padded(a)
			p.r.NumProxyInfo++
		}
	}
}

// base handles a top-level AVP without Vendor-Id.
func (p *refECRParser) base(a *framing.AVP) {
	r := &p.r
	switch a.Code {
	case framing.AVPSessionID:
		if p.once(ecrSessionID, a) && p.nonEmpty(a) {
			r.SessionID = a.Data
		}
	case framing.AVPDRMP:
		if p.once(ecrDRMP, a) {
			if v, ok := p.uint32(a); ok && v > 15 {
				p.invalid(a) // PRIORITY_0 .. PRIORITY_15 (RFC 7944 §9.1)
			}
		}
	case framing.AVPVendorSpecificApplicationID:
		if p.once(ecrVendorSpecificApp, a) {
			p.groupOK(a)
		}
	case framing.AVPAuthSessionState:
		if p.once(ecrAuthSessionState, a) {
			if v, ok := p.uint32(a); ok {
				if v > 1 {
					p.invalid(a)
				} else {
					r.AuthSessionState = int32(v)
				}
			}
		}
	case framing.AVPOriginHost:
		if p.once(ecrOriginHost, a) && p.nonEmpty(a) {
			r.OriginHost = a.Data
		}
	case framing.AVPOriginRealm:
		if p.once(ecrOriginRealm, a) && p.nonEmpty(a) {
			r.OriginRealm = a.Data
		}
	case framing.AVPDestinationHost:
		if p.once(ecrDestinationHost, a) && p.nonEmpty(a) {
			r.DestinationHost = a.Data
		}
	case framing.AVPDestinationRealm:
		if p.once(ecrDestinationRealm, a) && p.nonEmpty(a) {
			r.DestinationRealm = a.Data
		}
	case framing.AVPUserName:
		if p.once(ecrUserName, a) {
			r.UserName = a.Data
		}
	case framing.AVPOriginStateID:
		if p.once(ecrOriginStateID, a) {
			p.uint32(a)
		}
	case framing.AVPProxyInfo:
		if !p.groupOK(a) {
			return
		}
		if r.NumProxyInfo == MaxProxyInfo {
			p.fail(framing.AVPOccursTooManyTimes, p.raw(a), refAVPError(framing.ErrDuplicateAVP, a))
			return
		}
		r.ProxyInfo[r.NumProxyInfo] = p.padded(a)
		r.NumProxyInfo++
	case framing.AVPRouteRecord:
		// Any number; only agents act on it.
	default:
		p.unknown(a)
	}
}

// terminalInformation decodes Terminal-Information: [IMEI] [3GPP2-MEID] [Software-Version] *[AVP].
func (p *refECRParser) terminalInformation(g *framing.AVP) {
	r := &p.r
	it := g.Grouped()
	for it.Next() {
		a := it.AVP()
		if a.Vendor != VendorID {
			p.unknown(a)
			continue
		}
		switch a.Code {
		case AVPIMEI:
			if p.once(ecrIMEI, a) {
				if digitsInRange(a.Data, IMEILen, MaxIMEILen) {
					r.IMEI = a.Data
				} else {
					p.invalid(a)
				}
			}
		case AVPSoftwareVersion:
			if p.once(ecrSoftwareVersion, a) {
				if digitsInRange(a.Data, SVNLen, SVNLen) {
					r.SoftwareVersion = a.Data
				} else {
					p.invalid(a)
				}
			}
		case AVP3GPP2MEID:
			p.once(ecr3GPP2MEID, a) // in the grammar, not used on S13
		default:
			p.unknown(a)
		}
		if p.err != nil {
			return
		}
	}
	if it.Err() != nil {
		p.framingError(it.Err(), g.Offset+g.Len())
	}
}

// required reports the first required AVP that is missing, in ABNF order.
func (p *refECRParser) required() {
	const m = framing.AVPFlagMandatory
	switch s := p.seen; {
	case s&ecrSessionID == 0:
		p.missing(framing.AVPSessionID, m, 0, 0, framing.HeaderLen)
	case s&ecrAuthSessionState == 0:
		p.missing(framing.AVPAuthSessionState, m, 0, 4, framing.HeaderLen)
	case s&ecrOriginHost == 0:
		p.missing(framing.AVPOriginHost, m, 0, 0, framing.HeaderLen)
	case s&ecrOriginRealm == 0:
		p.missing(framing.AVPOriginRealm, m, 0, 0, framing.HeaderLen)
	case s&ecrDestinationRealm == 0:
		p.missing(framing.AVPDestinationRealm, m, 0, 0, framing.HeaderLen)
	case s&ecrTerminalInformation == 0:
		p.missing(AVPTerminalInformation, m, VendorID, 0, framing.HeaderLen)
	case s&ecrIMEI == 0:
		p.missing(AVPIMEI, m, VendorID, 0, framing.HeaderLen)
	}
}

// missing records 5005 with an example of the AVP: its header and a zero payload of size n.
func (p *refECRParser) missing(code uint32, flags uint8, vendor uint32, n, off int) {
	ex := framing.AppendAVPHeader(make([]byte, 0, framing.AVPVendorHeaderLen+n), code, flags, vendor, n)
	ex = append(ex, make([]byte, n)...)
	p.fail(framing.MissingAVP, ex, &framing.AVPError{Code: code, Vendor: vendor, Offset: off, Err: framing.ErrMissingAVP})
}

// unknown records 5001 for an AVP this application does not know, when it has the M bit.
func (p *refECRParser) unknown(a *framing.AVP) {
	if a.Mandatory() {
		p.fail(framing.AVPUnsupported, p.raw(a), refAVPError(ErrUnsupportedAVP, a))
	}
}

// invalid records 5004 for a well-framed AVP with an unacceptable value.
func (p *refECRParser) invalid(a *framing.AVP) {
	p.fail(framing.InvalidAVPValue, p.raw(a), refAVPError(ErrInvalidAVPValue, a))
}

// nonEmpty records 5004 for an empty identity or Session-Id.
func (p *refECRParser) nonEmpty(a *framing.AVP) bool {
	if len(a.Data) == 0 {
		p.invalid(a)
		return false
	}
	return true
}

// uint32 decodes a 4-octet value; another size is 5014 (RFC 6733 §7.1.5: the length is wrong
// for the type, as freeDiameter also answers).
func (p *refECRParser) uint32(a *framing.AVP) (uint32, bool) {
	v, err := a.Uint32()
	if err != nil {
		p.fail(framing.InvalidAVPLength, p.raw(a), err)
		return 0, false
	}
	return v, true
}

// groupOK checks the framing of a Grouped AVP's members; a broken one is 5014.
func (p *refECRParser) groupOK(g *framing.AVP) bool {
	it := g.Grouped()
	for it.Next() {
	}
	if it.Err() != nil {
		p.framingError(it.Err(), g.Offset+g.Len())
		return false
	}
	return true
}

// framingError records 5014 for an AVP whose length is broken. end is where its container
// (message or Grouped AVP) ends. The Failed-AVP is built from the header bytes that are there,
// zero-padded to a full header, with the length rewritten to the header plus a zero payload of
// the type's minimum size (RFC 6733 §7.1.5), so that it is itself well formed.
func (p *refECRParser) framingError(err error, end int) {
	if p.err != nil {
		return
	}
	off := end
	if ae, ok := err.(*framing.AVPError); ok {
		off = ae.Offset
	}
	var h [framing.AVPVendorHeaderLen]byte
	if off >= 0 && off < end && end <= len(p.msg) {
		copy(h[:], p.msg[off:end])
	}
	code := binary.BigEndian.Uint32(h[0:4])
	hdr := framing.AVPHeaderLen
	var vendor uint32
	if h[4]&framing.AVPFlagVendor != 0 {
		hdr = framing.AVPVendorHeaderLen
		vendor = binary.BigEndian.Uint32(h[8:12])
	}
	n := minPayload(code, vendor)
	length := hdr + n
	h[5], h[6], h[7] = byte(length>>16), byte(length>>8), byte(length)
	failed := make([]byte, length) // n is 0 or 4: no padding needed
	copy(failed, h[:hdr])
	p.fail(framing.InvalidAVPLength, failed, err)
}

// raw returns a copy of a as encoded, padded, for a Failed-AVP that outlives the message.
func (p *refECRParser) raw(a *framing.AVP) []byte {
	b := make([]byte, (a.Len()+3)&^3)
	copy(b, p.msg[a.Offset:a.Offset+a.Len()])
	return b
}

// padded returns a as encoded, with its padding, aliasing the message. Top-level AVPs always
// have their padding: the message length is a multiple of 4.
func (p *refECRParser) padded(a *framing.AVP) []byte {
	end := min(a.Offset+(a.Len()+3)&^3, len(p.msg))
	return p.msg[a.Offset:end:end]
}

func refAVPError(err error, a *framing.AVP) error {
	return &framing.AVPError{Code: a.Code, Vendor: a.Vendor, Offset: a.Offset, Err: err}
}
