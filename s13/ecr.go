package s13

import (
	"strconv"

	"github.com/hsdfat8/diam-gw/framing"
)

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

// appendVendorSpecificApp appends Vendor-Specific-Application-Id{Vendor-Id 10415,
// Auth-Application-Id 16777252}, which older EIRs expect in ECR and ECA.
func appendVendorSpecificApp(dst []byte) []byte {
	var g int
	dst, g = framing.BeginGrouped(dst, framing.AVPVendorSpecificApplicationID, framing.AVPFlagMandatory, 0)
	dst = framing.AppendUint32(dst, framing.AVPVendorID, framing.AVPFlagMandatory, 0, VendorID)
	dst = framing.AppendUint32(dst, framing.AVPAuthApplicationID, framing.AVPFlagMandatory, 0, AppID)
	return framing.EndGrouped(dst, g)
}

// AppendSessionIDAVP appends a Session-Id AVP holding <originHost>;<hi>;<lo> (RFC 6733 §8.8),
// formatting the numbers in place.
func AppendSessionIDAVP(dst []byte, originHost string, hi, lo uint32) []byte {
	dst, m := framing.BeginAVP(dst, framing.AVPSessionID, framing.AVPFlagMandatory, 0)
	dst = appendSessionID(dst, originHost, hi, lo)
	return framing.EndAVP(dst, m)
}

// SessionID returns <originHost>;<hi>;<lo>, the Session-Id that AppendECR generates.
func SessionID(originHost string, hi, lo uint32) string {
	return string(appendSessionID(make([]byte, 0, len(originHost)+22), originHost, hi, lo))
}

func appendSessionID(dst []byte, originHost string, hi, lo uint32) []byte {
	dst = append(dst, originHost...)
	dst = append(dst, ';')
	dst = strconv.AppendUint(dst, uint64(hi), 10)
	dst = append(dst, ';')
	return strconv.AppendUint(dst, uint64(lo), 10)
}
