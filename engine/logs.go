package engine

import (
	"context"
	"log/slog"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/ratelog"
)

// The connection's log records. Every record names its DRA and connection (`dra`, `conn`),
// and the peer (`peer_host`, `peer_realm`) once a CEA has told us who it is. Records a peer's
// messages cause go through a Limiter of their own kind, so a flood of one kind neither writes
// a record per message nor hides the first record of another kind. Records of our own timers
// (state changes, backoff, failovers) come at most at the rate of those timers. No record is
// written per request: a request's outcome is in its error and in the counters.

// peerRecord is a kind of record a peer's messages can cause.
type peerRecord uint8

const (
	recFraming       peerRecord = iota // a stream that breaks the framing rules
	recUnknownBase                     // a base answer to none of our requests
	recDWAError                        // a DWA whose Result-Code is not 2001
	recDPR                             // the peer's DPR
	recUnknownAnswer                   // an answer that matches no request in flight
	recMalformed                       // an ECA that does not parse
	recErrorAnswer                     // an answer with the E bit (answer-message, RFC 6733 §7.2)
	nPeerRecords
)

// peerLogs is a connection's limiters, one per kind. Loop-owned.
type peerLogs [nPeerRecords]ratelog.Limiter

// allow reports whether a record of kind k may be written at now, and how many of that kind
// were left out since the last one.
func (p *draConn) allow(k peerRecord, now int64) (bool, uint64) { return p.warns[k].Allow(now) }

// connLogger is the logger of connection k of DRA d: the attributes every record carries.
func connLogger(l *slog.Logger, dra string, k int) *slog.Logger {
	return l.With("dra", dra, "conn", k)
}

// setLogPeer names the peer in the connection's records from now on (its CEA said who it is).
func (p *draConn) setLogPeer(host, realm string) {
	p.log = p.baseLog.With("peer_host", host, "peer_realm", realm)
}

// logState records a change of state. DWRSent is RFC 3539's OKAY with Pending set, the same
// state as Open for the RFC and for routing: the watchdog's probe and its answer, once a Tw
// on an idle connection, are Debug, every other change Info.
func (p *draConn) logState(ev fsm.Event, from, to fsm.State) {
	level := slog.LevelInfo
	if from == fsm.Open && to == fsm.DWRSent || from == fsm.DWRSent && to == fsm.Open {
		level = slog.LevelDebug
	}
	p.log.Log(context.Background(), level, "connection state", "from", from.String(), "to", to.String(), "event", ev.Kind.String())
}
