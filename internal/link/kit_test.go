package link

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConn is a Flusher that records its flushes; requeue touches another connection from
// within its Flush, as a close that affects others may.
type fakeConn struct {
	out     Batch
	q       *Queue[*fakeConn]
	writes  [][]byte
	requeue *fakeConn
}

func (c *fakeConn) OutBatch() *Batch { return &c.out }
func (c *fakeConn) Flush(b []byte) {
	c.writes = append(c.writes, append([]byte(nil), b...))
	if r := c.requeue; r != nil {
		c.requeue = nil
		r.out.B = append(r.out.B, 'r')
		c.q.Add(r)
	}
}

// A connection touched many times in a round is flushed once, with everything appended, in the
// order first touched; one queued during the flush goes out in the same flush.
func TestQueueFlushesEachConnectionOnce(t *testing.T) {
	var q Queue[*fakeConn]
	a, b, c := &fakeConn{q: &q}, &fakeConn{q: &q}, &fakeConn{q: &q}
	a.requeue = c
	for _, x := range []struct {
		c *fakeConn
		s string
	}{{a, "1"}, {b, "2"}, {a, "3"}, {b, "4"}} {
		x.c.out.B = append(x.c.out.B, x.s...)
		q.Add(x.c)
	}
	require.Equal(t, 2, q.Len())
	q.Flush()
	assert.Equal(t, [][]byte{[]byte("13")}, a.writes)
	assert.Equal(t, [][]byte{[]byte("24")}, b.writes)
	assert.Equal(t, [][]byte{[]byte("r")}, c.writes, "queued during the flush, flushed in it")
	assert.Zero(t, q.Len())
	assert.Empty(t, a.out.B, "the batch is empty after its flush")
	q.Flush()
	assert.Len(t, a.writes, 1, "not queued again: no second flush")
	q.Add(a)
	q.Flush()
	assert.Len(t, a.writes, 2, "queued again next round")
}

// A batch buffer a burst grew past MaxIdleBatch is dropped after its flush; a smaller one is
// kept for the next round.
func TestQueueShrinksGrownBatch(t *testing.T) {
	var q Queue[*fakeConn]
	big, small := &fakeConn{q: &q}, &fakeConn{q: &q}
	big.out.B = make([]byte, 10, MaxIdleBatch+1)
	small.out.B = make([]byte, 10, MaxIdleBatch)
	q.Add(big)
	q.Add(small)
	q.Flush()
	assert.Zero(t, cap(big.out.B), "grown past MaxIdleBatch: dropped")
	assert.Equal(t, MaxIdleBatch, cap(small.out.B), "kept")
	assert.Len(t, big.writes[0], 10)
}

func TestQueueNoAllocations(t *testing.T) {
	var q Queue[*fakeConn]
	c := &fakeConn{q: &q, writes: make([][]byte, 0, 1)}
	c.out.B = make([]byte, 0, 64)
	q.Add(c)
	q.Flush()
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		c.writes = c.writes[:0]
		q.Add(c)
		q.Flush()
	}))
}

// Publish stores the cumulative values, so a reader sees the loop's totals, not the last round's.
func TestPublishStoresCumulativeValues(t *testing.T) {
	var c [3]uint64
	var pub [3]atomic.Uint64
	c[0], c[2] = 5, 1
	Publish(c[:], pub[:])
	c[0] += 2
	Publish(c[:], pub[:])
	Publish(c[:], pub[:]) // nothing new: unchanged
	assert.EqualValues(t, 7, pub[0].Load())
	assert.EqualValues(t, 0, pub[1].Load())
	assert.EqualValues(t, 1, pub[2].Load())
}

var (
	testReq = framing.Header{Flags: framing.FlagRequest, HopByHop: 7, EndToEnd: 8}
	testID  = framing.Identity{OriginHost: "a.test.local", OriginRealm: "test.local", OriginStateID: 3}
)

