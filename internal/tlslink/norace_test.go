//go:build !race

package tlslink

const raceEnabled = false
