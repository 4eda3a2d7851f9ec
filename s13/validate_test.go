package s13

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestValidate(t *testing.T) {
	good := vectorRequest
	require.NoError(t, good.Validate())

	minimal := Request{IMEI: testIMEI, DestinationRealm: realm}
	require.NoError(t, minimal.Validate(), "SV, IMSI, host and Session-Id are optional")

	tests := []struct {
		name  string
		edit  func(r *Request)
		field string
	}{
		{"empty IMEI", func(r *Request) { r.IMEI = "" }, "IMEI"},
		{"16-digit IMEI", func(r *Request) { r.IMEI = "3520990017614823" }, "IMEI"},
		{"IMEI with a dash", func(r *Request) { r.IMEI = "35-209900-176148" }, "IMEI"},
		{"SV of 1 digit", func(r *Request) { r.SoftwareVersion = "2" }, "SoftwareVersion"},
		{"SV of 3 digits", func(r *Request) { r.SoftwareVersion = "233" }, "SoftwareVersion"},
		{"SV not digits", func(r *Request) { r.SoftwareVersion = "ab" }, "SoftwareVersion"},
		{"IMSI too short", func(r *Request) { r.IMSI = "0010" }, "IMSI"},
		{"IMSI too long", func(r *Request) { r.IMSI = "0010101234567890" }, "IMSI"},
		{"IMSI not digits", func(r *Request) { r.IMSI = "00101x" }, "IMSI"},
		{"no DestinationRealm", func(r *Request) { r.DestinationRealm = "" }, "DestinationRealm"},
		{"DestinationRealm with NUL", func(r *Request) { r.DestinationRealm = "epc\x00org" }, "DestinationRealm"},
		{"DestinationHost with newline", func(r *Request) { r.DestinationHost = "eir\n" }, "DestinationHost"},
		{"SessionID with DEL", func(r *Request) { r.SessionID = "a;1;2\x7f" }, "SessionID"},
		{"SessionID not UTF-8", func(r *Request) { r.SessionID = "a;1;\xff" }, "SessionID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vectorRequest
			tt.edit(&r)
			err := r.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidRequest)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestRequestValidateControlCharacterReason(t *testing.T) {
	r := vectorRequest
	r.DestinationHost = "eir\tone"
	var fe *FieldError
	require.ErrorAs(t, r.Validate(), &fe)
	assert.Equal(t, `control character "\t" at index 3`, fe.Reason)
}

func TestRequestValidateAllocs(t *testing.T) {
	r := vectorRequest
	r.DestinationHost = eirHost
	var err error
	assert.Zero(t, testing.AllocsPerRun(100, func() { err = r.Validate() }))
	assert.NoError(t, err)
}

// The word-at-a-time checks agree with a plain byte loop on every length up to 24 and on every
// byte value in every position (each byte of a digit or text string replaced in turn).
func TestWordChecksMatchByteLoop(t *testing.T) {
	naiveDigits := func(s string, min, max int) bool {
		if len(s) < min || len(s) > max {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	naiveControl := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return true
			}
		}
		return false
	}
	for n := 0; n <= 24; n++ {
		digits := []byte("123456789012345678901234"[:n])
		text := []byte("eir.example-realm.net.xy"[:n])
		for pos := range n {
			for v := range 256 {
				d := append([]byte(nil), digits...)
				d[pos] = byte(v)
				require.Equal(t, naiveDigits(string(d), 0, 24), isDigits(string(d), 0, 24), "digits %q", d)
				x := append([]byte(nil), text...)
				x[pos] = byte(v)
				require.Equal(t, naiveControl(string(x)), hasControl(string(x)), "text %q", x)
			}
		}
		require.Equal(t, naiveDigits(string(digits), 0, 24), isDigits(string(digits), 0, 24))
		require.False(t, hasControl(string(text)))
	}
}
