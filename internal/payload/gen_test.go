package payload

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/s13"
)

func TestIMEIGenFixed(t *testing.T) {
	for _, spec := range []string{"35209900176148", "352099001761480"} {
		g, err := NewIMEIGenSeed(spec, 1)
		require.NoError(t, err)
		assert.Equal(t, len(spec), g.Len())
		assert.Equal(t, uint64(1), g.Space())
		for range 3 {
			assert.Equal(t, spec, string(g.AppendNext(nil)), "a fixed spec is sent as is")
		}
	}
	// A fully fixed 14 digits plus x: the check digit, computed once.
	g, err := NewIMEIGenSeed("35209900176148x", 1)
	require.NoError(t, err)
	assert.Equal(t, "352099001761481", string(g.AppendNext(nil)))
}

func TestIMEIGenPrefix14(t *testing.T) {
	g, err := NewIMEIGenSeed("35209900xxxxxx", 42)
	require.NoError(t, err)
	assert.Equal(t, 14, g.Len())
	assert.Equal(t, uint64(1_000_000), g.Space())
	seen := map[string]bool{}
	for range 1000 {
		imei := string(g.AppendNext(nil))
		require.Len(t, imei, 14)
		assert.True(t, strings.HasPrefix(imei, "35209900"), imei)
		require.NoError(t, s13.ValidateIMEI(imei))
		seen[imei] = true
	}
	assert.Greater(t, len(seen), 990, "SNRs are random")
}

func TestIMEIGenLuhn15(t *testing.T) {
	g, err := NewIMEIGenSeed("35209900xxxxxxx", 7)
	require.NoError(t, err)
	assert.Equal(t, 15, g.Len())
	assert.Equal(t, uint64(1_000_000), g.Space(), "the 15th x is the check digit, not random")
	for range 1000 {
		imei := string(g.AppendNext(nil))
		require.Len(t, imei, 15)
		assert.True(t, strings.HasPrefix(imei, "35209900"), imei)
		cd, err := s13.LuhnCheckDigit(imei[:14])
		require.NoError(t, err)
		assert.Equal(t, byte('0'+cd), imei[14], imei)
	}
}

func TestIMEIGenInterleavedFixedDigits(t *testing.T) {
	g, err := NewIMEIGenSeed("3x2x9900xxxx4X", 3)
	require.NoError(t, err)
	for range 100 {
		imei := string(g.AppendNext(nil))
		assert.Equal(t, byte('3'), imei[0])
		assert.Equal(t, byte('2'), imei[2])
		assert.Equal(t, "9900", imei[4:8])
		assert.Equal(t, byte('4'), imei[12])
		require.NoError(t, s13.ValidateIMEI(imei))
	}
}

