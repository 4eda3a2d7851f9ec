// Package eir is an S13 EIR as a responder handler: a Handler that decodes each
// ME-Identity-Check-Request with s13.ParseECR, decides it with an IMEI-prefix Policy (the
// rule-file format of freeDiameter's test EIR, eir_rules.conf) and answers with s13.AppendECA,
// after the rule's delay or a default one. Its ServeDiameter method is what package server
// calls.
//
// Functions and methods are safe for concurrent use unless their doc says otherwise.
package eir
