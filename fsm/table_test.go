package fsm

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// machineFor builds a machine in r.From whose data satisfies r.If.
func machineFor(r Row) *Machine {
	m := New(Config{}, 1)
	m.state = r.From
	switch r.If {
	case IfPending:
		m.pending = true
	case IfReconnected:
		m.everOpen = true
	case IfDWACounting:
		m.pending, m.numDWA = true, 1
	case IfDWALast:
		m.pending, m.numDWA = true, 2
	case IfPendingAlive:
		m.pending, m.numDWA = true, 0
	case IfPendingDead:
		m.pending, m.numDWA = true, -1
	case IfStopping:
		m.stopping = true
	}
	return m
}

func TestEveryRowApplies(t *testing.T) {
	for i, r := range Rows() {
		t.Run(r.From.String()+"/"+r.On.String(), func(t *testing.T) {
			m := machineFor(r)
			ev := Event{Kind: r.On, Gen: m.gen}
			out := m.Step(ev)
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
func TestEveryPairIsExplicit(t *testing.T) {
	for _, s := range States() {
		for _, e := range EventKinds() {
			rows := index[s][e]
			_, ign := IsIgnored(s, e)
			if len(rows) == 0 && !ign {
				t.Errorf("(%s, %s) has no row and is not in the ignored list", s, e)
			}
			if len(rows) > 0 && ign {
				t.Errorf("(%s, %s) has rows and is also ignored", s, e)
			}
		}
	}
}

// Rows sharing a pair must have guards that can tell them apart, and the last one must not be
// shadowed by an Always before it.
func TestGuardsAreExclusive(t *testing.T) {
	for s := range numStates {
		for e := range numEvents {
			rows := index[s][e]
			for k, i := range rows {
				if table[i].If == Always && k != len(rows)-1 {
					t.Errorf("(%s, %s): row %d is Always but not last", State(s), EventKind(e), i)
				}
			}
		}
	}
}

func TestIgnoredPairsChangeNothing(t *testing.T) {
	for _, ig := range ignored {
		for _, e := range ig.Events {
			m := New(Config{}, 1)
			m.state = ig.State
			gen := m.gen
			out := m.Step(Event{Kind: e, Gen: gen})
			assert.True(t, out.Ignore, "(%s, %s)", ig.State, e)
			assert.Equal(t, Action(0), out.Do)
			assert.Equal(t, ig.State, m.State())
			assert.Equal(t, gen, m.gen)
		}
	}
}

func TestUsable(t *testing.T) {
	for _, s := range States() {
		assert.Equal(t, s == Open || s == DWRSent, s.Usable(), s.String())
	}
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "CERSent", CERSent.String())
	assert.Equal(t, "State(200)", State(200).String())
	assert.Equal(t, "PeerRebooted", EvPeerRebooted.String())
	assert.Equal(t, "MarkUnusable+Failover", (ActMarkUnusable | ActFailover).String())
	assert.Equal(t, "-", Action(0).String())
}
