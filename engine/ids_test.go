package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A late answer to a request that timed out never completes a later request that happens to get
// the same Hop-by-Hop id: answers match on Hop-by-Hop and End-to-End (RFC 6733 §6.2). The window
// is 1<<20, so only 2^11 values of a slot's id remain above the slot index; the filler requests
// between A and B are the ones that made B's id repeat A's while the table used one sequence for
// every slot. The peer answers B with A's late BLACKLISTED answer first, then with B's own: once
// with A's ids as they were, once with A's answer carrying B's Hop-by-Hop (what the repeat makes
// it look like, whatever the id scheme).
func TestLateAnswerDoesNotCompleteAnotherRequest(t *testing.T) {
	for _, tc := range []struct {
		name    string
		onBsHbH bool
	}{{"late answer as sent", false}, {"late answer on B's Hop-by-Hop", true}} {
		t.Run(tc.name, func(t *testing.T) {
			const imeiA, imeiB = "35209900000011", "35209900000022"
			eir := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
			var mu sync.Mutex
			var reqA, reqB s13.ECR // testpeer gives every message its own buffer: these stay valid
			peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
				mu.Lock()
				defer mu.Unlock()
				switch string(req.IMEI) {
				case imeiA:
					reqA = *req
					return testpeer.Reply{Drop: true}
				case imeiB:
					reqB = *req
					late := reqA
					if tc.onBsHbH {
						late.Header.HopByHop = req.Header.HopByHop
					}
					raw := s13.AppendECA(nil, &late, eir, &s13.Verdict{EquipmentStatus: s13.Blacklisted})
					raw = s13.AppendECA(raw, req, eir, &s13.Verdict{EquipmentStatus: s13.Whitelisted})
					return testpeer.Reply{Raw: raw}
				}
				return testpeer.Reply{}
			}})
			cfg := testConfig(peer.Addr())
			cfg.MaxInFlight = 1 << 20
			cfg.RequestTimeout = 200 * time.Millisecond
			e := startEngine(t, cfg)
			ctx := ctxT(t, 20*time.Second)

			a := testReq
			a.IMEI = imeiA
			_, err := e.Check(ctx, a)
			require.ErrorIs(t, err, ErrTimeout)
			for range 1<<(32-e.peers[0].slots.bits) - 1 {
				_, err := e.Check(ctx, testReq)
				require.NoError(t, err)
			}
			b := testReq
			b.IMEI = imeiB
			ans, err := e.Check(ctx, b)
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, reqB.Header.EndToEnd, ans.EndToEnd, "B's caller gets the answer to B")
			assert.Equal(t, string(reqB.SessionID), string(ans.SessionID))
			assert.True(t, ans.HasEquipmentStatus)
			assert.Equal(t, s13.Whitelisted, ans.EquipmentStatus, "not A's verdict")
			assert.EqualValues(t, 1, e.Stats().Total.UnknownAnswers, "A's late answer is dropped")
		})
	}
}

// End-to-End ids come from the wall clock's floor at the loop's clock reading (RFC 6733 §3; see
// framing.EndToEndClock): the first is the floor at New, and after a second of idle loop time
// the next is the floor a second later, not the previous id plus one.
func TestEndToEndIDsFollowTheLoopClock(t *testing.T) {
	e, err := New(testConfig("127.0.0.1:1"))
	require.NoError(t, err)
	defer e.Close(ctxT(t, time.Second))
	start := e.epoch.UnixNano()
	first := e.nextE2E()
	assert.Equal(t, uint32(framing.EndToEndFloor(start)), first)
	assert.Equal(t, first+1, e.nextE2E())
	e.loopNow.Store(int64(time.Second))
	assert.Equal(t, uint32(framing.EndToEndFloor(start+int64(time.Second))), e.nextE2E())
}
