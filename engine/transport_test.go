package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/faultproxy"
	"github.com/hsdfat8/diam-gw/internal/invariant"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Transport faults between the engine and its DRAs, injected by internal/faultproxy
// (reliability-anchors.md §4.3). Every scenario checks the invariants besides its own
// expectation: each accepted request completes exactly once, with its own verdict or a typed
// error; no goroutine or descriptor is left; the heap stays under heapCap.

const heapCap = 256 << 20

// serviceTime is how long the EIRs take per answer: under the loads below, each connection has
// requests in flight whenever a fault strikes.
const serviceTime = 10 * time.Millisecond

// verdictFor is the EIR's verdict for an IMEI, a function of the IMEI so that a caller handed
// another request's answer sees the wrong Equipment-Status.
func verdictFor(imei string) s13.EquipmentStatus { return s13.EquipmentStatus(imei[len(imei)-1] % 3) }

// imeiFor numbers the requests of a load.
func imeiFor(i int) string { return fmt.Sprintf("35209900%06d", i) }

// proxiedEIR is a testpeer EIR answering verdictFor after serviceTime, behind a fault proxy.
type proxiedEIR struct {
	peer    *testpeer.Peer
	proxy   *faultproxy.Proxy
	answers atomic.Int64 // ECAs it sent
}

// startProxiedEIROver starts a proxiedEIR the engine reaches over tr (the proxy passes TLS through).
func startProxiedEIROver(t *testing.T, host string, tr transport) *proxiedEIR {
	t.Helper()
	pe := &proxiedEIR{}
	pe.peer = testpeer.StartT(t, tr.peer(testpeer.Config{OriginHost: host, Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		pe.answers.Add(1)
		return testpeer.Reply{Verdict: s13.Verdict{EquipmentStatus: verdictFor(string(req.IMEI))}, Delay: serviceTime}
	}}))
	p, err := faultproxy.Start(pe.peer.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	pe.proxy = p
	return pe
}

// errTimeoutKind counts the load's ErrTimeout completions, whatever their context.
const errTimeoutKind = "timeout"

// load submits numbered requests through Go from a few goroutines, about one per pace each,
// until stopped, and checks every completion: exactly once (the ledger), and an answer carrying
// its own request's verdict.
type load struct {
	e      *Engine
	ledger *invariant.Ledger
	next   atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	wrong  []string         // answers with another request's verdict, or not 2001
	errs   map[string]int   // completions with an error, by error
	twice  []error          // second completions
	byHost map[string]int64 // answers by the Origin-Host that sent them
}

func startLoad(e *Engine, workers int, pace time.Duration) *load {
	l := &load{e: e, ledger: invariant.NewLedger(), stop: make(chan struct{}), errs: map[string]int{}, byHost: map[string]int64{}}
	for range workers {
		l.wg.Add(1)
		go l.run(pace)
	}
	return l
}

func (l *load) run(pace time.Duration) {
	defer l.wg.Done()
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		i := int(l.next.Add(1))
		imei := imeiFor(i)
		err := l.e.Go(s13.Request{IMEI: imei, SoftwareVersion: "23"}, func(a s13.Answer, err error) {
			l.complete(i, imei, a, err)
		})
		if err == nil {
			l.ledger.Accept(i)
		}
	}
}

// complete runs on the engine's loop: it copies what it keeps.
func (l *load) complete(i int, imei string, a s13.Answer, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.ledger.Complete(i); e != nil {
		l.twice = append(l.twice, e)
	}
	switch {
	case errors.Is(err, ErrTimeout):
		l.errs[errTimeoutKind]++
	case err != nil:
		l.errs[err.Error()]++
	case !a.Succeeded() || a.EquipmentStatus != verdictFor(imei):
		l.wrong = append(l.wrong, fmt.Sprintf("request %d (%s): result %d, status %d", i, imei, a.ResultCode, a.EquipmentStatus))
	default:
		l.byHost[string(a.OriginHost)]++
	}
}

// answered is how many answers host has sent to the load so far.
func (l *load) answered(host string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byHost[host]
}

// awaitAnswers waits until host has answered n more requests of the load than now.
func (l *load) awaitAnswers(t *testing.T, host string, n int64, d time.Duration) {
	t.Helper()
	want := l.answered(host) + n
	require.Eventually(t, func() bool { return l.answered(host) >= want }, d, time.Millisecond,
		"%s answered %d of %d", host, l.answered(host), want)
}