// The second CER's answer is a CEA with 5012, no E bit, our capabilities, the request's ids.
func TestSecondCER(t *testing.T) {
	h := testReq
	h.Code = framing.CmdCapabilitiesExchange
	caps := framing.Capabilities{OriginHost: testID.OriginHost, OriginRealm: testID.OriginRealm,
		VendorID: framing.Vendor3GPP, ProductName: DefaultProductName,
		HostIPAddresses:    []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}}
	msg := SecondCER(nil, h, &caps)
	got, err := framing.ParseHeader(msg)
	require.NoError(t, err)
	assert.False(t, got.IsRequest())
	assert.False(t, got.IsError(), "5012 is a permanent failure, not a protocol error")
	assert.Equal(t, h.HopByHop, got.HopByHop)
	assert.Equal(t, h.EndToEnd, got.EndToEnd)
	cea, err := framing.ParseCEA(msg)
	require.NoError(t, err)
	assert.Equal(t, framing.UnableToComply, cea.ResultCode)
	assert.Equal(t, SecondCERText, cea.ErrorMessage)
	assert.True(t, cea.Supports(framing.AppS13))
}

// DWA and DPA are 2001; a request we do not serve gets an E-bit answer-message: 3001 for an
// unknown command, 3007 for an application we do not advertise, 3008 for a request with the E bit.
func TestBaseAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		rc   framing.ResultCode
		eBit bool
	}{
		{"DWA", DWA(nil, withCode(framing.CmdDeviceWatchdog), &testID), framing.Success, false},
		{"DPA", DPA(nil, withCode(framing.CmdDisconnectPeer), framing.Success, &testID), framing.Success, false},
		{"3001", unsupported(withCode(999)), framing.CommandUnsupported, true},
		{"3001 in a supported application", unsupported(withApp(999, framing.AppS13)), framing.CommandUnsupported, true},
		{"3007", unsupported(withApp(324, 16777251)), framing.ApplicationUnsupported, true},
		{"3008", unsupported(withFlags(999, framing.FlagRequest|framing.FlagError)), framing.InvalidHdrBits, true},
	} {
		h, b, err := framing.ParseBase(tc.msg)
		require.NoError(t, err, tc.name)
		assert.False(t, h.IsRequest(), tc.name)
		assert.Equal(t, tc.eBit, h.IsError(), tc.name)
		assert.Equal(t, tc.rc, b.ResultCode, tc.name)
		assert.Equal(t, testID.OriginHost, string(b.OriginHost), tc.name)
	}
}

func withCode(code uint32) framing.Header {
	h := testReq
	h.Code = code
	return h
}

func withApp(code, app uint32) framing.Header {
	h := withCode(code)
	h.AppID = app
	return h
}

func withFlags(code uint32, flags uint8) framing.Header {
	h := withCode(code)
	h.Flags = flags
	return h
}

// unsupported answers the request h on a side that serves S13 only.
func unsupported(h framing.Header) []byte {
	req, m := framing.BeginMessage(nil, h)
	req = framing.EndMessage(req, m)
	return Unsupported(nil, req, &h, &testID, func(app uint32) bool { return app == framing.AppS13 })
}

type lingerRec struct{ sec int }

func (l *lingerRec) SetLinger(sec int) error { l.sec = sec; return nil }

// SetRST asks for linger 0: the close that follows sends an RST.
func TestSetRST(t *testing.T) {
	l := &lingerRec{sec: -1}
	SetRST(l)
	assert.Equal(t, 0, l.sec)
}

// A configured Origin-State-Id stands; a zero one becomes the start time in seconds.
func TestDefaultOriginStateID(t *testing.T) {
	now := time.Unix(1_800_000_000, 5)
	var id uint32
	DefaultOriginStateID(&id, now)
	assert.EqualValues(t, 1_800_000_000, id)
	id = 7
	DefaultOriginStateID(&id, now)
	assert.EqualValues(t, 7, id)
}
