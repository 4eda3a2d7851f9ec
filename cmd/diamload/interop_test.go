package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInteropFreeDiameterRun runs diamload twice in a row through freeDiameter's DRA (to its
// EIR): both runs must be clean. The second one checks that the first closed properly with
// DPR/DPA — freeDiameter mishandles a reconnect after an unclean close (its first answers are
// lost). Set DIAMGW_FD_DRA=127.0.0.1:3868 with the peers of ../shared/peers running.
func TestInteropFreeDiameterRun(t *testing.T) {
	dra := os.Getenv("DIAMGW_FD_DRA")
	if dra == "" {
		if os.Getenv("DIAMGW_REQUIRE_PEERS") != "" {
			t.Fatal("DIAMGW_REQUIRE_PEERS is set but DIAMGW_FD_DRA is not")
		}
		t.Skip("DIAMGW_FD_DRA not set: start shared/peers/freediameter/start.sh dra and set DIAMGW_FD_DRA=127.0.0.1:3868")
	}
	for i := 1; i <= 2; i++ {
		code, out, errOut := cli(t, ctxT(t, 60*time.Second), "run", "--dra", dra, "--dest-realm", "test.local",
			"--origin-host", "gw.test.local", "--origin-realm", "test.local", "-n", "2000", "-c", "32", "--json", "-")
		require.Equal(t, exitOK, code, "run %d: %s", i, errOut)
		rp, _ := decodeReport(t, out)
		requireBalanced(t, rp)
		assert.Equal(t, uint64(2000), rp.Requests, "run %d", i)
		assert.Equal(t, uint64(2000), rp.Answers, "run %d", i)
		assert.Zero(t, rp.Errors.total(), "run %d: %+v", i, rp.Errors)
		assert.Equal(t, map[string]uint64{"2001": 2000}, rp.ResultCodes, "run %d", i)
		assert.Empty(t, rp.ExperimentalResultCodes, "run %d", i)
		assert.Equal(t, uint64(2000), rp.EquipmentStatus.Whitelisted, "run %d", i)
		assert.Empty(t, rp.CloseError, "run %d: DPR/DPA", i)
		require.Len(t, rp.Connections, 1)
		assert.Equal(t, "dra.test.local", rp.Connections[0].PeerOriginHost, "run %d", i)
		assert.Zero(t, rp.UnmatchedAnswers, "run %d", i)
		assert.Equal(t, 1, rp.GOMAXPROCS, "run %d: the engine client against a DRA runs on one P", i)
	}
}
