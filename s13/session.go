package s13

import (
	"math/bits"
	"slices"

	"github.com/hsdfat8/diam-gw/framing"
)

// AppendSessionIDAVP appends a Session-Id AVP holding <originHost>;<hi>;<lo> (RFC 6733 §8.8),
// formatting the numbers in place.
func AppendSessionIDAVP(dst []byte, originHost string, hi, lo uint32) []byte {
	dst, m := framing.BeginAVP(dst, framing.AVPSessionID, framing.AVPFlagMandatory, 0)
	dst = appendSessionID(dst, originHost, hi, lo)
	return framing.EndAVP(dst, m)
}

// SessionID returns <originHost>;<hi>;<lo>, the Session-Id that AppendECR generates.
func SessionID(originHost string, hi, lo uint32) string {
	return string(appendSessionID(make([]byte, 0, len(originHost)+22), originHost, hi, lo))
}

func appendSessionID(dst []byte, originHost string, hi, lo uint32) []byte {
	return appendDecimal(appendSessionPrefix(dst, originHost, hi), lo)
}

// appendSessionPrefix appends <originHost>;<hi>; — what every Session-Id of one engine run
// shares (ECRTemplate keeps it).
func appendSessionPrefix(dst []byte, originHost string, hi uint32) []byte {
	dst = append(dst, originHost...)
	dst = append(dst, ';')
	dst = appendDecimal(dst, hi)
	return append(dst, ';')
}

// appendDecimal appends v in decimal, the digits written in place, two at a time:
// strconv.AppendUint formats into a buffer of its own and copies it, a visible share of encoding
// an ECR (bench/results/2026-12-04-kit-sitting-4.md). It allocates only when dst has no room.
func appendDecimal(dst []byte, v uint32) []byte {
	n := decimalLen(v)
	l := len(dst)
	dst = slices.Grow(dst, n)[:l+n]
	b := dst[l:]
	i := n
	for v >= 100 {
		q := v / 100
		j := (v - q*100) * 2
		i -= 2
		b[i], b[i+1] = digitPairs[j], digitPairs[j+1]
		v = q
	}
	if v >= 10 {
		b[0], b[1] = digitPairs[v*2], digitPairs[v*2+1]
	} else {
		b[0] = byte('0' + v)
	}
	return dst
}

// decimalLen is the number of decimal digits of v: log10 from the bit length (1233/4096 is just
// above log10 2), corrected by one comparison.
func decimalLen(v uint32) int {
	t := (bits.Len32(v) * 1233) >> 12
	if v < pow10[t] {
		return max(t, 1)
	}
	return t + 1
}

var pow10 = [10]uint32{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

const digitPairs = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"
