package s13

import (
	"strconv"
)

// Digit-string lengths (3GPP TS 23.003 §6.2, Annex B; §2.2 for the IMSI).
const (
	IMEILen    = 14 // TAC (8) + SNR (6): what the IMEI AVP should carry (TS 29.272 §7.3.4)
	MaxIMEILen = 15 // IMEI with its check digit, or a spare digit
	IMEISVLen  = 16 // TAC (8) + SNR (6) + SVN (2)
	SVNLen     = 2  // Software-Version: the SVN of an IMEISV
	MinIMSILen = 5  // shortest digit string accepted as an IMSI
	MaxIMSILen = 15 // MCC + MNC + MSIN, at most 15 digits
)

// ValidateIMEI checks the content rule of the IMEI AVP (TS 29.272 §7.3.4): decimal digits only,
// 14 of them (TAC + SNR) or 15. A 15th digit is accepted whatever its value: the check digit is not
// transmitted at IMEI-check occasions (TS 22.016 §3) and handsets put a spare 0 there, so a Luhn
// mismatch is not an error. The error is a *FieldError that wraps ErrInvalidRequest. It allocates
// nothing when s is valid.
func ValidateIMEI(s string) error {
	return checkDigits("IMEI", s, IMEILen, MaxIMEILen)
}

// ValidateIMSI checks an IMSI as sent in User-Name (TS 23.003 §2.2): decimal digits only, 5 to 15
// of them. The error is a *FieldError that wraps ErrInvalidRequest. It allocates nothing when s
// is valid.
func ValidateIMSI(s string) error {
	return checkDigits("IMSI", s, MinIMSILen, MaxIMSILen)
}

// ValidateSoftwareVersion checks a Software-Version value: exactly two decimal digits, the SVN of
// an IMEISV (TS 23.003 §6.2.2). The error is a *FieldError that wraps ErrInvalidRequest.
func ValidateSoftwareVersion(s string) error {
	return checkDigits("SoftwareVersion", s, SVNLen, SVNLen)
}

// LuhnCheckDigit returns the check digit (0-9) of a 14-digit IMEI (TS 23.003 Annex B): for
// 35209900176148 it is 1, so the 15-digit form is 352099001761481. The error is a *FieldError
// wrapping ErrInvalidRequest when imei14 is not exactly 14 decimal digits. It allocates nothing
// on valid input.
func LuhnCheckDigit(imei14 string) (int, error) {
	if err := checkDigits("IMEI", imei14, IMEILen, IMEILen); err != nil {
		return 0, err
	}
	return int(luhnDigit(imei14)), nil
}

// SplitIMEISV splits a 16-digit IMEISV as a UE reports it in NAS into the IMEI AVP value (the 14
// digits of TAC and SNR) and the Software-Version AVP value (the 2-digit SVN), TS 29.272 §7.3.4.
// The results are substrings of imeisv: nothing is allocated on valid input. The error is a
// *FieldError wrapping ErrInvalidRequest.
func SplitIMEISV(imeisv string) (imei, sv string, err error) {
	if err := checkDigits("IMEISV", imeisv, IMEISVLen, IMEISVLen); err != nil {
		return "", "", err
	}
	return imeisv[:IMEILen], imeisv[IMEILen:], nil
}

// luhnDigit computes the Luhn check digit over the ASCII digits in d, which are assumed to be
// '0'..'9'. Counting from the right, the 1st, 3rd, ... digit is doubled (for a 14-digit IMEI:
// the 2nd, 4th, ... 14th digit from the left, as TS 23.003 Annex B puts it).
func luhnDigit[T string | []byte](d T) byte {
	sum := 0
	double := true
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return byte((10 - sum%10) % 10)
}

// firstNonDigit returns the index of the first byte of s that is not '0'..'9', or -1.
func firstNonDigit[T string | []byte](s T) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}

// digitsInRange reports whether s is min..max decimal digits. It is the allocation-free test
// behind checkDigits, also used on the []byte fields of a received ECR.
func digitsInRange[T string | []byte](s T, min, max int) bool {
	return len(s) >= min && len(s) <= max && firstNonDigit(s) < 0
}

// checkDigits reports why s is not min..max decimal digits, naming field; nil when it is.
func checkDigits(field, s string, min, max int) error {
	if digitsInRange(s, min, max) {
		return nil
	}
	// Slow path: only reached on bad input, so building the message may allocate.
	if s == "" {
		return &FieldError{Field: field, Reason: "empty"}
	}
	if i := firstNonDigit(s); i >= 0 {
		return &FieldError{Field: field, Reason: "non-digit " + quoteByte(s, i) + " at index " + itoa(i)}
	}
	return &FieldError{Field: field, Reason: lengthReason(len(s), min, max, "digits")}
}

// lengthReason words a length problem: "13 digits, want 14 or 15".
func lengthReason(n, min, max int, unit string) string {
	want := itoa(min)
	switch {
	case max == min+1:
		want += " or " + itoa(max)
	case max > min:
		want += " to " + itoa(max)
	}
	return itoa(n) + " " + unit + ", want " + want
}

func itoa(i int) string { return strconv.Itoa(i) }

// quoteByte quotes s[i] for an error message, escaping anything that is not printable ASCII.
func quoteByte(s string, i int) string { return strconv.QuoteToASCII(s[i : i+1]) }
