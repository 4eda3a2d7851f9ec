package tlslink

import "errors"

// Sentinel errors. A Session's error wraps one of them and the crypto/tls (or x509) cause, so
// errors.As finds x509.UnknownAuthorityError, x509.HostnameError,
// x509.CertificateInvalidError, tls.AlertError and the like.
var (
	// ErrHandshake: the TLS handshake failed, or the peer rejected it (an alert) before any
	// application data arrived: with TLS 1.3 a server refuses a client certificate only after
	// the client has finished its handshake.
	ErrHandshake = errors.New("tls: handshake failed")
	// ErrRecord: a record could not be read or written after the handshake (bad MAC, an alert,
	// a close_notify).
	ErrRecord = errors.New("tls: record layer failed")
	// ErrClosed: the session was closed before its handshake finished.
	ErrClosed = errors.New("tls: session closed")
)
