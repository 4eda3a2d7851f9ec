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

// isDigits reports whether s is min..max decimal digits.
func isDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a C0 control character or DEL.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
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
