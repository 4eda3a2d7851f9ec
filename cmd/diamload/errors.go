package main

import (
	"errors"
	"fmt"
)

// Exit codes (stable: scripts and CI rely on them).
const (
	exitOK        = 0
	exitFailure   = 1  // runtime failure: no peer reached, listen failed, I/O error
	exitUsage     = 2  // bad command line
	exitThreshold = 99 // the run completed but a check failed (--max-error-ratio, selftest)
)

// Sentinel errors. exitCode maps them to exit codes; everything else is a runtime failure.
var (
	// errUsage: a bad flag, value or argument. The message is one line naming the flag.
	errUsage = errors.New("usage")
	// errUnreachable: no peer completed the capabilities exchange in time.
	errUnreachable = errors.New("no peer reachable")
	// errThreshold: the run finished but failed a check.
	errThreshold = errors.New("check failed")
	// errInterrupted: the run was stopped by a signal (or its context) before its end; the
	// report is still printed and the exit code is 0 unless a check fails.
	errInterrupted = errors.New("interrupted")
	// errPrecisePacer: the precise pacer's thread could not be set up; the pacer uses Go timers.
	errPrecisePacer = errors.New("precise pacer unavailable")
	// errSoakSetup: a soak's faults could not be set up around its responders.
	errSoakSetup = errors.New("soak setup")
	// errObserve: a --metrics or --pprof address could not be listened on.
	errObserve = errors.New("observability listener")
	// errBadThreshold: a --threshold expression that does not parse (a usage error).
	errBadThreshold = errors.New("bad threshold")
	// errBadReport: a report given to merge that cannot be read or merged.
	errBadReport = errors.New("bad report")

	// The TLS flags' errors (tlsflags.go). Each comes wrapped in a tlsFlagError, which also
	// matches errUsage: a bad TLS file is a bad command line, found before any dial.

	// errTLSFile: a --tls-* file cannot be read (missing, a directory, too large) or, for
	// --tls-keylog, created.
	errTLSFile = errors.New("unreadable file")
	// errTLSNoCert: a PEM file that must hold certificates holds none that parse.
	errTLSNoCert = errors.New("no certificate in the PEM file")
	// errTLSNoKey: the --tls-key file holds no private key that parses.
	errTLSNoKey = errors.New("no private key in the PEM file")
	// errTLSHalfPair: --tls-cert without --tls-key, or the other way round.
	errTLSHalfPair = errors.New("a certificate and its key go together")
	// errTLSKeyMismatch: the private key is not the one of the certificate's public key.
	errTLSKeyMismatch = errors.New("the key does not match the certificate")
	// errTLSClientCANeedsCert: serve --tls-client-ca without a certificate to serve TLS with.
	errTLSClientCANeedsCert = errors.New("needs --tls-cert and --tls-key")
	// errTLSUnused: TLS flags given, but no connection uses TLS (run: no --tls and no tls://
	// --dra, or no --dra at all; serve: no --tls-cert).
	errTLSUnused = errors.New("no connection uses TLS")
)

// usageError builds an error matching errUsage whose text is only the message.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return errUsage }

// flagError is a flag whose value is out of range: the command, the flag (without dashes), the
// value as given, and what is wanted. It matches errUsage.
type flagError struct{ Cmd, Flag, Value, Want string }

func (e *flagError) Error() string {
	return fmt.Sprintf("diamload %s: invalid --%s %s: want %s", e.Cmd, e.Flag, e.Value, e.Want)
}
func (e *flagError) Unwrap() error { return errUsage }

// tlsFlagError is a TLS flag that cannot be used: the command, the flag (without dashes), the
// file when the flag names one, the kind (one of the errTLS sentinels) and the cause, if any.
// It matches errUsage, Kind and Err.
type tlsFlagError struct {
	Cmd, Flag, Path string
	Kind, Err       error
}

func (e *tlsFlagError) Error() string {
	msg := "diamload " + e.Cmd + ": --" + e.Flag
	if e.Path != "" {
		msg += " " + e.Path
	}
	msg += ": " + e.Kind.Error()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *tlsFlagError) Unwrap() []error {
	if e.Err == nil {
		return []error{errUsage, e.Kind}
	}
	return []error{errUsage, e.Kind, e.Err}
}

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps an error returned by a subcommand to the process exit code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errThreshold):
		return exitThreshold
	default:
		return exitFailure
	}
}
