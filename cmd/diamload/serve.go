package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13/eir"
)

// eirOpts configures an EIR responder (serve, or the one embedded in run and selftest).
type eirOpts struct {
	listen      string
	originHost  string
	originRealm string
	rules       string // rules file; "" uses rulesText, or everything WHITELISTED
	rulesText   string
	delay       delayValue
	watchdog    time.Duration
	seed        uint64
	logger      *slog.Logger // the server's records; nil: none
	tls         *tls.Config  // nil: plain TCP
}

// responder is a running EIR.
type responder struct {
	mu        sync.Mutex     // impl, which restart replaces
	impl      *responderImpl // the server answering now
	opts      eirOpts        // its options, the listen address bound
	handler   *eir.Handler
	policy    *eir.Policy
	addr      string
	rulesName string
	delay     delayValue
}

// startEIR builds the EIR handler from the rules and starts the responder.
func startEIR(ctx context.Context, o eirOpts) (*responder, error) {
	var (
		pol  *eir.Policy
		err  error
		name = "built-in: every IMEI WHITELISTED"
	)
	switch {
	case o.rules != "":
		name = o.rules
		if pol, err = eir.LoadPolicy(o.rules); err != nil {
			return nil, usagef("invalid --rules: %v", err)
		}
	case o.rulesText != "":
		name = "built-in selftest rules"
		if pol, err = eir.ParsePolicy(strings.NewReader(o.rulesText)); err != nil {
			return nil, fmt.Errorf("built-in rules: %w", err)
		}
	default:
		pol = eir.DefaultPolicy()
	}
	var opts []eir.Option
	switch {
	case o.delay.max == 0:
	case o.delay.min == o.delay.max:
		opts = append(opts, eir.WithDelay(o.delay.min))
	default:
		opts = append(opts, eir.WithRandomDelay(o.delay.min, o.delay.max, o.seed))
	}
	handler, err := eir.New(framing.Identity{OriginHost: o.originHost, OriginRealm: o.originRealm,
		OriginStateID: uint32(time.Now().Unix())}, pol, opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	impl, addr, err := startServer(ctx, o, handler)
	if err != nil {
		return nil, fmt.Errorf("EIR on %s: %w", o.listen, err)
	}
	o.listen = addr // a restart binds the same port
	return &responder{impl: impl, opts: o, handler: handler, policy: pol, addr: addr, rulesName: name, delay: o.delay}, nil
}

func (r *responder) Addr() string { return r.addr }

func (r *responder) server() *responderImpl {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.impl
}

// Close sends DPR to the connected clients (the server's Close) and stops.
func (r *responder) Close(ctx context.Context) error { return r.server().close(ctx) }

// restartTimeout bounds each half of a restart: the DPR/DPA round and the new listener.
const restartTimeout = 5 * time.Second

// restart stops the server (DPR to its clients, their DPAs awaited) and starts a new one on the
// same address with the same handler, whose counts go on. It is the soak's responder restart;
// the clients reconnect with their backoff.
func (r *responder) restart() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	err := r.impl.close(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("restart: close: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), restartTimeout)
	defer cancel()
	impl, _, err := startServer(sctx, r.opts, r.handler)
	if err != nil {
		return fmt.Errorf("restart on %s: %w", r.addr, err)
	}
	r.impl = impl
	return nil
}

// reset aborts every client connection with an RST (server.Reset).
func (r *responder) report() *responderReport {
	rr := &responderReport{Addr: r.addr, Rules: r.rulesName, Stats: r.handler.Stats(), Server: r.server().stats()}
	if r.delay.max > 0 {
		rr.Delay = r.delay.String()
	}
	return rr
}

// serve runs `diamload serve` until ctx ends (SIGINT/SIGTERM), then closes and prints stats.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	if o.tlsKeyLog != nil {
		defer o.tlsKeyLog.Close() // after the server, whose last records it logs the keys of
	}
	r, err := startEIR(ctx, eirOpts{
		listen:      o.listen,
		originHost:  o.originHost,
		originRealm: o.originRealm,
		rules:       o.rules,
		delay:       o.delay,
		watchdog:    o.watchdog,
		seed:        uint64(time.Now().UnixNano()),
		logger:      o.log.logger(stderr),
		tls:         o.tls,
	})
	if err != nil {
		return err
	}
	var listening atomic.Bool // /healthz: 200 from here until the close begins
	listening.Store(true)
	var obs *observer
	if o.observe != (observeOpts{}) {
		if obs, err = startObserver(o.observe.metrics, o.observe.pprof, listening.Load, stdout); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = r.Close(cctx)
			return err
		}
		defer obs.close()
		if err := obs.registerResponders([]*responder{r}); err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = r.Close(cctx)
			return err
		}
	}
	delay := ""
	if o.delay.max > 0 {
		delay = ", default delay " + o.delay.String()
	}
	fmt.Fprintf(stdout, "diamload serve: EIR %s / %s listening on %s (rules: %s%s)\n",
		o.originHost, o.originRealm, r.Addr(), r.rulesName, delay)
	start := time.Now()
	<-ctx.Done()
	listening.Store(false)
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cerr := r.Close(cctx)
	rr := r.report()
	s := rr.Stats
	fmt.Fprintf(stdout, "diamload serve: stopped after %.1fs: answered %d (whitelisted %d, blacklisted %d, greylisted %d, unknown %d, result %d, experimental %d, request errors %d, unsupported %d), dropped %d, malformed %d\n",
		time.Since(start).Seconds(), s.Answered(), s.Whitelisted, s.Blacklisted, s.Greylisted, s.Unknown,
		s.Result, s.Experimental, s.RequestErrors, s.Unsupported, s.Dropped, s.Malformed)
	if rr.Server != nil {
		fmt.Fprintf(stdout, "diamload serve: server %+v\n", rr.Server)
	}
	if cerr != nil {
		return fmt.Errorf("close: %w", cerr)
	}
	return nil
}
