package trend

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// series samples f at t = 0, 1, ..., n-1 (seconds), plus uniform noise of ±noise × level 100.
func series(n int, noise float64, seed uint64, f func(t float64) float64) ([]float64, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	ts, vs := make([]float64, n), make([]float64, n)
	for i := range n {
		ts[i] = float64(i)
		vs[i] = f(float64(i)) + (2*rng.Float64()-1)*noise*100
	}
	return ts, vs
}

// The rule of the soak's checks: 10 % of the level, at least 1 unit.
var rule = Rule{Rel: 0.10, Abs: 1}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		noise   float64
		f       func(t float64) float64
		growing bool
	}{
		{"flat with noise", 120, 0.05, func(float64) float64 { return 100 }, false},
		{"flat with heavy noise", 60, 0.2, func(float64) float64 { return 100 }, false},
		// Fills within the first third, then stays: the warm-up half is not judged.
		{"warm-up then flat", 120, 0.02, func(t float64) float64 { return 100 + 100*(1-math.Exp(-t/8)) }, false},
		// A GC sawtooth: the heap doubles, then drops to what is live, every 10 samples. Its
		// Theil–Sen slope over 60 samples projects +16 %, its floor stays.
		{"GC sawtooth", 120, 0.01, func(t float64) float64 { return 100 + 100*math.Mod(t, 10)/10 }, false},
		// A pool that grew once, a third into the examined half, and stays there.
		{"step to a new plateau", 120, 0.01, func(t float64) float64 { return 100 + 30*step(t, 80) }, false},
		{"linear leak", 60, 0.02, func(t float64) float64 { return 100 + t }, true},
		// Gains 1.25 × the tolerance over the half; its floor rises by less than the tolerance.
		{"leak just above the tolerance", 60, 0.005, func(t float64) float64 { return 100 + 0.55*t }, true},
		{"leak in noise", 60, 0.1, func(t float64) float64 { return 100 + 1.5*t }, true},
		// The same sawtooth over a heap that keeps 0.5 % of its level more every sample.
		{"leaking sawtooth", 120, 0.01, func(t float64) float64 { return 100 + 0.5*t + 100*math.Mod(t, 10)/10 }, true},
		// +0.02 % of the level per sample: +20 % over the last 1000 of 2000 samples (thinned).
		{"slow leak, long series", 2000, 0.03, func(t float64) float64 { return 100 + 0.02*t }, true},
		// The same leak over 60 samples gains 0.6 %: too little to tell from noise yet.
		{"slow leak, short series", 60, 0.03, func(t float64) float64 { return 100 + 0.02*t }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(5) {
				ts, vs := series(tc.n, tc.noise, seed, tc.f)
				v, err := Check(ts, vs, rule)
				require.NoError(t, err)
				assert.Equal(t, tc.growing, v.Growing, "seed %d: %v", seed, v)
				assert.Equal(t, tc.n-tc.n/2, v.Points)
				assert.Equal(t, float64(tc.n-1-tc.n/2), v.Span)
			}
		})
	}
}

func step(t, at float64) float64 {
	if t >= at {
		return 1
	}
	return 0
}

// The figures behind a verdict: an exact line has its own slope and growth, a floor that rises by
// the slope times three quarters of the half, and the tolerance from the level or from Abs.
func TestVerdictFigures(t *testing.T) {
	ts, vs := series(40, 0, 0, func(t float64) float64 { return 1000 + 2*t })
	v, err := Check(ts, vs, Rule{Rel: 0.01, Abs: 5})
	require.NoError(t, err)
	assert.InDelta(t, 2, v.Slope, 1e-9)
	assert.InDelta(t, 38, v.Growth, 1e-9, "2 per second over samples 20..39")
	assert.InDelta(t, 1059, v.Level, 1e-9)
	assert.InDelta(t, 30, v.FloorRise, 1e-9, "sample 35 - sample 20")
	assert.InDelta(t, 10.59, v.Tolerance, 1e-9)
	assert.True(t, v.Growing)
	assert.Contains(t, v.String(), "GROWING")

	v, err = Check(ts, vs, Rule{Rel: 0.01, Abs: 50})
	require.NoError(t, err)
	assert.Equal(t, 50.0, v.Tolerance, "Abs when larger")
	assert.False(t, v.Growing)
	assert.Contains(t, v.String(), "bounded")

	// A constant series, and negative values: the level's magnitude scales the tolerance.
	ts, vs = series(8, 0, 0, func(float64) float64 { return -200 })
	v, err = Check(ts, vs, Rule{Rel: 0.1})
	require.NoError(t, err)
	assert.Zero(t, v.Slope)
	assert.Equal(t, 20.0, v.Tolerance)
	assert.False(t, v.Growing)
}

// Thinning keeps a long half's slope: a line of 3000 samples thinned to MaxPoints blocks.
func TestThinnedSlope(t *testing.T) {
	ts, vs := series(6000, 0, 0, func(t float64) float64 { return 3 * t })
	v, err := Check(ts, vs, rule)
	require.NoError(t, err)
	assert.InDelta(t, 3, v.Slope, 1e-9)
	tt, vv := thin(ts[3000:], vs[3000:], MaxPoints)
	require.Len(t, tt, MaxPoints)
	require.Len(t, vv, MaxPoints)
	assert.Less(t, tt[0], 3006.0, "the first block is the half's start")
	assert.Greater(t, tt[len(tt)-1], 5993.0, "the last block is its end")
	for i := 1; i < len(tt); i++ {
		require.Greater(t, tt[i], tt[i-1])
	}
}

func TestCheckBadInput(t *testing.T) {
	ts, vs := series(10, 0, 0, func(float64) float64 { return 1 })
	nan := append([]float64(nil), vs...)
	nan[3] = math.NaN()
	inf := append([]float64(nil), ts...)
	inf[9] = math.Inf(1)
	back := append([]float64(nil), ts...)
	back[5] = back[4]
	for _, tc := range []struct {
		name   string
		ts, vs []float64
		r      Rule
		want   error
	}{
		{"lengths", ts, vs[:9], rule, ErrLength},
		{"too few", ts[:7], vs[:7], rule, ErrTooFew},
		{"empty", nil, nil, rule, ErrTooFew},
		{"NaN value", ts, nan, rule, ErrNotFinite},
		{"infinite time", inf, vs, rule, ErrNotFinite},
		{"time repeats", back, vs, rule, ErrUnordered},
		{"negative Rel", ts, vs, Rule{Rel: -0.1}, ErrRule},
		{"NaN Abs", ts, vs, Rule{Abs: math.NaN()}, ErrRule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Check(tc.ts, tc.vs, tc.r)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "%v", err)
			assert.Equal(t, Verdict{}, v)
		})
	}
}
