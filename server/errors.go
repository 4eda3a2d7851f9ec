package server

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package.
var (
	// ErrInvalidConfig: New was given a Config it cannot use; the error is a *ConfigError naming
	// the field.
	ErrInvalidConfig = errors.New("server: invalid configuration")
	// ErrListen: the listening socket could not be opened (address in use, bad address, ...).
	ErrListen = errors.New("server: cannot listen")
	// ErrAlreadyStarted: Start was called twice.
	ErrAlreadyStarted = errors.New("server: already started")
	// ErrClosed: Start after Close.
	ErrClosed = errors.New("server: closed")
)

// ConfigError names the Config field New rejected and why. It wraps ErrInvalidConfig.
type ConfigError struct {
	Field  string // e.g. "OriginHost", "DWRInterval"
	Reason string
}

// Error names the field and the reason. Safe for concurrent use.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("server: invalid configuration: %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidConfig. Safe for concurrent use.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }
