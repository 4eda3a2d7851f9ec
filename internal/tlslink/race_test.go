//go:build race

package tlslink

// The race detector changes allocation counts (sync.Pool drops items at random under -race).
const raceEnabled = true
