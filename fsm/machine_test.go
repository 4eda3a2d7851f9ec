package fsm

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step applies ev and checks the resulting state.
func step(t *testing.T, m *Machine, ev Event, want State) Output {
	t.Helper()
	if ev.Kind == EvTimeout && ev.Gen == 0 {
		ev.Gen = m.Gen()
	}
	out := m.Step(ev)
	require.Equal(t, want, m.State(), "after %s from %s (row %d)", ev.Kind, out.From, out.Row)
	return out
}

func noJitter() Config {
	return Config{Tw: 30 * time.Second, TwJitter: -1, BackoffJitter: -1}
}

func open(t *testing.T, m *Machine) {
	t.Helper()
	step(t, m, Event{Kind: EvStart}, Connecting)
	step(t, m, Event{Kind: EvConnected}, CERSent)
	step(t, m, Event{Kind: EvCEAOK}, Open)
}

func TestFirstConnectionGoesStraightToOpen(t *testing.T) {
	m := New(noJitter(), 1)
	out := step(t, m, Event{Kind: EvStart}, Connecting)
	assert.True(t, out.Do.Has(ActDial))
	assert.Equal(t, DefaultConnectTimeout, out.After)
	out = step(t, m, Event{Kind: EvConnected}, CERSent)
	assert.True(t, out.Do.Has(ActSendCER))
	assert.Equal(t, DefaultCEATimeout, out.After)
	out = step(t, m, Event{Kind: EvCEAOK}, Open)
	assert.True(t, out.Do.Has(ActMarkUsable))
	assert.Equal(t, 30*time.Second, out.After)
}

// RFC 3539: OKAY -> (Tw) DWR -> (Tw) SUSPECT + failover -> (Tw) DOWN.
func TestWatchdogSilentPeer(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	out := step(t, m, Event{Kind: EvTimeout}, DWRSent)
	assert.Equal(t, ActSendDWR, out.Do)
	assert.True(t, m.Pending())
	out = step(t, m, Event{Kind: EvTimeout}, Suspect)
	assert.Equal(t, ActMarkUnusable|ActFailover, out.Do)
	out = step(t, m, Event{Kind: EvTimeout}, Failed)
	assert.Equal(t, ActClose, out.Do)
	out = step(t, m, Event{Kind: EvTransportLost}, Reconnecting)
	assert.True(t, out.Arm)
	assert.Equal(t, DefaultBackoffInitial, out.After)
}

func TestDWATimeoutShortensTheDWAWait(t *testing.T) {
	cfg := noJitter()
	cfg.DWATimeout = 10 * time.Second
	m := New(cfg, 1)
	open(t, m)
	out := step(t, m, Event{Kind: EvTimeout}, DWRSent)
	assert.Equal(t, 10*time.Second, out.After)
	out = step(t, m, Event{Kind: EvTimeout}, Suspect)
	assert.Equal(t, 30*time.Second, out.After, "SUSPECT still lasts a Tw")
}

func TestTrafficDefersTheWatchdog(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	before := m.Gen()
	out := step(t, m, Event{Kind: EvMessage}, Open)
	assert.True(t, out.Do.Has(ActProcess))
	assert.True(t, out.Arm)
	// the deadline armed before the message is now stale
	out = m.Step(Event{Kind: EvTimeout, Gen: before})
	assert.True(t, out.Stale)
	assert.Equal(t, Open, m.State())
}

func TestSuspectFailsBackOnAnyMessage(t *testing.T) {
	for _, k := range []EventKind{EvDWA, EvDWR, EvMessage} {
		m := New(noJitter(), 1)
		open(t, m)
		step(t, m, Event{Kind: EvTimeout}, DWRSent)
		step(t, m, Event{Kind: EvTimeout}, Suspect)
		want := DWRSent
		if k == EvDWA {
			want = Open
		}
		out := step(t, m, Event{Kind: k}, want)
		assert.True(t, out.Do.Has(ActMarkUsable), k.String())
		assert.Equal(t, k != EvDWA, m.Pending(), "only a DWA clears Pending (%s)", k)
	}
}

func reconnect(t *testing.T, m *Machine) {
	t.Helper()
	step(t, m, Event{Kind: EvTransportLost}, Reconnecting)
	step(t, m, Event{Kind: EvTimeout}, Connecting)
	step(t, m, Event{Kind: EvConnected}, CERSent)
}

