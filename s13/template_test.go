package s13

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The template's output is byte for byte AppendECR's, for matching and non-matching inputs.
func TestTemplateMatchesAppendECR(t *testing.T) {
	tmpl := NewECRTemplate("gw-1.test.local", "test.local", "eir.realm", "", 1700000000)
	tmplHost := NewECRTemplate("gw-1.test.local", "test.local", "eir.realm", "eir1.eir.realm", 1700000000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		env := Envelope{HopByHop: rng.Uint32(), EndToEnd: rng.Uint32(), Retransmit: i%3 == 0,
			OriginHost: "gw-1.test.local", OriginRealm: "test.local", SessionHi: 1700000000, SessionLo: rng.Uint32()}
		r := Request{IMEI: "3520990017614" + strconv.Itoa(i%10), DestinationRealm: "eir.realm"}
		if i%2 == 0 {
			r.SoftwareVersion, r.IMSI = "23", "001010123456789"
		}
		switch i % 7 {
		case 1:
			r.SessionID = "mine;1;" + strconv.Itoa(i)
		case 2:
			r.DestinationRealm = "other.realm" // no match: falls back
		case 3:
			env.SessionHi = 5 // no match: falls back
		case 4:
			env.OriginHost = "gw-2.test.local" // no match: falls back
		case 5:
			r.DestinationHost = "eir1.eir.realm"
		}
		want := AppendECR(nil, &env, &r)
		require.Equal(t, want, tmpl.Append(nil, &env, &r), "case %d", i)
		require.Equal(t, want, tmplHost.Append(nil, &env, &r), "case %d", i)
	}
	env := Envelope{OriginHost: "gw-1.test.local", OriginRealm: "test.local", SessionHi: 1700000000}
	assert.True(t, tmpl.Matches(&env, &Request{DestinationRealm: "eir.realm"}))
	assert.False(t, tmpl.Matches(&env, &Request{DestinationRealm: "eir.realm", DestinationHost: "x"}))
}

func TestTemplateNoAllocations(t *testing.T) {
	tmpl := NewECRTemplate("gw-1.test.local", "test.local", "eir.realm", "", 1)
	env := Envelope{OriginHost: "gw-1.test.local", OriginRealm: "test.local", SessionHi: 1}
	r := Request{IMEI: "35209900176148", SoftwareVersion: "23", IMSI: "001010123456789", DestinationRealm: "eir.realm"}
	buf := make([]byte, 0, 1024)
	assert.Zero(t, testing.AllocsPerRun(1000, func() { buf = tmpl.Append(buf[:0], &env, &r) }))
}

func BenchmarkAppendECRTemplate(b *testing.B) {
	tmpl := NewECRTemplate("mme1.epc.mnc001.mcc001.3gppnetwork.org", "epc.mnc001.mcc001.3gppnetwork.org",
		"epc.mnc001.mcc001.3gppnetwork.org", "", 1700000000)
	env := Envelope{HopByHop: 1, EndToEnd: 2, OriginHost: "mme1.epc.mnc001.mcc001.3gppnetwork.org",
		OriginRealm: "epc.mnc001.mcc001.3gppnetwork.org", SessionHi: 1700000000}
	r := Request{IMEI: "35209900176148", SoftwareVersion: "23", IMSI: "001010123456789",
		DestinationRealm: "epc.mnc001.mcc001.3gppnetwork.org"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		env.SessionLo++
		buf = tmpl.Append(buf[:0], &env, &r)
	}
}
