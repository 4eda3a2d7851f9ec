package eir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/internal/payload"
	"github.com/hsdfat8/diam-gw/s13"
)

func TestLoadPolicyFreeDiameterRules(t *testing.T) {
	p, err := LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	require.Len(t, p.Rules(), 8)

	cases := []struct {
		imei     string
		outcome  Outcome
		code     uint32
		delay    time.Duration
		hasDelay bool
		line     int
	}{
		{"99000001123456", OutcomeBlacklisted, 0, 0, false, 7},
		{"99000002123456", OutcomeGreylisted, 0, 0, false, 8},
		{"99000003123456", OutcomeUnknown, 0, 0, false, 9},
		{"99000004123456", OutcomeResult, 5012, 0, false, 10},
		{"990000051234567", OutcomeResult, 3004, 0, false, 11},
		{"99000006123456", OutcomeDrop, 0, 0, false, 12},
		{"99000007123456", OutcomeWhitelisted, 0, 2 * time.Second, true, 13},
		{"35209900176148", OutcomeWhitelisted, 0, 0, false, 14}, // the "*" line
		{"99000008123456", OutcomeWhitelisted, 0, 0, false, 14},
		{"9900000", OutcomeWhitelisted, 0, 0, false, 14}, // shorter than every prefix
	}
	for _, c := range cases {
		t.Run(c.imei, func(t *testing.T) {
			r := p.Lookup([]byte(c.imei))
			assert.Equal(t, c.outcome, r.Outcome)
			assert.Equal(t, c.code, r.Code)
			assert.Equal(t, c.delay, r.Delay)
			assert.Equal(t, c.hasDelay, r.HasDelay)
			assert.Equal(t, c.line, r.Line)
		})
	}
	def := p.Default()
	assert.Equal(t, "", def.Prefix, "the * rule is the default")
	assert.Equal(t, 14, def.Line)
}

func TestPolicyVerdicts(t *testing.T) {
	cases := []struct {
		rule Rule
		want s13.Verdict
	}{
		{Rule{Outcome: OutcomeWhitelisted}, s13.Verdict{EquipmentStatus: s13.Whitelisted}},
		{Rule{Outcome: OutcomeBlacklisted}, s13.Verdict{EquipmentStatus: s13.Blacklisted}},
		{Rule{Outcome: OutcomeGreylisted}, s13.Verdict{EquipmentStatus: s13.Greylisted}},
		{Rule{Outcome: OutcomeUnknown}, s13.Verdict{Experimental: s13.EquipmentUnknown}},
		{Rule{Outcome: OutcomeResult, Code: 3004}, s13.Verdict{ResultCode: 3004}},
		{Rule{Outcome: OutcomeExperimental, Code: 5421}, s13.Verdict{Experimental: 5421}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.rule.Verdict(), c.rule.String())
	}
}

func TestPolicyFirstMatchWins(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("99000001 BLACKLISTED\n99 DROP\n990000011 GREYLISTED\n99000001 UNKNOWN\n"))
	require.NoError(t, err)
	assert.Equal(t, OutcomeBlacklisted, p.Lookup([]byte("99000001999999")).Outcome, "earlier, shorter prefix beats a later, longer one")
	assert.Equal(t, OutcomeDrop, p.Lookup([]byte("99000002999999")).Outcome)
	assert.Equal(t, OutcomeWhitelisted, p.Lookup([]byte("35209900176148")).Outcome, "no * rule: WHITELISTED")
	assert.Equal(t, 0, p.Lookup([]byte("35209900176148")).Line)

	p, err = ParsePolicy(strings.NewReader("99 DROP\n99000001 BLACKLISTED\n"))
	require.NoError(t, err)
	assert.Equal(t, OutcomeDrop, p.Lookup([]byte("99000001999999")).Outcome, "a later, longer prefix does not override")
}