// RFC 3539 REOPEN: after a reconnect, three DWAs in a row before traffic.
func TestReopenNeedsThreeDWAs(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	reconnect(t, m)
	out := step(t, m, Event{Kind: EvCEAOK}, Reopen)
	assert.Equal(t, ActSendDWR, out.Do)
	assert.False(t, out.Do.Has(ActMarkUsable))
	for i := 0; i < 2; i++ {
		out = step(t, m, Event{Kind: EvDWA}, Reopen)
		assert.Equal(t, ActSendDWR, out.Do, "DWA %d sends the next DWR", i+1)
		// traffic in REOPEN is handed over (answers find nothing pending, requests get a 3001)
		// without touching the watchdog
		out = step(t, m, Event{Kind: EvMessage}, Reopen)
		assert.Equal(t, ActProcess, out.Do)
		assert.False(t, out.Arm || out.Cancel)
	}
	out = step(t, m, Event{Kind: EvDWA}, Open)
	assert.Equal(t, ActMarkUsable, out.Do)
	assert.False(t, m.Pending())
	assert.Equal(t, 0, m.Attempts())
}

func TestReopenGivesUpAfterTwoSilentPeriods(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	reconnect(t, m)
	step(t, m, Event{Kind: EvCEAOK}, Reopen)
	step(t, m, Event{Kind: EvTimeout}, Reopen) // NumDWA -> -1
	step(t, m, Event{Kind: EvDWA}, Reopen)     // -1 -> 0: still counting from scratch
	step(t, m, Event{Kind: EvTimeout}, Reopen)
	out := step(t, m, Event{Kind: EvTimeout}, Failed)
	assert.Equal(t, ActClose, out.Do)
}

func TestCERSentNonCEACloses(t *testing.T) {
	for _, k := range []EventKind{EvDWR, EvDWA, EvDPR, EvDPA, EvMessage, EvTimeout, EvCEAFailed} {
		m := New(noJitter(), 1)
		step(t, m, Event{Kind: EvStart}, Connecting)
		step(t, m, Event{Kind: EvConnected}, CERSent)
		out := step(t, m, Event{Kind: k}, Failed)
		assert.True(t, out.Do.Has(ActClose), k.String())
		assert.False(t, out.Do.Has(ActProcess), k.String())
	}
}

