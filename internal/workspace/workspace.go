// Package workspace finds the files that the tests share with the rest of the project
// workspace, which keeps them in a directory "shared" beside the module. Test support only.
package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

// EIRRules is the freeDiameter test EIR's rule file: $DIAMGW_EIR_RULES, or
// shared/peers/freediameter/conf/eir_rules.conf beside the module root. It fails tb when the
// file is not there. Safe for concurrent use.
func EIRRules(tb testing.TB) string {
	tb.Helper()
	path := os.Getenv("DIAMGW_EIR_RULES")
	if path == "" {
		path = filepath.Join(moduleRoot(tb), "..", "shared", "peers", "freediameter", "conf", "eir_rules.conf")
	}
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("freeDiameter rule file %q not found (%v): run from the workspace layout or set DIAMGW_EIR_RULES", path, err)
	}
	return path
}

// moduleRoot is the nearest directory at or above the working directory (a test's package
// directory) that holds go.mod.
func moduleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}
