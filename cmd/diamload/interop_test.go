package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fdEnv is the environment variable name (a freeDiameter peer or its TLS material, set by .ci/run
// with the peers of ../shared/peers running); the test skips without it, and fails instead when
// DIAMGW_REQUIRE_PEERS is set, so CI cannot pass by skipping.
func fdEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("DIAMGW_REQUIRE_PEERS") != "" {
			t.Fatalf("DIAMGW_REQUIRE_PEERS is set but %s is not", name)
		}
		t.Skipf("%s not set: start ../shared/peers/freediameter/start.sh dra (FD_TLS=1 for the TLS ports) and set it as .ci/run does", name)
	}
	return v
}

// TestInteropFreeDiameterRun runs diamload twice in a row through freeDiameter's DRA (to its
// EIR): both runs must be clean. The second one checks that the first closed properly with
// DPR/DPA — freeDiameter mishandles a reconnect after an unclean close (its first answers are
// lost). Set DIAMGW_FD_DRA=127.0.0.1:3868 with the peers of ../shared/peers running.
func TestInteropFreeDiameterRun(t *testing.T) {
	dra := fdEnv(t, "DIAMGW_FD_DRA")
	for i := 1; i <= 2; i++ {
		fdRun(t, i, "--dra", dra, "--origin-host", "gw.test.local")
	}
}

// TestInteropFreeDiameterTLSRun is one run through the DRA's TLS port (RFC 6733 §13, TLS from the
// connect on), verifying its certificate's name (dra.test.local: it has no IP SAN) with
// start.sh's CA and presenting its client certificate, which freeDiameter requires; twice in a
// row, like the TCP run, so the first must have closed with DPR/DPA inside TLS. The key log
// shows the session was TLS 1.3 and that --tls-keylog wrote it.
func TestInteropFreeDiameterTLSRun(t *testing.T) {
	dra, dir := fdEnv(t, "DIAMGW_FD_DRA_TLS"), fdEnv(t, "DIAMGW_FD_TLS_DIR")
	for i := 1; i <= 2; i++ {
		keylog := filepath.Join(t.TempDir(), "keys.log")
		fdRun(t, i, "--dra", "tls://"+dra, "--origin-host", "gw-cli-tls.test.local",
			"--tls-server-name", "dra.test.local", "--tls-ca", filepath.Join(dir, "ca.pem"),
			"--tls-cert", filepath.Join(dir, "client.pem"), "--tls-key", filepath.Join(dir, "client.key"),
			"--tls-keylog", keylog)
		assert.Contains(t, readFile(t, keylog), "CLIENT_TRAFFIC_SECRET_0 ", "run %d: no TLS 1.3 session in the key log", i)
	}
}

// fdRun runs 2000 ECRs through freeDiameter's DRA with the peer args (--dra, --origin-host and
// any TLS flags) and checks the run was clean: every request answered 2001 WHITELISTED by the
// EIR, no error, one connection to the DRA, closed with DPR/DPA.
func fdRun(t *testing.T, i int, peer ...string) {
	t.Helper()
	args := append([]string{"run", "--dest-realm", "test.local", "--origin-realm", "test.local",
		"-n", "2000", "-c", "32", "--json", "-"}, peer...)
	code, out, errOut := cli(t, ctxT(t, 60*time.Second), args...)
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