func TestPolicyStarRuleIsDefaultAndShadows(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("1234 GREYLISTED\n* BLACKLISTED 15\n5678 DROP\n"))
	require.NoError(t, err)
	assert.Equal(t, OutcomeGreylisted, p.Lookup([]byte("12345678901234")).Outcome)
	r := p.Lookup([]byte("56789012345678"))
	assert.Equal(t, OutcomeBlacklisted, r.Outcome, "rules after * never match")
	assert.Equal(t, 15*time.Millisecond, r.Delay)
	assert.Equal(t, OutcomeBlacklisted, p.Default().Outcome)
	assert.Len(t, p.Rules(), 3, "shadowed rules are still listed")
}

func TestPolicySyntaxVariants(t *testing.T) {
	src := "\ufeff# comment\r\n   # indented comment\r\n\r\n\t99000001\tblacklisted  0 # trailing comment\r\n" +
		"99000002 Result=3002\n99000003 experimental=5423 7\n*\tunknown\n"
	p, err := ParsePolicy(strings.NewReader(src))
	require.NoError(t, err)
	r := p.Lookup([]byte("99000001000000"))
	assert.Equal(t, OutcomeBlacklisted, r.Outcome)
	assert.True(t, r.HasDelay, "an explicit 0 overrides the default delay")
	assert.Zero(t, r.Delay)
	assert.Equal(t, 4, r.Line)
	assert.Equal(t, Rule{Prefix: "99000002", Outcome: OutcomeResult, Code: 3002, Line: 5}, p.Lookup([]byte("99000002000000")))
	assert.Equal(t, Rule{Prefix: "99000003", Outcome: OutcomeExperimental, Code: 5423, Delay: 7 * time.Millisecond, HasDelay: true, Line: 6},
		p.Lookup([]byte("99000003000000")))
	assert.Equal(t, OutcomeUnknown, p.Lookup([]byte("11111111111111")).Outcome)
	assert.Equal(t, OutcomeUnknown, p.Lookup(nil).Outcome, "an empty IMEI gets the default")
	assert.Equal(t, OutcomeUnknown, p.Lookup([]byte("99x")).Outcome, "a non-digit stops the walk")
}

func TestPolicyRuleStringRoundTrip(t *testing.T) {
	p, err := LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	var b strings.Builder
	for _, r := range p.Rules() {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	q, err := ParsePolicy(strings.NewReader(b.String()))
	require.NoError(t, err)
	pr, qr := p.Rules(), q.Rules()
	require.Len(t, qr, len(pr))
	for i := range pr {
		pr[i].Line, qr[i].Line = 0, 0
		assert.Equal(t, pr[i], qr[i])
	}
}

func TestParsePolicyErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		reason    string
	}{
		{"unknown outcome", "# rules\n99000001 BLACKLISTED\n99000002 PURPLE\n", 3, "unknown outcome"},
		{"missing outcome", "\n\n99000001\n", 3, "got only"},
		{"too many fields", "99000001 BLACKLISTED 10 extra\n", 1, `unexpected "extra"`},
		{"delay not a number", "* WHITELISTED 2s\n", 1, "not a number of milliseconds"},
		{"negative delay", "* WHITELISTED -5\n", 1, "not a number of milliseconds"},
		{"delay too large", "* WHITELISTED 3600001\n", 1, "out of range"},
		{"result without code", "1 RESULT\n", 1, "needs a code"},
		{"result bad code", "1 RESULT=abc\n", 1, "not a positive 32-bit number"},
		{"result zero", "1 RESULT=0\n", 1, "not a positive 32-bit number"},
		{"experimental huge", "1 EXPERIMENTAL=4294967296\n", 1, "not a positive 32-bit number"},
		{"code on a status", "1 BLACKLISTED=1\n", 1, "takes no code"},
		{"prefix not digits", "# x\n3520990A DROP\n", 2, "not decimal digits"},
		{"prefix too long", "3520990017614812 DROP\n", 1, "longer than an IMEI"},
		{"line too long", "1 DROP\n" + strings.Repeat("9", 70000) + " DROP\n", 2, "line too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePolicy(strings.NewReader(c.src))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrPolicy)
			var pe *PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, c.line, pe.Line)
			assert.Contains(t, pe.Reason, c.reason)
			assert.Contains(t, err.Error(), "line ")
		})
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadPolicy(filepath.Join(dir, "missing.conf"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.NotErrorIs(t, err, ErrPolicy)

	bad := filepath.Join(dir, "bad.conf")
	require.NoError(t, os.WriteFile(bad, []byte("* WHITELISTED\n99 MAYBE\n"), 0o600))
	_, err = LoadPolicy(bad)
	var pe *PolicyError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, bad, pe.File)
	assert.Equal(t, 2, pe.Line)
	assert.Contains(t, err.Error(), bad+":2:")
}

