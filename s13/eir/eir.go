package eir

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// This file is the EIR as a request handler: ECR in, ECA (or nothing) out, decided by a Policy.
// Its ServeDiameter has the shape of server.Handler without importing the server package (the
// import points the other way), so a *Handler plugs straight into the responder.

// Handler answers ME-Identity-Check-Requests from a Policy. Build it with New. ServeDiameter and
// Stats are safe for concurrent use (several event loops may share one Handler).
type Handler struct {
	id     framing.Identity
	policy *Policy

	// The default delay, used when the matching rule names none: fixed when delayMin ==
	// delayMax, else uniform in [delayMin, delayMax] from a seeded counter-based generator.
	delayMin, delayMax time.Duration
	seed               uint64
	seq                atomic.Uint64

	outcomes      [numOutcomes]atomic.Uint64
	requestErrors atomic.Uint64
	unsupported   atomic.Uint64
	malformed     atomic.Uint64
}

// Option configures New.
type Option func(*Handler) error

// WithDelay delays every answer whose rule names no delay by d.
func WithDelay(d time.Duration) Option {
	return func(e *Handler) error {
		if d < 0 || d > MaxRuleDelay {
			return fmt.Errorf("%w: delay %v out of range [0, %v]", ErrConfig, d, MaxRuleDelay)
		}
		e.delayMin, e.delayMax = d, d
		return nil
	}
}

// WithRandomDelay delays every answer whose rule names no delay by a duration drawn uniformly
// from [min, max]; the same seed gives the same sequence of delays (in call order).
func WithRandomDelay(min, max time.Duration, seed uint64) Option {
	return func(e *Handler) error {
		if min < 0 || max < min || max > MaxRuleDelay {
			return fmt.Errorf("%w: random delay [%v, %v] (want 0 <= min <= max <= %v)", ErrConfig, min, max, MaxRuleDelay)
		}
		e.delayMin, e.delayMax, e.seed = min, max, seed
		return nil
	}
}

// New returns a Handler that answers as id (Origin-Host and Origin-Realm required) following p
// (nil: DefaultPolicy, every IMEI WHITELISTED). Errors wrap ErrConfig. Safe for concurrent
// use.
func New(id framing.Identity, p *Policy, opts ...Option) (*Handler, error) {
	switch {
	case id.OriginHost == "":
		return nil, fmt.Errorf("%w: empty Origin-Host", ErrConfig)
	case id.OriginRealm == "":
		return nil, fmt.Errorf("%w: empty Origin-Realm", ErrConfig)
	}
	if p == nil {
		p = DefaultPolicy()
	}
	e := &Handler{id: id, policy: p}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Policy returns the policy in use. Safe for concurrent use.
func (e *Handler) Policy() *Policy { return e.policy }

// Identity returns the identity the Handler answers as. Safe for concurrent use.
func (e *Handler) Identity() framing.Identity { return e.id }

// ServeDiameter answers one request (server.Handler). An ECR is decoded with s13.ParseECR: one
// it rejects is answered with s13.AppendRequestError (5xxx with Failed-AVP, or an E-bit 3xxx); a
// valid one gets the matching rule's answer via s13.AppendECA, or none for DROP, with the rule's
// delay or else the default delay. Any other request (command or application) gets an E-bit
// 3001 DIAMETER_COMMAND_UNSUPPORTED answer-message; an answer is never answered. It returns dst
// extended by the answer (dst itself for none). The ECR is decoded in place (s13.ParseECRInto).
// It allocates nothing for a valid ECR when dst has room for the answer, and is safe for
// concurrent use.
func (e *Handler) ServeDiameter(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
	if !h.IsRequest() {
		return dst, 0
	}
	if h.Code != s13.CommandCode || h.AppID != s13.AppID {
		// Checked here, not through ParseECR's ErrNotECR, which formats an error per call.
		e.unsupported.Add(1)
		return framing.AppendErrorFor(dst, msg, h, &e.id, framing.CommandUnsupported, ""), 0
	}
	var r s13.ECR
	if err := s13.ParseECRInto(msg, &r); err != nil {
		if re, ok := err.(*s13.RequestError); ok {
			e.requestErrors.Add(1)
			return s13.AppendRequestError(dst, &r, &e.id, re), 0
		}
		// Broken framing: the caller's splitter should have closed the stream already; there is
		// nothing trustworthy to answer.
		e.malformed.Add(1)
		return dst, 0
	}
	rule := e.policy.Lookup(r.IMEI)
	e.outcomes[rule.Outcome].Add(1)
	if rule.Outcome == OutcomeDrop {
		return dst, 0
	}
	v := rule.Verdict()
	delay := rule.Delay
	if !rule.HasDelay {
		delay = e.defaultDelay()
	}
	return s13.AppendECA(dst, &r, &e.id, &v), delay
}

// defaultDelay returns the configured default delay; a random one comes from SplitMix64 over an
// atomic counter, which is lock-free, allocation-free and reproducible from the seed.
func (e *Handler) defaultDelay() time.Duration {
	if e.delayMax == e.delayMin {
		return e.delayMin
	}
	x := e.seed + e.seq.Add(1)*0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	x ^= x >> 31
	// Lemire's multiply-shift maps x onto the span without a division.
	hi, _ := bits.Mul64(x, uint64(e.delayMax-e.delayMin)+1)
	return e.delayMin + time.Duration(hi)
}

// Stats counts what a Handler answered: one count per outcome of the matching rule, plus the
// requests it answered with an error.
type Stats struct {
	Whitelisted, Blacklisted, Greylisted uint64
	Unknown                              uint64 // Experimental-Result 5422
	Result                               uint64 // RESULT=<n> rules
	Experimental                         uint64 // EXPERIMENTAL=<n> rules
	Dropped                              uint64 // DROP rules: no answer sent
	RequestErrors                        uint64 // ECRs rejected by ParseECR (5xxx / 3008 answers)
	Unsupported                          uint64 // other requests, answered 3001
	Malformed                            uint64 // messages that were not whole Diameter messages
}

// Answered is the number of answers ServeDiameter produced. Safe for concurrent use.
func (s Stats) Answered() uint64 {
	return s.Whitelisted + s.Blacklisted + s.Greylisted + s.Unknown + s.Result + s.Experimental +
		s.RequestErrors + s.Unsupported
}

// Stats returns the counters. Safe for concurrent use; each field is read atomically, the set is
// not a single snapshot.
func (e *Handler) Stats() Stats {
	return Stats{
		Whitelisted:   e.outcomes[OutcomeWhitelisted].Load(),
		Blacklisted:   e.outcomes[OutcomeBlacklisted].Load(),
		Greylisted:    e.outcomes[OutcomeGreylisted].Load(),
		Unknown:       e.outcomes[OutcomeUnknown].Load(),
		Result:        e.outcomes[OutcomeResult].Load(),
		Experimental:  e.outcomes[OutcomeExperimental].Load(),
		Dropped:       e.outcomes[OutcomeDrop].Load(),
		RequestErrors: e.requestErrors.Load(),
		Unsupported:   e.unsupported.Load(),
		Malformed:     e.malformed.Load(),
	}
}
