package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	gen "github.com/hsdfat8/diam-gw/internal/payload"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
)

// Payloads are drawn from pools generated once before the run, so a request costs an index and
// no allocation: Request.IMEI and Request.IMSI are strings that share one backing array.

// maxPool bounds a pool: 16K distinct IMEIs spread load over an EIR's key space well enough and
// cost about 0.5 MiB.
const maxPool = 16384

const (
	defaultIMEISpec = "35209900xxxxxx" // TAC 35209900, random SNR: WHITELISTED everywhere
	defaultIMSISpec = "001010xxxxxxxxx"
	imsiNone        = "none"
)

// normalizeIMEISpec accepts the payload.NewIMEIGen forms (14 or 15 characters of digits and x) and
// "prefix*", padded with x to 14 ("35209900*" = "35209900xxxxxx"). A short digit string stays an
// error: it is more likely a mistyped IMEI than a wish for random digits.
func normalizeIMEISpec(spec string) string {
	if p, ok := strings.CutSuffix(spec, "*"); ok && len(p) < s13.IMEILen && digitsOrX(p) {
		return p + strings.Repeat("x", s13.IMEILen-len(p))
	}
	return spec
}

// normalizeIMSISpec accepts the payload.NewIMSIGen forms (5 to 15 digits and x). An IMSI's length
// varies, so a short digit string is a fixed IMSI; "00101*" pads the prefix with x to 15.
func normalizeIMSISpec(spec string) string {
	if p, ok := strings.CutSuffix(spec, "*"); ok && len(p) < s13.MaxIMSILen && digitsOrX(p) {
		return p + strings.Repeat("x", s13.MaxIMSILen-len(p))
	}
	return spec
}

func digitsOrX(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == 'x' || c == 'X') {
			return false
		}
	}
	return true
}

// parseIMEISpec checks an --imei value; the error is a usage error naming the flag.
func parseIMEISpec(spec string) (string, error) {
	n := normalizeIMEISpec(spec)
	if _, err := gen.NewIMEIGen(n, nil); err != nil {
		return "", usagef("invalid --imei %q: %s", spec, fieldReason(err))
	}
	return n, nil
}

// parseIMSISpec checks an --imsi value; "none" (or "") means no User-Name.
func parseIMSISpec(spec string) (string, error) {
	if spec == imsiNone || spec == "" {
		return imsiNone, nil
	}
	n := normalizeIMSISpec(spec)
	if _, err := gen.NewIMSIGen(n, nil); err != nil {
		return "", usagef("invalid --imsi %q: %s", spec, fieldReason(err))
	}
	return n, nil
}

func fieldReason(err error) string {
	var fe *gen.SpecError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}

// mixEntry is one share of a payload mix: IMEIs from spec, weight parts of the pool.
type mixEntry struct {
	spec   string
	weight int
}

// payload hands out request payloads round robin from the pools, with the expected outcome of
// each IMEI when the target's policy is known (the embedded EIR).
type payload struct {
	imeis  []string
	imsis  []string  // nil: no User-Name
	expect []outcome // parallel to imeis; nil when the policy is unknown
}

// newPayload generates the pools. size is the number of distinct values (capped at maxPool);
// the IMEI mix is shuffled so every share is spread over the run. seed makes it reproducible.
func newPayload(mix []mixEntry, imsiSpec string, size int, seed uint64) (*payload, error) {
	size = min(max(size, 1), maxPool)
	rng := rand.New(rand.NewPCG(seed, seed^0xd1b54a32d192ed03))
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	p := &payload{}
	var err error
	specs := make([]string, 0, size)
	for i, m := range mix {
		n := size * m.weight / total
		if i == len(mix)-1 {
			n = size - len(specs)
		}
		n = max(n, 1)
		for range n {
			specs = append(specs, m.spec)
		}
	}
	rng.Shuffle(len(specs), func(i, j int) { specs[i], specs[j] = specs[j], specs[i] })
	gens := map[string]*gen.IMEIGen{}
	buf := make([]byte, 0, len(specs)*s13.MaxIMEILen)
	ends := make([]int, 0, len(specs))
	for _, spec := range specs {
		g := gens[spec]
		if g == nil {
			if g, err = gen.NewIMEIGen(spec, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))); err != nil {
				return nil, usagef("invalid IMEI spec %q: %s", spec, fieldReason(err))
			}
			gens[spec] = g
		}
		buf = g.AppendNext(buf)
		ends = append(ends, len(buf))
	}
	p.imeis = split(buf, ends)
	if imsiSpec != imsiNone {
		g, err := gen.NewIMSIGen(imsiSpec, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
		if err != nil {
			return nil, usagef("invalid --imsi %q: %s", imsiSpec, fieldReason(err))
		}
		buf := make([]byte, 0, len(specs)*g.Len())
		ends = ends[:0]
		for range specs {
			buf = g.AppendNext(buf)
			ends = append(ends, len(buf))
		}
		p.imsis = split(buf, ends)
	}
	return p, nil
}

