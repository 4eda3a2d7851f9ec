package link

import "time"

// Constants both loops share. engine and server keep their exported names as aliases of these.
const (
	// Tick is the resolution of a loop's timing wheel: timers fire at most about this late.
	Tick = 10 * time.Millisecond
	// MinDWRInterval is the floor of Tw: RFC 3539 §3.4.1, Tw MUST NOT be below 6 s.
	MinDWRInterval = 6 * time.Second
	// DefaultProductName is the Product-Name of our CER and CEA.
	DefaultProductName = "diam-gw"
	// DefaultDPATimeout bounds the wait for the DPA to our DPR, on either side. RFC 6733 §5.4
	// leaves it to the implementation; 2 s is the client's long-standing value (the responder's
	// was 1 s), and both now wait the same.
	DefaultDPATimeout = 2 * time.Second
)

// DefaultOriginStateID fills a zero Origin-State-Id with the start time in seconds: it must go
// up whenever the process restarts with its state lost (RFC 6733 §8.16), and the clock does.
func DefaultOriginStateID(id *uint32, now time.Time) {
	if *id == 0 {
		*id = uint32(now.Unix())
	}
}
