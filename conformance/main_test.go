package conformance

import (
	"testing"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
)

// The TLS run starts an engine, a server and a relay: none may outlive the tests.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
