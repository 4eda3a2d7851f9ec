package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/baseline"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/internal/payload"
	"github.com/hsdfat8/diam-gw/s13"
)

// End-to-end loopback benchmarks: a client and the EIR responder in this same process, over TCP
// on 127.0.0.1, two connections. Each op is one ECR sent and its ECA received. The load is a
// closed loop of `inflight` chains: every completion submits the next request from its callback,
// so exactly `inflight` requests are outstanding until the last ones. Reported besides ns/op:
//
//	answers/s   ECAs per second of wall time
//	p50-µs      latency from just before Go to the start of the callback, median (every
//	            sampleEvery-th request is timed)
//	p99-µs      the same, 99th percentile
//	cpu-µs/op   user+system CPU of the whole process (client AND responder) per ECR, from
//	            getrusage(RUSAGE_SELF) around the timed region
//	client-allocs/op, responder-allocs/op
//	            allocations per ECR by side, from a separate untimed run (measureAllocSplit)
//
// allocs/op and B/op (-benchmem) are the whole process's: client and responder share a heap, and
// the runtime's allocation counters do not say who allocated.

const (
	e2eConns     = 2
	originHost   = "gw.bench.local"
	originRealm  = "bench.local"
	benchTimeout = 5 * time.Second
)

// client is what the closed loop drives: engine.Engine and baseline.Client both have this Go.
type client interface {
	Go(req s13.Request, cb func(s13.Answer, error)) error
}

// BenchmarkEngine drives the event-loop engine (one gnet loop, batched writes).
func BenchmarkEngine(b *testing.B) { benchEngine(b, startResponder(b), nil) }

// BenchmarkEngineTLS is BenchmarkEngine over TLS (lab certificates, client certificates
// required; the handshakes happen before the timed region).
func BenchmarkEngineTLS(b *testing.B) {
	lab, err := labpki.New(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	benchEngine(b, startResponderTLS(b, lab.ServerConfig(true)), lab.ClientConfig(""))
}

// benchEngine runs the closed loops against addr, over TLS with cli (nil: TCP).
func benchEngine(b *testing.B, addr string, cli *tls.Config) {
	for _, inflight := range []int{1, 256} {
		e, err := engine.New(engine.Config{
			OriginHost: originHost, OriginRealm: originRealm,
			DRAs:           []engine.DRA{{Address: addr, Connections: e2eConns, TLS: cli}},
			RequestTimeout: benchTimeout,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = e.Start(ctx)
		if err == nil {
			err = waitConns(ctx, func() int { return e.Stats().Usable })
		}
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		var sp *allocSplit
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { closedLoop(b, e, inflight, &sp) })
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		if err := e.Close(ctx); err != nil {
			b.Error(err)
		}
		cancel()
	}
}

// BenchmarkBaseline drives the conventional client (reader and writer goroutine per connection,
// one write per request, mutex-guarded map, a timer per request).
func BenchmarkBaseline(b *testing.B) {
	addr := startResponder(b)
	for _, inflight := range []int{1, 256} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cl, err := baseline.Dial(ctx, baseline.Config{
			Addr: addr, Conns: e2eConns, OriginHost: originHost, OriginRealm: originRealm,
			RequestTimeout: benchTimeout,
		})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		var sp *allocSplit
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { closedLoop(b, cl, inflight, &sp) })
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		if err := cl.Close(ctx); err != nil {
			b.Error(err)
		}
		cancel()
	}
}

// waitConns waits until open() reports every connection open: the engine's Start returns once
// the first one is.
func waitConns(ctx context.Context, open func() int) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for open() < e2eConns {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d connections open: %w", open(), e2eConns, ctx.Err())
		}
	}
	return nil
}

// sampleEvery: one request in this many is timed. Reading the clock for every request would add
// a visible share to the engine's CPU per ECR (results/2026-12-03-notes.md).
const sampleEvery = 8

// epoch is the origin of the monotonic clock the latency samples use (time.Since reads only the
// monotonic clock; time.Now reads the wall clock too).
var epoch = time.Now()

// chain is one closed-loop request stream; its callback is allocated once.
type chain struct {
	run   *loopRun
	start time.Duration // since epoch, when this request is timed; -1 when not
	cb    func(s13.Answer, error)
}

// loopRun is one b.N worth of closed-loop traffic.
type loopRun struct {
	cl      client
	total   int64
	issued  atomic.Int64
	done    atomic.Int64
	lat     []int64 // nanoseconds, one per timed answer
	nlat    atomic.Int64
	imeis   *payload.Pool
	req     s13.Request
	chains  []chain
	errOnce sync.Once
	err     error
	fin     chan struct{}
}

func (r *loopRun) fail(err error) {
	r.errOnce.Do(func() {
		r.err = err
		close(r.fin)
	})
}

// send submits chain c's next request, if any is left to issue.
func (r *loopRun) send(c *chain) {
	i := r.issued.Add(1)
	if i > r.total {
		return
	}
	req := r.req
	req.IMEI = r.imeis.Next()
	c.start = -1
	if i%sampleEvery == 1 {
		c.start = time.Since(epoch)
	}
	if err := r.cl.Go(req, c.cb); err != nil {
		r.fail(fmt.Errorf("Go: %w", err))
	}
}

