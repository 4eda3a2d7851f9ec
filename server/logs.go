package server

import (
	"context"
	"log/slog"

	"github.com/hsdfat8/diam-gw/internal/ratelog"
)

// The server's log records about its clients. A client decides how often it connects, sends a
// CER, breaks the framing or goes silent, so every record about a client connection goes
// through its loop's limiter of that kind: up to recordBurst records of a kind per
// ratelog.DefaultEvery, the next one saying how many were left out (`suppressed`); the
// counters count them all. Each record names the client (`remote`) and, once its CER is
// accepted or read, its identity (`peer_host`, `peer_realm`). Nothing is logged per request.

// recordKind is a kind of record a client can cause.
type recordKind uint8

const (
	recConn     recordKind = iota // accepted, closed
	recCER                        // CER accepted or rejected, first message not a CER
	recWatchdog                   // closes of the deadline: no CER, no DWA, no DPA
	recDPR                        // DPR received or sent
	recFraming                    // a stream that breaks the framing rules
	recSlow                       // a client that does not read its answers
	recTLS                        // a failed TLS handshake or record
	nRecordKinds
)

// recordBurst is how many records of a kind a loop writes per window: enough for the clients of
// a load test connecting together, few enough that a connection storm is a handful of lines.
const recordBurst = 20

// loopLogs is a loop's limiters, one per kind. Loop-owned.
type loopLogs [nRecordKinds]ratelog.Limiter

func newLoopLogs() loopLogs {
	var l loopLogs
	for i := range l {
		l[i].Burst = recordBurst
	}
	return l
}

// record writes a record of kind k about c at level, if the loop's limiter allows one at now
// (the loop's clock), with c's attributes and args.
func (c *conn) record(k recordKind, now int64, level slog.Level, msg string, args ...any) {
	log := c.l.s.log
	if !log.Enabled(context.Background(), level) {
		return // not counted as suppressed: nobody would see it anyway
	}
	ok, n := c.l.logs[k].Allow(now)
	if !ok {
		return
	}
	attrs := make([]any, 0, 8+len(args))
	attrs = append(attrs, "remote", c.remote)
	if c.peerHost != "" {
		attrs = append(attrs, "peer_host", c.peerHost, "peer_realm", c.peerRealm)
	}
	attrs = append(attrs, args...)
	attrs = append(attrs, "suppressed", n)
	log.Log(context.Background(), level, msg, attrs...)
}
