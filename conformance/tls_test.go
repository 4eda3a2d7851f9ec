package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
)

// The TLS capture's server port: neither 3868 nor 5868 (Wireshark's default for Diameter over
// TLS), so the decode depends on the explicit decode-as below.
const tlsServerPort = 15868

// tlsDissect is validateArgs' dissection of the TLS capture: the server port as TLS, TLS's
// payload there as Diameter, decrypted with the session keys in keylog (NSS key log format,
// what crypto/tls's KeyLogWriter writes).
func tlsDissect(keylog string) []string {
	return []string{
		"-d", fmt.Sprintf("tcp.port==%d,tls", tlsServerPort),
		"-d", fmt.Sprintf("tls.port==%d,diameter", tlsServerPort),
		"-o", "tls.keylog_file:" + keylog,
	}
}

// TestWireConformanceTLS runs the engine against the server over TLS (RFC 6733 §13) through a
// recording relay, with the engine's TLS session keys logged, writes what went over the wire
// into a capture and has tshark decrypt it: the capabilities exchange, three ECR/ECA, a
// watchdog exchange and the DPR/DPA must be dissected as Diameter inside TLS, with nothing for
// tshark's expert to remark. Without the keys the same capture must show no Diameter at all.
func TestWireConformanceTLS(t *testing.T) {
	tsharkPath(t)
	dir := t.TempDir()
	keylog := filepath.Join(dir, "keys.log")
	chunks := recordTLSExchange(t, keylog)
	file := writeCapture(t, writeChunks(chunks, netip.AddrPortFrom(loopback, tlsServerPort)), "s13-tls.pcap")
	rows := decode(t, file, tlsDissect(keylog)...)

	t.Run("Diameter inside TLS", func(t *testing.T) {
		got := diameterInTLS(t, rows)
		assert.Equal(t, 1, got["CER"], "%v", got)
		assert.Equal(t, 1, got["CEA"], "%v", got)
		assert.Equal(t, 3, got["ECR"], "%v", got)
		assert.Equal(t, 3, got["ECA"], "%v", got)
		assert.Positive(t, got["DWR"], "%v", got)
		assert.Equal(t, got["DWR"], got["DWA"], "%v", got)
		assert.Equal(t, 1, got["DPR"], "%v", got)
		assert.Equal(t, 1, got["DPA"], "%v", got)
	})

	t.Run("no expert items", func(t *testing.T) {
		requireClean(t, file, rows, tlsDissect(keylog)...)
	})

	t.Run("without the keys no Diameter", func(t *testing.T) {
		none := filepath.Join(dir, "no-keys.log")
		require.NoError(t, os.WriteFile(none, nil, 0o600))
		got := diameterInTLS(t, decode(t, file, tlsDissect(none)...))
		assert.Empty(t, got, "Diameter decoded without the session keys: the capture is not encrypted")
	})
}

// recordTLSExchange runs one engine connection to a server over TLS through a recorder and
// returns what the recorder saw; the engine's session keys go to keylog.
func recordTLSExchange(t *testing.T, keylog string) []chunk {
	t.Helper()
	lab, err := labpki.New(time.Now())
	require.NoError(t, err)
	pol, err := eir.LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	h, err := eir.New(framing.Identity{OriginHost: eirHost, OriginRealm: realm}, pol)
	require.NoError(t, err)
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", OriginHost: eirHost, OriginRealm: realm,
		Handler: h, TLS: lab.ServerConfig(true)})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = srv.Close(ctxT(t, 5*time.Second)) })
	rec := startRecorder(t, srv.Addr())

	keys, err := os.OpenFile(keylog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	require.NoError(t, err)
	defer keys.Close()
	cli := lab.ClientConfig("") // the lab certificate names 127.0.0.1, the recorder's address
	cli.KeyLogWriter = keys
	e, err := engine.New(engine.Config{
		OriginHost: mmeHost, OriginRealm: realm, DestinationRealm: realm,
		DRAs: []engine.DRA{{Address: rec.Addr(), TLS: cli}},
		// The shortest Tw RFC 3539 allows: the engine's DWR comes within Tw ± 2 s of idle.
		DWRInterval:    engine.MinDWRInterval,
		RequestTimeout: 3 * time.Second,
		// One connection in the capture: a redial would find the recorder closed.
		BackoffInitial: time.Minute, BackoffMax: time.Minute,
	})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 10*time.Second)))
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close(context.Background())
		}
	})
	for _, imei := range []string{imei, "99000001123456", "99000003123456"} {
		_, err := e.Check(ctxT(t, 5*time.Second), s13.Request{IMEI: imei, SoftwareVersion: svn})
		require.NoError(t, err, imei)
	}
	awaitWatchdog(t, e, engine.MinDWRInterval+5*time.Second)
	require.NoError(t, e.Close(ctxT(t, 5*time.Second)), "DPR/DPA")
	closed = true
	return rec.wait(t, 10*time.Second)
}

// awaitWatchdog waits until the engine's connection has had a DWR/DWA exchange (its own DWR
// answered, or the server's answered). The counters are the only signal: no state changes.
func awaitWatchdog(t *testing.T, e *engine.Engine, d time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		tot := e.Stats().Total
		return tot.DWAReceived > 0 || tot.DWRReceived > 0
	}, d, 20*time.Millisecond, "no watchdog exchange within %v of idle", d)
}

// diameterInTLS counts the Diameter messages tshark dissected inside TLS, by name ("CER",
// "ECA", ...), and fails the test for one dissected outside TLS.
func diameterInTLS(t *testing.T, rows []row) map[string]int {
	t.Helper()
	names := map[string][2]string{"257": {"CEA", "CER"}, "280": {"DWA", "DWR"}, "282": {"DPA", "DPR"}, "324": {"ECA", "ECR"}}
	got := map[string]int{}
	for _, r := range rows {
		if r["diameter.cmd.code"] == "" {
			continue
		}
		protos := ":" + r["frame.protocols"] + ":"
		require.True(t, strings.Contains(protos, ":tls:") && strings.Contains(protos, ":diameter"),
			"frame %s: Diameter outside TLS (%s)", r["frame.number"], r["frame.protocols"])
		codes := strings.Split(r["diameter.cmd.code"], ",")
		reqs := strings.Split(r["diameter.flags.request"], ",")
		require.Len(t, reqs, len(codes), "frame %s", r["frame.number"])
		for i, c := range codes {
			n, ok := names[c]
			require.True(t, ok, "frame %s: command %s", r["frame.number"], c)
			if reqs[i] == "1" {
				got[n[1]]++
			} else {
				got[n[0]]++
			}
		}
	}
	return got
}

// ctxT is a context bounded by d and the test.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
