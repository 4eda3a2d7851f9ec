package main

import (
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --sample puts a sample at the start of the window, one at each interval inside it, and one at
// its end into the JSON report, each with sane resources and books that add up, the last one
// the report's own.
func TestSamplesInJSON(t *testing.T) {
	if _, err := os.Stat("/proc/self/statm"); err != nil {
		t.Skip("no procfs: RSS and fds are not sampled here")
	}
	code, out, errOut := cli(t, ctxT(t, 30*time.Second), "run", "--rate", "400", "-d", "2s", "--sample", "500ms",
		"-c", "16", "--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, m := decodeReport(t, out)
	requireBalanced(t, rp)
	assert.Equal(t, 0.5, rp.SampleIntervalS)
	require.Contains(t, m, "samples")
	for _, k := range []string{"t_s", "rss_kib", "heap_bytes", "heap_live_bytes", "goroutines", "fds", "requests",
		"answers", "errors", "in_flight"} {
		assert.Contains(t, m["samples"].([]any)[0], k)
	}
	// 0, 0.5, 1, 1.5 inside the 2 s window, and the end.
	require.Len(t, rp.Samples, 5, "%+v", rp.Samples)
	assert.Less(t, rp.Samples[0].AtS, 0.25, "the first sample is the window's start")
	for i, s := range rp.Samples {
		if i > 0 {
			prev := rp.Samples[i-1]
			assert.Greater(t, s.AtS, prev.AtS, "sample %d", i)
			assert.GreaterOrEqual(t, s.Requests, prev.Requests, "sample %d", i)
			assert.GreaterOrEqual(t, s.Answers, prev.Answers, "sample %d", i)
		}
		if i > 0 && i < len(rp.Samples)-1 {
			assert.GreaterOrEqual(t, s.AtS, float64(i)*0.5-0.01, "sample %d is never early", i)
		}
		assert.Positive(t, s.RSSKiB, "sample %d", i)
		assert.Less(t, s.RSSKiB, int64(1<<20), "sample %d: RSS under 1 GiB", i)
		assert.Positive(t, s.HeapBytes, "sample %d", i)
		assert.Positive(t, s.HeapLiveBytes, "sample %d", i)
		assert.Less(t, s.HeapBytes, uint64(1<<30), "sample %d", i)
		assert.Positive(t, s.Goroutines, "sample %d", i)
		assert.Greater(t, s.FDs, 2, "sample %d: stdio, the sockets and the poller", i)
		assert.Equal(t, int64(s.Requests)-int64(s.Answers)-int64(s.Errors.total()), s.InFlight,
			"sample %d: in flight = requests - answers - errors", i)
	}
	last := rp.Samples[len(rp.Samples)-1]
	assert.GreaterOrEqual(t, last.AtS, rp.DurationS-1e-6, "the last sample is the window's end")
	assert.Equal(t, rp.Requests, last.Requests)
	assert.Equal(t, rp.Answers, last.Answers)
	assert.Zero(t, last.InFlight)
	assert.Positive(t, rp.Samples[2].Answers, "traffic flowed by the middle of the window")
}

// The count follows the window: a window of 2.5 s sampled every second has samples at 0, 1, 2
// and its end; a run of -n has one per interval it lasted and its end.
func TestSampleCountFollowsWindow(t *testing.T) {
	code, out, errOut := cli(t, ctxT(t, 30*time.Second), "run", "--rate", "200", "-d", "2500ms", "--sample", "1s",
		"--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, _ := decodeReport(t, out)
	require.Len(t, rp.Samples, 4, "%+v", rp.Samples)

	code, out, errOut = cli(t, ctxT(t, 30*time.Second), "run", "-n", "50", "-c", "1", "--sample", "1h",
		"--json", "-", "--quiet")
	require.Equal(t, exitOK, code, errOut)
	rp, _ = decodeReport(t, out)
	require.Len(t, rp.Samples, 2, "the start and the end")
	assert.Equal(t, uint64(50), rp.Samples[1].Answers)

	code, out, _ = cli(t, ctxT(t, 30*time.Second), "run", "-n", "50", "--json", "-", "--quiet")
	require.Equal(t, exitOK, code)
	_, m := decodeReport(t, out)
	assert.NotContains(t, m, "samples", "no --sample, no samples")
}

// The live line carries the newest sample's resources with --sample, and only then.
func TestSampleInLiveLine(t *testing.T) {
	code, _, errOut := cli(t, ctxT(t, 30*time.Second), "run", "--rate", "200", "-d", "1500ms", "--sample", "200ms",
		"--progress-interval", "500ms")
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `ECR/s .* rss [0-9.]+MiB  heap [0-9.]+MiB  goroutines [0-9]+  fds [0-9]+`, errOut)

	code, _, errOut = cli(t, ctxT(t, 30*time.Second), "run", "--rate", "200", "-d", "1s", "--progress-interval", "300ms")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, "ECR/s")
	assert.NotContains(t, errOut, "goroutines")
}

// --sample must be positive and fit in the window; the error is a *flagError naming it.
func TestSampleFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sample", "0s", "-d", "10s"}, "a positive interval"},
		{[]string{"--sample", "-1s", "-d", "10s"}, "a positive interval"},
		{[]string{"--sample", "11s", "-d", "10s"}, "at most --duration 10s"},
	} {
		_, err := parseRunFlags("run", tc.args, false)
		var fe *flagError
		require.True(t, errors.As(err, &fe), "%v: %v", tc.args, err)
		assert.Equal(t, "sample", fe.Flag)
		assert.Equal(t, tc.want, fe.Want)
		assert.ErrorIs(t, err, errUsage)
		assert.Equal(t, exitUsage, exitCode(err))
	}
	for _, args := range [][]string{{"--sample", "10s", "-d", "10s"}, {"--sample", "1s", "-n", "100"}, {"-d", "1s"}} {
		o, err := parseRunFlags("run", args, false)
		require.NoError(t, err, args)
		if len(args) > 2 && args[0] == "--sample" {
			assert.Positive(t, o.sample)
		}
	}
}

// A sampler kept from its samples (a loaded machine) takes the ones it missed when the run
// stops: their number follows the window, not the scheduler. Virtual time: the second sample
// blocks until the stop, near the end of a 1 s window sampled every 100 ms.
func TestSamplerCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &runner{base: time.Now(), rec: newRecorder(time.Second, false)}
		var sp atomic.Pointer[sampler]
		calls := 0
		hook := func() { // on the sampler's goroutine, but for the first and the last sample
			calls++
			if calls == 2 {
				<-sp.Load().stopCh
			}
		}
		s := startSampler(r, 100*time.Millisecond, time.Second, hook)
		sp.Store(s)
		time.Sleep(950 * time.Millisecond)
		got := s.stop()
		require.Len(t, got, 11, "0, 0.1, ..., 0.9 and the end")
		for i := 2; i < 10; i++ {
			assert.InDelta(t, 0.95, got[i].AtS, 1e-9, "sample %d was taken late, at the stop", i)
		}
		assert.Len(t, s.stop(), 11, "a second stop returns the same samples")
	})
}