// On a reconnect the machine knows the peer's Origin-State-Id, so a DWR or DWA before the CEA
// becomes EvPeerRebooted when its id differs: it is a non-CEA all the same (RFC 6733 §5.6.1
// Wait-I-CEA I-Rcv-Non-CEA), closed like one with the same id.
func TestCERSentDWRClosesWhateverItsOriginStateID(t *testing.T) {
	for _, k := range []EventKind{EvDWR, EvDWA} {
		for _, id := range []uint32{5, 6} {
			m := New(noJitter(), 1)
			step(t, m, Event{Kind: EvStart}, Connecting)
			step(t, m, Event{Kind: EvConnected}, CERSent)
			step(t, m, Event{Kind: EvCEAOK, OriginStateID: 5, HasOriginStateID: true}, Open)
			reconnect(t, m)
			out := step(t, m, Event{Kind: k, OriginStateID: id, HasOriginStateID: true}, Failed)
			assert.Equal(t, ActMarkUnusable|ActClose, out.Do, "%s with Origin-State-Id %d", k, id)
			assert.Equal(t, id != 5, out.Rebooted)
		}
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	cfg := noJitter()
	cfg.BackoffInitial, cfg.BackoffMultiplier, cfg.BackoffMax = time.Second, 2, 10*time.Second
	m := New(cfg, 1)
	step(t, m, Event{Kind: EvStart}, Connecting)
	var got []time.Duration
	for i := 0; i < 6; i++ {
		out := step(t, m, Event{Kind: EvConnectFailed}, Reconnecting)
		got = append(got, out.After)
		step(t, m, Event{Kind: EvTimeout}, Connecting)
	}
	assert.Equal(t, []time.Duration{1e9, 2e9, 4e9, 8e9, 10e9, 10e9}, got)
	step(t, m, Event{Kind: EvConnected}, CERSent)
	step(t, m, Event{Kind: EvCEAOK}, Open)
	assert.Equal(t, 0, m.Attempts(), "a usable connection resets the backoff")
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	cfg := Config{BackoffInitial: 4 * time.Second, BackoffJitter: 0.25}
	for seed := uint64(1); seed < 200; seed++ {
		m := New(cfg, seed)
		step(t, m, Event{Kind: EvStart}, Connecting)
		out := step(t, m, Event{Kind: EvConnectFailed}, Reconnecting)
		assert.GreaterOrEqual(t, out.After, 3*time.Second)
		assert.LessOrEqual(t, out.After, 5*time.Second)
	}
}

func TestWatchdogJitterAndFloor(t *testing.T) {
	seen := map[time.Duration]bool{}
	for seed := uint64(1); seed < 300; seed++ {
		m := New(Config{Tw: 30 * time.Second}, seed)
		open(t, m)
		out := step(t, m, Event{Kind: EvMessage}, Open)
		assert.GreaterOrEqual(t, out.After, 28*time.Second)
		assert.LessOrEqual(t, out.After, 32*time.Second)
		seen[out.After] = true
	}
	assert.Greater(t, len(seen), 100, "jitter must vary")
	m := New(Config{Tw: 6 * time.Second}, 7)
	open(t, m)
	for i := 0; i < 100; i++ {
		out := step(t, m, Event{Kind: EvMessage}, Open)
		assert.GreaterOrEqual(t, out.After, 6*time.Second, "Tw never below the 6 s floor")
	}
}

func TestSameSeedSameTimers(t *testing.T) {
	a, b := New(Config{}, 42), New(Config{}, 42)
	open(t, a)
	open(t, b)
	for i := 0; i < 10; i++ {
		assert.Equal(t, a.Step(Event{Kind: EvMessage}).After, b.Step(Event{Kind: EvMessage}).After)
	}
}

func TestPeerDPR(t *testing.T) {
	for _, c := range []struct {
		cause framing.DisconnectCause
		want  time.Duration
	}{
		{framing.Rebooting, DefaultBackoffInitial},
		{framing.Busy, DefaultBackoffMax},
		{framing.DoNotWantToTalkToYou, DefaultBackoffMax},
	} {
		m := New(noJitter(), 1)
		open(t, m)
		out := step(t, m, Event{Kind: EvDPR, Cause: c.cause}, Closing)
		assert.Equal(t, ActMarkUnusable|ActSendDPA, out.Do)
		out = step(t, m, Event{Kind: EvTransportLost}, Reconnecting)
		assert.True(t, out.Do.Has(ActFailover))
		assert.Equal(t, c.want, out.After, c.cause.String())
	}
}

func TestStopSendsDPRAndEndsDisconnected(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	out := step(t, m, Event{Kind: EvStop}, Closing)
	assert.Equal(t, ActMarkUnusable|ActSendDPR, out.Do)
	assert.Equal(t, DefaultDPATimeout, out.After)
	out = step(t, m, Event{Kind: EvDPA}, Closing)
	assert.Equal(t, ActClose, out.Do)
	out = step(t, m, Event{Kind: EvTransportLost}, Disconnected)
	assert.True(t, out.Cancel)
	// a late timer or dial result changes nothing
	out = step(t, m, Event{Kind: EvConnected}, Disconnected)
	assert.True(t, out.Ignore)
}

func TestStopWhileDialling(t *testing.T) {
	m := New(noJitter(), 1)
	step(t, m, Event{Kind: EvStart}, Connecting)
	out := step(t, m, Event{Kind: EvStop}, Disconnected)
	assert.Equal(t, ActCancelDial, out.Do)
}

func TestStopWhileFailedEndsDisconnected(t *testing.T) {
	m := New(noJitter(), 1)
	step(t, m, Event{Kind: EvStart}, Connecting)
	step(t, m, Event{Kind: EvConnected}, CERSent)
	step(t, m, Event{Kind: EvCEAFailed}, Failed)
	step(t, m, Event{Kind: EvStop}, Failed)
	step(t, m, Event{Kind: EvTransportLost}, Disconnected)
}

func TestOriginStateIDChange(t *testing.T) {
	m := New(noJitter(), 1)
	step(t, m, Event{Kind: EvStart}, Connecting)
	step(t, m, Event{Kind: EvConnected}, CERSent)
	out := step(t, m, Event{Kind: EvCEAOK, OriginStateID: 5, HasOriginStateID: true}, Open)
	assert.False(t, out.Rebooted)
	out = step(t, m, Event{Kind: EvDWA, OriginStateID: 5, HasOriginStateID: true}, Open)
	assert.False(t, out.Rebooted)
	out = step(t, m, Event{Kind: EvDWR, OriginStateID: 6, HasOriginStateID: true}, Failed)
	assert.True(t, out.Rebooted)
	assert.Equal(t, ActMarkUnusable|ActClose, out.Do)
	id, ok := m.PeerStateID()
	assert.True(t, ok)
	assert.Equal(t, uint32(6), id)
	// a new CEA with yet another id is noted but accepted
	reconnect(t, m)
	out = step(t, m, Event{Kind: EvCEAOK, OriginStateID: 7, HasOriginStateID: true}, Reopen)
	assert.True(t, out.Rebooted)
}

func TestStaleTimeoutIgnored(t *testing.T) {
	m := New(noJitter(), 1)
	open(t, m)
	out := m.Step(Event{Kind: EvTimeout, Gen: m.Gen() + 5})
	assert.True(t, out.Stale)
	assert.Equal(t, Open, m.State())
}

func TestStepDoesNotAllocate(t *testing.T) {
	m := New(Config{}, 1)
	open(t, m)
	allocs := testing.AllocsPerRun(1000, func() { m.Step(Event{Kind: EvMessage}) })
	assert.Zero(t, allocs)
}

func BenchmarkStepMessage(b *testing.B) {
	m := New(Config{}, 1)
	m.Step(Event{Kind: EvStart})
	m.Step(Event{Kind: EvConnected})
	m.Step(Event{Kind: EvCEAOK})
	b.ReportAllocs()
	for b.Loop() {
		m.Step(Event{Kind: EvMessage})
	}
}
