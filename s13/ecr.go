package s13

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
)

// This file is the ME-Identity-Check-Request both ways (TS 29.272 §7.2.19): the client encodes
// one from a Request (AppendECR), the EIR decodes one with the checks RFC 6733 §7 asks of a
// receiver (ParseECR).

// The client side: encoding.

// Request is one IMEI check: what the caller knows about the handset and where to ask.
type Request struct {
	IMEI             string // 14 digits (TAC + SNR), or 15 with a check or spare digit
	SoftwareVersion  string // the 2-digit SVN of the IMEISV; empty to omit
	IMSI             string // sent as User-Name; empty to omit
	DestinationRealm string // the EIR's realm; the engine fills its default when empty
	DestinationHost  string // pins one EIR; empty lets the DRAs choose
	SessionID        string // empty: the sender generates <origin-host>;<hi32>;<lo32>
}

// Envelope is what the sending node wraps around a Request: identifiers, the T flag, its own
// identity and the parts of a generated Session-Id.
type Envelope struct {
	HopByHop    uint32
	EndToEnd    uint32
	Retransmit  bool // T flag: a resend after failover, with the same End-to-End and Session-Id
	OriginHost  string
	OriginRealm string
	SessionHi   uint32 // used when Request.SessionID is empty
	SessionLo   uint32
}

// AppendECR appends an ME-Identity-Check-Request in the TS 29.272 §7.2.19 ABNF order: Session-Id,
// Vendor-Specific-Application-Id, Auth-Session-State (NO_STATE_MAINTAINED), Origin-Host,
// Origin-Realm, Destination-Host, Destination-Realm, Terminal-Information{IMEI,
// Software-Version}, User-Name. Flags are R and P, plus T when env.Retransmit. It does not
// validate r (see Request.Validate) and allocates nothing when dst has room.
func AppendECR(dst []byte, env *Envelope, r *Request) []byte {
	dst, m := beginECR(dst, env)
	if r.SessionID != "" {
		dst = framing.AppendString(dst, framing.AVPSessionID, framing.AVPFlagMandatory, 0, r.SessionID)
	} else {
		dst = AppendSessionIDAVP(dst, env.OriginHost, env.SessionHi, env.SessionLo)
	}
	dst = appendMiddle(dst, env.OriginHost, env.OriginRealm, r.DestinationRealm, r.DestinationHost)
	dst = appendTerminal(dst, r)
	return framing.EndMessage(dst, m)
}

// beginECR appends the ECR header: R and P, and T for a retransmission.
func beginECR(dst []byte, env *Envelope) ([]byte, int) {
	flags := framing.FlagRequest | framing.FlagProxiable
	if env.Retransmit {
		flags |= framing.FlagRetransmit
	}
	return framing.BeginMessage(dst, framing.Header{
		Flags: flags, Code: CommandCode, AppID: AppID, HopByHop: env.HopByHop, EndToEnd: env.EndToEnd,
	})
}

// appendMiddle appends the AVPs between Session-Id and Terminal-Information, the part an
// ECRTemplate keeps encoded.
func appendMiddle(dst []byte, originHost, originRealm, destRealm, destHost string) []byte {
	dst = appendVendorSpecificApp(dst)
	dst = framing.AppendEnumerated(dst, framing.AVPAuthSessionState, framing.AVPFlagMandatory, 0, framing.NoStateMaintained)
	dst = framing.AppendString(dst, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, originHost)
	dst = framing.AppendString(dst, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, originRealm)
	if destHost != "" {
		dst = framing.AppendString(dst, framing.AVPDestinationHost, framing.AVPFlagMandatory, 0, destHost)
	}
	return framing.AppendString(dst, framing.AVPDestinationRealm, framing.AVPFlagMandatory, 0, destRealm)
}

// appendTerminal appends Terminal-Information{IMEI, Software-Version} and User-Name.
func appendTerminal(dst []byte, r *Request) []byte {
	var ti int
	dst, ti = framing.BeginGrouped(dst, AVPTerminalInformation, framing.AVPFlagMandatory, VendorID)
	dst = framing.AppendString(dst, AVPIMEI, framing.AVPFlagMandatory, VendorID, r.IMEI)
	if r.SoftwareVersion != "" {
		dst = framing.AppendString(dst, AVPSoftwareVersion, framing.AVPFlagMandatory, VendorID, r.SoftwareVersion)
	}
	dst = framing.EndGrouped(dst, ti)
	if r.IMSI != "" {
		dst = framing.AppendString(dst, framing.AVPUserName, framing.AVPFlagMandatory, 0, r.IMSI)
	}
	return dst
}

// The EIR side: decoding.

