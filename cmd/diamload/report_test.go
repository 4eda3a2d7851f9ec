package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden reports in testdata/report")

// The reports are a format: buildReport, writeText and writeJSON must give exactly the golden
// bytes for fixed inputs (regenerate with go test ./cmd/diamload -run TestReportGolden -update,
// and review the diff). The inputs use round durations so that the figures do not depend on how
// they are rounded.
func TestReportGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		rp   func(t *testing.T) *report
	}{
		{"closed", closedReport},
		{"open", openReport},
		{"embedded", embeddedReport},
	} {
		t.Run(c.name, func(t *testing.T) {
			rp := c.rp(t)
			rp.CPUs = 2 // runtime.NumCPU: the machine's, not the report's
			var text, js bytes.Buffer
			rp.writeText(&text)
			require.NoError(t, rp.writeJSON(&js))
			golden(t, c.name+".txt", text.Bytes())
			golden(t, c.name+".json", js.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "report", name)
	if *updateGolden {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "report differs from %s", path)
}

// completions feeds rec one of each kind of completion, at fixed clock values.
func completions(rec *recorder, epoch uint32) {
	ok := &s13.Answer{ResultCode: framing.Success, HasEquipmentStatus: true, EquipmentStatus: s13.Whitelisted}
	black := &s13.Answer{ResultCode: framing.Success, HasEquipmentStatus: true, EquipmentStatus: s13.Blacklisted}
	odd := &s13.Answer{ResultCode: framing.Success, HasEquipmentStatus: true, EquipmentStatus: 7}
	busy := &s13.Answer{ResultCode: framing.TooBusy, Flags: framing.FlagError}
	unknown := &s13.Answer{HasExperimentalResult: true,
		ExperimentalResult: s13.ExperimentalResult{VendorID: s13.VendorID, Code: s13.EquipmentUnknown}}
	wantBlack := &outcome{kind: outStatus, status: s13.Blacklisted}
	at := func(us int) int64 { return int64(us) * int64(time.Microsecond) }
	for i, d := range []struct {
		a      *s13.Answer
		err    error
		expect *outcome
		sent   int64
		done   int64
	}{
		{ok, nil, nil, 0, at(120)},
		{ok, nil, nil, at(10), at(190)},
		{ok, nil, nil, at(20), at(2500)},
		{black, nil, wantBlack, at(30), at(160)},
		{ok, nil, wantBlack, at(40), at(300)}, // the first mismatch
		{odd, nil, nil, at(50), at(400)},
		{busy, nil, nil, at(60), at(210)},
		{unknown, nil, nil, at(70), at(220)},
		{nil, engine.ErrTimeout, nil, at(80), at(100080)},
		{nil, engine.ErrConnectionLost, nil, at(90), at(5000)},
	} {
		c := &call{epoch: epoch, expect: d.expect, intended: d.sent, sent: d.sent + int64(i)*at(150)}
		c.req.IMEI = "35209900176148"
		rec.attempt(epoch)
		rec.completed(c, d.a, d.err, d.done+int64(i)*at(100))
	}
	rec.attempt(epoch)
	rec.refused(epoch, errBusy)
	rec.attempt(epoch)
	rec.refused(epoch, errNoConnection)
}

func closedReport(t *testing.T) *report {
	o := &runOpts{conns: 2, concurrency: 64, imei: "35209900xxxxxx", imsi: "001010xxxxxxxxx",
		timeout: 5 * time.Second, maxErrorRatio: 0.5, client: "engine"}
	rec := newRecorder(60*time.Second, false)
	completions(rec, 0)
	res := &result{
		opts: o, client: "engine", peers: []string{"10.0.0.1:3868", "10.0.0.2:3868"}, seed: 42,
		duration: 2 * time.Second, attack: 1500 * time.Millisecond, cpu: 3 * time.Millisecond,
		mallocs: 12, rssKiB: 12800, unmatchedAnswers: 1, procs: 1,
		conns: []connReport{
			{Peer: "10.0.0.1:3868", OriginHost: "gw-1.diamload.local", PeerOriginHost: "dra1.local", State: "Open", TLS: "TLS 1.3 TLS_AES_128_GCM_SHA256",
				Sent: 6, Received: 6},
			{Peer: "10.0.0.2:3868", OriginHost: "gw-2.diamload.local", State: "Down", Sent: 4, Received: 3,
				Timeouts: 1, Failovers: 2, Reconnects: 3, LastError: "connection refused"},
		},
		closeErr: errors.New("engine: close: context deadline exceeded"),
	}
	return buildReport("run", res, rec)
}

func openReport(t *testing.T) *report {
	o := &runOpts{conns: 1, concurrency: 8, imei: "35209900176148", imsi: imsiNone,
		timeout: 100 * time.Millisecond, maxErrorRatio: -1, client: "baseline", warmup: 300 * time.Millisecond}
	o.rate.perSec = 2000
	rec := newRecorder(60*time.Second, true)
	rec.attempt(0) // warm-up traffic, forgotten by reset
	rec.reset()
	completions(rec, 1)
	rec.dropped(1, 3)
	c := &call{epoch: 1}
	rec.attempt(1)
	rec.completed(c, &s13.Answer{ResultCode: framing.Success}, nil, int64(2*time.Minute)) // above the range
	res := &result{
		opts: o, client: "baseline", peers: []string{"127.0.0.1:3868"}, seed: 7,
		duration: 1250 * time.Millisecond, attack: time.Second, cpu: 5 * time.Millisecond, mallocs: 40,
		rssKiB: 13000, procs: 2, warmup: o.warmup, interrupted: true, drainCut: true,
	}
	return buildReport("run", res, rec)
}

// embeddedReport is a selftest against an embedded EIR that answered three requests.
func embeddedReport(t *testing.T) *report {
	target, err := startEIR(ctxT(t, 10*time.Second), eirOpts{listen: "127.0.0.1:0", originHost: defaultEIRHost,
		originRealm: defaultOriginRealm, rulesText: selftestRules, delay: delayValue{min: time.Millisecond, max: 2 * time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = target.Close(context.Background()) })
	env := &s13.Envelope{OriginHost: defaultOriginHost, OriginRealm: defaultOriginRealm}
	for _, imei := range []string{"35209900176148", "99000001123456", "99000004123456"} {
		msg := s13.AppendECR(nil, env, &s13.Request{IMEI: imei, DestinationRealm: defaultOriginRealm})
		h, err := framing.ParseHeader(msg)
		require.NoError(t, err)
		target.handler.ServeDiameter(nil, msg, &h)
	}
	o := &runOpts{conns: 1, concurrency: 64, imei: "35209900xxxxxx", imsi: "001010xxxxxxxxx",
		timeout: 5 * time.Second, maxErrorRatio: -1, client: "engine", selftest: true}
	rec := newRecorder(60*time.Second, false)
	completions(rec, 0)
	res := &result{opts: o, client: "engine", peers: []string{target.Addr()}, embedded: []*responder{target}, seed: 3,
		duration: 3 * time.Second, attack: 3 * time.Second, cpu: time.Millisecond, rssKiB: 12000, procs: 2,
		conns: []connReport{{Peer: "127.0.0.1:3868", OriginHost: defaultOriginHost, PeerOriginHost: defaultEIRHost,
			State: "Disconnected", Sent: 3, Received: 3}}}
	rp := buildReport("selftest", res, rec)
	addSelftestChecks(rp, false)
	// The listening port is the kernel's choice, and the server's counters are package server's.
	rp.Peers = []string{"127.0.0.1:3868"}
	rp.Responder.Addr = "127.0.0.1:3868"
	require.NotNil(t, rp.Responder.Server)
	rp.Responder.Server = nil
	return rp
}

// A measured window shorter than a millisecond (500 requests on loopback) is reported to the
// microsecond, never as 0 s, and throughput_rps agrees with answers / duration_s.
func TestReportDurationsKeepShortRuns(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 400 * time.Microsecond, 1234567 * time.Nanosecond, 3 * time.Second} {
		attack := d - d/4 // first to last send: within the window
		res := &result{opts: &runOpts{}, duration: d, attack: attack}
		rp := buildReport("run", res, newRecorder(time.Minute, false))
		assert.Positive(t, rp.DurationS, "%v", d)
		assert.Positive(t, rp.DurationAttackS, "%v", d)
		assert.GreaterOrEqual(t, rp.DurationS, d.Seconds(), "%v: rounded up", d)
		assert.InDelta(t, d.Seconds(), rp.DurationS, 1e-6, "%v: to the microsecond", d)
		assert.InDelta(t, attack.Seconds(), rp.DurationAttackS, 1e-6, "%v", d)
	}
}
