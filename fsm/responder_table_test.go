package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponderEveryRowApplies(t *testing.T) {
	for i, r := range ResponderRows() {
		t.Run(r.From.String()+"/"+r.On.String(), func(t *testing.T) {
			m := NewResponder(Config{}, 1)
			m.state = r.From
			out := m.Step(Event{Kind: r.On, Gen: m.gen})
			require.Equal(t, i, out.Row, "row %d (%s) did not apply; got row %d", i, r.Cite, out.Row)
			assert.Equal(t, r.From, out.From)
			assert.Equal(t, r.To, out.To)
			assert.Equal(t, r.To, m.State())
			assert.Equal(t, r.Do, out.Do)
			assert.False(t, out.Ignore)
			switch r.Timer {
			case TimerKeep:
				assert.False(t, out.Arm || out.Cancel, "TimerKeep must not touch the deadline")
			case TimerCancel:
				assert.True(t, out.Cancel)
			default:
				assert.True(t, out.Arm)
				assert.Positive(t, out.After)
			}
			assert.NotEmpty(t, r.Cite)
		})
	}
}

// Every (state, event) pair is either handled by a row or deliberately ignored, never both.
func TestResponderEveryPairIsExplicit(t *testing.T) {
	for _, s := range RStates() {
		for _, e := range EventKinds() {
			rows := rindex[s][e]
			_, ign := IsIgnoredByResponder(s, e)
			if len(rows) == 0 && !ign {
				t.Errorf("(%s, %s) has no row and is not in the ignored list", s, e)
			}
			if len(rows) > 0 && ign {
				t.Errorf("(%s, %s) has rows and is also ignored", s, e)
			}
		}
	}
}

// The responder's rows use only what its machine has: the guards, effects and timers of the
// shared core, none of the initiator's (NumDWA, the backoff, the dial).
func TestResponderRowsUseSharedParts(t *testing.T) {
	const shared = SetPending | ClearPending | SetStopping | SetEverOpen
	const acts = ActProcess | ActSendDWA | ActSendDPA | ActSendCEA | ActSendDWR | ActSendDPR | ActClose
	for i, r := range responderTable {
		assert.Zero(t, r.Effects&^shared, "row %d: effect outside the shared core", i)
		assert.Zero(t, r.Do&^acts, "row %d: an initiator's action", i)
		assert.NotEqual(t, TimerBackoff, r.Timer, "row %d: a responder does not reconnect", i)
		assert.NotContains(t, []Timer{TimerConnect, TimerCEA}, r.Timer, "row %d", i)
		assert.Contains(t, []Guard{Always, IfPending, IfNotPending, IfStopping, IfNotStopping}, r.If,
			"row %d: a guard on the initiator's data", i)
	}
}

func TestResponderGuardsAreExclusive(t *testing.T) {
	for s := range numRStates {
		for e := range numEvents {
			rows := rindex[s][e]
			for k, i := range rows {
				if responderTable[i].If == Always && k != len(rows)-1 {
					t.Errorf("(%s, %s): row %d is Always but not last", RState(s), EventKind(e), i)
				}
			}
		}
	}
}

func TestResponderIgnoredPairsChangeNothing(t *testing.T) {
	for _, s := range RStates() {
		for _, e := range EventKinds() {
			if _, ign := IsIgnoredByResponder(s, e); !ign {
				continue
			}
			m := NewResponder(Config{}, 1)
			m.state = s
			gen := m.gen
			out := m.Step(Event{Kind: e, Gen: gen})
			assert.True(t, out.Ignore, "(%s, %s)", s, e)
			assert.Equal(t, Action(0), out.Do)
			assert.False(t, out.Arm || out.Cancel)
			assert.Equal(t, s, m.State())
			assert.Equal(t, gen, m.gen)
		}
	}
}

// The initiator ignores the responder's events everywhere, as the responder ignores its.
func TestInitiatorIgnoresResponderEvents(t *testing.T) {
	for _, s := range States() {
		for _, e := range []EventKind{EvCEROK, EvCERRejected} {
			m := New(Config{}, 1)
			m.state = s
			out := m.Step(Event{Kind: e})
			assert.True(t, out.Ignore, "(%s, %s)", s, e)
			assert.Equal(t, s, m.State())
		}
	}
}

func TestResponderOkay(t *testing.T) {
	for _, s := range RStates() {
		assert.Equal(t, s == ROpen || s == RDWRSent, s.Okay(), s.String())
	}
	assert.Equal(t, "WaitCER", RWaitCER.String())
	assert.Equal(t, "RState(200)", RState(200).String())
	assert.Equal(t, "SendCEA+Close", (ActSendCEA | ActClose).String())
}

func TestResponderStepDoesNotAllocate(t *testing.T) {
	m := NewResponder(Config{}, 1)
	m.Step(Event{Kind: EvStart})
	m.Step(Event{Kind: EvCEROK})
	allocs := testing.AllocsPerRun(1000, func() { m.Step(Event{Kind: EvMessage}) })
	assert.Zero(t, allocs)
}

func BenchmarkResponderStepMessage(b *testing.B) {
	m := NewResponder(Config{}, 1)
	m.Step(Event{Kind: EvStart})
	m.Step(Event{Kind: EvCEROK})
	b.ReportAllocs()
	for b.Loop() {
		m.Step(Event{Kind: EvMessage})
	}
}
