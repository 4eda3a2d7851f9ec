//go:build race

package server_test

// The race detector changes allocation counts (sync.Pool drops items at random under -race), so
// allocation assertions are skipped with it.
const raceEnabled = true
