// Package s13 is the 3GPP S13/S13' application (TS 29.272 §6, §7.2.19-7.2.20, §7.3): the
// ME-Identity-Check request and answer (ECR/ECA, command 324, application 16777252, vendor
// 10415) on both sides, the IMEI, IMEISV and IMSI helpers, IMEI/IMSI generators for load tests,
// and Session-Id generation.
//
// The client side encodes an ECR straight into a caller's buffer (AppendECR) and decodes an ECA
// into a small Answer whose byte fields alias the message (ParseECA); neither allocates. The EIR
// side decodes an ECR the same way (ParseECR, with the receiver checks of RFC 6733 §7 mapped to
// Result-Codes in a *RequestError) and encodes the answer (AppendECA, AppendRequestError); on
// valid input neither allocates. EIR is a ready responder handler on top of them: an IMEI-prefix
// Policy (the rule-file format of freeDiameter's test EIR) mapped to verdicts and delays, with the
// ServeDiameter method that package server calls.
//
// Functions are safe for concurrent use on distinct buffers unless their doc says otherwise.
package s13
