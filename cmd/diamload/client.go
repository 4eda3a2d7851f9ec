package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/fsm"
)

// loadClient is what a run drives: the engine, or the goroutine-per-connection baseline kept
// for comparison. Go has the engine's contract: a nil error means cb runs exactly once later; an
// error means cb never runs.
type loadClient interface {
	// Go submits c.req with c.cb as the callback.
	Go(c *call) error
	Close(ctx context.Context) error
	// WaitReady returns when a connection is usable (for lanes parked on ErrNoConnection).
	WaitReady(ctx context.Context) error
	// Connections reports every connection (from engine.Stats for the engine).
	Connections() []connReport
	// UnmatchedAnswers counts answers that matched no outstanding request and were dropped: late
	// (after their request timed out), duplicate, or answering nothing we sent.
	UnmatchedAnswers() uint64
}

// connReport is one row of the per-connection table.
type connReport struct {
	Peer           string `json:"peer"`
	OriginHost     string `json:"origin_host"`
	PeerOriginHost string `json:"peer_origin_host"`
	State          string `json:"state"`
	TLS            string `json:"tls"` // "TLS 1.3 TLS_AES_128_GCM_SHA256" as the handshake agreed; "" over TCP
	Sent           uint64 `json:"sent"`
	Received       uint64 `json:"received"`
	Timeouts       uint64 `json:"timeouts"`
	Failovers      uint64 `json:"failovers"`
	Reconnects     uint64 `json:"reconnects"`
	PeerReopens    uint64 `json:"peer_reopens"` // times the peer put the connection in its REOPEN (engine.Counters.PeerReopens)
	LastError      string `json:"last_error"`
}

// Connection set-up bounds: an unreachable peer must fail the run in about this long.
const (
	connectTimeout = 3 * time.Second
	ceaTimeout     = 3 * time.Second
)

// clientConfig is the part of the run options a client needs.
type clientConfig struct {
	peers           []string
	conns           int
	originHost      string
	originRealm     string
	destRealm       string
	destHost        string
	identityPerConn bool
	timeout         time.Duration
	watchdog        time.Duration
	concurrency     int
	logger          *slog.Logger  // the engine's records; nil: none
	tls             []*tls.Config // per peer (index of peers); nil or short: plain TCP
}

// engineClient adapts *engine.Engine.
type engineClient struct{ e *engine.Engine }

func (c engineClient) Go(k *call) error                    { return c.e.Go(k.req, k.cb) }
func (c engineClient) Close(ctx context.Context) error     { return c.e.Close(ctx) }
func (c engineClient) WaitReady(ctx context.Context) error { return c.e.WaitReady(ctx) }
func (c engineClient) UnmatchedAnswers() uint64            { return c.e.Stats().Total.UnknownAnswers }
func (c engineClient) LoopElapsed() time.Duration          { return c.e.LoopElapsed() }
func (c engineClient) Epoch() time.Time                    { return c.e.Epoch() }

func (c engineClient) Connections() []connReport {
	s := c.e.Stats()
	out := make([]connReport, 0, len(s.Conns))
	for _, cs := range s.Conns {
		out = append(out, connReport{
			Peer:           cs.DRA,
			OriginHost:     cs.OriginHost,
			PeerOriginHost: cs.PeerOriginHost,
			State:          cs.State,
			TLS:            cs.TLS.String(),
			Sent:           cs.Requests,
			Received:       cs.Answers.Total(),
			Timeouts:       cs.Timeouts,
			Failovers:      cs.Failovers,
			Reconnects:     cs.Reconnects,
			PeerReopens:    cs.PeerReopens,
			LastError:      cs.LastError,
		})
	}
	return out
}

