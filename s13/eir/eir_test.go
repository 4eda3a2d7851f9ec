package eir

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

func TestEIRAnswersFreeDiameterRules(t *testing.T) {
	e := fdHandler(t)
	type want struct {
		rc     framing.ResultCode
		exp    s13.ExperimentalResultCode
		status s13.EquipmentStatus
		hasES  bool
		ebit   bool
		delay  time.Duration
	}
	cases := []struct {
		imei string
		want want
	}{
		{"35209900176148", want{rc: framing.Success, status: s13.Whitelisted, hasES: true}},
		{"99000001123456", want{rc: framing.Success, status: s13.Blacklisted, hasES: true}},
		{"99000002123456", want{rc: framing.Success, status: s13.Greylisted, hasES: true}},
		{"99000003123456", want{exp: s13.EquipmentUnknown}},
		{"99000004123456", want{rc: framing.UnableToComply}},
		{"99000005123456", want{rc: framing.TooBusy, ebit: true}},
		{"99000007123456", want{rc: framing.Success, status: s13.Whitelisted, hasES: true, delay: 2 * time.Second}},
	}
	for _, c := range cases {
		t.Run(c.imei, func(t *testing.T) {
			ans, d := serve(t, e, ecrFor(c.imei))
			require.NotNil(t, ans)
			assert.Equal(t, c.want.delay, d)
			a, err := s13.ParseECA(ans)
			require.NoError(t, err)
			assert.Equal(t, envelope.HopByHop, a.HopByHop)
			assert.Equal(t, envelope.EndToEnd, a.EndToEnd)
			assert.Equal(t, c.want.ebit, a.IsError())
			assert.Equal(t, c.want.rc, a.ResultCode)
			if c.want.exp != 0 {
				assert.True(t, a.HasExperimentalResult)
				assert.Equal(t, s13.ExperimentalResult{VendorID: s13.VendorID, Code: c.want.exp}, a.ExperimentalResult)
			} else {
				assert.False(t, a.HasExperimentalResult)
			}
			assert.Equal(t, c.want.hasES, a.HasEquipmentStatus)
			assert.Equal(t, c.want.status, a.EquipmentStatus)
			assert.Equal(t, sessionID, string(a.SessionID))
			assert.Equal(t, eirHost, string(a.OriginHost))
			assert.Equal(t, realm, string(a.OriginRealm))
		})
	}

	ans, d := serve(t, e, ecrFor("99000006123456"))
	assert.Nil(t, ans, "DROP answers nothing")
	assert.Zero(t, d)

	st := e.Stats()
	assert.EqualValues(t, 2, st.Whitelisted)
	assert.EqualValues(t, 1, st.Blacklisted)
	assert.EqualValues(t, 1, st.Greylisted)
	assert.EqualValues(t, 1, st.Unknown)
	assert.EqualValues(t, 2, st.Result)
	assert.EqualValues(t, 1, st.Dropped)
	assert.EqualValues(t, 7, st.Answered())
}

func TestEIRRequestErrors(t *testing.T) {
	e := fdHandler(t)
	ecr := ecrFor("35209900176148")
	msg := rebuild(t, ecr, *header(t, ecr), []uint32{s13.AVPTerminalInformation})
	ans, _ := serve(t, e, msg)
	require.NotNil(t, ans)
	a, err := s13.ParseECA(ans)
	require.NoError(t, err)
	assert.Equal(t, framing.MissingAVP, a.ResultCode)
	assert.False(t, a.IsError())
	assert.NotEmpty(t, a.FailedAVP, "Failed-AVP names the missing Terminal-Information")
	assert.Equal(t, sessionID, string(a.SessionID))

	// An E bit in a request: 3008, as an answer-message.
	bad := ecrFor("35209900176148")
	bad[4] |= framing.FlagError
	ans, _ = serve(t, e, bad)
	require.NotNil(t, ans)
	b, err := framing.ParseAnswerMessage(ans)
	require.NoError(t, err)
	assert.Equal(t, framing.InvalidHdrBits, b.ResultCode)
	assert.EqualValues(t, 2, e.Stats().RequestErrors)
}

func TestEIRUnsupportedRequests(t *testing.T) {
	e := fdHandler(t)
	const m = framing.AVPFlagMandatory
	proxyInfo, g := framing.BeginGrouped(nil, framing.AVPProxyInfo, m, 0)
	proxyInfo = framing.AppendString(proxyInfo, framing.AVPProxyHost, m, 0, draHost)
	proxyInfo = framing.AppendString(proxyInfo, framing.AVPProxyState, m, 0, "st")
	proxyInfo = framing.EndGrouped(proxyInfo, g)
	ecr := ecrFor("35209900176148")
	otherCommand, otherApp := *header(t, ecr), *header(t, ecr)
	otherCommand.Code, otherApp.AppID = 325, 4
	for _, msg := range [][]byte{
		rebuild(t, ecr, otherCommand, nil, proxyInfo),
		rebuild(t, ecr, otherApp, nil, proxyInfo),
	} {
		ans, d := serve(t, e, msg)
		require.NotNil(t, ans)
		assert.Zero(t, d)
		h := header(t, ans)
		assert.True(t, h.IsError())
		assert.False(t, h.IsRequest())
		b, err := framing.ParseAnswerMessage(ans)
		require.NoError(t, err)
		assert.Equal(t, framing.CommandUnsupported, b.ResultCode)
		assert.Equal(t, sessionID, string(b.SessionID))
		pi, ok, err := framing.Find(ans, framing.AVPProxyInfo, 0)
		require.NoError(t, err)
		require.True(t, ok, "Proxy-Info is echoed")
		assert.Equal(t, proxyInfo, ans[pi.Offset:pi.Offset+len(proxyInfo)])
	}
	assert.EqualValues(t, 2, e.Stats().Unsupported)

	// An answer is never answered.
	r, err := s13.ParseECR(ecr)
	require.NoError(t, err)
	ans, _ := serve(t, e, s13.AppendECA(nil, &r, &eirIdentity, &s13.Verdict{}))
	assert.Nil(t, ans)
}

