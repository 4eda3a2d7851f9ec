package main

import (
	"encoding/csv"
	"io"
	"strconv"
)

// csvHeader is the --csv columns: a contract like the JSON report's names.
var csvHeader = []string{"t_s", "dur_s", "requests", "answers", "errors", "timeout", "busy", "no_connection",
	"connection_lost", "closed", "other", "ecr_per_s", "p50_us", "p90_us", "p99_us", "max_us"}

// writeCSV writes the per-second rows, one a line after the header.
func writeCSV(w io.Writer, rows []second) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, r := range rows {
		e := r.Errors
		if err := cw.Write([]string{f(r.AtS), f(r.DurS), u(r.Requests), u(r.Answers), u(e.total()), u(e.Timeout),
			u(e.Busy), u(e.NoConnection), u(e.ConnectionLost), u(e.Closed), u(e.Other), f(r.RPS),
			i(r.P50), i(r.P90), i(r.P99), i(r.Max)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
