// Package trend decides whether a resource sampled over time (memory, goroutines, descriptors)
// grows without bound, or only warms up, breathes with the garbage collector and jitters. It is
// pure: no clock, no I/O; the samples are arguments.
//
// The rule, for samples (t_i, v_i) in time order:
//
//  1. Only the second half counts (the samples from index n/2 on): the first half is warm-up,
//     where pools fill, buffers grow and caches warm; a leak is still there in the second half.
//  2. Its slope is the Theil–Sen estimator, the median of the slopes of every pair of samples
//     (Sen 1968, "Estimates of the regression coefficient based on Kendall's tau", JASA 63): a
//     third of the points can be outliers before it moves. Growth is the slope times the half's
//     span: what the resource gained over the half at that rate.
//  3. Its floor rise is the lowest value of the half's last quarter minus the lowest of its
//     first quarter. A garbage-collected heap is a sawtooth whose troughs are what is live: a
//     leak lifts the troughs, the sawtooth does not, though with few teeth in the half its
//     Theil–Sen slope is well above zero.
//  4. The tolerance is Rule.Rel times the level (the median of the half) or Rule.Abs, whichever
//     is larger: growth is judged against the size of the thing, and Abs keeps a handful of
//     goroutines from counting as 10 % of a small number.
//
// The series grows without bound when both its growth exceeds the tolerance and its floor rises
// by more than half the tolerance (the floors are three quarters of the half apart, so a steady
// leak lifts them by three quarters of its growth; the other quarter is room for noise). The
// slope alone fails a sawtooth; the floor alone fails a single step up to a new plateau (a pool
// that grew once), which the median slope ignores. A leak too slow to gain the tolerance within
// the half passes: sample for longer to see it, the tolerance is relative to the level and the
// growth to the span.
//
// Halves longer than MaxPoints are thinned to MaxPoints blocks, each its median time and median
// value, before the slope (the pairs are quadratic in number); the floors use every sample.
package trend

import (
	"fmt"
	"math"
	"slices"
)

// MinSamples is the fewest samples Check judges: the half it examines has at least four, so each
// quarter has one.
const MinSamples = 8

// MaxPoints bounds the points of the Theil–Sen slope: at most MaxPoints²/2 pairs.
const MaxPoints = 512

// Rule is the tolerance. The zero Rule tolerates no growth at all.
type Rule struct {
	Rel float64 // tolerated growth over the examined half, relative to its level: 0.1 is 10 %
	Abs float64 // tolerated growth in the series' unit, when larger than Rel × level
}

// Verdict is Check's finding and the figures it rests on.
type Verdict struct {
	Growing   bool
	Points    int     // samples examined: the second half
	Span      float64 // their time span, t's unit
	Level     float64 // their median value
	Slope     float64 // Theil–Sen, value per unit of t
	Growth    float64 // Slope × Span
	FloorRise float64 // lowest of the last quarter - lowest of the first
	Tolerance float64 // max(Rel × |Level|, Abs)
}

// String is the verdict in one line, for a report.
func (v Verdict) String() string {
	word := "bounded"
	if v.Growing {
		word = "GROWING"
	}
	return fmt.Sprintf("%s: %+.4g over the last %.4g (%d samples, slope %+.4g), floor %+.4g; tolerance %.4g (level %.4g)",
		word, v.Growth, v.Span, v.Points, v.Slope, v.FloorRise, v.Tolerance, v.Level)
}

// Check judges the series (ts[i], vs[i]) by the package's rule. Bad input (lengths that differ,
// fewer than MinSamples, a value that is not finite, times that do not increase, a bad rule) is
// an error wrapping one of the package's sentinels, and no verdict.
func Check(ts, vs []float64, r Rule) (Verdict, error) {
	if err := validate(ts, vs, r); err != nil {
		return Verdict{}, err
	}
	h := len(ts) / 2
	t, v := ts[h:], vs[h:]
	out := Verdict{Points: len(t), Span: t[len(t)-1] - t[0], Level: median(slices.Clone(v))}
	tt, vv := thin(t, v, MaxPoints)
	out.Slope = theilSen(tt, vv)
	out.Growth = out.Slope * out.Span
	q := max(len(v)/4, 1)
	out.FloorRise = slices.Min(v[len(v)-q:]) - slices.Min(v[:q])
	out.Tolerance = max(r.Rel*math.Abs(out.Level), r.Abs)
	out.Growing = out.Growth > out.Tolerance && out.FloorRise > out.Tolerance/2
	return out, nil
}

func validate(ts, vs []float64, r Rule) error {
	switch {
	case len(ts) != len(vs):
		return fmt.Errorf("%w: %d times, %d values", ErrLength, len(ts), len(vs))
	case len(ts) < MinSamples:
		return fmt.Errorf("%w: %d, want at least %d", ErrTooFew, len(ts), MinSamples)
	case !finite(r.Rel) || !finite(r.Abs) || r.Rel < 0 || r.Abs < 0:
		return fmt.Errorf("%w: Rel %v, Abs %v: want finite and at least 0", ErrRule, r.Rel, r.Abs)
	}
	for i := range ts {
		if !finite(ts[i]) || !finite(vs[i]) {
			return fmt.Errorf("%w: sample %d is (%v, %v)", ErrNotFinite, i, ts[i], vs[i])
		}
		if i > 0 && ts[i] <= ts[i-1] {
			return fmt.Errorf("%w: sample %d at %v, after %v", ErrUnordered, i, ts[i], ts[i-1])
		}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// theilSen is the median of the pairwise slopes; the times strictly increase, so none divides
// by zero.
func theilSen(t, v []float64) float64 {
	slopes := make([]float64, 0, len(t)*(len(t)-1)/2)
	for i := range t {
		for j := i + 1; j < len(t); j++ {
			slopes = append(slopes, (v[j]-v[i])/(t[j]-t[i]))
		}
	}
	return median(slopes)
}

// thin returns at most n points: t and v themselves when they fit, else the median time and
// the median value of each of n consecutive blocks (their times still increase).
func thin(t, v []float64, n int) ([]float64, []float64) {
	if len(t) <= n {
		return t, v
	}
	bt, bv := make([]float64, n), make([]float64, n)
	for b := range n {
		lo, hi := b*len(t)/n, (b+1)*len(t)/n
		bt[b] = median(slices.Clone(t[lo:hi]))
		bv[b] = median(slices.Clone(v[lo:hi]))
	}
	return bt, bv
}

// median sorts xs in place and returns its median.
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