// engineConfig is the engine's configuration for a run. --watchdog is Tw, and the DWA wait is
// Tw too (DWATimeout 0): the connection turns SUSPECT when a DWR has had no answer for Tw
// (RFC 3539 §3.4.1).
func engineConfig(cc clientConfig) engine.Config {
	cfg := engine.DefaultConfig()
	cfg.OriginHost, cfg.OriginRealm = cc.originHost, cc.originRealm
	cfg.DestinationRealm, cfg.DestinationHost = cc.destRealm, cc.destHost
	cfg.ProductName = "diamload"
	cfg.Logger = cc.logger
	cfg.RequestTimeout = cc.timeout
	cfg.DWRInterval, cfg.DWATimeout = cc.watchdog, 0
	cfg.ConnectTimeout, cfg.CEATimeout = connectTimeout, ceaTimeout
	cfg.BackoffInitial, cfg.BackoffMax = time.Second, 30*time.Second
	// The in-flight cap is ours (-c); the engine's windows must not be the tighter bound.
	cfg.MaxInFlight = max(engine.DefaultMaxInFlight, cc.concurrency)
	cfg.InboxSize = max(engine.DefaultInboxSize, 2*cc.concurrency)
	policy := engine.SharedIdentity
	if cc.identityPerConn {
		policy = engine.IdentityPerConnection
	}
	for i, p := range cc.peers {
		d := engine.DRA{Address: p, Connections: cc.conns, Identity: policy}
		if i < len(cc.tls) {
			d.TLS = cc.tls[i]
		}
		cfg.DRAs = append(cfg.DRAs, d)
	}
	return cfg
}

// startEngine builds and starts the engine. Start is bounded by the connect and CER timeouts,
// and cut short as soon as every connection has failed once: an unreachable peer is reported in
// milliseconds, not after the bound.
func startEngine(ctx context.Context, cc clientConfig) (loadClient, error) {
	cfg := engineConfig(cc)
	startCtx, cancel := context.WithTimeout(ctx, connectTimeout+ceaTimeout+time.Second)
	defer cancel()
	total := len(cc.peers) * cc.conns
	var mu sync.Mutex
	failed := map[[2]any]bool{}
	cfg.OnStateChange = func(sc engine.StateChange) { // on the loop: a map update and maybe a cancel
		if sc.To != fsm.Reconnecting && sc.To != fsm.Failed {
			return
		}
		mu.Lock()
		failed[[2]any{sc.DRA, sc.Conn}] = true
		all := len(failed) >= total
		mu.Unlock()
		if all {
			cancel()
		}
	}
	e, err := engine.New(cfg)
	if err != nil {
		return nil, usagef("%s", firstLine(err))
	}
	err = e.Start(startCtx)
	if err != nil && ctx.Err() == nil && peerReopening(e) {
		// The peer keeps our identity in its REOPEN (an earlier run ended without DPR): it takes
		// requests once it has had three DWAs, which at OTP's pace is two of its Tw. The engine
		// holds the connection until then (its peerReopenLimit is three of our Tw).
		rctx, rcancel := context.WithTimeout(ctx, 3*cfg.DWRInterval+time.Second)
		err = e.WaitReady(rctx)
		rcancel()
	}
	if err != nil {
		c := engineClient{e}
		msg := unreachableText(c.Connections(), ctx.Err() != nil)
		closeCtx, cancelClose := context.WithTimeout(context.Background(), time.Second)
		_ = e.Close(closeCtx)
		cancelClose()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s", errInterrupted, msg)
		}
		return nil, fmt.Errorf("%w: %s", errUnreachable, msg)
	}
	return engineClient{e}, nil
}

// peerReopening reports whether a connection of e is held in the peer's REOPEN.
func peerReopening(e *engine.Engine) bool {
	for _, c := range e.Stats().Conns {
		if c.PeerReopening {
			return true
		}
	}
	return false
}

// unreachableText names each peer that has no usable connection and why, on one line.
func unreachableText(conns []connReport, interrupted bool) string {
	seen := map[string]bool{}
	var parts []string
	for _, c := range conns {
		if seen[c.Peer] {
			continue
		}
		seen[c.Peer] = true
		why := c.LastError
		switch {
		case why == "" && interrupted:
			why = "interrupted while " + strings.ToLower(c.State)
		case why == "":
			why = fmt.Sprintf("no answer to CER within %v (state %s)", connectTimeout+ceaTimeout, c.State)
		}
		parts = append(parts, c.Peer+": "+why)
	}
	return strings.Join(parts, "; ")
}

// firstLine keeps error output to one line (engine.Config.Validate joins its findings).
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
