// Inbox choice: internal/inbox.Ring (lock-free Vyukov MPSC ring) against internal/inbox.Chan (a
// buffered channel with select-default), compared by bench/inbox_test.go: P producer goroutines,
// one consumer draining in batches behind the engine's coalesced wake-up (woken only on the
// idle->pending edge). The Ring handed items over faster than the channel at every P in every
// run, never blocks, and refuses at once when full (ErrBusy), so the engine uses it (engine.go).
// Its slots hold the submissions themselves (request, callback, deadline), copied in with
// TryPushFrom and read in place with Front/Advance, so no pooled object travels with a request,
// which cost less client CPU per ECR than pooled pointers in the ring. The figures, and how they
// were taken: bench/results/2026-12-03-notes.md.
package engine
