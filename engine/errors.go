package engine

import (
	"errors"
	"strconv"

	"github.com/hsdfat8/diam-gw/internal/confcheck"
)

// Sentinel errors. A request's error matches exactly one of them with errors.Is; most arrive
// wrapped in an *Error that names the DRA and connection involved.
var (
	// ErrBusy: the inbox or every usable connection's in-flight window is full. Returned at
	// once; nothing was sent.
	ErrBusy = errors.New("engine: busy")
	// ErrNoConnection: no connection is usable (none open yet, or all down). Nothing was sent.
	ErrNoConnection = errors.New("engine: no usable connection")
	// ErrTimeout: no answer within the request's deadline (RequestTimeout or the context's).
	ErrTimeout = errors.New("engine: answer timeout")
	// ErrConnectionLost: the connection carrying the request failed and no other connection
	// could take it over within the failover budget.
	ErrConnectionLost = errors.New("engine: connection lost")
	// ErrClosed: the engine is closing or closed.
	ErrClosed = errors.New("engine: closed")
	// ErrClosing: Close was called on the event loop (from a Go callback or OnStateChange), which
	// it cannot wait for. The shutdown runs on a goroutine of its own and goes on after Close
	// returns; a Close from any other goroutine waits for it and returns its result.
	ErrClosing = errors.New("engine: close in progress (Close was called on the event loop)")
	// ErrLoopExited: a callback called runtime.Goexit (t.FailNow and require.* do) on the event
	// loop, which ends the loop's goroutine. The requests outstanding at that moment complete
	// with it, the connections are reset, and a new loop takes over and reconnects.
	ErrLoopExited = errors.New("engine: a callback ended the event loop (runtime.Goexit)")
	// ErrMalformedAnswer: the answer arrived but could not be decoded as an ECA; the cause is
	// wrapped too (a framing or s13 sentinel).
	ErrMalformedAnswer = errors.New("engine: malformed answer")
	// ErrInvalidRequest: the request cannot be sent (bad IMEI, no Destination-Realm, ...).
	ErrInvalidRequest = errors.New("engine: invalid request")
	// ErrInvalidConfig: a configuration field is wrong; each bad field is a *ConfigError naming
	// it (an Option's error too).
	ErrInvalidConfig = errors.New("engine: invalid configuration")
	// ErrNotStarted: Check or Go before Start.
	ErrNotStarted = errors.New("engine: not started")
	// ErrCEARejected: the peer's CEA refused us (non-2001, E bit, no common application, or an
	// unexpected Origin-Host). Reported as a connection's last error, not to requests.
	ErrCEARejected = errors.New("engine: capabilities exchange rejected")
	// ErrProtocol: the peer broke the framing rules; the connection was reset.
	ErrProtocol = errors.New("engine: protocol violation")
	// ErrSlowPeer: the peer sent requests but did not read the answers; answering on would have
	// put more than MaxOutboundBytes unsent, so the connection was reset. Reported as a
	// connection's last error, not to requests.
	ErrSlowPeer = errors.New("engine: peer does not read")
	// ErrTLSHandshake: the TLS handshake with the DRA failed, the DRA refused it with an alert
	// before any Diameter message arrived (or closed then without one: a TLS 1.3 server
	// refusing our certificate often sends its alert with its FIN, or none), or it did not
	// complete within CEATimeout. The crypto/tls or x509 cause is wrapped: errors.As finds
	// x509.UnknownAuthorityError, x509.HostnameError, x509.CertificateInvalidError (expired),
	// tls.AlertError (a refusal the DRA sent: no client certificate, protocol version) and the
	// like. Reported as a connection's last error, followed by the reconnect backoff.
	ErrTLSHandshake = errors.New("engine: TLS handshake failed")
	// ErrTLS: a TLS record could not be read or written on an established connection (bad MAC,
	// an alert, close_notify); the connection was reset. Reported as a connection's last error.
	ErrTLS = errors.New("engine: TLS record layer failed")
	// ErrUnknownAnswer: the peer sent a CEA, DWA or DPA whose ids are not those of our
	// outstanding CER, DWR or DPR; it was dropped. Reported as a connection's last error.
	ErrUnknownAnswer = errors.New("engine: answer to no request of ours")
)

// errHeld is route's answer when the only connections that could take a request are held
// (peerreopen.go): the request is parked, not failed. It never reaches a caller.
var errHeld = errors.New("engine: every connection that could take the request is held")

// errPeerClosedAfterHandshake is endTLS's cause for a peer that closed between the handshake
// and the CEA without sending any application data.
var errPeerClosedAfterHandshake = errors.New("the peer closed the connection after the TLS handshake without sending any data (a TLS 1.3 server refusing our certificate?)")

// errPeerClosedInHandshake is endTLS's cause for a peer that closed before the handshake
// completed, without an alert (a TLS 1.2 server refusing our certificate, GnuTLS's way).
var errPeerClosedInHandshake = errors.New("the peer closed the connection during the TLS handshake without an alert (a server refusing our certificate?)")

// Error is a request failure with its context. It wraps one of the sentinels (and, for
// ErrMalformedAnswer, the decoding error as well).
type Error struct {
	Err   error  // the sentinel
	DRA   string // the DRA's name, empty when no DRA was involved
	Conn  int    // 1-based connection index within the DRA, 0 when none
	Cause error  // an underlying error, if any
}

func (e *Error) Error() string {
	s := e.Err.Error()
	if e.DRA != "" {
		s += " (dra " + e.DRA
		if e.Conn > 0 {
			s += " conn " + strconv.Itoa(e.Conn)
		}
		s += ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the cause, so errors.Is matches either.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// ConfigError names one Config field that Validate (or an Option) rejected and why; it wraps
// ErrInvalidConfig. Validate joins one per bad field: errors.As finds the first,
// errors.Is(err, ErrInvalidConfig) matches them all. The server's ConfigError is the same type.
type ConfigError = confcheck.FieldError
