package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
)

func TestIMEISpec(t *testing.T) {
	ok := map[string]string{
		"35209900176148":  "35209900176148",
		"352099001761481": "352099001761481",
		"35209900xxxxxx":  "35209900xxxxxx",
		"35209900xxxxxxx": "35209900xxxxxxx",
		"35209900*":       "35209900xxxxxx",
		"*":               "xxxxxxxxxxxxxx",
		"3520990017614*":  "3520990017614x",
	}
	for in, want := range ok {
		got, err := parseIMEISpec(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "3520990017614", "35209900", "3520990017614812", "35209900x7614y",
		"35209900 76148", "35209900176148*", "abc*"} {
		_, err := parseIMEISpec(in)
		require.ErrorIs(t, err, errUsage, in)
		assert.Contains(t, err.Error(), "--imei", in)
	}
}

func TestIMSISpec(t *testing.T) {
	for in, want := range map[string]string{"none": imsiNone, "": imsiNone, "001010123456789": "001010123456789",
		"00101": "00101", "001010xxxxxxxxx": "001010xxxxxxxxx", "00101*": "00101xxxxxxxxxx"} {
		got, err := parseIMSISpec(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"0010", "0010101234567890", "12ab", "None!", "0010101234567890*"} {
		_, err := parseIMSISpec(in)
		require.ErrorIs(t, err, errUsage, in)
		assert.Contains(t, err.Error(), "--imsi", in)
	}
}

func TestPayloadPools(t *testing.T) {
	p, err := newPayload([]mixEntry{{"35209900xxxxxxx", 1}}, "00101xxxxxxxxxx", 1000, 7)
	require.NoError(t, err)
	require.Len(t, p.imeis, 1000)
	require.Len(t, p.imsis, 1000)
	for i, imei := range p.imeis {
		require.NoError(t, s13.ValidateIMEI(imei))
		require.True(t, strings.HasPrefix(imei, "35209900"))
		d, err := s13.LuhnCheckDigit(imei[:14])
		require.NoError(t, err)
		require.Equal(t, byte('0'+d), imei[14], "15th digit is the Luhn check digit of %s", imei)
		require.NoError(t, s13.ValidateIMSI(p.imsis[i]))
		require.True(t, strings.HasPrefix(p.imsis[i], "00101"))
	}

	// Same seed, same payloads; another seed, others.
	q, err := newPayload([]mixEntry{{"35209900xxxxxxx", 1}}, "00101xxxxxxxxxx", 1000, 7)
	require.NoError(t, err)
	assert.Equal(t, p.imeis, q.imeis)
	assert.Equal(t, p.imsis, q.imsis)
	q, err = newPayload([]mixEntry{{"35209900xxxxxxx", 1}}, "00101xxxxxxxxxx", 1000, 8)
	require.NoError(t, err)
	assert.NotEqual(t, p.imeis, q.imeis)

	// fill cycles through the pool without allocating.
	var req s13.Request
	allocs := testing.AllocsPerRun(1000, func() { p.fill(&req, 12345) })
	assert.Zero(t, allocs)
	assert.Equal(t, p.imeis[345], req.IMEI)

	none, err := newPayload([]mixEntry{{"35209900176148", 1}}, imsiNone, 10, 1)
	require.NoError(t, err)
	assert.Nil(t, none.imsis)
	req = s13.Request{}
	none.fill(&req, 3)
	assert.Equal(t, "35209900176148", req.IMEI)
	assert.Empty(t, req.IMSI)
	assert.Len(t, none.imeis, 10)

	big, err := newPayload([]mixEntry{{"35209900xxxxxx", 1}}, imsiNone, 1<<30, 1)
	require.NoError(t, err)
	assert.Len(t, big.imeis, maxPool, "pools are bounded")
}

// The selftest mix hits every rule, and the oracle agrees with the policy's own answers.
func TestSelftestMixAndOracle(t *testing.T) {
	pol, err := eir.ParsePolicy(strings.NewReader(selftestRules))
	require.NoError(t, err)
	p, err := newPayload(selftestMix, imsiNone, maxPool, 1)
	require.NoError(t, err)
	p.setOracle(pol)
	kinds := map[string]int{}
	for i := range p.imeis {
		kinds[p.expect[i].String()]++
	}
	for _, want := range []string{"2001 WHITELISTED", "2001 BLACKLISTED", "2001 GREYLISTED",
		"DIAMETER_ERROR_EQUIPMENT_UNKNOWN", "DIAMETER_UNABLE_TO_COMPLY", "DIAMETER_TOO_BUSY"} {
		assert.Positive(t, kinds[want], want)
	}
	assert.Greater(t, kinds["2001 WHITELISTED"], maxPool*8/10, "most IMEIs are whitelisted")

	white := outcome{kind: outStatus, status: s13.Whitelisted}
	assert.True(t, white.matches(&s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}, nil))
	assert.False(t, white.matches(&s13.Answer{ResultCode: 2001, HasEquipmentStatus: true, EquipmentStatus: s13.Blacklisted}, nil))
	assert.False(t, white.matches(&s13.Answer{ResultCode: 2001}, nil), "Equipment-Status is required")
	unknown := expectedOutcome(pol, "99000003123456")
	assert.True(t, unknown.matches(&s13.Answer{HasExperimentalResult: true, ExperimentalResult: s13.ExperimentalResult{VendorID: 10415, Code: 5422}}, nil))
	assert.False(t, unknown.matches(&s13.Answer{ResultCode: 5422}, nil), "a Result-Code 5422 is not the Experimental-Result")
	busy := expectedOutcome(pol, "99000005123456")
	assert.True(t, busy.matches(&s13.Answer{ResultCode: 3004, Flags: 0x20}, nil))

	drop, err := eir.ParsePolicy(strings.NewReader("99 DROP\n"))
	require.NoError(t, err)
	d := expectedOutcome(drop, "99000006123456")
	assert.Equal(t, outDrop, d.kind)
	assert.False(t, d.matches(&s13.Answer{ResultCode: 2001}, nil))
}
