package baseline

import "errors"

// Sentinel errors, matched with errors.Is; some arrive wrapped with the connection and the cause.
// A callback receives ErrTimeout, ErrConnectionLost, ErrMalformedAnswer or ErrClosed; Go itself
// refuses a request with ErrInvalidRequest, ErrNoConnection or ErrClosed.
var (
	// ErrTimeout: no answer within RequestTimeout (or the Check context's deadline).
	ErrTimeout = errors.New("baseline: answer timeout")
	// ErrClosed: the client is closing or closed.
	ErrClosed = errors.New("baseline: closed")
	// ErrConnectionLost: the connection carrying the request failed before its answer came.
	// This client neither reconnects nor fails over: the request is lost.
	ErrConnectionLost = errors.New("baseline: connection lost")
	// ErrNoConnection: no connection is usable (every one failed or was disconnected by the
	// peer). Nothing was sent.
	ErrNoConnection = errors.New("baseline: no usable connection")
	// ErrInvalidRequest: the request cannot be sent (bad IMEI, nil callback, ...). Nothing was sent.
	ErrInvalidRequest = errors.New("baseline: invalid request")
	// ErrMalformedAnswer: an answer arrived for the request but could not be decoded as an ECA;
	// the decoding error is wrapped too.
	ErrMalformedAnswer = errors.New("baseline: malformed answer")
	// ErrInvalidConfig: Dial's Config lacks Addr, OriginHost or OriginRealm.
	ErrInvalidConfig = errors.New("baseline: invalid configuration")
	// ErrCEARejected: Dial's capabilities exchange failed (non-2001 Result-Code, E bit, or no
	// common application).
	ErrCEARejected = errors.New("baseline: capabilities exchange rejected")
)
