package eir

import "errors"

// Sentinel errors of this package. Their texts keep the "s13:" prefix they had when the EIR was
// part of package s13, so that messages built from them read as before.
var (
	// ErrPolicy: a rule file (or a Rule given to NewPolicy) that cannot be used. Every error of
	// ParsePolicy, LoadPolicy and NewPolicy about the rules themselves is a *PolicyError wrapping
	// it.
	ErrPolicy = errors.New("s13: invalid EIR policy")
	// ErrConfig: New was given an identity or option it cannot use.
	ErrConfig = errors.New("s13: invalid EIR configuration")
)
