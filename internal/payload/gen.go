// Package payload generates IMEIs and IMSIs for load tests (cmd/diamload, bench): from a spec of
// fixed digits and x for random ones, reproducibly from a seed, with the Luhn check digit where
// an IMEI spec asks for it.
//
// API choice. A load generator at 1M requests/s must not allocate per request, but Request
// carries its IMEI and IMSI as strings, and a string cannot be produced per call without an
// allocation (short of unsafe tricks that break string immutability). So there are two ways in:
//
//   - AppendNext writes the next value into a caller-owned buffer (a [s13.MaxIMEILen]byte on the
//     stack, or a pooled slice): no allocation, an unbounded stream of fresh values. Use it when
//     encoding by hand or when keying maps by []byte.
//   - Pool(n) pre-generates n values once (two allocations in total) and hands them out round
//     robin as strings with Pool.Next: no allocation per call, safe for concurrent use, ready to
//     drop into Request.IMEI. A pool of 64K values spreads load over the EIR's key space well
//     enough; each value costs its digits and a 16-byte string header.
//
// A generator draws one random number per value (all the x digits of a spec at once), so it is
// cheap; it is not safe for concurrent use (neither is *rand.Rand): give each goroutine its own,
// seeded differently, or share a Pool.
package payload

import (
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/hsdfat8/diam-gw/s13"
)

// digitGen is the engine behind IMEIGen and IMSIGen: a template with fixed digits and x
// positions, and an optional Luhn digit in position 15.
type digitGen struct {
	r     *rand.Rand
	tmpl  [s13.MaxIMEILen]byte // the spec with '0' in the x positions
	xpos  [s13.MaxIMEILen]uint8
	n     uint8 // output length
	nx    uint8 // number of x positions
	luhn  bool  // tmpl[14] is the Luhn check digit over tmpl[:14]
	space uint64
}

