package link

import "github.com/hsdfat8/diam-gw/framing"

// The answers both sides give to the base protocol's requests on an open connection. When each is
// sent (the engine's state machine, the server's connection state) stays with the loop; what is
// sent is decided here, once.

// DWA appends the answer to a DWR: 2001 with our identity (RFC 6733 §5.5.2).
func DWA(dst []byte, req framing.Header, id *framing.Identity) []byte {
	return framing.AppendDWA(dst, req, framing.Success, id)
}

// DPA appends the answer to a DPR with our identity (RFC 6733 §5.4): result is 2001, or 5012
// DIAMETER_UNABLE_TO_COMPLY when this side still has requests in flight on the connection (the
// engine's choice; see engine.draConn.dpaResult).
func DPA(dst []byte, req framing.Header, result framing.ResultCode, id *framing.Identity) []byte {
	return framing.AppendDPA(dst, req, result, id)
}

// Unsupported appends the answer to a request this side does not serve: an E-bit answer-message
// (RFC 6733 §7.1.3: a protocol error, so the E bit and the answer-message grammar of §7.2,
// echoing Session-Id and Proxy-Info) whose Result-Code says why, first match wins:
// 3008 DIAMETER_INVALID_HDR_BITS for a request with the E bit set (§3: never in a request);
// 3007 DIAMETER_APPLICATION_UNSUPPORTED for an application that is neither the base protocol's
// (0) nor one that supports reports ours; 3001 DIAMETER_COMMAND_UNSUPPORTED otherwise.
func Unsupported(dst, msg []byte, req *framing.Header, id *framing.Identity, supports func(app uint32) bool) []byte {
	rc := framing.CommandUnsupported
	switch {
	case req.IsError():
		rc = framing.InvalidHdrBits
	case req.AppID != 0 && !supports(req.AppID):
		rc = framing.ApplicationUnsupported
	}
	return framing.AppendErrorFor(dst, msg, req, id, rc, "")
}

// SecondCERText is the Error-Message of the answer to a second CER.
const SecondCERText = "capabilities already exchanged on this connection"

// SecondCER appends the answer to a CER on a connection whose capabilities are already
// exchanged: the exchange stands, the connection stays, and the answer is a CEA with 5012
// DIAMETER_UNABLE_TO_COMPLY and no E bit, carrying our capabilities as the CEA grammar requires.
//
// Why a CEA and not an E-bit answer-message: 5012 is a permanent failure (RFC 6733 §7.1.5), not a
// protocol error. The E bit is for protocol errors, 3xxx, and only an answer with the E bit takes
// the answer-message grammar (§3, §7.1.3, §7.2); a 5xxx answer is the command's own answer
// (§7.1: "the Result-Code AVP ... in the answer"), here <CEA> (§5.3.2), whose mandatory AVPs a
// bare answer-message would lack. freeDiameter answers a second CER with a CEA too.
func SecondCER(dst []byte, req framing.Header, caps *framing.Capabilities) []byte {
	return framing.AppendCEA(dst, req, framing.UnableToComply, caps, SecondCERText)
}
