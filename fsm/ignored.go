package fsm

// ignoredPair lists, for one state of either role's table, the events that state deliberately
// has no row for, and why. Every (state, event) pair is a row or in such a list (the tests check).
type ignoredPair[S comparable] struct {
	State  S
	Events []EventKind
	Why    string
}

// whyIgnored looks (s, e) up in list.
func whyIgnored[S comparable](list []ignoredPair[S], s S, e EventKind) (string, bool) {
	for _, ig := range list {
		if ig.State != s {
			continue
		}
		for _, x := range ig.Events {
			if x == e {
				return ig.Why, true
			}
		}
	}
	return "", false
}
