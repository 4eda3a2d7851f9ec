package s13

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendECRVector05(t *testing.T) {
	want := vector(t, "05_ecr")

	t.Run("explicit Session-Id", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		assert.Equal(t, want, AppendECR(nil, &env, &req))
	})
	t.Run("generated Session-Id", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		env.SessionHi, env.SessionLo = 1700000000, 42
		req.SessionID = ""
		assert.Equal(t, want, AppendECR(nil, &env, &req))
	})
	t.Run("appends after existing bytes", func(t *testing.T) {
		env, req := vectorEnvelope, vectorRequest
		prefix := []byte{1, 2, 3}
		got := AppendECR(append([]byte(nil), prefix...), &env, &req)
		assert.Equal(t, prefix, got[:3])
		assert.Equal(t, want, got[3:])
	})
	t.Run("hand-built parts match the vector", func(t *testing.T) {
		// Guards the builders that the error tests rely on.
		assert.Equal(t, want, ecrMessage(ecrParts()))
	})
}

func TestAppendECRVector06Retransmit(t *testing.T) {
	want := vector(t, "06_ecr_retransmit_T")
	for _, generated := range []bool{false, true} {
		env, req := vectorEnvelope, vectorRequest
		env.Retransmit, env.HopByHop = true, 0x5b000001
		if generated {
			env.SessionHi, env.SessionLo = 1700000000, 42
			req.SessionID = ""
		}
		assert.Equal(t, want, AppendECR(nil, &env, &req), "generated Session-Id: %v", generated)
	}
}

func TestAppendECROptionalAVPs(t *testing.T) {
	env := vectorEnvelope
	req := Request{IMEI: testIMEI, DestinationRealm: realm, DestinationHost: eirHost, SessionID: sessionID}
	msg := AppendECR(nil, &env, &req)

	r, err := ParseECR(msg)
	require.NoError(t, err)
	assert.Equal(t, eirHost, string(r.DestinationHost))
	assert.Nil(t, r.SoftwareVersion, "empty SoftwareVersion is omitted")
	assert.Nil(t, r.UserName, "empty IMSI is omitted")

	// Destination-Host sits between Origin-Realm and Destination-Realm (ABNF order).
	var codes []uint32
	it := framing.AVPs(msg)
	for it.Next() {
		a := *it.AVP()
		codes = append(codes, a.Code)
	}
	require.NoError(t, it.Err())
	assert.Equal(t, []uint32{framing.AVPSessionID, framing.AVPVendorSpecificApplicationID,
		framing.AVPAuthSessionState, framing.AVPOriginHost, framing.AVPOriginRealm,
		framing.AVPDestinationHost, framing.AVPDestinationRealm, AVPTerminalInformation}, codes)
}

func TestSessionID(t *testing.T) {
	assert.Equal(t, sessionID, SessionID(mmeHost, 1700000000, 42))
	assert.Equal(t, "h;4294967295;0", SessionID("h", 0xFFFFFFFF, 0))
}

func TestAppendECRAllocs(t *testing.T) {
	env, req := vectorEnvelope, vectorRequest
	req.SessionID = ""
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		env.SessionLo++
		buf = AppendECR(buf[:0], &env, &req)
	})
	assert.Zero(t, allocs)
}
