package faultproxy

import (
	"fmt"
	"time"
)

// Direction says which way a fault acts.
type Direction uint8

const (
	ToUpstream Direction = 1 << iota // bytes from the client to the upstream peer
	ToClient                         // bytes from the upstream peer to the client
	Both       = ToUpstream | ToClient
)

func (d Direction) String() string {
	switch d {
	case ToUpstream:
		return "to-upstream"
	case ToClient:
		return "to-client"
	case Both:
		return "both"
	}
	return fmt.Sprintf("direction(%d)", uint8(d))
}

// A Fault is one change to the proxy, applied by Proxy.Apply or at its time by a timeline.
type Fault struct {
	kind     faultKind
	dir      Direction
	delay    time.Duration // latency
	jitter   time.Duration // latency: up to this much more, uniformly
	size     int           // slicing: chunk size
	pause    time.Duration // slicing: between chunks
	rate     int           // bandwidth: bytes per second
	on       bool          // blackhole, refuse
	describe string
}

type faultKind uint8

const (
	kindLatency faultKind = iota + 1
	kindBlackhole
	kindSlice
	kindBandwidth
	kindRefuse
	kindClose
	kindReset
	kindHeal
	kindCut
)

// String names the fault, for test messages and event logs.
func (f Fault) String() string { return f.describe }

// Latency delays every chunk going dir by delay plus up to jitter more; order is kept. Zero
// delay and jitter remove it.
func Latency(dir Direction, delay, jitter time.Duration) Fault {
	return Fault{kind: kindLatency, dir: dir, delay: delay, jitter: jitter,
		describe: fmt.Sprintf("latency %v+%v %v", delay, jitter, dir)}
}

// Blackhole makes bytes going dir vanish while on; nothing is closed and the sender's writes
// succeed (a dead path: half-open TCP). Bytes read meanwhile are dropped for good.
func Blackhole(dir Direction, on bool) Fault {
	return Fault{kind: kindBlackhole, dir: dir, on: on, describe: fmt.Sprintf("blackhole %v %v", onOff(on), dir)}
}

// Slice forwards bytes going dir in writes of at most size bytes, pause apart; size 0 removes it.
func Slice(dir Direction, size int, pause time.Duration) Fault {
	return Fault{kind: kindSlice, dir: dir, size: size, pause: pause,
		describe: fmt.Sprintf("slice %d bytes / %v %v", size, pause, dir)}
}

// Bandwidth limits bytes going dir to bytesPerSecond; 0 removes the limit.
func Bandwidth(dir Direction, bytesPerSecond int) Fault {
	return Fault{kind: kindBandwidth, dir: dir, rate: bytesPerSecond,
		describe: fmt.Sprintf("bandwidth %d B/s %v", bytesPerSecond, dir)}
}

// Refuse, while on, accepts new connections and closes them at once (an upstream that is down);
// connections already proxied are not touched.
func Refuse(on bool) Fault {
	return Fault{kind: kindRefuse, on: on, describe: "refuse " + onOff(on)}
}

// CloseAll closes every current connection on both sides with a FIN.
func CloseAll() Fault { return Fault{kind: kindClose, describe: "close all (FIN)"} }

// ResetAll closes every current connection on both sides with an RST.
func ResetAll() Fault { return Fault{kind: kindReset, describe: "reset all (RST)"} }

// CutAfter resets (RST, both sides) the connection that forwards the n-th byte from now going
// dir, right after that byte: a cut at an exact place in the stream, inside a message when n
// says so. It fires once.
func CutAfter(dir Direction, n int) Fault {
	return Fault{kind: kindCut, dir: dir, size: n, describe: fmt.Sprintf("cut after %d bytes %v", n, dir)}
}

// Heal removes every standing fault: latency, blackhole, slicing, bandwidth, refuse.
func Heal() Fault { return Fault{kind: kindHeal, describe: "heal"} }

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// A Step is a fault at an offset from the start of a timeline.
type Step struct {
	At    time.Duration
	Fault Fault
}

// At is a Step: f, at offset d.
func At(d time.Duration, f Fault) Step { return Step{At: d, Fault: f} }

// For is two Steps: on at offset d, off (usually the same fault switched off, or Heal) at d+length.
func For(d, length time.Duration, on, off Fault) []Step {
	return []Step{{At: d, Fault: on}, {At: d + length, Fault: off}}
}

// An Event is a fault the proxy applied, and when.
type Event struct {
	Fault Fault
	At    time.Time
}