func (r *loopRun) answered(c *chain, a s13.Answer, err error) {
	if c.start >= 0 {
		r.lat[r.nlat.Add(1)-1] = int64(time.Since(epoch) - c.start)
	}
	switch {
	case err != nil:
		r.fail(err)
		return
	case a.ResultCode != framing.Success:
		r.fail(fmt.Errorf("answer %s", a.String()))
		return
	}
	if r.done.Add(1) == r.total {
		r.fail(nil) // not a failure: the end
		return
	}
	r.send(c)
}

var benchIMEIs = func() *payload.Pool {
	g, err := payload.NewIMEIGenSeed("35209900xxxxxx", 7)
	if err != nil {
		panic(err)
	}
	return g.Pool(1 << 16)
}()

// closedLoop runs b.N ECRs through cl with `inflight` outstanding and reports the metrics above.
// sp is the allocation split, measured once per client on the first call (untimed).
func closedLoop(b *testing.B, cl client, inflight int, sp **allocSplit) {
	if *sp == nil {
		*sp = measureAllocSplit(b, cl, inflight)
	}
	r := newLoopRun(cl, b.N).prepare(inflight)
	b.ReportAllocs()
	b.ResetTimer()
	ru0 := rusage()
	t0 := time.Now()
	err := r.run()
	elapsed := time.Since(t0)
	cpu := rusage() - ru0
	b.StopTimer()
	if err != nil {
		b.Fatalf("after %d of %d answers: %v", r.done.Load(), b.N, err)
	}
	lat := r.lat[:r.nlat.Load()]
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e3 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "answers/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric((*sp).client, "client-allocs/op")
	b.ReportMetric((*sp).responder, "responder-allocs/op")
}

func newLoopRun(cl client, n int) *loopRun {
	return &loopRun{
		cl:    cl,
		total: int64(n),
		lat:   make([]int64, n/sampleEvery+1),
		imeis: benchIMEIs,
		req:   s13.Request{SoftwareVersion: "23", IMSI: "001010123456789", DestinationRealm: originRealm},
		fin:   make(chan struct{}),
	}
}

// prepare allocates the `inflight` chains (outside any measured region).
func (r *loopRun) prepare(inflight int) *loopRun {
	r.chains = make([]chain, min(inflight, int(r.total)))
	for i := range r.chains {
		c := &r.chains[i]
		c.run = r
		c.cb = func(a s13.Answer, err error) { r.answered(c, a, err) }
	}
	return r
}

// run starts the chains and waits until every answer is in or one failed.
func (r *loopRun) run() error {
	stall := time.NewTimer(time.Minute)
	defer stall.Stop()
	for i := range r.chains {
		r.send(&r.chains[i])
	}
	select {
	case <-r.fin:
	case <-stall.C:
		r.fail(errors.New("closed loop stalled"))
	}
	return r.err
}

// allocSplit is allocations per ECR by side.
type allocSplit struct{ client, responder, other float64 }

// measureAllocSplit attributes the allocations of a closed-loop run to the client or the
// responder. The runtime counts allocations per process, so this run records every allocation's
// stack (runtime.MemProfileRate = 1, which Go applies from the next allocation on) and classifies
// each by the innermost frame from our packages: engine, internal/baseline and bench are the
// client; server and internal/testpeer the responder. What has neither (gnet's own loop
// internals, the runtime) counts as other; it is reported by -benchmem's total only.
func measureAllocSplit(b *testing.B, cl client, inflight int) *allocSplit {
	const warm, n = 2000, 10000
	// The snapshot's garbage collections empty sync.Pools (the engine pools its requests), so
	// the warm-up comes after it; at the default sampling rate it adds next to nothing.
	before := memProfile()
	if err := newLoopRun(cl, warm).prepare(inflight).run(); err != nil {
		b.Fatal(err)
	}
	r := newLoopRun(cl, n).prepare(inflight)
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	err := r.run()
	runtime.MemProfileRate = old
	after := memProfile()
	if err != nil {
		b.Fatal(err)
	}
	sp := &allocSplit{}
	for stk, objs := range after {
		objs -= before[stk]
		if objs <= 0 {
			continue
		}
		switch side(stk) {
		case sideClient:
			sp.client += float64(objs)
		case sideResponder:
			sp.responder += float64(objs)
		default:
			sp.other += float64(objs)
		}
	}
	sp.client /= n
	sp.responder /= n
	sp.other /= n
	return sp
}

// memProfile returns the cumulative allocation count of every recorded stack.
func memProfile() map[[32]uintptr]int64 {
	// The profile is published by garbage collections: two make it current.
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	m := make(map[[32]uintptr]int64, len(recs))
	for i := range recs {
		m[recs[i].Stack0] += recs[i].AllocObjects
	}
	return m
}

const (
	sideOther = iota
	sideClient
	sideResponder
)

const modulePath = "github.com/hsdfat8/diam-gw/"

// side classifies an allocation's stack by its innermost frame in one of our packages.
func side(stk [32]uintptr) int {
	n := 0
	for n < len(stk) && stk[n] != 0 {
		n++
	}
	frames := runtime.CallersFrames(stk[:n])
	for {
		f, more := frames.Next()
		if rest, ok := strings.CutPrefix(f.Function, modulePath); ok {
			switch {
			case strings.HasPrefix(rest, "engine."), strings.HasPrefix(rest, "internal/baseline."),
				strings.HasPrefix(rest, "bench."):
				return sideClient
			case strings.HasPrefix(rest, "server."), strings.HasPrefix(rest, "internal/testpeer."):
				return sideResponder
			}
		}
		if !more {
			return sideOther
		}
	}
}

// rusage is the process's user+system CPU time so far.
func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
