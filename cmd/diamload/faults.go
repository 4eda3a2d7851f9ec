package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hsdfat8/diam-gw/internal/faultproxy"
)

// The soak's faults and their timeline. The soak drives the faults through the faults interface
// only; proxyFaults puts an internal/faultproxy in front of each responder (the client dials the
// proxies), which injects the latency spike, the blackhole and the RST, and restarts a
// responder itself.

// faults are what a soak's timeline does to its traffic. Each method returns once its fault has
// been applied and, for one that lasts, lifted again (or ctx has ended, which lifts it);
// errFaultUnavailable says this setup cannot inject it (the soak reports it skipped). The
// timeline calls them from one goroutine, one at a time; Close is called after it has ended.
type faults interface {
	// LatencySpike delays every byte of every connection, both ways, by add for d.
	LatencySpike(ctx context.Context, add, d time.Duration) error
	// Blackhole swallows the bytes of connection conn (0 or 1: which responder), both ways, for
	// d, closing nothing: a half-open path (RFC 3539 §3.4.1: the watchdog finds it in 2·Tw).
	Blackhole(ctx context.Context, conn int, d time.Duration) error
	// ResetAll aborts every client connection with an RST.
	ResetAll(ctx context.Context) error
	// RestartResponder stops a responder (DPR to its clients) and starts it again on its address.
	RestartResponder(ctx context.Context) error
	// Close stops whatever the faults started (proxies); the responders are the session's.
	Close() error
}

// errFaultUnavailable: the setup cannot inject this fault.
var errFaultUnavailable = errors.New("fault not available in this setup")

// newFaults builds a soak's faults around its responders and returns the addresses the client
// dials: one fault proxy per responder.
var newFaults = func(rs []*responder) (faults, []string, error) {
	f := &proxyFaults{rs: rs}
	addrs := make([]string, len(rs))
	for i, r := range rs {
		p, err := faultproxy.Start(r.Addr())
		if err != nil {
			_ = f.Close()
			return nil, nil, err
		}
		f.proxies = append(f.proxies, p)
		addrs[i] = p.Addr()
	}
	return f, addrs, nil
}

// proxyFaults injects through the proxies, and restarts the first responder behind its proxy
// (the proxy dials it afresh for each new connection).
type proxyFaults struct {
	rs      []*responder
	proxies []*faultproxy.Proxy
}

