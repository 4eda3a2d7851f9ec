package eir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// This file is the EIR's decision table: IMEI-prefix rules in the format of the freeDiameter test
// EIR's rule file (shared/peers/freediameter/conf/eir_rules.conf), so that one file drives both
// responders and a test can switch between them without translating anything:
//
//	<imei-prefix|*> <outcome> [delay_ms]     # first match wins; no match -> WHITELISTED
//
// The parser is stricter than freeDiameter's sscanf (a third token must be a number, a fourth is an
// error, a prefix must be digits): a typo there silently changes test outcomes, so it is reported
// with its line number instead.

// MaxRuleDelay bounds a rule's delay: a larger value is almost surely a typo (seconds written as
// milliseconds times a thousand) and would park answers for hours.
const MaxRuleDelay = time.Hour

// Outcome is what a rule does with a matching ECR.
type Outcome uint8

// Outcomes, named as in the rule file.
const (
	OutcomeWhitelisted  Outcome = iota // WHITELISTED: Result-Code 2001, Equipment-Status 0
	OutcomeBlacklisted                 // BLACKLISTED: Result-Code 2001, Equipment-Status 1
	OutcomeGreylisted                  // GREYLISTED: Result-Code 2001, Equipment-Status 2
	OutcomeUnknown                     // UNKNOWN: Experimental-Result {10415, 5422}
	OutcomeResult                      // RESULT=<n>: Result-Code n (a 3xxx code is an E-bit answer-message)
	OutcomeExperimental                // EXPERIMENTAL=<n>: Experimental-Result {10415, n}
	OutcomeDrop                        // DROP: no answer at all
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"WHITELISTED", "BLACKLISTED", "GREYLISTED", "UNKNOWN", "RESULT", "EXPERIMENTAL", "DROP"}

// String returns the rule-file keyword. Safe for concurrent use.
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Rule is one line of the rule file.
type Rule struct {
	Prefix   string        // IMEI prefix, 1 to 15 digits; "" is the catch-all "*"
	Outcome  Outcome       // what to answer
	Code     uint32        // Result-Code for OutcomeResult, Experimental-Result-Code for OutcomeExperimental
	Delay    time.Duration // answer delay, meaningful when HasDelay
	HasDelay bool          // the rule names a delay (even 0), which overrides the EIR's default delay
	Line     int           // line in the rule file (0 for the built-in default and hand-made rules)
}

// Verdict returns what s13.AppendECA encodes for r. A DROP rule has no answer (its Verdict would be
// WHITELISTED): callers check Outcome first. It allocates nothing; safe for concurrent use.
func (r *Rule) Verdict() s13.Verdict {
	switch r.Outcome {
	case OutcomeBlacklisted:
		return s13.Verdict{EquipmentStatus: s13.Blacklisted}
	case OutcomeGreylisted:
		return s13.Verdict{EquipmentStatus: s13.Greylisted}
	case OutcomeUnknown:
		return s13.Verdict{Experimental: s13.EquipmentUnknown}
	case OutcomeResult:
		return s13.Verdict{ResultCode: framing.ResultCode(r.Code)}
	case OutcomeExperimental:
		return s13.Verdict{Experimental: s13.ExperimentalResultCode(r.Code)}
	}
	return s13.Verdict{EquipmentStatus: s13.Whitelisted}
}

// String renders r as a rule-file line. Safe for concurrent use.
func (r Rule) String() string {
	var b strings.Builder
	if r.Prefix == "" {
		b.WriteString("*")
	} else {
		b.WriteString(r.Prefix)
	}
	b.WriteByte(' ')
	b.WriteString(r.Outcome.String())
	if r.Outcome == OutcomeResult || r.Outcome == OutcomeExperimental {
		b.WriteByte('=')
		b.WriteString(strconv.FormatUint(uint64(r.Code), 10))
	}
	if r.HasDelay {
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(r.Delay.Milliseconds(), 10))
	}
	return b.String()
}

// PolicyError names the rule that cannot be used. It wraps ErrPolicy.
type PolicyError struct {
	File   string // the path given to LoadPolicy; empty otherwise
	Line   int    // 1-based line of the rule file, or the 1-based position of a Rule given to NewPolicy
	Reason string
}

