package framing

import "fmt"

// This file holds what DWR/DWA, DPR/DPA and the E-bit answer-message share: a zero-copy view of
// their AVPs and the encoders (RFC 6733 §5.4, §5.5, §7.2). CER/CEA live in capabilities.go.

// Identity is the local node as base messages name it.
type Identity struct {
	OriginHost    string
	OriginRealm   string
	OriginStateID uint32 // 0: not sent
}

// Base is a view of the AVPs a base message or answer-message may carry. Byte fields alias the
// parsed message; copy them to keep them past the buffer's life.
type Base struct {
	ResultCode         ResultCode
	HasResultCode      bool
	OriginHost         []byte
	OriginRealm        []byte
	OriginStateID      uint32
	HasOriginStateID   bool
	DisconnectCause    DisconnectCause
	HasDisconnectCause bool
	SessionID          []byte
	ErrorMessage       []byte
	FailedAVP          []byte // the Failed-AVP's data (its member AVPs), nil when absent
}

// Required-AVP masks for parseBase.
const (
	needResultCode uint8 = 1 << iota
	needOriginHost
	needOriginRealm
	needDisconnectCause
)

// ParseBase decodes the base AVPs of any message without checking which command it is. Single
// AVPs that occur twice are ErrDuplicateAVP; malformed values are ErrAVPData. Unknown AVPs are
// skipped: whether an unknown M-bit AVP is an error is the caller's decision.
func ParseBase(msg []byte) (Header, Base, error) {
	msg, h, err := Message(msg)
	if err != nil {
		return Header{}, Base{}, err
	}
	var b Base
	var seen uint16
	it := AVPs(msg)
	for it.Next() {
		a := it.AVP()
		if a.Vendor != 0 {
			continue
		}
		var bit uint16
		switch a.Code {
		case AVPResultCode:
			bit = 1 << 0
			v, err := a.Uint32()
			if err != nil {
				return h, b, err
			}
			b.ResultCode, b.HasResultCode = ResultCode(v), true
		case AVPOriginHost:
			bit = 1 << 1
			b.OriginHost = a.Data
		case AVPOriginRealm:
			bit = 1 << 2
			b.OriginRealm = a.Data
		case AVPOriginStateID:
			bit = 1 << 3
			v, err := a.Uint32()
			if err != nil {
				return h, b, err
			}
			b.OriginStateID, b.HasOriginStateID = v, true
		case AVPDisconnectCause:
			bit = 1 << 4
			v, err := a.Int32()
			if err != nil {
				return h, b, err
			}
			b.DisconnectCause, b.HasDisconnectCause = DisconnectCause(v), true
		case AVPSessionID:
			bit = 1 << 5
			b.SessionID = a.Data
		case AVPErrorMessage:
			bit = 1 << 6
			b.ErrorMessage = a.Data
		case AVPFailedAVP:
			bit = 1 << 7
			b.FailedAVP = a.Data
		default:
			continue
		}
		if seen&bit != 0 {
			return h, b, avpErr(ErrDuplicateAVP, a.Code, 0, a.Offset)
		}
		seen |= bit
	}
	return h, b, it.Err()
}

// parseBaseAs is ParseBase plus the command, R-bit and required-AVP checks of one message type.
func parseBaseAs(msg []byte, code uint32, request bool, need uint8) (Base, error) {
	h, b, err := ParseBase(msg)
	if err != nil {
		return b, err
	}
	return b, checkBase(h, &b, code, request, need)
}

// checkBase verifies the command, the R bit and the required AVPs of a parsed base message.
func checkBase(h Header, b *Base, code uint32, request bool, need uint8) error {
	if h.Code != code || h.IsRequest() != request {
		return fmt.Errorf("%w: want %s, got %s", ErrUnexpectedMessage,
			CommandName(code, request), CommandName(h.Code, h.IsRequest()))
	}
	switch {
	case need&needResultCode != 0 && !b.HasResultCode:
		return avpErr(ErrMissingAVP, AVPResultCode, 0, HeaderLen)
	case need&needOriginHost != 0 && len(b.OriginHost) == 0:
		return avpErr(ErrMissingAVP, AVPOriginHost, 0, HeaderLen)
	case need&needOriginRealm != 0 && len(b.OriginRealm) == 0:
		return avpErr(ErrMissingAVP, AVPOriginRealm, 0, HeaderLen)
	case need&needDisconnectCause != 0 && !b.HasDisconnectCause:
		return avpErr(ErrMissingAVP, AVPDisconnectCause, 0, HeaderLen)
	}
	return nil
}

