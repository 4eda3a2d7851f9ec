package payload

import "errors"

// ErrSpec: a generator spec that cannot be used (wrong length, a character that is neither a
// digit nor x). Every such error is a *SpecError wrapping it.
var ErrSpec = errors.New("payload: invalid generator spec")

// SpecError says which spec is unusable and why. It wraps ErrSpec.
type SpecError struct {
	Field  string // "IMEI spec" or "IMSI spec"
	Reason string // what is wrong, e.g. "13 characters, want 14 or 15"
}

func (e *SpecError) Error() string { return ErrSpec.Error() + ": " + e.Field + ": " + e.Reason }

// Unwrap returns ErrSpec.
func (e *SpecError) Unwrap() error { return ErrSpec }
