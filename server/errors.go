package server

import (
	"errors"

	"github.com/hsdfat8/diam-gw/internal/confcheck"
)

// Sentinel errors of this package.
var (
	// ErrInvalidConfig: a Config field is wrong; each bad field is a *ConfigError naming it.
	ErrInvalidConfig = errors.New("server: invalid configuration")
	// ErrListen: the listening socket could not be opened (address in use, bad address, ...).
	ErrListen = errors.New("server: cannot listen")
	// ErrAlreadyStarted: Start was called twice.
	ErrAlreadyStarted = errors.New("server: already started")
	// ErrClosed: Start after Close.
	ErrClosed = errors.New("server: closed")
)

// ConfigError names one Config field that Validate rejected and why; it wraps ErrInvalidConfig.
// Validate joins one per bad field: errors.As finds the first, errors.Is(err, ErrInvalidConfig)
// matches them all. The engine's ConfigError is the same type.
type ConfigError = confcheck.FieldError