// Error renders the file, line and reason. Safe for concurrent use.
func (e *PolicyError) Error() string {
	where := "line " + strconv.Itoa(e.Line)
	if e.File != "" {
		where = e.File + ":" + strconv.Itoa(e.Line)
	}
	return "s13: EIR rules " + where + ": " + e.Reason
}

// Unwrap returns ErrPolicy. Safe for concurrent use.
func (e *PolicyError) Unwrap() error { return ErrPolicy }

// Policy maps an IMEI to a Rule: the first rule whose prefix the IMEI starts with, else the
// default (the "*" rule when the file has one, else WHITELISTED). A Policy is immutable once
// built, so Lookup is safe for concurrent use.
type Policy struct {
	rules []Rule // in file order
	def   Rule
	// trie indexes the rules before the first "*" (the ones that can match) by prefix digit, so
	// that a lookup costs one step per IMEI digit however many rules there are: a blacklist of
	// full IMEIs is a long file.
	trie []trieNode
}

type trieNode struct {
	next [10]int32 // child per digit; 0: none (the root is never a child)
	rule int32     // index+1 of the first rule with exactly this prefix; 0: none
}

// defaultRule is what an IMEI that no rule matches gets when the file has no "*" rule, as in
// freeDiameter's s13_eir.
var defaultRule = Rule{Outcome: OutcomeWhitelisted}

// NewPolicy builds a policy from rules in order (first match wins). A rule that cannot be used is
// a *PolicyError whose Line is the rule's position (1-based). Safe for concurrent use.
func NewPolicy(rules ...Rule) (*Policy, error) {
	for i := range rules {
		if reason := rules[i].check(); reason != "" {
			return nil, &PolicyError{Line: i + 1, Reason: reason}
		}
	}
	return buildPolicy(append([]Rule(nil), rules...)), nil
}

// DefaultPolicy answers every IMEI WHITELISTED at once. Safe for concurrent use.
func DefaultPolicy() *Policy { return buildPolicy(nil) }

// check returns why r cannot be used, or "".
func (r *Rule) check() string {
	if r.Prefix != "" {
		if len(r.Prefix) > s13.MaxIMEILen {
			return fmt.Sprintf("prefix %q is longer than an IMEI (%d digits): it can never match", r.Prefix, s13.MaxIMEILen)
		}
		for i := 0; i < len(r.Prefix); i++ {
			if c := r.Prefix[i]; c < '0' || c > '9' {
				return fmt.Sprintf("prefix %q is not decimal digits (or * for every IMEI)", r.Prefix)
			}
		}
	}
	switch {
	case r.Outcome >= numOutcomes:
		return fmt.Sprintf("unknown outcome %d", r.Outcome)
	case (r.Outcome == OutcomeResult || r.Outcome == OutcomeExperimental) && r.Code == 0:
		return r.Outcome.String() + " needs a non-zero code"
	case r.Delay < 0 || r.Delay > MaxRuleDelay:
		return fmt.Sprintf("delay %v out of range [0, %v]", r.Delay, MaxRuleDelay)
	}
	return ""
}

func buildPolicy(rules []Rule) *Policy {
	p := &Policy{rules: rules, def: defaultRule, trie: make([]trieNode, 1)}
	for i := range rules {
		r := &rules[i]
		if r.Prefix == "" {
			p.def = *r // matches everything: the rules after it are unreachable
			break
		}
		n := int32(0)
		for k := 0; k < len(r.Prefix); k++ {
			d := r.Prefix[k] - '0'
			if p.trie[n].next[d] == 0 {
				p.trie = append(p.trie, trieNode{})
				p.trie[n].next[d] = int32(len(p.trie) - 1)
			}
			n = p.trie[n].next[d]
		}
		if p.trie[n].rule == 0 { // a repeated prefix: the first one wins
			p.trie[n].rule = int32(i + 1)
		}
	}
	return p
}

// Lookup returns the rule for imei: the first rule (in file order) whose prefix imei starts with,
// else Default. It allocates nothing and is safe for concurrent use.
func (p *Policy) Lookup(imei []byte) Rule {
	best := int32(-1)
	n := int32(0)
	for _, c := range imei {
		if c < '0' || c > '9' {
			break
		}
		n = p.trie[n].next[c-'0']
		if n == 0 {
			break
		}
		// Nodes deeper in the walk hold longer prefixes, but "first match wins" is file order,
		// so keep the smallest rule index seen.
		if r := p.trie[n].rule; r != 0 && (best < 0 || r-1 < best) {
			best = r - 1
		}
	}
	if best >= 0 {
		return p.rules[best]
	}
	return p.def
}

