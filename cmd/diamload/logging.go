package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// --log-level and --log-format: the engine's and the server's records (engine.Config.Logger,
// server.Config.Logger) go to stderr through one slog handler.

// logOpts are the logging flags of every command.
type logOpts struct {
	level  levelValue
	format formatValue
}

// levelValue is --log-level: debug, info, warn or error.
type levelValue struct{ l slog.Level }

func (v *levelValue) String() string {
	if v == nil {
		return ""
	}
	return strings.ToLower(v.l.String())
}

func (v *levelValue) Set(s string) error {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if strings.EqualFold(s, l.String()) {
			v.l = l
			return nil
		}
	}
	return fmt.Errorf("want debug, info, warn or error")
}

// formatValue is --log-format: text or json.
type formatValue struct{ json bool }

func (v *formatValue) String() string {
	if v != nil && v.json {
		return "json"
	}
	return "text"
}

func (v *formatValue) Set(s string) error {
	switch s {
	case "text", "json":
		v.json = s == "json"
		return nil
	}
	return fmt.Errorf("want text or json")
}

// logFlags registers the logging flags on fs with def as the level's default.
func logFlags(fs *flag.FlagSet, o *logOpts, def slog.Level) {
	o.level.l = def
	fs.Var(&o.level, "log-level", "least level of the engine's and the responder's log records on stderr: debug, info, warn or error")
	fs.Var(&o.format, "log-format", "log records as text (key=value) or json, one a line")
}

// logger is the logger the options describe, writing to w (safe for concurrent use if w's
// Write is: os.Stderr's is, each record is one Write).
func (o *logOpts) logger(w io.Writer) *slog.Logger {
	ho := &slog.HandlerOptions{Level: o.level.l}
	if o.format.json {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}
