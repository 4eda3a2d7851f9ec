package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/hsdfat8/diam-gw/internal/baseline"
)

// baselineClient drives internal/baseline (a goroutine-per-connection client, one Client per
// peer) for the comparison table. It has no statistics API, so the per-peer rows are counted
// here, from submissions and completions.
type baselineClient struct {
	cls    []*baseline.Client
	peers  []string
	hosts  []string
	rr     atomic.Uint32
	closed atomic.Bool
	per    []peerCounts
}

type peerCounts struct {
	sent, received, timeouts atomic.Uint64
	lastErr                  atomic.Pointer[string]
}

func dialBaseline(ctx context.Context, cc clientConfig) (loadClient, error) {
	b := &baselineClient{peers: cc.peers, per: make([]peerCounts, len(cc.peers))}
	for _, p := range cc.peers {
		dctx, cancel := context.WithTimeout(ctx, connectTimeout+ceaTimeout)
		cfg := baseline.Config{
			Addr:                  p,
			Conns:                 cc.conns,
			OriginHost:            cc.originHost,
			OriginRealm:           cc.originRealm,
			DestinationRealm:      cc.destRealm,
			IdentityPerConnection: cc.identityPerConn,
			RequestTimeout:        cc.timeout,
			ConnectTimeout:        connectTimeout + ceaTimeout,
		}
		cl, err := baseline.Dial(dctx, cfg)
		cancel()
		if err != nil {
			_ = b.Close(context.Background())
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %s: %v", errInterrupted, p, err)
			}
			return nil, fmt.Errorf("%w: %s: %v", errUnreachable, p, err)
		}
		b.cls = append(b.cls, cl)
		var hs []string
		for k := 1; k <= cc.conns; k++ {
			hs = append(hs, cfg.Identity(k))
			if !cc.identityPerConn {
				break
			}
		}
		b.hosts = append(b.hosts, strings.Join(hs, ","))
	}
	return b, nil
}

func (b *baselineClient) Go(c *call) error {
	i := int(b.rr.Add(1)-1) % len(b.cls)
	c.peer = i
	err := b.cls[i].Go(c.req, c.cb)
	if err == nil {
		b.per[i].sent.Add(1)
	}
	return err
}

// observe counts a completion for its peer (runs on the baseline's goroutines).
func (b *baselineClient) observe(c *call, err error) {
	pc := &b.per[c.peer]
	if err == nil {
		pc.received.Add(1)
		return
	}
	if classify(err) == errTimeout {
		pc.timeouts.Add(1)
	}
	s := err.Error()
	pc.lastErr.Store(&s)
}

func (b *baselineClient) Close(ctx context.Context) error {
	b.closed.Store(true)
	var first error
	for _, cl := range b.cls {
		if err := cl.Close(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// WaitReady: the baseline neither reconnects nor reports readiness; a lane refused with
// ErrNoConnection retries after the reviver's pause.
func (b *baselineClient) WaitReady(context.Context) error { return nil }

func (b *baselineClient) UnmatchedAnswers() uint64 { return 0 }

func (b *baselineClient) Connections() []connReport {
	out := make([]connReport, 0, len(b.cls))
	for i, cl := range b.cls {
		state := "Open"
		if b.closed.Load() {
			state = "Closed"
		}
		r := connReport{
			Peer:       b.peers[i],
			OriginHost: b.hosts[i],
			State:      fmt.Sprintf("%s (%d pending)", state, cl.Pending()),
			Sent:       b.per[i].sent.Load(),
			Received:   b.per[i].received.Load(),
			Timeouts:   b.per[i].timeouts.Load(),
		}
		if s := b.per[i].lastErr.Load(); s != nil {
			r.LastError = *s
		}
		out = append(out, r)
	}
	return out
}