// Default returns the rule for an IMEI that no prefix rule matches. Safe for concurrent use.
func (p *Policy) Default() Rule { return p.def }

// Rules returns a copy of the rules in file order. Safe for concurrent use.
func (p *Policy) Rules() []Rule { return append([]Rule(nil), p.rules...) }

// ParsePolicy reads a rule file: one rule a line, "<imei-prefix|*> <outcome> [delay_ms]"; blank
// lines and lines starting with # are skipped, and a token starting with # ends a line. Outcomes
// (case-insensitive): WHITELISTED, BLACKLISTED, GREYLISTED, UNKNOWN, RESULT=<n>,
// EXPERIMENTAL=<n>, DROP. The first problem is returned as a *PolicyError (wrapping ErrPolicy)
// naming its line; a read error is returned wrapped. Safe for concurrent use on distinct readers.
func ParsePolicy(r io.Reader) (*Policy, error) {
	return parsePolicy(r, "")
}

// LoadPolicy reads the rule file at path (see ParsePolicy). A *PolicyError names the path.
// Safe for concurrent use.
func LoadPolicy(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("s13: load EIR rules: %w", err)
	}
	defer f.Close()
	return parsePolicy(f, path)
}

func parsePolicy(r io.Reader, file string) (*Policy, error) {
	var rules []Rule
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff") // a byte-order mark some editors write
		}
		rule, ok, reason := parseRule(text)
		if reason != "" {
			return nil, &PolicyError{File: file, Line: line, Reason: reason}
		}
		if ok {
			rule.Line = line
			rules = append(rules, rule)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &PolicyError{File: file, Line: line + 1, Reason: "line too long"}
		}
		return nil, fmt.Errorf("s13: read EIR rules: %w", err)
	}
	return buildPolicy(rules), nil
}

// parseRule parses one line: ok is false for a blank or comment line, reason says what is wrong.
func parseRule(text string) (r Rule, ok bool, reason string) {
	fields := strings.Fields(text)
	for i, f := range fields {
		if strings.HasPrefix(f, "#") {
			fields = fields[:i]
			break
		}
	}
	switch len(fields) {
	case 0:
		return r, false, ""
	case 1:
		return r, false, fmt.Sprintf("want <imei-prefix|*> <outcome> [delay_ms], got only %q", fields[0])
	case 2, 3:
	default:
		return r, false, fmt.Sprintf("unexpected %q after the delay", fields[3])
	}
	if fields[0] != "*" {
		r.Prefix = fields[0]
	}
	if reason = parseOutcome(fields[1], &r); reason != "" {
		return r, false, reason
	}
	if len(fields) == 3 {
		ms, err := strconv.ParseUint(fields[2], 10, 32)
		if err != nil {
			return r, false, fmt.Sprintf("delay %q is not a number of milliseconds", fields[2])
		}
		r.Delay, r.HasDelay = time.Duration(ms)*time.Millisecond, true
	}
	if reason = r.check(); reason != "" {
		return r, false, reason
	}
	return r, true, ""
}

// parseOutcome fills r.Outcome and r.Code from an outcome token.
func parseOutcome(tok string, r *Rule) string {
	name, num, hasNum := strings.Cut(tok, "=")
	name = strings.ToUpper(name)
	for o := OutcomeWhitelisted; o < numOutcomes; o++ {
		if name != outcomeNames[o] {
			continue
		}
		wantNum := o == OutcomeResult || o == OutcomeExperimental
		switch {
		case wantNum && !hasNum:
			return fmt.Sprintf("%s needs a code: %s=<n>", name, name)
		case !wantNum && hasNum:
			return fmt.Sprintf("%s takes no code (got %q)", name, tok)
		}
		r.Outcome = o
		if wantNum {
			n, err := strconv.ParseUint(num, 10, 32)
			if err != nil || n == 0 {
				return fmt.Sprintf("%s code %q is not a positive 32-bit number", name, num)
			}
			r.Code = uint32(n)
		}
		return ""
	}
	return fmt.Sprintf("unknown outcome %q (want WHITELISTED, BLACKLISTED, GREYLISTED, UNKNOWN, RESULT=<n>, EXPERIMENTAL=<n> or DROP)", tok)
}