// split cuts one string into many that share its memory.
func split(buf []byte, ends []int) []string {
	all := string(buf)
	out := make([]string, len(ends))
	start := 0
	for i, e := range ends {
		out[i] = all[start:e]
		start = e
	}
	return out
}

// setOracle computes the expected outcome of every IMEI under the EIR's policy.
func (p *payload) setOracle(pol *eir.Policy) {
	p.expect = make([]outcome, len(p.imeis))
	for i, imei := range p.imeis {
		p.expect[i] = expectedOutcome(pol, imei)
	}
}

// fill sets req's IMEI and IMSI for sequence number seq and returns the expected outcome (nil
// when unknown).
func (p *payload) fill(req *s13.Request, seq uint64) *outcome {
	i := seq % uint64(len(p.imeis))
	req.IMEI = p.imeis[i]
	if p.imsis != nil {
		req.IMSI = p.imsis[i]
	}
	if p.expect != nil {
		return &p.expect[i]
	}
	return nil
}

// outcomeKind is what an EIR rule answers.
type outcomeKind uint8

const (
	outStatus       outcomeKind = iota // 2001 with Equipment-Status
	outResult                          // Result-Code code
	outExperimental                    // Experimental-Result-Code code
	outDrop                            // no answer: the client times out
)

// outcome is the expected answer to one IMEI.
type outcome struct {
	kind   outcomeKind
	status s13.EquipmentStatus
	code   uint32
	delay  time.Duration
}

func (o *outcome) String() string {
	switch o.kind {
	case outStatus:
		return "2001 " + o.status.String()
	case outResult:
		return framing.ResultCode(o.code).String()
	case outExperimental:
		return s13.ExperimentalResultCode(o.code).String()
	}
	return "no answer"
}

// matches reports whether a completion is the expected one.
func (o *outcome) matches(a *s13.Answer, err error) bool {
	if o.kind == outDrop {
		return err != nil && classify(err) == errTimeout
	}
	if err != nil {
		return false
	}
	switch o.kind {
	case outStatus:
		return !a.HasExperimentalResult && a.ResultCode == framing.Success &&
			a.HasEquipmentStatus && a.EquipmentStatus == o.status
	case outResult:
		return !a.HasExperimentalResult && uint32(a.ResultCode) == o.code
	default:
		return a.HasExperimentalResult && uint32(a.ExperimentalResult.Code) == o.code
	}
}

func mismatchText(c *call, a *s13.Answer, err error) string {
	got := "error: "
	if err != nil {
		got += err.Error()
	} else {
		got = a.String()
	}
	return fmt.Sprintf("IMEI %s: expected %s, got %s", c.req.IMEI, c.expect.String(), got)
}

// expectedOutcome is what the EIR policy answers to imei. The embedded EIR decides with the same
// Policy; comparing its decision with what came back over the wire checks the whole path (ECR
// encoding, the responder, answer matching by Hop-by-Hop id, ECA decoding).
func expectedOutcome(p *eir.Policy, imei string) outcome {
	r := p.Lookup([]byte(imei))
	o := outcome{delay: r.Delay}
	switch r.Outcome {
	case eir.OutcomeWhitelisted:
		o.status = s13.Whitelisted
	case eir.OutcomeBlacklisted:
		o.status = s13.Blacklisted
	case eir.OutcomeGreylisted:
		o.status = s13.Greylisted
	case eir.OutcomeUnknown:
		o.kind, o.code = outExperimental, uint32(s13.EquipmentUnknown)
	case eir.OutcomeResult:
		o.kind, o.code = outResult, r.Code
		if r.Code == uint32(framing.Success) {
			o.kind, o.status = outStatus, s13.Whitelisted // AppendECA sends 2001 with Equipment-Status 0
		}
	case eir.OutcomeExperimental:
		o.kind, o.code = outExperimental, r.Code
	case eir.OutcomeDrop:
		o.kind = outDrop
	}
	return o
}
