package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/metrics"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// observer serves --metrics (/metrics and /healthz) and --pprof (net/http/pprof) for the length
// of a command, each on its own listener (one when both name the same address and port, not 0).
// Collectors are registered as the command builds what they read.
type observer struct {
	reg     *prometheus.Registry // nil without --metrics
	ready   atomic.Pointer[func() bool]
	servers []*http.Server
	done    chan struct{} // closed when every server's Serve has returned
}

// observeTimeout bounds the reading of a request's header and the shutdown of the servers.
const observeTimeout = 5 * time.Second

// startObserver listens on the --metrics and --pprof addresses ("" for none) and serves them,
// printing each bound address to w (port 0 picks a free one). ready (nil: not yet known) is what
// /healthz reports from the first request: it is set before any listener serves, so a client
// that reads the printed address never sees a 503 from a command that is ready. An address
// that cannot be bound is an error wrapping errObserve.
func startObserver(metricsAddr, pprofAddr string, ready func() bool, w io.Writer) (*observer, error) {
	o := &observer{done: make(chan struct{})}
	if ready != nil {
		o.setReady(ready)
	}
	type endpoint struct {
		addr, what string
		mux        *http.ServeMux
	}
	var eps []*endpoint
	mux := func(addr, what string) *http.ServeMux {
		for _, e := range eps {
			// One listener for one address; port 0 asks for a free port each.
			if _, port, _ := net.SplitHostPort(addr); e.addr == addr && port != "0" {
				e.what += what
				return e.mux
			}
		}
		e := &endpoint{addr: addr, what: what, mux: http.NewServeMux()}
		eps = append(eps, e)
		return e.mux
	}
	if metricsAddr != "" {
		o.reg = prometheus.NewRegistry()
		m := mux(metricsAddr, " /metrics /healthz")
		m.Handle("/metrics", promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
		m.HandleFunc("/healthz", o.healthz)
	}
	if pprofAddr != "" {
		m := mux(pprofAddr, " /debug/pprof/")
		m.HandleFunc("/debug/pprof/", pprof.Index)
		m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("/debug/pprof/profile", pprof.Profile)
		m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	var lns []net.Listener
	for _, e := range eps {
		ln, err := net.Listen("tcp", e.addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("%w: %s: %w", errObserve, e.addr, err)
		}
		lns = append(lns, ln)
		fmt.Fprintf(w, "diamload: serving%s on http://%s\n", e.what, ln.Addr())
	}
	served := make(chan struct{}, len(lns))
	for i, ln := range lns {
		srv := &http.Server{Handler: eps[i].mux, ReadHeaderTimeout: observeTimeout}
		o.servers = append(o.servers, srv)
		go func() {
			_ = srv.Serve(ln) // ends with http.ErrServerClosed at close
			served <- struct{}{}
		}()
	}
	go func() {
		for range lns {
			<-served
		}
		close(o.done)
	}()
	return o, nil
}

// observeOpts are --metrics and --pprof, in run, selftest, soak and serve.
type observeOpts struct{ metrics, pprof string }

func observeFlags(fs *flag.FlagSet, o *observeOpts) {
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus /metrics and /healthz on `host:port` while the command runs (port 0: any free port, printed)")
	fs.StringVar(&o.pprof, "pprof", "", "serve net/http/pprof (/debug/pprof/) on `host:port` while the command runs")
}

// check validates the addresses: host:port with a port of 0-65535 (the host may be empty: every
// interface).
func (o *observeOpts) check(cmd string) error {
	for _, f := range []struct{ name, v string }{{"metrics", o.metrics}, {"pprof", o.pprof}} {
		if f.v == "" {
			continue
		}
		_, port, err := net.SplitHostPort(f.v)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
			return &flagError{Cmd: cmd, Flag: f.name, Value: f.v, Want: "host:port with a port of 0-65535"}
		}
	}
	return nil
}

// register adds c to /metrics; nothing without --metrics. A collector whose metrics clash with
// one already registered is an error.
func (o *observer) register(c prometheus.Collector) error {
	if o == nil || o.reg == nil {
		return nil
	}
	return o.reg.Register(c)
}

// registerResponders adds a server collector per embedded responder, labelled responder="i"
// when there are several (a soak's two).
func (o *observer) registerResponders(rs []*responder) error {
	if o == nil || o.reg == nil {
		return nil
	}
	for i, r := range rs {
		var reg prometheus.Registerer = o.reg
		if len(rs) > 1 {
			reg = prometheus.WrapRegistererWith(prometheus.Labels{"responder": strconv.Itoa(i + 1)}, reg)
		}
		if err := reg.Register(metrics.NewServerCollector(responderStats{r})); err != nil {
			return err
		}
	}
	return nil
}

// setReady sets what /healthz reports: 200 while ready returns true, 503 otherwise (and before
// it is set).
func (o *observer) setReady(ready func() bool) {
	if o != nil {
		o.ready.Store(&ready)
	}
}

func (o *observer) healthz(w http.ResponseWriter, _ *http.Request) {
	if f := o.ready.Load(); f != nil && (*f)() {
		fmt.Fprintln(w, "ok")
		return
	}
	http.Error(w, "not ready", http.StatusServiceUnavailable)
}

// close stops the servers, bounded by observeTimeout.
func (o *observer) close() {
	if o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), observeTimeout)
	defer cancel()
	for _, s := range o.servers {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
		}
	}
	select {
	case <-o.done:
	case <-ctx.Done():
	}
}

// responderStats reads the server a responder runs now (a soak's restart replaces it).
type responderStats struct{ r *responder }

func (s responderStats) Stats() server.Stats { return s.r.server().srv.Stats() }
