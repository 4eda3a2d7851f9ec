package eir

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/s13"
)

// Who talks in these tests: an MME asks the EIR, with a DRA on the path.
const (
	realm     = "epc.test.local"
	mmeHost   = "mme1." + realm
	eirHost   = "eir1." + realm
	draHost   = "dra1." + realm
	sessionID = mmeHost + ";1700000000;42"
)

var (
	envelope    = s13.Envelope{HopByHop: 0x2a000003, EndToEnd: 0x10000003, OriginHost: mmeHost, OriginRealm: realm}
	request     = s13.Request{SoftwareVersion: "23", IMSI: "001010123456789", DestinationRealm: realm, SessionID: sessionID}
	eirIdentity = framing.Identity{OriginHost: eirHost, OriginRealm: realm}
)

// ecrFor encodes an ECR for imei with the vector envelope.
func ecrFor(imei string) []byte {
	r := request
	r.IMEI = imei
	return s13.AppendECR(nil, &envelope, &r)
}

// rebuild re-encodes msg with header h, keeping its AVPs but those drop names (by code, any
// vendor) and appending extra encoded AVPs.
func rebuild(tb testing.TB, msg []byte, h framing.Header, drop []uint32, extra ...[]byte) []byte {
	tb.Helper()
	b, m := framing.BeginMessage(nil, h)
	it := framing.AVPs(msg)
next:
	for it.Next() {
		a := it.AVP()
		for _, c := range drop {
			if a.Code == c {
				continue next
			}
		}
		b = append(b, msg[a.Offset:a.Offset+(a.Len()+3)&^3]...)
	}
	require.NoError(tb, it.Err())
	for _, x := range extra {
		b = append(b, x...)
	}
	return framing.EndMessage(b, m)
}

func header(tb testing.TB, msg []byte) *framing.Header {
	tb.Helper()
	var h framing.Header
	_, err := framing.ReadMessage(msg, &h)
	require.NoError(tb, err)
	return &h
}

// fdHandler is a Handler following the freeDiameter rule file.
func fdHandler(tb testing.TB, opts ...Option) *Handler {
	tb.Helper()
	p, err := LoadPolicy(fixtures.EIRRules(tb))
	require.NoError(tb, err)
	e, err := New(eirIdentity, p, opts...)
	require.NoError(tb, err)
	return e
}

// serve runs e on msg and returns the answer bytes (nil for none) and the delay.
func serve(tb testing.TB, e *Handler, msg []byte) ([]byte, time.Duration) {
	tb.Helper()
	prefix := []byte("keep")
	out, d := e.ServeDiameter(prefix, msg, header(tb, msg))
	require.Equal(tb, "keep", string(out[:4]), "dst's bytes are kept")
	if len(out) == len(prefix) {
		return nil, d
	}
	ans := out[len(prefix):]
	n, err := framing.FrameLen(ans, 0)
	require.NoError(tb, err)
	require.Equal(tb, len(ans), n, "exactly one whole message appended")
	return ans, d
}
