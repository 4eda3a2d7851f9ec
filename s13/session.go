package s13

import (
	"strconv"

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
	dst = append(dst, originHost...)
	dst = append(dst, ';')
	dst = strconv.AppendUint(dst, uint64(hi), 10)
	dst = append(dst, ';')
	return strconv.AppendUint(dst, uint64(lo), 10)
}
