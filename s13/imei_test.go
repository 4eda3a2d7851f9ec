package s13

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLuhnCheckDigit(t *testing.T) {
	for imei, want := range map[string]int{
		"35209900176148": 1, // PROTOCOL.md §6.6 / TS 23.003 Annex B
		"49015420323751": 8,
		"99999999999999": 4,
		"00000000000000": 0,
	} {
		got, err := LuhnCheckDigit(imei)
		require.NoError(t, err, imei)
		assert.Equal(t, want, got, imei)
	}
	for _, bad := range []string{"", "3520990017614", "352099001761481", "3520990017614x"} {
		_, err := LuhnCheckDigit(bad)
		assert.ErrorIs(t, err, ErrInvalidRequest, "%q", bad)
	}
}

func TestValidateIMEI(t *testing.T) {
	for _, ok := range []string{
		"35209900176148",
		"352099001761481", // correct check digit
		"352099001761480", // spare digit 0: not Luhn-valid, still accepted (TS 22.016 §3)
		"352099001761489",
	} {
		assert.NoError(t, ValidateIMEI(ok), ok)
	}
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"3520990017614", "13 digits, want 14 or 15"},
		{"3520990017614812", "16 digits, want 14 or 15"},
		{"3520990017614a", `non-digit "a" at index 13`},
		{"35209900 76148", `non-digit " " at index 8`},
		{"３5209900176148", `non-digit "\xef" at index 0`},
	}
	for _, tt := range tests {
		err := ValidateIMEI(tt.in)
		require.Error(t, err, tt.in)
		assert.ErrorIs(t, err, ErrInvalidRequest)
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "IMEI", fe.Field)
		assert.Equal(t, tt.reason, fe.Reason, "%q", tt.in)
		assert.Contains(t, err.Error(), "IMEI")
	}
}

func TestValidateIMSI(t *testing.T) {
	for _, ok := range []string{"00101", "001010123456789", "3102600000000"} {
		assert.NoError(t, ValidateIMSI(ok), ok)
	}
	for _, bad := range []string{"", "0010", "0010101234567890", "00101012345678x"} {
		err := ValidateIMSI(bad)
		assert.ErrorIs(t, err, ErrInvalidRequest, "%q", bad)
		var fe *FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "IMSI", fe.Field)
	}
	var fe *FieldError
	require.ErrorAs(t, ValidateIMSI("0010"), &fe)
	assert.Equal(t, "4 digits, want 5 to 15", fe.Reason)
}

func TestSplitIMEISV(t *testing.T) {
	imei, sv, err := SplitIMEISV("3520990017614823")
	require.NoError(t, err)
	assert.Equal(t, "35209900176148", imei)
	assert.Equal(t, "23", sv)
	require.NoError(t, ValidateIMEI(imei))
	require.NoError(t, ValidateSoftwareVersion(sv))

	for _, bad := range []string{"", "352099001761482", "35209900176148234", "352099001761482X"} {
		imei, sv, err := SplitIMEISV(bad)
		assert.ErrorIs(t, err, ErrInvalidRequest, "%q", bad)
		assert.Empty(t, imei)
		assert.Empty(t, sv)
	}
}

func TestIMEIHelpersAllocs(t *testing.T) {
	var sink error
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		sink = ValidateIMEI("352099001761481")
		_, sink = LuhnCheckDigit("35209900176148")
		_, _, sink = SplitIMEISV("3520990017614823")
		sink = ValidateIMSI(testIMSI)
	}))
	_ = sink
}
