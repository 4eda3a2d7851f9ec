package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Both real peers keep our identity in their REOPEN after an unclean end of ours (kill -9: no
// DPR) and drop our requests until they have had three DWAs (../shared/peers/README.md). A run
// started right after a killed one must lose nothing: the engine holds the connection through
// the peer's REOPEN (engine/peerreopen.go). DIAMGW_FD_DRA is freeDiameter's DRA (its EIR behind
// it), DIAMGW_OTP_EIR the Erlang/OTP EIR; .ci/run starts both with Tw = 6 s.
func TestInteropKillThenRerun(t *testing.T) {
	targets := []struct{ name, env string }{{"freeDiameter DRA", "DIAMGW_FD_DRA"}, {"OTP EIR", "DIAMGW_OTP_EIR"}}
	bin := ""
	for _, tg := range targets {
		if bin == "" && os.Getenv(tg.env) != "" {
			bin = buildBinary(t) // in t's directory: it serves every subtest
		}
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			addr := os.Getenv(tg.env)
			if addr == "" {
				if os.Getenv("DIAMGW_REQUIRE_PEERS") != "" {
					t.Fatalf("DIAMGW_REQUIRE_PEERS is set but %s is not", tg.env)
				}
				t.Skipf("%s not set: no peer to test against (../shared/peers)", tg.env)
			}
			// An identity of its own, the same for both runs: the peer's REOPEN is of this one.
			host := fmt.Sprintf("gw-k9-%d.test.local", rand.Uint32())
			args := []string{"run", "--dra", addr, "--origin-host", host, "--origin-realm", "test.local",
				"--dest-realm", "test.local", "--watchdog", "6s", "-c", "8"}
			killUnderLoad(t, bin, append(args, "-d", "60s", "--progress-interval", "100ms"))

			ctx := ctxT(t, 60*time.Second)
			out, err := exec.CommandContext(ctx, bin, append(args, "-n", "2000", "--quiet", "--json", "-")...).Output()
			require.NoError(t, err, "second run: %s", exitText(err))
			rp, _ := decodeReport(t, string(out))
			requireBalanced(t, rp)
			assert.Equal(t, uint64(2000), rp.Answers)
			assert.Zero(t, rp.Errors.total(), "%+v", rp.Errors)
			assert.Equal(t, map[string]uint64{"2001": 2000}, rp.ResultCodes)
			require.Len(t, rp.Connections, 1)
			c := rp.Connections[0]
			assert.Zero(t, c.Timeouts)
			assert.EqualValues(t, 1, c.PeerReopens, "the peer did put the connection in its REOPEN")
		})
	}
}

// buildBinary builds diamload into the test's temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "diamload")
	out, err := exec.CommandContext(ctxT(t, 120*time.Second), "go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// killUnderLoad starts a run and kills it (SIGKILL) once its progress line shows answers.
func killUnderLoad(t *testing.T, bin string, args []string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	loaded := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Split(scanCRLF)
		for sc.Scan() {
			if hasAnswers(sc.Text()) {
				select {
				case loaded <- struct{}{}:
				default:
				}
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case <-loaded:
	case err := <-exited:
		t.Fatalf("the first run ended before it was killed: %v", err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the first run showed no answers within 30 s")
	}
	require.NoError(t, cmd.Process.Kill())
	err = await.Recv(t, exited, 10*time.Second)
	require.Error(t, err, "killed")
}

// hasAnswers reports whether a progress line ("... answers N ...") counts answers.
func hasAnswers(line string) bool {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "answers" {
			return f[i+1] != "0"
		}
	}
	return false
}

// scanCRLF splits on \n or \r: the progress line is redrawn with \r.
func scanCRLF(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// exitText adds a failed command's stderr to its error.
func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
