package main

import (
	"fmt"
	"slices"
	"strings"
)

// selftest = run against an embedded EIR whose built-in rules exercise every outcome class,
// with an IMEI mix that hits each rule (see selftestRules and selftestMix), then checks that the
// books balance and that every answer is the one the policy dictates for its IMEI.

// rulesText is the policy text of the embedded EIR when no --rules file is given.
func (o *runOpts) rulesText() string {
	if o.selftest && o.rules == "" {
		return selftestRules
	}
	return ""
}

// selftestRules exercises every outcome class but DROP (which would only add --timeout to the
// run); selftestMix sends most IMEIs to the default and a small share to each rule.
const selftestRules = `# diamload selftest policy (eir_rules.conf format)
99000001 BLACKLISTED
99000002 GREYLISTED
99000003 UNKNOWN
99000004 RESULT=5012
99000005 RESULT=3004
*        WHITELISTED
`

var selftestMix = []mixEntry{
	{"35209900xxxxxx", 90},
	{"99000001xxxxxx", 2},
	{"99000002xxxxxx", 2},
	{"99000003xxxxxx", 2},
	{"99000004xxxxxx", 2},
	{"99000005xxxxxx", 2},
}

// addSelftestChecks adds the selftest's pass conditions to the report; overTLS is --tls.
func addSelftestChecks(rp *report, overTLS bool) {
	rp.addCheck("answers", rp.Answers > 0, fmt.Sprintf("%d answers", rp.Answers))
	rp.addCheck("all-checked", rp.ExpectationsChecked == rp.Requests,
		fmt.Sprintf("%d of %d requests completed and compared with the policy (refused requests are not)", rp.ExpectationsChecked, rp.Requests))
	detail := fmt.Sprintf("%d answers differ from the policy", rp.ExpectationMismatches)
	if rp.FirstMismatch != "" {
		detail += "; first: " + rp.FirstMismatch
	}
	rp.addCheck("expected-outcomes", rp.ExpectationMismatches == 0, detail)
	rp.addCheck("clean-close", rp.CloseError == "", "client close: "+dash(rp.CloseError))
	rp.addTransportCheck(overTLS)
}

// addTransportCheck checks that every connection ran over the transport asked for, as its
// handshake reported it (engine.ConnStats.TLS), so a --tls that fell back to TCP fails.
func (rp *report) addTransportCheck(overTLS bool) {
	var agreed []string
	n := 0
	for _, c := range rp.Connections {
		if (c.TLS != "") == overTLS {
			n++
		}
		if c.TLS != "" && !slices.Contains(agreed, c.TLS) {
			agreed = append(agreed, c.TLS)
		}
	}
	ok := len(rp.Connections) > 0 && n == len(rp.Connections)
	if !overTLS {
		rp.addCheck("transport", ok, fmt.Sprintf("%d of %d connections over TCP", n, len(rp.Connections)))
		return
	}
	rp.addCheck("transport", ok, fmt.Sprintf("%d of %d connections over TLS (%s)", n, len(rp.Connections), dash(strings.Join(agreed, ", "))))
}