func TestEIRDelays(t *testing.T) {
	e := fdHandler(t, WithDelay(25*time.Millisecond))
	_, d := serve(t, e, ecrFor("35209900176148"))
	assert.Equal(t, 25*time.Millisecond, d, "default delay")
	_, d = serve(t, e, ecrFor("99000007123456"))
	assert.Equal(t, 2*time.Second, d, "a rule's delay overrides the default")

	draw := func(seed uint64) []time.Duration {
		e := fdHandler(t, WithRandomDelay(10*time.Millisecond, 20*time.Millisecond, seed))
		var ds []time.Duration
		for i := 0; i < 200; i++ {
			_, d := serve(t, e, ecrFor("35209900176148"))
			require.GreaterOrEqual(t, d, 10*time.Millisecond)
			require.LessOrEqual(t, d, 20*time.Millisecond)
			ds = append(ds, d)
		}
		return ds
	}
	a, b, c := draw(7), draw(7), draw(8)
	assert.Equal(t, a, b, "same seed, same delays")
	assert.NotEqual(t, a, c)
	distinct := map[time.Duration]bool{}
	for _, d := range a {
		distinct[d] = true
	}
	assert.Greater(t, len(distinct), 50, "spread over the range")
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		id   framing.Identity
		opts []Option
	}{
		{framing.Identity{OriginRealm: realm}, nil},
		{framing.Identity{OriginHost: eirHost}, nil},
		{eirIdentity, []Option{WithDelay(-1)}},
		{eirIdentity, []Option{WithDelay(MaxRuleDelay + 1)}},
		{eirIdentity, []Option{WithRandomDelay(20, 10, 1)}},
		{eirIdentity, []Option{WithRandomDelay(-1, 10, 1)}},
	} {
		_, err := New(c.id, nil, c.opts...)
		assert.ErrorIs(t, err, ErrConfig)
	}
	e, err := New(eirIdentity, nil, nil)
	require.NoError(t, err)
	ans, _ := serve(t, e, ecrFor("99000006123456"))
	require.NotNil(t, ans, "nil policy: everything WHITELISTED")
	assert.Equal(t, eirIdentity, e.Identity())
	assert.NotNil(t, e.Policy())
}

func TestEIRServeAllocatesNothing(t *testing.T) {
	e := fdHandler(t, WithRandomDelay(0, time.Millisecond, 1))
	ecr := ecrFor("35209900176148")
	other := *header(t, ecr)
	other.Flags, other.Code = framing.FlagRequest, 325
	msgs := [][]byte{
		ecrFor("35209900176148"),    // WHITELISTED
		ecrFor("99000001123456"),    // BLACKLISTED
		ecrFor("99000003123456"),    // UNKNOWN: Experimental-Result
		ecrFor("99000004123456"),    // RESULT=5012
		ecrFor("99000005123456"),    // RESULT=3004: the answer-message form
		ecrFor("99000006123456"),    // DROP
		rebuild(t, ecr, other, nil), // 3001
	}
	hs := make([]*framing.Header, len(msgs))
	for i, m := range msgs {
		hs[i] = header(t, m)
	}
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(500, func() {
		for i, m := range msgs {
			dst, _ = e.ServeDiameter(dst[:0], m, hs[i])
		}
	})
	assert.Zero(t, allocs)
}

func TestEIRConcurrentUse(t *testing.T) {
	e := fdHandler(t, WithRandomDelay(0, time.Millisecond, 1))
	imeis := []string{"35209900176148", "99000001123456", "99000003123456", "99000006123456"}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := ecrFor(imeis[g])
			h := header(t, msg)
			dst := make([]byte, 0, 1024)
			for i := 0; i < 500; i++ {
				dst, _ = e.ServeDiameter(dst[:0], msg, h)
			}
		}()
	}
	wg.Wait()
	st := e.Stats()
	assert.EqualValues(t, 500, st.Whitelisted)
	assert.EqualValues(t, 500, st.Blacklisted)
	assert.EqualValues(t, 500, st.Unknown)
	assert.EqualValues(t, 500, st.Dropped)
}

func TestEIRRuleDelayFromFile(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("35 GREYLISTED 40\n"))
	require.NoError(t, err)
	e, err := New(eirIdentity, p, WithDelay(time.Second))
	require.NoError(t, err)
	ans, d := serve(t, e, ecrFor("35209900176148"))
	require.NotNil(t, ans)
	assert.Equal(t, 40*time.Millisecond, d)
	a, err := s13.ParseECA(ans)
	require.NoError(t, err)
	assert.Equal(t, s13.Greylisted, a.EquipmentStatus)
}

func BenchmarkEIRServe(b *testing.B) {
	e := fdHandler(b)
	msg := ecrFor("99000001123456")
	h := header(b, msg)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		dst, _ = e.ServeDiameter(dst[:0], msg, h)
	}
}
