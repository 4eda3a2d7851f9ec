//go:build race

package framing_test

// raceEnabled shortens the virtual-time runs of id generators: under the race detector each
// call costs tens of times more.
const raceEnabled = true
