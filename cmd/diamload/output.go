package main

import (
	"fmt"
	"io"
	"os"
)

// writeTo creates path and writes it with write; an error names the flag.
func writeTo(flagName, path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--%s: %w", flagName, err)
	}
	werr := write(f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("--%s: %w", flagName, werr)
	}
	return nil
}

// writeFiles writes the --csv and --html files ("" skips one).
func (rp *report) writeFiles(csvPath, htmlPath string) error {
	if csvPath != "" {
		if err := writeTo("csv", csvPath, func(w io.Writer) error { return writeCSV(w, rp.Timeline) }); err != nil {
			return err
		}
	}
	if htmlPath != "" {
		return writeTo("html", htmlPath, rp.writeHTML)
	}
	return nil
}
