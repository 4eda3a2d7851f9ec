// Package framing is the Diameter wire format (RFC 6733 §3, §4): the 20-byte header, the TCP
// stream splitter, a zero-copy AVP scanner, append-style AVP and message encoders, the base
// dictionary (command codes, AVP codes, Result-Code and Disconnect-Cause values) and the base
// protocol messages CER/CEA, DWR/DWA, DPR/DPA and the E-bit answer-message.
//
// The package is pure: no I/O, no clock, no goroutines, and it does not import gnet. Encoders
// append to a caller-owned []byte (for example the B field of a pooled
// bytebufferpool.ByteBuffer) and decoders return views that alias the input, so a hot path that
// reuses its buffers allocates nothing. Every malformed input yields an error that matches one of
// the sentinels in errors.go with errors.Is; nothing here panics on bad bytes.
//
// Unless a doc comment says otherwise, functions are safe for concurrent use on distinct
// buffers and types carry no hidden shared state.
package framing