// finish stops submitting, waits for every accepted request to complete, and checks the ledger
// and the verdicts. It returns the errors by kind.
func (l *load) finish(t *testing.T, d time.Duration) map[string]int {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	require.Eventually(t, func() bool { return l.ledger.Outstanding() == 0 }, d, time.Millisecond,
		"%d accepted requests never completed", l.ledger.Outstanding())
	l.ledger.Verify(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.Empty(t, l.twice)
	assert.Empty(t, l.wrong, "answers with the wrong verdict")
	assert.Positive(t, l.ledger.Accepted())
	return l.errs
}

// twoProxiedDRAs starts two EIRs behind proxies and an engine using both as equal DRAs, with a
// fast watchdog (Tw and the DWA wait both tw, no jitter). It returns the DRAs and a function to
// close the engine, which the invariants need before they are checked.
func twoProxiedDRAs(t *testing.T, tw time.Duration) (a, b *proxiedEIR, cfg Config) {
	t.Helper()
	return twoProxiedDRAsOver(t, tw, transport{})
}

// twoProxiedDRAsOver is twoProxiedDRAs with both DRAs reached over tr.
func twoProxiedDRAsOver(t *testing.T, tw time.Duration, tr transport) (a, b *proxiedEIR, cfg Config) {
	t.Helper()
	a = startProxiedEIROver(t, "dra-a.test.local", tr)
	b = startProxiedEIROver(t, "dra-b.test.local", tr)
	cfg = testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.proxy.Addr()}, {Name: "b", Address: b.proxy.Addr()}}
	tr.dras(&cfg)
	cfg.RequestTimeout = 10 * time.Second
	cfg.CEATimeout = 500 * time.Millisecond
	fast(&cfg, tw, tw)
	return a, b, cfg
}

// loadedPair is twoProxiedDRAs started, both connections open, with a load answered by a: it
// returns DRA a, the engine (closed by closeEngine), its state stream, the load and the
// scenario's deadline.
func loadedPair(t *testing.T, tw time.Duration, tr transport) (*proxiedEIR, *Engine, *watch, *load, context.Context) {
	t.Helper()
	a, _, cfg := twoProxiedDRAsOver(t, tw, tr)
	w := watchStates(&cfg)
	e, err := New(cfg)
	require.NoError(t, err)
	ctx := ctxT(t, 30*time.Second)
	require.NoError(t, e.Start(ctx))
	w.awaitOpen(t, ctx, 2)
	l := startLoad(e, 4, 2*time.Millisecond)
	l.awaitAnswers(t, "dra-a.test.local", 50, 10*time.Second)
	return a, e, w, l, ctx
}

// closeEngine closes e within 5 s.
func closeEngine(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.Close(ctx))
}

// Half-open TCP (§4.2 stalled peer, §4.3): DRA a's path turns into a blackhole — no FIN, no RST,
// bytes vanish. RFC 3539 §3.4.1: Tw after the last message received the engine sends a DWR;
// with no DWA within its wait the connection is SUSPECT (nothing routed to it, its pending
// requests failed over to b), and one Tw later DOWN. Nothing is lost: every request is answered
// with its own verdict. When the blackhole lifts, a reconnects through REOPEN (three DWAs) and
// carries traffic again.
func TestHalfOpenDetectedAndFailedOver(t *testing.T) {
	overEachTransport(t, testHalfOpenDetectedAndFailedOver)
}

func testHalfOpenDetectedAndFailedOver(t *testing.T, tr transport) {
	invariant.Process(t, heapCap)
	const tw = 400 * time.Millisecond
	a, e, w, l, ctx := loadedPair(t, tw, tr)

	require.NoError(t, a.proxy.Apply(faultproxy.Blackhole(faultproxy.Both, true)))
	holed := time.Now()
	suspect := w.awaitOn(t, ctx, "a", fsm.Suspect)
	down := w.awaitOn(t, ctx, "a", fsm.Failed)
	// The last message from a came just before the blackhole: SUSPECT at Tw (the DWR) plus the
	// DWA wait after it, DOWN one Tw later.
	assert.GreaterOrEqual(t, suspect.Time.Sub(holed), 2*tw-100*time.Millisecond, "not before Tw + the DWA wait")
	assert.Less(t, suspect.Time.Sub(holed), 2*tw+time.Second, "within 2·Tw (no jitter here)")
	assert.GreaterOrEqual(t, down.Time.Sub(suspect.Time), tw-10*time.Millisecond, "DOWN a Tw after SUSPECT")
	assert.Less(t, down.Time.Sub(suspect.Time), tw+time.Second)
	l.awaitAnswers(t, "dra-b.test.local", 200, 10*time.Second) // b carries everything meanwhile

	require.NoError(t, a.proxy.Apply(faultproxy.Blackhole(faultproxy.Both, false)))
	w.awaitOn(t, ctx, "a", fsm.Reopen)
	w.awaitOn(t, ctx, "a", fsm.Open)
	l.awaitAnswers(t, "dra-a.test.local", 50, 10*time.Second)
	errs := l.finish(t, 15*time.Second)
	assert.Empty(t, errs, "nothing lost: every request answered")
	closeEngine(t, e)
	assert.Positive(t, a.proxy.Stats().DroppedToUpstream, "the blackhole swallowed requests or DWRs")
}

