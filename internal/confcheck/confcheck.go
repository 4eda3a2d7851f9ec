// Package confcheck collects every bad field of a configuration into one error, so that the
// engine and the server report configuration mistakes in one shape: one *FieldError per field,
// named by its path (DRAs[1].Address), joined with errors.Join, each wrapping the package's
// ErrInvalidConfig sentinel. Nothing here is safe for concurrent use; a Checker lives in one
// Validate call.
package confcheck

import (
	"errors"
	"fmt"
)

// FieldError is one bad configuration field. engine.ConfigError and server.ConfigError are this
// type.
type FieldError struct {
	Sentinel error  // the package's ErrInvalidConfig
	Field    string // the field's path, e.g. "DRAs[0].Address"
	Reason   string
}

// Error names the sentinel, the field and the reason. Safe for concurrent use.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Sentinel, e.Field, e.Reason)
}

// Unwrap returns the sentinel, so errors.Is(err, ErrInvalidConfig) holds. Safe for concurrent use.
func (e *FieldError) Unwrap() error { return e.Sentinel }

// Checker gathers the bad fields of one validation.
type Checker struct {
	sentinel error
	errs     []error
}

// New returns a Checker whose errors wrap sentinel.
func New(sentinel error) *Checker { return &Checker{sentinel: sentinel} }

// Bad records that field is wrong, for the reason format says.
func (c *Checker) Bad(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Sentinel: c.sentinel, Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns every recorded field error joined, or nil when there is none.
func (c *Checker) Err() error { return errors.Join(c.errs...) }
