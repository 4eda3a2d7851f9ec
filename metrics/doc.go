// Package metrics exposes an engine's and a server's statistics as Prometheus metrics, so that
// the engine and server packages do not depend on client_golang.
//
// The collectors read the published statistics (engine.Engine.Stats, server.Server.Stats) at
// each scrape: nothing is counted on a loop for them, and a scrape never waits for a loop. Every
// label value is bounded by the configuration (DRA names, connection indices, fsm states, result
// classes). The metrics are listed in the README.
package metrics
