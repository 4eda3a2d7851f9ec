package linktest

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// Messages cuts b, bytes a loop wrote, into its messages. It fails tb unless b is a sequence of
// whole, well-framed messages: a loop writes nothing else. The messages alias b.
func Messages(tb testing.TB, b []byte) [][]byte {
	tb.Helper()
	var msgs [][]byte
	for len(b) > 0 {
		n, err := framing.FrameLen(b, 0)
		if err != nil || n == 0 {
			tb.Fatalf("written bytes are not whole messages: %d left, FrameLen %d, %v", len(b), n, err)
		}
		msgs = append(msgs, b[:n])
		b = b[n:]
	}
	return msgs
}
