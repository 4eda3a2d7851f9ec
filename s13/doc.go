// Package s13 is the 3GPP S13/S13' application (TS 29.272 §6, §7.2.19-7.2.20, §7.3): the
// ME-Identity-Check request and answer (ECR/ECA, command 324, application 16777252, vendor
// 10415) on both sides, the IMEI, IMEISV and IMSI helpers, and Session-Id generation.
//
// Each message is one file, both ways. ecr.go: the client encodes an ECR straight into a
// caller's buffer (AppendECR, or an ECRTemplate per destination); the EIR decodes one (ParseECR,
// with the receiver checks of RFC 6733 §7 mapped to Result-Codes in a *RequestError). eca.go: the
// EIR encodes the answer (AppendECA, AppendRequestError); the client decodes it into a small
// Answer whose byte fields alias the message (ParseECA). On valid input none of them allocates.
// The EIR as a responder handler, with its IMEI-prefix policy, is package s13/eir.
//
// Functions are safe for concurrent use on distinct buffers unless their doc says otherwise.
package s13
