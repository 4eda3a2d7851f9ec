package server

import "time"

// SetTestWatchdog sets DWRInterval to tw, below the RFC 3539 minimum, so watchdog tests take
// milliseconds: the unexported floor is what lets New accept it. The jitter is ±tw/4 (each Tw
// is still never below the floor, tw).
func SetTestWatchdog(cfg *Config, tw time.Duration) {
	cfg.DWRInterval = tw
	cfg.twFloor = tw
	cfg.twJitter = tw / 4
}

// SetTestDPRGrace shortens how long a connection stays after our DPA.
func SetTestDPRGrace(cfg *Config, d time.Duration) { cfg.dprGrace = d }
