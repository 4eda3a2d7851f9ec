package s13

import "unicode/utf8"

// FieldError says which field of a Request (or which input of an IMEI/IMSI helper) is unusable
// and why. It wraps ErrInvalidRequest.
type FieldError struct {
	Field  string // "IMEI", "SoftwareVersion", "IMSI", "DestinationRealm", "IMEI spec", ...
	Reason string // what is wrong, e.g. "13 digits, want 14 or 15"
}

func (e *FieldError) Error() string {
	return ErrInvalidRequest.Error() + ": " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalidRequest.
func (e *FieldError) Unwrap() error { return ErrInvalidRequest }

// Validate checks that r can be sent as an ECR: IMEI 14 or 15 digits (ValidateIMEI),
// SoftwareVersion empty or 2 digits, IMSI empty or 5-15 digits, DestinationRealm non-empty, no
// control character (C0 or DEL) in DestinationRealm, DestinationHost or SessionID, and SessionID
// valid UTF-8 (it is a UTF8String). The first problem found is returned as a *FieldError wrapping
// ErrInvalidRequest. Validate allocates nothing when r is valid; AppendECR does not call it, so
// a sender validates once, where the request enters the system.
func (r *Request) Validate() error {
	// One pass of plain byte loops for the common case, a valid request (it runs for every ECR
	// the engine sends); explain finds and words the problem otherwise.
	if isDigits(r.IMEI, IMEILen, MaxIMEILen) &&
		(r.SoftwareVersion == "" || isDigits(r.SoftwareVersion, SVNLen, SVNLen)) &&
		(r.IMSI == "" || isDigits(r.IMSI, MinIMSILen, MaxIMSILen)) &&
		r.DestinationRealm != "" && !hasControl(r.DestinationRealm) && !hasControl(r.DestinationHost) &&
		(r.SessionID == "" || !hasControl(r.SessionID) && utf8.ValidString(r.SessionID)) {
		return nil
	}
	return r.explain()
}

// explain returns the first problem of an invalid request as a *FieldError.
func (r *Request) explain() error {
	if err := ValidateIMEI(r.IMEI); err != nil {
		return err
	}
	if r.SoftwareVersion != "" {
		if err := ValidateSoftwareVersion(r.SoftwareVersion); err != nil {
			return err
		}
	}
	if r.IMSI != "" {
		if err := ValidateIMSI(r.IMSI); err != nil {
			return err
		}
	}
	if r.DestinationRealm == "" {
		return &FieldError{Field: "DestinationRealm", Reason: "empty"}
	}
	if err := checkText("DestinationRealm", r.DestinationRealm); err != nil {
		return err
	}
	if err := checkText("DestinationHost", r.DestinationHost); err != nil {
		return err
	}
	if err := checkText("SessionID", r.SessionID); err != nil {
		return err
	}
	if !utf8.ValidString(r.SessionID) {
		return &FieldError{Field: "SessionID", Reason: "invalid UTF-8"}
	}
	return nil
}

// isDigits reports whether s is min..max decimal digits. Eight bytes at a time: it runs for the
// IMEI, IMSI and Software-Version of every request, where a byte loop was most of Validate's
// cost (bench/results/2026-12-03-notes.md).
func isDigits(s string, min, max int) bool {
	n := len(s)
	if n < min || n > max {
		return false
	}
	if n < 8 {
		for i := 0; i < n; i++ {
			if s[i]-'0' > 9 {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 <= n; i += 8 {
		if !digits8(load8(s[i:])) {
			return false
		}
	}
	return digits8(load8(s[n-8:])) // the tail, overlapping what was checked
}

// digits8 reports whether all eight bytes of x are '0'..'9': the high nibble is 3, and adding 6
// to the low nibble does not carry into it (no byte can carry into the next one when both hold).
func digits8(x uint64) bool {
	const hi, three, six = 0xF0F0F0F0F0F0F0F0, 0x3030303030303030, 0x0606060606060606
	return x&hi == three && (x+six)&hi == three
}

// hasControl reports whether s holds a C0 control character or DEL, eight bytes at a time.
func hasControl(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if c := s[i]; c < 0x20 || c == 0x7f {
				return true
			}
		}
		return false
	}
	for i := 0; i+8 <= n; i += 8 {
		if control8(load8(s[i:])) {
			return true
		}
	}
	return control8(load8(s[n-8:]))
}

// control8 reports whether a byte of x is below 0x20 or is 0x7F ("has less than" and "has zero"
// from Bit Twiddling Hacks; both are exact as a whole-word answer).
func control8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	del := x ^ 0x7F7F7F7F7F7F7F7F
	return (x-0x20*ones)&^x&highs != 0 || (del-ones)&^del&highs != 0
}

// load8 reads s[:8] as a little-endian word (the compiler makes it one load, with one bounds
// check).
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// checkText rejects control characters: a UTF8String "SHOULD NOT" carry them (RFC 6733 §4.3.1)
// and in an identity they only ever come from a configuration or injection mistake.
func checkText(field, s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return &FieldError{Field: field, Reason: "control character " + quoteByte(s, i) + " at index " + itoa(i)}
		}
	}
	return nil
}
