package engine

import (
	"testing"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }
