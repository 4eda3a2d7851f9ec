package engine

import (
	"crypto/tls"
	"testing"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
)

// transport is one way the engine reaches its test peers: the transport matrix runs a scenario
// once over each, so TLS is held to everything TCP is (watchdog, failover, exactly once, Close).
type transport struct {
	name     string
	srv, cli *tls.Config // nil for TCP
}

// overEachTransport runs f as a subtest over plain TCP and over TLS with lab certificates
// (client certificates required).
func overEachTransport(t *testing.T, f func(t *testing.T, tr transport)) {
	l := testLab(t)
	for _, tr := range []transport{{name: "tcp"}, {name: "tls", srv: l.ServerConfig(true), cli: l.ClientConfig("")}} {
		t.Run(tr.name, func(t *testing.T) { f(t, tr) })
	}
}

// peer is cfg for a testpeer reached over tr.
func (tr transport) peer(cfg testpeer.Config) testpeer.Config {
	cfg.TLS = tr.srv
	return cfg
}

// dras sets tr on every DRA of cfg.
func (tr transport) dras(cfg *Config) {
	for i := range cfg.DRAs {
		cfg.DRAs[i].TLS = tr.cli
	}
}
