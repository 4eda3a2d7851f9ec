package trend

import "errors"

// Check's errors; each is returned wrapped with the detail (which sample, which field).
var (
	// ErrLength: the times and the values differ in length.
	ErrLength = errors.New("trend: times and values differ in length")
	// ErrTooFew: fewer than MinSamples samples; a trend of fewer says nothing.
	ErrTooFew = errors.New("trend: too few samples")
	// ErrNotFinite: a time or a value is NaN or infinite.
	ErrNotFinite = errors.New("trend: a sample is not finite")
	// ErrUnordered: the times do not strictly increase.
	ErrUnordered = errors.New("trend: times do not strictly increase")
	// ErrRule: a tolerance is negative or not finite.
	ErrRule = errors.New("trend: invalid rule")
)
