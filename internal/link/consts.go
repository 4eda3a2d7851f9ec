package link

import "time"

// Constants both loops share, each declared once. engine, server and fsm keep their exported
// names as aliases of these.
const (
	// Tick is the resolution of a loop's timing wheel: timers fire at most about this late.
	Tick = 10 * time.Millisecond
	// MinDWRInterval is the floor of Tw: RFC 3539 §3.4.1, Tw MUST NOT be below 6 s.
	MinDWRInterval = 6 * time.Second
	// DefaultDWRInterval is Tw when none is configured: RFC 3539 §3.4.1 suggests 30 s.
	DefaultDWRInterval = 30 * time.Second
	// DefaultTwJitter is the ± around Tw each time it is armed (RFC 3539 §3.4.1: ±2 s).
	DefaultTwJitter = 2 * time.Second
	// DefaultConnectTimeout bounds a TCP connect (RFC 6733 Wait-Conn-Ack).
	DefaultConnectTimeout = 10 * time.Second
	// DefaultCEATimeout bounds the initiator's wait for the CEA to its CER (Wait-I-CEA).
	DefaultCEATimeout = 5 * time.Second
	// DefaultCERTimeout bounds the responder's wait for an accepted connection's CER.
	DefaultCERTimeout = 10 * time.Second
	// DefaultBackoffInitial is the first reconnect delay.
	DefaultBackoffInitial = 5 * time.Second
	// DefaultBackoffMultiplier is the growth of the reconnect delay per failed attempt.
	DefaultBackoffMultiplier = 1.5
	// DefaultBackoffMax caps the reconnect delay; it is also the wait after DPR BUSY.
	DefaultBackoffMax = 5 * time.Minute
	// DefaultProductName is the Product-Name of our CER and CEA.
	DefaultProductName = "diam-gw"
	// DefaultDPATimeout bounds the wait for the DPA to our DPR, on either side. RFC 6733 §5.4
	// leaves it to the implementation; 2 s is the client's long-standing value (the responder's
	// was 1 s), and both now wait the same.
	DefaultDPATimeout = 2 * time.Second
	// DefaultDPRGrace is how long a connection stays open after we answered the peer's DPR: the
	// DPR sender closes (RFC 6733 §5.4), but one that does not is not kept forever.
	DefaultDPRGrace = time.Second
)

// DefaultOriginStateID fills a zero Origin-State-Id with the start time in seconds: it must go
// up whenever the process restarts with its state lost (RFC 6733 §8.16), and the clock does.
func DefaultOriginStateID(id *uint32, now time.Time) {
	if *id == 0 {
		*id = uint32(now.Unix())
	}
}
