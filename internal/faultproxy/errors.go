package faultproxy

import "errors"

// ErrClosed: the proxy was closed.
var ErrClosed = errors.New("faultproxy: closed")
