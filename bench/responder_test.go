package bench

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
)

// startResponder starts the EIR the end-to-end benchmarks talk to: package server (one gnet event
// loop) with the eir.New handler and its default policy (every IMEI 2001 WHITELISTED), on an
// ephemeral port of 127.0.0.1, in this process. It is closed when b ends.
func startResponder(b *testing.B) string { return startResponderTLS(b, nil) }

// startResponderTLS is startResponder over TLS with cfg (nil: TCP).
func startResponderTLS(b *testing.B, cfg *tls.Config) string {
	b.Helper()
	id := framing.Identity{OriginHost: "eir.bench.local", OriginRealm: originRealm}
	handler, err := eir.New(id, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Listen: "127.0.0.1:0", OriginHost: id.OriginHost, OriginRealm: id.OriginRealm, Handler: handler,
		TLS: cfg,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			b.Error(err)
		}
	})
	return srv.Addr()
}
