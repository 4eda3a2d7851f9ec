// Package ratelogtest counts the log records a test's loop writes, to check that a peer cannot
// make it write one per message.
package ratelogtest

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// Counter is a slog.Handler that counts the records at Warn and above and keeps the last
// "suppressed" attribute seen. Safe for concurrent use.
type Counter struct {
	warns      atomic.Int64
	suppressed atomic.Uint64
}

// Warns is the number of records at Warn and above so far. Safe for concurrent use.
func (h *Counter) Warns() int64 { return h.warns.Load() }

// Suppressed is the "suppressed" count of the last record that had one. Safe for concurrent use.
func (h *Counter) Suppressed() uint64 { return h.suppressed.Load() }

// Enabled reports true: every record is looked at. Safe for concurrent use.
func (h *Counter) Enabled(context.Context, slog.Level) bool { return true }

// Handle counts r. Safe for concurrent use.
func (h *Counter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.warns.Add(1)
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "suppressed" && a.Value.Kind() == slog.KindUint64 {
			h.suppressed.Store(a.Value.Uint64())
		}
		return true
	})
	return nil
}

// WithAttrs returns h: attributes are not kept. Safe for concurrent use.
func (h *Counter) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h. Safe for concurrent use.
func (h *Counter) WithGroup(string) slog.Handler { return h }