func TestNewPolicy(t *testing.T) {
	p, err := NewPolicy(Rule{Prefix: "35", Outcome: OutcomeGreylisted}, Rule{Outcome: OutcomeDrop})
	require.NoError(t, err)
	assert.Equal(t, OutcomeGreylisted, p.Lookup([]byte("35209900176148")).Outcome)
	assert.Equal(t, OutcomeDrop, p.Lookup([]byte("45209900176148")).Outcome)

	for i, bad := range []Rule{
		{Prefix: "3x"},
		{Outcome: numOutcomes},
		{Outcome: OutcomeResult},
		{Outcome: OutcomeExperimental},
		{Delay: -time.Millisecond},
		{Delay: MaxRuleDelay + 1},
	} {
		_, err := NewPolicy(Rule{Prefix: "1"}, bad)
		var pe *PolicyError
		require.ErrorAs(t, err, &pe, "rule %d", i)
		assert.Equal(t, 2, pe.Line, "the position of the bad rule")
	}

	assert.Equal(t, OutcomeWhitelisted, DefaultPolicy().Lookup([]byte("35209900176148")).Outcome)
}

func TestPolicyManyRules(t *testing.T) {
	// A blacklist of full IMEIs: the trie keeps lookups per digit, not per rule.
	var b strings.Builder
	gen, err := payload.NewIMEIGenSeed("35209900xxxxxx", 3)
	require.NoError(t, err)
	var imeis []string
	for i := 0; i < 5000; i++ {
		imei := string(gen.AppendNext(nil))
		imeis = append(imeis, imei)
		b.WriteString(imei + " BLACKLISTED\n")
	}
	p, err := ParsePolicy(strings.NewReader(b.String()))
	require.NoError(t, err)
	for _, imei := range imeis[:100] {
		assert.Equal(t, OutcomeBlacklisted, p.Lookup([]byte(imei)).Outcome)
	}
	assert.Equal(t, OutcomeWhitelisted, p.Lookup([]byte("45209900176148")).Outcome)
}

func TestPolicyLookupAllocatesNothing(t *testing.T) {
	p, err := LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	imeis := [][]byte{[]byte("99000001123456"), []byte("35209900176148"), []byte("99000007123456")}
	var sink Rule
	allocs := testing.AllocsPerRun(1000, func() {
		for _, imei := range imeis {
			sink = p.Lookup(imei)
		}
	})
	assert.Zero(t, allocs)
	_ = sink
}

func TestPolicyErrorIsTyped(t *testing.T) {
	err := error(&PolicyError{Line: 3, Reason: "x"})
	assert.True(t, errors.Is(err, ErrPolicy))
	assert.Equal(t, "s13: EIR rules line 3: x", err.Error())
	assert.Equal(t, "Outcome(200)", Outcome(200).String())
}

func BenchmarkPolicyLookup(b *testing.B) {
	p, err := LoadPolicy(fixtures.EIRRules(b))
	require.NoError(b, err)
	imei := []byte("99000007123456")
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Lookup(imei)
	}
}
