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