// MaxProxyInfo is how many Proxy-Info AVPs an ECR may carry. Each relaying agent on the path may
// add one, and real paths have one or two; a request with more is answered with
// DIAMETER_AVP_OCCURS_TOO_MANY_TIMES rather than echoed incompletely (RFC 6733 §6.2 requires
// every Proxy-Info back).
const MaxProxyInfo = 8

// ECR is a decoded ME-Identity-Check-Request (TS 29.272 §7.2.19). Byte fields alias the parsed
// message: copy what must outlive the receive buffer. Absent optional AVPs are nil.
type ECR struct {
	Header           framing.Header
	SessionID        []byte
	OriginHost       []byte
	OriginRealm      []byte
	DestinationHost  []byte
	DestinationRealm []byte
	IMEI             []byte // 14 or 15 digits, from Terminal-Information
	SoftwareVersion  []byte // 2 digits, nil when absent
	UserName         []byte // the IMSI, nil when absent
	AuthSessionState int32  // as received: 1 (NO_STATE_MAINTAINED) or 0

	// ProxyInfo[:NumProxyInfo] are the request's Proxy-Info AVPs, each encoded whole (header,
	// data, padding) and in arrival order, so that an answer can copy them without allocating.
	ProxyInfo    [MaxProxyInfo][]byte
	NumProxyInfo int
}

// ProxyInfos returns the encoded Proxy-Info AVPs, in order. It aliases r.
func (r *ECR) ProxyInfos() [][]byte { return r.ProxyInfo[:r.NumProxyInfo] }

// RequestError is a received ECR that must be answered with an error (RFC 6733 §7): ResultCode is
// the code to send and FailedAVP the AVP to put in Failed-AVP. Pass it to AppendRequestError.
// Err says what was wrong: a *framing.AVPError (code, vendor, offset) wrapping
// framing.ErrMissingAVP (5005), framing.ErrDuplicateAVP (5009), framing.ErrAVPLength,
// framing.ErrAVPOverrun or framing.ErrAVPData (5014), ErrUnsupportedAVP (5001) or
// ErrInvalidAVPValue (5004); or ErrInvalidHeaderBits (3008). All match with errors.Is through
// the RequestError.
type RequestError struct {
	ResultCode framing.ResultCode
	// FailedAVP is one encoded AVP, padded, owned by the error: the offending AVP as received
	// (5001, 5004, 5009, and 5014 for a fixed-size value of the wrong size); a zero-filled
	// example of a missing AVP with its Vendor-Id (5005, RFC 6733 §7.5); or, when an AVP length
	// is broken, the AVP header with a zero payload of the minimum size for the AVP's type
	// (5014, RFC 6733 §7.1.5). An AVP missing from or found in Terminal-Information is given on
	// its own, not wrapped in Terminal-Information (which RFC 6733 §7.5 makes optional). Nil for
	// 3008.
	FailedAVP []byte
	Err       error
}

func (e *RequestError) Error() string {
	if e.Err == nil {
		return "s13: ECR rejected with " + e.ResultCode.String()
	}
	return "s13: ECR rejected with " + e.ResultCode.String() + ": " + e.Err.Error()
}

// Unwrap returns the cause (see the type's doc).
func (e *RequestError) Unwrap() error { return e.Err }

