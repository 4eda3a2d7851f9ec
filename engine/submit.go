package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hsdfat8/diam-gw/s13"
)

// Check sends one ECR and waits for its answer. The deadline is the earlier of ctx's and
// RequestTimeout. Any decodable ECA is returned with a nil error, whatever its Result-Code or
// Experimental-Result (inspect the Answer); errors are transport and capacity failures: ErrBusy,
// ErrNoConnection and ErrClosed before anything is sent, then *Error wrapping ErrTimeout,
// ErrConnectionLost, ErrMalformedAnswer or ErrClosed. A ctx cancelled before the answer returns
// ctx's error at once; the request still completes in the background. The returned Answer owns
// its memory. Safe for concurrent use; never call it from a Go callback (it would wait on the
// loop that runs the callback).
func (e *Engine) Check(ctx context.Context, req s13.Request) (s13.Answer, error) {
	var deadline int64 // 0: RequestTimeout from when the loop takes the request
	if d, ok := ctx.Deadline(); ok {
		if until := time.Until(d); until < e.cfg.RequestTimeout {
			deadline = e.now() + int64(until)
		}
	}
	if err := ctx.Err(); err != nil {
		return s13.Answer{}, err
	}
	if err := e.prepare(&req); err != nil {
		return s13.Answer{}, err
	}
	w := e.reqs.getWaiter()
	if err := e.submit(&submission{req: req, w: w, deadline: deadline}); err != nil {
		e.reqs.putWaiter(w)
		return s13.Answer{}, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		if w.state.CompareAndSwap(statePending, stateAbandoned) {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return s13.Answer{}, &Error{Err: ErrTimeout, Cause: ctx.Err()}
			}
			return s13.Answer{}, ctx.Err()
		}
		<-w.done // the loop finished it first
	}
	ans, err := w.ans, w.err
	e.reqs.putWaiter(w)
	return ans, err
}

// Go sends one ECR and calls cb with the outcome, on the event loop, exactly once; the deadline
// is RequestTimeout. When Go returns an error (ErrBusy, ErrNoConnection, ErrClosed,
// ErrNotStarted, ErrInvalidRequest) nothing was sent and cb is never called. cb must not block
// and must not call Check; the Answer it receives aliases the loop's read buffer and is valid
// only during the call (use Answer.Clone to keep it). cb may call Go, and Close (which then
// returns ErrClosing at once). A panic in cb is recovered and counted (CallbackPanics). A
// runtime.Goexit in cb (t.FailNow, require.*) cannot be stopped and ends the loop's goroutine:
// it is counted (CallbackExits), the requests outstanding then complete with ErrLoopExited,
// and a new loop reconnects (see ErrLoopExited). Safe for concurrent use; may be called from a
// callback.
func (e *Engine) Go(req s13.Request, cb func(s13.Answer, error)) error {
	if cb == nil {
		return fmt.Errorf("%w: nil callback", ErrInvalidRequest)
	}
	if err := e.prepare(&req); err != nil {
		return err
	}
	// A zero deadline is RequestTimeout from when the loop takes the request: the loop reads its
	// clock once per batch, so callers need not read it per request.
	return e.submit(&submission{req: req, cb: cb})
}

// prepare fills the destination defaults and validates req.
func (e *Engine) prepare(req *s13.Request) error {
	if req.DestinationRealm == "" {
		req.DestinationRealm = e.cfg.DestinationRealm
	}
	if req.DestinationHost == "" {
		req.DestinationHost = e.cfg.DestinationHost
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

// submit admits s: the engine must be running, a connection usable, and room left in the
// windows of the usable connections and in the inbox. Errors are bare sentinels: under overload
// they are frequent and must not allocate. outstanding is raised before the lifecycle check, so
// that Close, once it has left lifeRunning, can count on it: every request it includes is
// either refused (and uncounted again) or pushed.
func (e *Engine) submit(s *submission) error {
	n := e.outstanding.Add(1)
	var err error
	switch e.life.state.Load() {
	case lifeRunning:
		// A held connection is about to take traffic (peerreopen.go): its requests wait parked.
		switch u := int64(e.routes.usable.Load() + e.routes.held.Load()); {
		case u == 0:
			err = ErrNoConnection
		case n > u*int64(e.cfg.MaxInFlight), !e.inbox.TryPushFrom(s):
			err = ErrBusy
		default:
			e.wake()
			return nil
		}
	case lifeNew:
		err = ErrNotStarted
	default:
		err = ErrClosed
	}
	switch err {
	case ErrBusy:
		e.refusedBusy.Add(1)
	case ErrNoConnection:
		e.refusedNoConn.Add(1)
	}
	e.finished()
	return err
}

// finished uncounts one request (completed or refused) and tells a waiting Close when it was the
// last. Safe for concurrent use.
func (e *Engine) finished() {
	if e.outstanding.Add(-1) == 0 && e.life.state.Load() >= lifeClosing {
		e.life.signalDrained()
	}
}