// ParseDWR decodes a Device-Watchdog-Request: { Origin-Host } { Origin-Realm } [ Origin-State-Id ].
func ParseDWR(msg []byte) (Base, error) {
	return parseBaseAs(msg, CmdDeviceWatchdog, true, needOriginHost|needOriginRealm)
}

// ParseDWA decodes a Device-Watchdog-Answer: { Result-Code } { Origin-Host } { Origin-Realm }.
func ParseDWA(msg []byte) (Base, error) {
	return parseBaseAs(msg, CmdDeviceWatchdog, false, needResultCode|needOriginHost|needOriginRealm)
}

// ParseDPR decodes a Disconnect-Peer-Request: { Origin-Host } { Origin-Realm } { Disconnect-Cause }.
func ParseDPR(msg []byte) (Base, error) {
	return parseBaseAs(msg, CmdDisconnectPeer, true, needOriginHost|needOriginRealm|needDisconnectCause)
}

// ParseDPA decodes a Disconnect-Peer-Answer: { Result-Code } { Origin-Host } { Origin-Realm }.
func ParseDPA(msg []byte) (Base, error) {
	return parseBaseAs(msg, CmdDisconnectPeer, false, needResultCode|needOriginHost|needOriginRealm)
}

// ParseAnswerMessage decodes an E-bit answer-message (RFC 6733 §7.2) for any command:
// { Origin-Host } { Origin-Realm } { Result-Code }.
func ParseAnswerMessage(msg []byte) (Base, error) {
	h, b, err := ParseBase(msg)
	if err != nil {
		return b, err
	}
	if h.IsRequest() || !h.IsError() {
		return b, fmt.Errorf("%w: %s without the E bit is not an answer-message", ErrUnexpectedMessage,
			CommandName(h.Code, h.IsRequest()))
	}
	return b, checkBase(h, &b, h.Code, false, needResultCode|needOriginHost|needOriginRealm)
}

// AnswerHeader returns the header of an answer to req (RFC 6733 §6.2): same command,
// application, Hop-by-Hop and End-to-End, the P bit kept, R and T cleared.
func AnswerHeader(req Header) Header {
	return Header{
		Version:  Version,
		Flags:    req.Flags & FlagProxiable,
		Code:     req.Code,
		AppID:    req.AppID,
		HopByHop: req.HopByHop,
		EndToEnd: req.EndToEnd,
	}
}

func appendOrigin(dst []byte, id *Identity) []byte {
	dst = AppendString(dst, AVPOriginHost, AVPFlagMandatory, 0, id.OriginHost)
	return AppendString(dst, AVPOriginRealm, AVPFlagMandatory, 0, id.OriginRealm)
}

func appendStateID(dst []byte, id *Identity) []byte {
	if id.OriginStateID == 0 {
		return dst
	}
	return AppendUint32(dst, AVPOriginStateID, AVPFlagMandatory, 0, id.OriginStateID)
}

func requestHeader(code, hbh, e2e uint32) Header {
	return Header{Version: Version, Flags: FlagRequest, Code: code, AppID: AppCommon, HopByHop: hbh, EndToEnd: e2e}
}

// AppendDWR appends a Device-Watchdog-Request.
func AppendDWR(dst []byte, hbh, e2e uint32, id *Identity) []byte {
	dst, m := BeginMessage(dst, requestHeader(CmdDeviceWatchdog, hbh, e2e))
	dst = appendOrigin(dst, id)
	dst = appendStateID(dst, id)
	return EndMessage(dst, m)
}

// AppendDWA appends the Device-Watchdog-Answer to req.
func AppendDWA(dst []byte, req Header, rc ResultCode, id *Identity) []byte {
	dst, m := BeginMessage(dst, AnswerHeader(req))
	dst = AppendUint32(dst, AVPResultCode, AVPFlagMandatory, 0, uint32(rc))
	dst = appendOrigin(dst, id)
	dst = appendStateID(dst, id)
	return EndMessage(dst, m)
}