// An RST with requests in flight on a (§4.3 scenario 16): its pending requests fail over to b,
// a reconnects, nothing is lost.
func TestResetMidLoadLosesNothing(t *testing.T) { overEachTransport(t, testResetMidLoadLosesNothing) }

func testResetMidLoadLosesNothing(t *testing.T, tr transport) {
	invariant.Process(t, heapCap)
	a, e, w, l, ctx := loadedPair(t, 300*time.Millisecond, tr)
	for range 3 {
		require.NoError(t, a.proxy.Apply(faultproxy.ResetAll()))
		w.awaitOn(t, ctx, "a", fsm.Reconnecting)
		w.awaitOn(t, ctx, "a", fsm.Open)
		l.awaitAnswers(t, "dra-a.test.local", 50, 10*time.Second)
	}
	errs := l.finish(t, 15*time.Second)
	assert.Empty(t, errs, "nothing lost")
	assert.GreaterOrEqual(t, e.Stats().DRAs[0].Failovers, uint64(1), "in-flight requests were failed over")
	closeEngine(t, e)
}

// Byte-level fragmentation (§4.3 scenario 18): every byte each way in a write of its own, a
// pause between some. Every message is decoded once and in order.
func TestSlicedTransport(t *testing.T) {
	invariant.Process(t, heapCap)
	a, _, cfg := twoProxiedDRAs(t, 300*time.Millisecond)
	cfg.DRAs = cfg.DRAs[:1]
	require.NoError(t, a.proxy.Apply(faultproxy.Slice(faultproxy.Both, 1, 0)))
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 10*time.Second)))
	l := startLoad(e, 1, 20*time.Millisecond) // a byte a write is slow: keep well below its pace
	l.awaitAnswers(t, "dra-a.test.local", 15, 20*time.Second)
	require.NoError(t, a.proxy.Apply(faultproxy.Slice(faultproxy.ToClient, 7, time.Millisecond)))
	l.awaitAnswers(t, "dra-a.test.local", 15, 20*time.Second)
	assert.Empty(t, l.finish(t, 15*time.Second))
	assert.Zero(t, e.Stats().Total.FramingResets)
	closeEngine(t, e)
}

// spikeRig is one proxied DRA, an engine with answer deadline timeout and a Tw far above the
// faults (no watchdog verdict), and a light load already answered.
func spikeRig(t *testing.T, timeout time.Duration) (*proxiedEIR, *Engine, *load) {
	t.Helper()
	a, _, cfg := twoProxiedDRAs(t, 6*time.Second)
	cfg.DRAs = cfg.DRAs[:1]
	cfg.RequestTimeout = timeout
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 10*time.Second)))
	l := startLoad(e, 2, 5*time.Millisecond)
	l.awaitAnswers(t, "dra-a.test.local", 20, 10*time.Second)
	return a, e, l
}

// finishTimeoutsOnly ends the load after the path healed, checking that the only errors were
// timeouts, and closes e.
func finishTimeoutsOnly(t *testing.T, a *proxiedEIR, e *Engine, l *load) map[string]int {
	t.Helper()
	require.NoError(t, a.proxy.Apply(faultproxy.Heal()))
	l.awaitAnswers(t, "dra-a.test.local", 50, 10*time.Second)
	errs := l.finish(t, 15*time.Second)
	for k := range errs {
		assert.Equal(t, errTimeoutKind, k, "the only error is the timeout")
	}
	closeEngine(t, e)
	return errs
}