// newDigitGen parses spec: min..max characters, each a digit (kept) or x/X (random digit). With
// luhnAt15, an x in the 15th position is the Luhn check digit of the first 14 instead.
func newDigitGen(field, spec string, min, max int, luhnAt15 bool, r *rand.Rand) (digitGen, error) {
	g := digitGen{r: r, n: uint8(len(spec)), space: 1}
	if len(spec) < min || len(spec) > max {
		return g, &SpecError{Field: field, Reason: lengthReason(len(spec), min, max)}
	}
	for i := 0; i < len(spec); i++ {
		switch c := spec[i]; {
		case c >= '0' && c <= '9':
			g.tmpl[i] = c
		case c == 'x' || c == 'X':
			g.tmpl[i] = '0'
			if luhnAt15 && i == 14 {
				g.luhn = true
				continue
			}
			g.xpos[g.nx] = uint8(i)
			g.nx++
			g.space *= 10
		default:
			return g, &SpecError{Field: field, Reason: "character " + strconv.QuoteToASCII(spec[i:i+1]) +
				" at index " + strconv.Itoa(i) + ", want a digit or x"}
		}
	}
	if g.luhn && g.nx == 0 {
		// Fully fixed: compute the check digit once.
		g.tmpl[14] = luhn(g.tmpl[:14])
		g.luhn = false
	}
	if r == nil {
		g.r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return g, nil
}

// fill writes the next value into buf[:g.n].
func (g *digitGen) fill(buf *[s13.MaxIMEILen]byte) {
	*buf = g.tmpl
	if g.nx > 0 {
		// One draw covers every x position: 10^nx <= 10^15 < 2^64, and Uint64N is unbiased.
		v := g.r.Uint64N(g.space)
		for i := int(g.nx) - 1; i >= 0; i-- {
			buf[g.xpos[i]] = byte('0' + v%10)
			v /= 10
		}
	}
	if g.luhn {
		buf[14] = luhn(buf[:14])
	}
}

// luhn is the ASCII check digit of the 14 digits in imei14 (TS 23.003 Annex B), by s13's
// computation. The digits are a spec's or drawn from '0'-'9', so the error cannot happen.
func luhn(imei14 []byte) byte {
	d, _ := s13.LuhnCheckDigit(string(imei14))
	return '0' + byte(d)
}

// lengthReason words a spec of the wrong length: "13 characters, want 14 or 15".
func lengthReason(n, min, max int) string {
	sep := " to "
	if max == min+1 {
		sep = " or "
	}
	return strconv.Itoa(n) + " characters, want " + strconv.Itoa(min) + sep + strconv.Itoa(max)
}

func (g *digitGen) appendNext(dst []byte) []byte {
	var buf [s13.MaxIMEILen]byte
	g.fill(&buf)
	return append(dst, buf[:g.n]...)
}

func (g *digitGen) pool(n int) *Pool {
	n = max(n, 1)
	l := int(g.n)
	buf := make([]byte, 0, n*l)
	for range n {
		buf = g.appendNext(buf)
	}
	all := string(buf)
	p := &Pool{items: make([]string, n)}
	for i := range p.items {
		p.items[i] = all[i*l : (i+1)*l]
	}
	return p
}

// seeded returns a generator seeded from seed alone, so that equal seeds give equal sequences.
func seeded(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// IMEIGen generates IMEIs from a spec (see NewIMEIGen). Not safe for concurrent use.
type IMEIGen struct{ g digitGen }

// NewIMEIGen returns a generator for spec, 14 or 15 characters: a digit is kept, an x (or X)
// becomes a random digit, so "35209900176148" always yields that IMEI and "35209900xxxxxx"
// yields TAC 35209900 with a random SNR. In a 15-character spec an x in the last position is the
// Luhn check digit of the first 14 ("35209900xxxxxxx" gives Luhn-valid 15-digit IMEIs); a digit
// there is sent as is (e.g. 0, the spare digit handsets send). r supplies the randomness: pass a
// seeded *rand.Rand for reproducible runs, or nil for a randomly seeded one. A bad spec is a
// *SpecError wrapping ErrSpec.
func NewIMEIGen(spec string, r *rand.Rand) (*IMEIGen, error) {
	g, err := newDigitGen("IMEI spec", spec, s13.IMEILen, s13.MaxIMEILen, true, r)
	if err != nil {
		return nil, err
	}
	return &IMEIGen{g: g}, nil
}

// NewIMEIGenSeed is NewIMEIGen with a PCG generator seeded from seed: the same spec and seed
// always give the same sequence.
func NewIMEIGenSeed(spec string, seed uint64) (*IMEIGen, error) {
	return NewIMEIGen(spec, seeded(seed))
}

// Len is the number of digits of every generated IMEI (14 or 15).
func (g *IMEIGen) Len() int { return int(g.g.n) }

// Space is the number of distinct IMEIs the spec allows (10 to the number of random digits).
func (g *IMEIGen) Space() uint64 { return g.g.space }

// AppendNext appends the next IMEI's digits to dst and returns the extended slice. It allocates
// nothing when dst has room for Len more bytes.
func (g *IMEIGen) AppendNext(dst []byte) []byte { return g.g.appendNext(dst) }

// Pool pre-generates n IMEIs (at least 1) for allocation-free, concurrent use as strings; values
// are drawn independently, so a small Space may repeat some.
func (g *IMEIGen) Pool(n int) *Pool { return g.g.pool(n) }

// IMSIGen generates IMSIs from a spec (see NewIMSIGen). Not safe for concurrent use.
type IMSIGen struct{ g digitGen }

// NewIMSIGen returns a generator for spec, 5 to 15 characters: a digit is kept, an x (or X)
// becomes a random digit ("00101xxxxxxxxxx": MCC 001, MNC 01, random MSIN). r is as for
// NewIMEIGen. A bad spec is a *SpecError wrapping ErrSpec.
func NewIMSIGen(spec string, r *rand.Rand) (*IMSIGen, error) {
	g, err := newDigitGen("IMSI spec", spec, s13.MinIMSILen, s13.MaxIMSILen, false, r)
	if err != nil {
		return nil, err
	}
	return &IMSIGen{g: g}, nil
}

// NewIMSIGenSeed is NewIMSIGen with a PCG generator seeded from seed.
func NewIMSIGenSeed(spec string, seed uint64) (*IMSIGen, error) {
	return NewIMSIGen(spec, seeded(seed))
}

// Len is the number of digits of every generated IMSI.
func (g *IMSIGen) Len() int { return int(g.g.n) }

// Space is the number of distinct IMSIs the spec allows.
func (g *IMSIGen) Space() uint64 { return g.g.space }

// AppendNext appends the next IMSI's digits to dst; it allocates nothing when dst has room.
func (g *IMSIGen) AppendNext(dst []byte) []byte { return g.g.appendNext(dst) }

// Pool pre-generates n IMSIs (at least 1) for allocation-free, concurrent use as strings.
func (g *IMSIGen) Pool(n int) *Pool { return g.g.pool(n) }

// Pool is a fixed set of pre-generated strings (IMEIs or IMSIs) handed out round robin. Next and
// At allocate nothing and are safe for concurrent use; the strings share one backing array.
type Pool struct {
	items []string
	next  atomic.Uint64
}

// Next returns the next string, cycling through the pool. It costs one atomic add; workers that
// want no shared cache line can call At with a counter of their own instead.
func (p *Pool) Next() string {
	i := p.next.Add(1) - 1
	return p.items[i%uint64(len(p.items))]
}

// At returns the string at i modulo Len.
func (p *Pool) At(i uint64) string { return p.items[i%uint64(len(p.items))] }

// Len is the number of strings in the pool.
func (p *Pool) Len() int { return len(p.items) }