// AppendDPR appends a Disconnect-Peer-Request.
func AppendDPR(dst []byte, hbh, e2e uint32, id *Identity, cause DisconnectCause) []byte {
	dst, m := BeginMessage(dst, requestHeader(CmdDisconnectPeer, hbh, e2e))
	dst = appendOrigin(dst, id)
	dst = AppendEnumerated(dst, AVPDisconnectCause, AVPFlagMandatory, 0, int32(cause))
	return EndMessage(dst, m)
}

// AppendDPA appends the Disconnect-Peer-Answer to req.
func AppendDPA(dst []byte, req Header, rc ResultCode, id *Identity) []byte {
	dst, m := BeginMessage(dst, AnswerHeader(req))
	dst = AppendUint32(dst, AVPResultCode, AVPFlagMandatory, 0, uint32(rc))
	dst = appendOrigin(dst, id)
	return EndMessage(dst, m)
}

// ErrorAnswer is the content of an answer-message (RFC 6733 §7.2).
type ErrorAnswer struct {
	ResultCode   ResultCode
	SessionID    []byte   // copied from the request when it had one
	ErrorMessage string   // human-readable, sent without the M bit
	FailedAVP    []byte   // encoded AVP(s) to wrap in Failed-AVP; nil for none
	ProxyInfo    [][]byte // the request's encoded Proxy-Info AVPs, copied in order (RFC 6733 §6.2)
}

// AppendAnswerMessage appends an answer-message to req. The E bit is set for protocol errors
// (3xxx), which RFC 6733 §7.1.3 requires; other codes are sent without it.
func AppendAnswerMessage(dst []byte, req Header, id *Identity, e *ErrorAnswer) []byte {
	h := AnswerHeader(req)
	if e.ResultCode.IsProtocolError() {
		h.Flags |= FlagError
	}
	dst, m := BeginMessage(dst, h)
	if e.SessionID != nil {
		dst = AppendOctets(dst, AVPSessionID, AVPFlagMandatory, 0, e.SessionID)
	}
	dst = appendOrigin(dst, id)
	dst = AppendUint32(dst, AVPResultCode, AVPFlagMandatory, 0, uint32(e.ResultCode))
	dst = appendStateID(dst, id)
	if e.ErrorMessage != "" {
		dst = AppendString(dst, AVPErrorMessage, 0, 0, e.ErrorMessage)
	}
	if len(e.FailedAVP) > 0 {
		var g int
		dst, g = BeginGrouped(dst, AVPFailedAVP, AVPFlagMandatory, 0)
		dst = append(dst, e.FailedAVP...)
		dst = EndGrouped(dst, g)
	}
	for _, pi := range e.ProxyInfo {
		dst = append(dst, pi...)
		dst = AppendPadding(dst, len(pi))
	}
	return EndMessage(dst, m)
}

// maxEchoedProxyInfo bounds the Proxy-Info AVPs AppendErrorFor echoes (each relay on the path adds
// one; eight is far beyond any real path) so that it allocates nothing.
const maxEchoedProxyInfo = 8

// AppendErrorFor appends an answer-message to the request msg (whose header is h): Result-Code
// rc, Error-Message text when not empty, and the request's Session-Id and Proxy-Info AVPs echoed
// as RFC 6733 §6.2 asks. A 3xxx code sets the E bit. It allocates nothing.
func AppendErrorFor(dst, msg []byte, h *Header, id *Identity, rc ResultCode, text string) []byte {
	var pis [maxEchoedProxyInfo][]byte
	ea := ErrorAnswer{ResultCode: rc, ErrorMessage: text}
	n := 0
	it := AVPs(msg)
	for it.Next() {
		a := it.AVP()
		if a.Vendor != 0 {
			continue
		}
		switch a.Code {
		case AVPSessionID:
			if ea.SessionID == nil && len(a.Data) > 0 {
				ea.SessionID = a.Data
			}
		case AVPProxyInfo:
			if n < len(pis) {
				pis[n] = msg[a.Offset:min(a.Offset+pad4(a.Len()), len(msg))]
				n++
			}
		}
	}
	ea.ProxyInfo = pis[:n]
	return AppendAnswerMessage(dst, *h, id, &ea)
}
