package ratelogtest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// Record is one log record as a Recorder kept it: the logger's attributes (With) and the
// record's own, flattened by key.
type Record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]slog.Value
}

// Str is attribute key as a string ("" when absent).
func (r Record) Str(key string) string {
	v, ok := r.Attrs[key]
	if !ok {
		return ""
	}
	return v.String()
}

// Recorder is a slog.Handler that keeps every record at Level and above, for tests that check
// what was logged and with which attributes; made by NewRecorder. Safe for concurrent use.
type Recorder struct {
	Level slog.Level // the least level kept

	mu   *sync.Mutex
	recs *[]Record
	with []slog.Attr
}

// NewRecorder returns a Recorder keeping the records at level and above.
func NewRecorder(level slog.Level) *Recorder {
	return &Recorder{Level: level, mu: new(sync.Mutex), recs: new([]Record)}
}

// Enabled reports whether l is kept. Safe for concurrent use.
func (h *Recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.Level }

// Handle keeps r. Safe for concurrent use.
func (h *Recorder) Handle(_ context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Msg: r.Message, Attrs: make(map[string]slog.Value, len(h.with)+r.NumAttrs())}
	for _, a := range h.with {
		rec.Attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.mu.Lock()
	*h.recs = append(*h.recs, rec)
	h.mu.Unlock()
	return nil
}

// WithAttrs returns a handler adding attrs to every record, sharing h's records. Safe for
// concurrent use.
func (h *Recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.with = append(append([]slog.Attr(nil), h.with...), attrs...)
	return &n
}

// WithGroup returns h: groups are not kept apart. Safe for concurrent use.
func (h *Recorder) WithGroup(string) slog.Handler { return h }

// Records returns a copy of the records so far. Safe for concurrent use.
func (h *Recorder) Records() []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Record(nil), *h.recs...)
}

// Find returns the records with message msg. Safe for concurrent use.
func (h *Recorder) Find(msg string) []Record {
	var out []Record
	for _, r := range h.Records() {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

// One returns the only record with message msg, failing tb when there is not exactly one.
// Safe for concurrent use.
func (h *Recorder) One(tb testing.TB, msg string) Record {
	tb.Helper()
	recs := h.Find(msg)
	if len(recs) != 1 {
		tb.Fatalf("%d records %q, want 1", len(recs), msg) // not all of them: a flood would fill the log
	}
	return recs[0]
}
