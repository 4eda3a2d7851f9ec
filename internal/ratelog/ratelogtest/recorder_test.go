package ratelogtest

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A Recorder keeps the records at its level and above, with the logger's attributes, shared by
// the loggers derived from it.
func TestRecorder(t *testing.T) {
	h := NewRecorder(slog.LevelInfo)
	l := slog.New(h).With("dra", "a")
	l.Debug("not kept")
	l.With("conn", 2).Warn("kept", "n", 3)
	l.Info("other")
	recs := h.Find("kept")
	assert.Len(t, h.Records(), 2)
	if assert.Len(t, recs, 1) {
		assert.Equal(t, "a", recs[0].Str("dra"))
		assert.Equal(t, "2", recs[0].Str("conn"))
		assert.Equal(t, "3", recs[0].Str("n"))
		assert.Equal(t, "", recs[0].Str("absent"))
		assert.Equal(t, slog.LevelWarn, recs[0].Level)
	}
	assert.Equal(t, "", h.Find("other")[0].Str("conn"), "a derived logger's attributes stay its own")
}

// One fails the test unless exactly one record has the message.
func TestRecorderOne(t *testing.T) {
	h := NewRecorder(slog.LevelInfo)
	l := slog.New(h)
	l.Info("a")
	l.Info("b")
	l.Info("b")
	assert.Equal(t, "a", h.One(t, "a").Msg)
	for _, msg := range []string{"b", "none"} {
		ft := &fatalTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			h.One(ft, msg)
		}()
		assert.True(t, ft.failed, msg)
	}
}

// fatalTB records a Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal") // as FailNow stops the caller
}
