package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --sample: every interval of the measured window, the process's resources (resident set, Go
// heap, goroutines, open descriptors) and the run's counters at that instant, into the JSON
// report and the live line. A soak reads the resources' trend from them (internal/trend).
//
// The sampler is its own goroutine and touches the run only through the recorder's books (its
// mutex, once per interval, as the live line does) and the runner's lastSample pointer, so the
// per-request path is unchanged. The heap figures come from runtime/metrics, which does not stop
// the world (runtime.ReadMemStats does).

// sample is the process's resources and the run's books at one instant of the measured window.
type sample struct {
	AtS           float64     `json:"t_s"`             // seconds since the start of the measured window
	RSSKiB        int64       `json:"rss_kib"`         // resident set (/proc/self/statm)
	HeapBytes     uint64      `json:"heap_bytes"`      // heap objects, live or not yet swept: a GC sawtooth
	HeapLiveBytes uint64      `json:"heap_live_bytes"` // heap marked live by the last GC: the sawtooth's floor
	Goroutines    int         `json:"goroutines"`
	FDs           int         `json:"fds"` // open descriptors (/proc/self/fd)
	Requests      uint64      `json:"requests"`
	Answers       uint64      `json:"answers"`
	Errors        errorCounts `json:"errors"`
	InFlight      int64       `json:"in_flight"`
}

// The runtime/metrics names the sampler reads, in the order of sampler.ms.
const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapLive    = "/gc/heap/live:bytes"
)

// sampler takes the samples of one run on its own goroutine.
type sampler struct {
	r     *runner
	every time.Duration
	limit time.Duration // the window's length when it is known (--duration); 0 with -n
	hook  func()        // before each sample; nil but in tests (the soak's injected leak)

	ms      []metrics.Sample // read into by the goroutine only
	samples []sample         // the goroutine's until done is closed
	stopCh  chan struct{}
	done    chan struct{}
	once    sync.Once
}

// startSampler takes a sample now (the start of the measured window, r.startedAt), then one at
// each multiple of every that falls inside the window: before limit when the window's length is
// known, else until stop. stop takes the last one.
func startSampler(r *runner, every, limit time.Duration, hook func()) *sampler {
	s := &sampler{
		r: r, every: every, limit: limit, hook: hook,
		ms:     []metrics.Sample{{Name: metricHeapObjects}, {Name: metricHeapLive}},
		stopCh: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if limit > 0 {
		s.samples = make([]sample, 0, int(limit/every)+2)
	}
	s.take()
	go s.run()
	return s
}

// run takes the samples due inside the window; on stop it first takes those whose time has come
// but that a busy machine kept it from taking, so their number follows the window, not the
// scheduler.
func (s *sampler) run() {
	defer close(s.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for k := time.Duration(1); ; k++ {
		due := k * s.every
		if s.limit > 0 && due >= s.limit {
			<-s.stopCh // the window's last sample is stop's
			return
		}
		select {
		case <-s.stopCh: // before a timer that may be ready too: the catch-up decides
			s.catchUp(due)
			return
		default:
		}
		t.Reset(due - s.elapsed())
		select {
		case <-t.C:
			s.take()
		case <-s.stopCh:
			s.catchUp(due)
			return
		}
	}
}

// catchUp takes, from due on, the samples whose time has come, inside the window.
func (s *sampler) catchUp(due time.Duration) {
	for ; due <= s.elapsed() && (s.limit == 0 || due < s.limit); due += s.every {
		s.take()
	}
}

// elapsed is the time since the start of the measured window.
func (s *sampler) elapsed() time.Duration { return time.Duration(s.r.clock() - s.r.startedAt) }

// stop ends the sampling with a last sample, and returns them all. Call it once the window is
// over (after the drain, when the books balance); later calls return the same samples.
func (s *sampler) stop() []sample {
	s.once.Do(func() {
		close(s.stopCh)
		<-s.done // run returns at once on stopCh
		s.take()
	})
	return s.samples
}

// take records one sample and publishes it to the live line.
func (s *sampler) take() {
	if s.hook != nil {
		s.hook()
	}
	p := sample{AtS: s.elapsed().Seconds(), Goroutines: runtime.NumGoroutine(), RSSKiB: rssKiB(), FDs: openFDs()}
	metrics.Read(s.ms)
	p.HeapBytes = metricUint(s.ms[0])
	p.HeapLiveBytes = metricUint(s.ms[1])
	b := s.r.rec.books()
	p.Requests, p.Answers, p.Errors, p.InFlight = b.requests, b.answers, errorCountsOf(&b.errs), b.inFlight
	s.samples = append(s.samples, p)
	s.r.lastSample.Store(&s.samples[len(s.samples)-1])
}

func metricUint(m metrics.Sample) uint64 {
	if m.Value.Kind() != metrics.KindUint64 {
		return 0 // a name this Go does not know
	}
	return m.Value.Uint64()
}

// rssKiB is the resident set now: the second field of /proc/self/statm, in pages. 0 where there
// is no procfs.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) / 1024
}

// openFDs counts the open descriptors, not counting the one the listing itself holds. 0 where
// there is no procfs.
func openFDs() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil || len(names) == 0 {
		return 0
	}
	return len(names) - 1
}
