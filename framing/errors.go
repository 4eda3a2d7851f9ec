package framing

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package matches exactly one of them with
// errors.Is; most are wrapped with the offending code or byte offset.
var (
	// ErrShortBuffer: fewer bytes than a fixed-size structure (header, AVP header) needs.
	ErrShortBuffer = errors.New("framing: buffer too short")
	// ErrVersion: the header's version octet is not 1.
	ErrVersion = errors.New("framing: unsupported Diameter version")
	// ErrMessageLength: Message Length below 20 or not a multiple of 4.
	ErrMessageLength = errors.New("framing: invalid message length")
	// ErrMessageTooLarge: Message Length above the configured maximum.
	ErrMessageTooLarge = errors.New("framing: message too large")
	// ErrTruncated: the buffer ends before Message Length says the message does.
	ErrTruncated = errors.New("framing: message truncated")
	// ErrAVPLength: an AVP length below its header size (including zero).
	ErrAVPLength = errors.New("framing: invalid AVP length")
	// ErrAVPOverrun: an AVP (or its header) runs past the end of its message or Grouped parent.
	ErrAVPOverrun = errors.New("framing: AVP runs past the end of its container")
	// ErrAVPData: an AVP's data has the wrong size or content for its type.
	ErrAVPData = errors.New("framing: invalid AVP data")
	// ErrMissingAVP: a required AVP is absent.
	ErrMissingAVP = errors.New("framing: missing required AVP")
	// ErrDuplicateAVP: an AVP that may occur once occurs more often.
	ErrDuplicateAVP = errors.New("framing: AVP occurs too many times")
	// ErrUnexpectedMessage: the header does not describe the message the parser expects
	// (wrong command code, R bit, or application id).
	ErrUnexpectedMessage = errors.New("framing: unexpected message")
	// ErrInvalidValue: a caller-supplied value cannot be encoded (for example a non-IP address).
	ErrInvalidValue = errors.New("framing: invalid value")
)

// AVPError says which AVP a decoding error is about. It wraps one of the sentinels.
type AVPError struct {
	Code   uint32 // AVP code, 0 when the AVP header itself could not be read
	Vendor uint32 // Vendor-Id, 0 when none
	Offset int    // byte offset of the AVP header from the start of the scanned buffer
	Err    error  // the sentinel
}

func (e *AVPError) Error() string {
	if e.Vendor != 0 {
		return fmt.Sprintf("%v (AVP %d vendor %d at offset %d)", e.Err, e.Code, e.Vendor, e.Offset)
	}
	return fmt.Sprintf("%v (AVP %d at offset %d)", e.Err, e.Code, e.Offset)
}

func (e *AVPError) Unwrap() error { return e.Err }

func avpErr(err error, code, vendor uint32, off int) error {
	return &AVPError{Code: code, Vendor: vendor, Offset: off, Err: err}
}