// A latency spike beyond the answer deadline (§4.6): the requests it catches fail with
// ErrTimeout — never with another request's verdict — and their answers, arriving late, are
// dropped and counted as unknown; after it, answers flow again.
func TestLatencySpikeTimesOut(t *testing.T) {
	invariant.Process(t, heapCap)
	a, e, l := spikeRig(t, 300*time.Millisecond)
	require.NoError(t, a.proxy.Apply(faultproxy.Latency(faultproxy.ToClient, 700*time.Millisecond, 0)))
	require.Eventually(t, func() bool { return e.Stats().Total.UnknownAnswers >= 5 }, 10*time.Second, time.Millisecond,
		"late answers are counted as unknown")
	errs := finishTimeoutsOnly(t, a, e, l)
	assert.Positive(t, errs[errTimeoutKind], "%v", errs)
}

// A bandwidth collapse to a few hundred bytes a second (§4.3): requests back up and those past
// their deadline fail with ErrTimeout; nothing else goes wrong, and the path recovers.
func TestBandwidthCollapse(t *testing.T) {
	invariant.Process(t, heapCap)
	a, e, l := spikeRig(t, 500*time.Millisecond)
	require.NoError(t, a.proxy.Apply(faultproxy.Bandwidth(faultproxy.Both, 400)))
	require.Eventually(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.errs[errTimeoutKind] >= 10
	}, 10*time.Second, time.Millisecond)
	finishTimeoutsOnly(t, a, e, l)
}

// Answers in reverse order of their requests, 500 of them outstanding at once: each caller gets
// its own request's verdict (catalogue scenario 30).
func TestAnswersInReverseOrder(t *testing.T) {
	const n = 500
	var arrived atomic.Int64
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		k := arrived.Add(1)
		return testpeer.Reply{ // the first to arrive answers last
			Verdict: s13.Verdict{EquipmentStatus: verdictFor(string(req.IMEI))},
			Delay:   time.Duration(n-k) * time.Millisecond,
		}
	}})
	e := startEngine(t, testConfig(peer.Addr()))
	ledger := invariant.NewLedger()
	var mu sync.Mutex
	var wrong []string
	for i := range n {
		imei := imeiFor(i)
		require.NoError(t, e.Go(s13.Request{IMEI: imei, SoftwareVersion: "23"}, func(a s13.Answer, err error) {
			mu.Lock()
			defer mu.Unlock()
			if e := ledger.Complete(i); e != nil || err != nil || a.EquipmentStatus != verdictFor(imei) {
				wrong = append(wrong, fmt.Sprintf("%d: %v %v status %d", i, e, err, a.EquipmentStatus))
			}
		}))
		ledger.Accept(i)
	}
	require.Eventually(t, func() bool { return ledger.Outstanding() == 0 }, 10*time.Second, time.Millisecond)
	ledger.Verify(t)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, wrong)
}

// A DRA that stops reading (its application hung, its socket open): our ECRs and DWRs pile up
// unread, nothing is answered, and the watchdog finds it as it finds a blackhole — SUSPECT, its
// requests failed over to b — with nothing lost (catalogue scenario 14 c).
func TestPeerThatStopsReadingIsFailedOver(t *testing.T) {
	invariant.Process(t, heapCap)
	const tw = 400 * time.Millisecond
	a, e, w, l, ctx := loadedPair(t, tw, transport{})
	for _, c := range a.peer.Conns() {
		c.StopReading()
	}
	w.awaitOn(t, ctx, "a", fsm.Suspect)
	l.awaitAnswers(t, "dra-b.test.local", 200, 10*time.Second)
	errs := l.finish(t, 15*time.Second)
	assert.Empty(t, errs, "nothing lost")
	assert.Positive(t, e.Stats().DRAs[0].Failovers, "a's pending requests moved")
	closeEngine(t, e)
}

// An RST that cuts a DRA's stream inside an answer (catalogue scenario 16): the partial message
// is dropped with the transport, the requests a held are failed over to b, a reconnects, and
// nothing is lost.
func TestResetInsideAnAnswerLosesNothing(t *testing.T) {
	invariant.Process(t, heapCap)
	a, e, w, l, ctx := loadedPair(t, 300*time.Millisecond, transport{})
	require.NoError(t, a.proxy.Apply(faultproxy.CutAfter(faultproxy.ToClient, 1037))) // an ECA is ~150 bytes: 1037 is inside one
	w.awaitOn(t, ctx, "a", fsm.Reconnecting)
	w.awaitOn(t, ctx, "a", fsm.Open)
	l.awaitAnswers(t, "dra-a.test.local", 25, 10*time.Second)
	assert.Empty(t, l.finish(t, 15*time.Second), "nothing lost")
	assert.Zero(t, e.Stats().Total.FramingResets, "a cut is a transport failure, not a framing error")
	closeEngine(t, e)
}