func TestIMEIGenReproducible(t *testing.T) {
	seq := func(seed uint64) []string {
		g, err := NewIMEIGenSeed("35209900xxxxxxx", seed)
		require.NoError(t, err)
		var out []string
		for range 20 {
			out = append(out, string(g.AppendNext(nil)))
		}
		return out
	}
	assert.Equal(t, seq(99), seq(99))
	assert.NotEqual(t, seq(99), seq(100))

	// A caller-supplied *rand.Rand is used as given.
	a, err := NewIMEIGen("xxxxxxxxxxxxxx", rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	b, err := NewIMEIGen("xxxxxxxxxxxxxx", rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	for range 10 {
		assert.Equal(t, a.AppendNext(nil), b.AppendNext(nil))
	}

	// nil: randomly seeded, still valid output.
	c, err := NewIMEIGen("35209900xxxxxx", nil)
	require.NoError(t, err)
	require.NoError(t, s13.ValidateIMEI(string(c.AppendNext(nil))))
}

func TestIMEIGenBadSpecs(t *testing.T) {
	for _, spec := range []string{"", "3520990017614", "3520990017614812", "35209900xxxxx?", "35209900-xxxxx"} {
		g, err := NewIMEIGenSeed(spec, 1)
		assert.Nil(t, g)
		assert.ErrorIs(t, err, ErrSpec, "%q", spec)
		var fe *SpecError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "IMEI spec", fe.Field)
	}
}

func TestIMSIGen(t *testing.T) {
	g, err := NewIMSIGenSeed("00101xxxxxxxxxx", 5)
	require.NoError(t, err)
	assert.Equal(t, 15, g.Len())
	assert.Equal(t, uint64(10_000_000_000), g.Space())
	for range 100 {
		imsi := string(g.AppendNext(nil))
		assert.True(t, strings.HasPrefix(imsi, "00101"), imsi)
		require.NoError(t, s13.ValidateIMSI(imsi))
	}
	h, err := NewIMSIGenSeed("00101xxxxxxxxxx", 5)
	require.NoError(t, err)
	g2, _ := NewIMSIGenSeed("00101xxxxxxxxxx", 5)
	for range 10 {
		assert.Equal(t, g2.AppendNext(nil), h.AppendNext(nil), "reproducible")
	}

	short, err := NewIMSIGenSeed("0010x", 1)
	require.NoError(t, err)
	assert.Len(t, short.AppendNext(nil), 5)
	assert.Equal(t, uint64(10), short.Space())
	// A 15th x in an IMSI spec is an ordinary random digit: no check digit.
	last, err := NewIMSIGenSeed("00101012345678x", 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(10), last.Space())

	for _, spec := range []string{"0010", "0010101234567890", "00101y"} {
		_, err := NewIMSIGenSeed(spec, 1)
		assert.ErrorIs(t, err, ErrSpec, "%q", spec)
	}
}

func TestPool(t *testing.T) {
	g, err := NewIMEIGenSeed("35209900xxxxxxx", 11)
	require.NoError(t, err)
	p := g.Pool(64)
	assert.Equal(t, 64, p.Len())
	first := make([]string, 64)
	for i := range first {
		first[i] = p.Next()
		require.NoError(t, s13.ValidateIMEI(first[i]))
	}
	for i := range first {
		assert.Equal(t, first[i], p.Next(), "round robin")
		assert.Equal(t, first[i], p.At(uint64(i+64)))
	}
	// Same seed, same pool.
	g2, _ := NewIMEIGenSeed("35209900xxxxxxx", 11)
	p2 := g2.Pool(64)
	for i := range first {
		assert.Equal(t, first[i], p2.At(uint64(i)))
	}
	assert.Equal(t, 1, g.Pool(0).Len(), "at least one value")

	ip, err := NewIMSIGenSeed("00101xxxxxxxxxx", 1)
	require.NoError(t, err)
	assert.NoError(t, s13.ValidateIMSI(ip.Pool(4).Next()))
}

func TestPoolConcurrent(t *testing.T) {
	g, err := NewIMEIGenSeed("35209900xxxxxx", 1)
	require.NoError(t, err)
	p := g.Pool(16)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if s13.ValidateIMEI(p.Next()) != nil {
					t.Error("invalid IMEI from pool")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestGeneratorAllocs(t *testing.T) {
	g, err := NewIMEIGenSeed("35209900xxxxxxx", 1)
	require.NoError(t, err)
	ig, err := NewIMSIGenSeed("00101xxxxxxxxxx", 1)
	require.NoError(t, err)
	p := g.Pool(128)
	var buf [s13.MaxIMEILen]byte
	var s string
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = g.AppendNext(buf[:0])
		_ = ig.AppendNext(buf[:0])
		s = p.Next()
	}))
	assert.Len(t, s, 15)
}

// BenchmarkIMEIGen is the cost of one fresh IMEI with its check digit.
func BenchmarkIMEIGen(b *testing.B) {
	g, err := NewIMEIGenSeed("35209900xxxxxxx", 1)
	if err != nil {
		b.Fatal(err)
	}
	var buf [s13.MaxIMEILen]byte
	b.ReportAllocs()
	for b.Loop() {
		_ = g.AppendNext(buf[:0])
	}
}