// hold applies on to ps, waits d or the end of ctx, and applies off.
func hold(ctx context.Context, ps []*faultproxy.Proxy, on, off faultproxy.Fault, d time.Duration) error {
	for _, p := range ps {
		if err := p.Apply(on); err != nil {
			return err
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	for _, p := range ps {
		if err := p.Apply(off); err != nil {
			return err
		}
	}
	return nil
}

func (f *proxyFaults) LatencySpike(ctx context.Context, add, d time.Duration) error {
	return hold(ctx, f.proxies, faultproxy.Latency(faultproxy.Both, add, 0), faultproxy.Latency(faultproxy.Both, 0, 0), d)
}

func (f *proxyFaults) Blackhole(ctx context.Context, conn int, d time.Duration) error {
	if conn < 0 || conn >= len(f.proxies) {
		return fmt.Errorf("blackhole of connection %d: %w (%d connections)", conn, errFaultUnavailable, len(f.proxies))
	}
	return hold(ctx, f.proxies[conn:conn+1], faultproxy.Blackhole(faultproxy.Both, true), faultproxy.Blackhole(faultproxy.Both, false), d)
}

func (f *proxyFaults) ResetAll(context.Context) error {
	for _, p := range f.proxies {
		if err := p.Apply(faultproxy.ResetAll()); err != nil {
			return err
		}
	}
	return nil
}

func (f *proxyFaults) RestartResponder(context.Context) error { return f.rs[0].restart() }

func (f *proxyFaults) Close() error {
	for _, p := range f.proxies {
		_ = p.Close()
	}
	return nil
}

// The fault names of --faults, in timeline order.
const (
	faultLatency   = "latency"
	faultBlackhole = "blackhole"
	faultRST       = "rst"
	faultRestart   = "restart"
)

var faultNames = []string{faultLatency, faultBlackhole, faultRST, faultRestart}

// step is one fault of the timeline: at a fraction of the window, for how long.
type step struct {
	at   float64
	name string
	lag  time.Duration // how long the fault lasts; 0 for an instant one
	do   func(ctx context.Context, f faults) error
}

// timeline is the soak's schedule over a window of d: a latency spike of --spike at 20 % for a
// tenth of it, a blackhole of the first connection at 40 % for 2·Tw (the watchdog's detection
// time: SUSPECT after Tw, DOWN after 2·Tw, RFC 3539 §3.4.1), an RST of every connection at 60 %,
// a restart of the first responder at 80 %; only those --faults names. The other connection
// keeps the traffic going through the blackhole and the restart.
func timeline(o *runOpts) []step {
	d, tw := o.duration, o.watchdog
	all := []step{
		{0.2, faultLatency, d / 10, func(ctx context.Context, f faults) error { return f.LatencySpike(ctx, o.soak.spike, d/10) }},
		{0.4, faultBlackhole, 2 * tw, func(ctx context.Context, f faults) error { return f.Blackhole(ctx, 0, 2*tw) }},
		{0.6, faultRST, 0, func(ctx context.Context, f faults) error { return f.ResetAll(ctx) }},
		{0.8, faultRestart, 0, func(ctx context.Context, f faults) error { return f.RestartResponder(ctx) }},
	}
	var out []step
	for _, s := range all {
		if o.soak.faults[s.name] {
			out = append(out, s)
		}
	}
	return out
}

// faultEvent is one step of the timeline as it went.
type faultEvent struct {
	AtS    float64 `json:"t_s"` // planned, seconds into the measured window
	Fault  string  `json:"fault"`
	ForS   float64 `json:"for_s,omitempty"`
	Status string  `json:"status"` // applied, skipped (not available), failed, cut (the run ended), not reached
	TookS  float64 `json:"took_s"` // from its start to its return
	Detail string  `json:"detail,omitempty"`
}

// Fault statuses.
const (
	faultApplied    = "applied"
	faultSkipped    = "skipped"
	faultFailed     = "failed"
	faultCut        = "cut"
	faultNotReached = "not reached"
)

// timelineRun runs a timeline on its own goroutine from the start of the measured window.
type timelineRun struct {
	events []faultEvent // the goroutine's until done is closed
	cancel context.CancelFunc
	done   chan struct{}
}

// startTimeline starts the steps of o's timeline against f, each at its time after the window's
// start (r.startedAt); ctx ends it.
func startTimeline(ctx context.Context, r *runner, o *runOpts, f faults) *timelineRun {
	ctx, cancel := context.WithCancel(ctx)
	tr := &timelineRun{cancel: cancel, done: make(chan struct{})}
	steps := timeline(o)
	go func() {
		defer close(tr.done)
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for _, s := range steps {
			at := time.Duration(s.at * float64(o.duration))
			ev := faultEvent{AtS: at.Seconds(), Fault: s.name, ForS: s.lag.Seconds(), Status: faultNotReached}
			t.Reset(at - time.Duration(r.clock()-r.startedAt))
			select {
			case <-t.C:
			case <-ctx.Done():
				tr.events = append(tr.events, ev)
				continue
			}
			start := time.Now()
			err := s.do(ctx, f)
			ev.TookS = time.Since(start).Seconds()
			switch {
			case err == nil:
				ev.Status = faultApplied
			case errors.Is(err, errFaultUnavailable):
				ev.Status, ev.Detail = faultSkipped, err.Error()
			case ctx.Err() != nil:
				ev.Status, ev.Detail = faultCut, err.Error()
			default:
				ev.Status, ev.Detail = faultFailed, err.Error()
			}
			tr.events = append(tr.events, ev)
		}
	}()
	return tr
}

// stop ends the timeline (a fault under way is lifted) and returns what happened.
func (tr *timelineRun) stop() []faultEvent {
	tr.cancel()
	<-tr.done // each fault returns once ctx ends; a restart is bounded by its own timeouts
	return tr.events
}