// reason is the cause's innermost error text, a fixed string suitable for Error-Message.
func (e *RequestError) reason() string {
	err := e.Err
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// Occurrence bits of the AVPs an ECR may carry once.
const (
	ecrSessionID uint32 = 1 << iota
	ecrDRMP
	ecrVendorSpecificApp
	ecrAuthSessionState
	ecrOriginHost
	ecrOriginRealm
	ecrDestinationHost
	ecrDestinationRealm
	ecrTerminalInformation
	ecrUserName
	ecrOriginStateID
	ecrIMEI
	ecrSoftwareVersion
	ecr3GPP2MEID
)

// ParseECR decodes and checks an ME-Identity-Check-Request. Three kinds of error:
//
//   - framing errors from framing.Message (short buffer, version, Message Length): the stream
//     cannot be trusted, nothing is answered, the transport should be closed;
//   - ErrNotECR (wrapped): another command, an answer, or another application; the caller
//     routes it elsewhere or answers 3001/3007 itself;
//   - *RequestError: an ECR to answer with an error via AppendRequestError. The returned ECR
//     then holds what could be decoded (Header always, Session-Id and Proxy-Info when their
//     AVPs were readable), which is what that answer echoes.
//
// Checked: the E bit (3008); the AVP framing (5014); an unknown AVP with the M bit at the top
// level or inside Terminal-Information (5001; without the M bit it is skipped); single AVPs that
// occur twice, or more than MaxProxyInfo Proxy-Info (5009); fixed-size values of the wrong size
// (5014); values out of range: empty identities or Session-Id, Auth-Session-State not 0 or 1,
// DRMP above 15, IMEI not 14-15 digits, Software-Version not 2 digits (5004); and the required
// Session-Id, Auth-Session-State, Origin-Host, Origin-Realm, Destination-Realm,
// Terminal-Information and IMEI (5005). Only the first problem is reported (RFC 6733 §7), but
// the scan goes on past it to collect Session-Id and Proxy-Info for the answer. User-Name is not
// checked: the EIR decides what an odd IMSI means. The IMEI's 15th digit is not Luhn-checked
// (TS 22.016 §3). Session-Id need not come first.
//
// ParseECR allocates nothing when msg is a valid ECR, only reads msg, and is safe for concurrent
// use.
func ParseECR(msg []byte) (ECR, error) {
	var r ECR
	err := ParseECRInto(msg, &r)
	return r, err
}

// ParseECRInto is ParseECR filling *r, which it resets first: an ECR is a few hundred bytes, and
// a responder's hot path keeps one instead of zeroing a parser's and copying it out per request.
// On a framing error or ErrNotECR *r is left zero. Safe for concurrent use on distinct r.
func ParseECRInto(msg []byte, r *ECR) error {
	*r = ECR{}
	msg, err := framing.ReadMessage(msg, &r.Header)
	if err != nil {
		r.Header = framing.Header{}
		return err
	}
	h := &r.Header
	if h.Code != CommandCode || !h.IsRequest() || h.AppID != AppID {
		name := framing.CommandName(h.Code, h.IsRequest())
		err := fmt.Errorf("%w: %s, application %d", ErrNotECR, name, h.AppID)
		r.Header = framing.Header{}
		return err
	}
	p := ecrParser{msg: msg}
	if h.IsError() {
		p.fail(framing.InvalidHdrBits, nil, fmt.Errorf("%w: E bit in a request", ErrInvalidHeaderBits))
	}
	p.scan(r)
	if p.err != nil {
		return p.err
	}
	return nil
}

// ecrParser holds the state of one ParseECR call; it lives on the caller's stack. The ECR it
// fills is a parameter of its methods, not a field: held in the struct, the pointer made escape
// analysis move the caller's ECR to the heap (seen with -gcflags=-m; TestParseECRAllocs fails).
type ecrParser struct {
	msg  []byte
	seen uint32
	err  *RequestError // the first problem; later ones are ignored
}

// fail records a problem unless one is recorded already.
func (p *ecrParser) fail(rc framing.ResultCode, failed []byte, err error) {
	if p.err == nil {
		p.err = &RequestError{ResultCode: rc, FailedAVP: failed, Err: err}
	}
}

// once marks bit as seen; on a second occurrence it records 5009 and returns false.
func (p *ecrParser) once(bit uint32, a *framing.AVP) bool {
	if p.seen&bit != 0 {
		p.fail(framing.AVPOccursTooManyTimes, p.raw(a), avpError(framing.ErrDuplicateAVP, a))
		return false
	}
	p.seen |= bit
	return true
}

func (p *ecrParser) scan(r *ECR) {
	// framing.AVPAt into a local AVP rather than an Iter: the responder's hottest decode.
	var a framing.AVP
	for off := framing.HeaderLen; off < len(p.msg); {
		var next int
		var ok bool
		a.Code, a.Flags, a.Vendor, a.Data, next, ok = framing.AVPAt(p.msg, off)
		if !ok {
			p.framingError(framing.BadAVPAt(p.msg, off, 0), len(p.msg))
			break
		}
		a.Offset = off
		off = next
		if p.err != nil {
			// Past the first error only what the answer echoes is still of interest.
			p.collect(&a, r)
			continue
		}
		switch a.Vendor {
		case 0:
			p.base(&a, r)
		case VendorID:
			if a.Code == AVPTerminalInformation {
				if p.once(ecrTerminalInformation, &a) {
					p.terminalInformation(&a, r)
				}
				break
			}
			p.unknown(&a)
		default:
			p.unknown(&a)
		}
	}
	if p.err != nil {
		return
	}
	p.required()
}

// collect picks up Session-Id and Proxy-Info after an error, for the error answer.
func (p *ecrParser) collect(a *framing.AVP, r *ECR) {
	if a.Vendor != 0 {
		return
	}
	switch a.Code {
	case framing.AVPSessionID:
		if p.seen&ecrSessionID == 0 && len(a.Data) > 0 {
			p.seen |= ecrSessionID
			r.SessionID = a.Data
		}
	case framing.AVPProxyInfo:
		if r.NumProxyInfo < MaxProxyInfo && p.groupOK(a) {
			r.ProxyInfo[r.NumProxyInfo] = p.padded(a)
			r.NumProxyInfo++
		}
	}
}

// base handles a top-level AVP without Vendor-Id.
func (p *ecrParser) base(a *framing.AVP, r *ECR) {
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
			p.fail(framing.AVPOccursTooManyTimes, p.raw(a), avpError(framing.ErrDuplicateAVP, a))
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
func (p *ecrParser) terminalInformation(g *framing.AVP, r *ECR) {
	base := g.Offset + g.HeaderLen()
	var m framing.AVP
	a := &m
	for off := 0; off < len(g.Data); {
		var next int
		var ok bool
		a.Code, a.Flags, a.Vendor, a.Data, next, ok = framing.AVPAt(g.Data, off)
		if !ok {
			p.framingError(framing.BadAVPAt(g.Data, off, base), g.Offset+g.Len())
			return
		}
		a.Offset = base + off
		off = next
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
}

// required reports the first required AVP that is missing, in ABNF order.
func (p *ecrParser) required() {
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
func (p *ecrParser) missing(code uint32, flags uint8, vendor uint32, n, off int) {
	ex := framing.AppendAVPHeader(make([]byte, 0, framing.AVPVendorHeaderLen+n), code, flags, vendor, n)
	ex = append(ex, make([]byte, n)...)
	p.fail(framing.MissingAVP, ex, &framing.AVPError{Code: code, Vendor: vendor, Offset: off, Err: framing.ErrMissingAVP})
}

// unknown records 5001 for an AVP this application does not know, when it has the M bit.
func (p *ecrParser) unknown(a *framing.AVP) {
	if a.Mandatory() {
		p.fail(framing.AVPUnsupported, p.raw(a), avpError(ErrUnsupportedAVP, a))
	}
}

// invalid records 5004 for a well-framed AVP with an unacceptable value.
func (p *ecrParser) invalid(a *framing.AVP) {
	p.fail(framing.InvalidAVPValue, p.raw(a), avpError(ErrInvalidAVPValue, a))
}

// nonEmpty records 5004 for an empty identity or Session-Id.
func (p *ecrParser) nonEmpty(a *framing.AVP) bool {
	if len(a.Data) == 0 {
		p.invalid(a)
		return false
	}
	return true
}

// uint32 decodes a 4-octet value; another size is 5014 (RFC 6733 §7.1.5: the length is wrong
// for the type, as freeDiameter also answers).
func (p *ecrParser) uint32(a *framing.AVP) (uint32, bool) {
	v, err := a.Uint32()
	if err != nil {
		p.fail(framing.InvalidAVPLength, p.raw(a), err)
		return 0, false
	}
	return v, true
}

// groupOK checks the framing of a Grouped AVP's members; a broken one is 5014.
func (p *ecrParser) groupOK(g *framing.AVP) bool {
	base := g.Offset + g.HeaderLen()
	for off := 0; off < len(g.Data); {
		_, _, _, _, next, ok := framing.AVPAt(g.Data, off)
		if !ok {
			p.framingError(framing.BadAVPAt(g.Data, off, base), g.Offset+g.Len())
			return false
		}
		off = next
	}
	return true
}

// framingError records 5014 for an AVP whose length is broken. end is where its container
// (message or Grouped AVP) ends. The Failed-AVP is built from the header bytes that are there,
// zero-padded to a full header, with the length rewritten to the header plus a zero payload of
// the type's minimum size (RFC 6733 §7.1.5), so that it is itself well formed.
func (p *ecrParser) framingError(err error, end int) {
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

// minPayload is the smallest data size of the AVP's type: 4 for the Unsigned32 and Enumerated
// AVPs an ECR (or its Grouped members) may carry, 0 for strings, Grouped and unknown AVPs.
func minPayload(code, vendor uint32) int {
	if vendor != 0 {
		return 0 // the S13 AVPs of an ECR are Grouped or UTF8String
	}
	switch code {
	case framing.AVPAuthSessionState, framing.AVPDRMP, framing.AVPOriginStateID,
		framing.AVPVendorID, framing.AVPAuthApplicationID, framing.AVPAcctApplicationID:
		return 4
	}
	return 0
}

// raw returns a copy of a as encoded, padded, for a Failed-AVP that outlives the message.
func (p *ecrParser) raw(a *framing.AVP) []byte {
	b := make([]byte, (a.Len()+3)&^3)
	copy(b, p.msg[a.Offset:a.Offset+a.Len()])
	return b
}

// padded returns a as encoded, with its padding, aliasing the message. Top-level AVPs always
// have their padding: the message length is a multiple of 4.
func (p *ecrParser) padded(a *framing.AVP) []byte {
	end := min(a.Offset+(a.Len()+3)&^3, len(p.msg))
	return p.msg[a.Offset:end:end]
}

func avpError(err error, a *framing.AVP) error {
	return &framing.AVPError{Code: a.Code, Vendor: a.Vendor, Offset: a.Offset, Err: err}
}
