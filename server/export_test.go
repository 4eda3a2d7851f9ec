package server

import "time"

// SetTestWatchdog sets DWRInterval to tw, below the RFC 3539 minimum, so watchdog tests take
// milliseconds: the unexported floor is what lets New accept it.
func SetTestWatchdog(cfg *Config, tw time.Duration) {
	cfg.DWRInterval = tw
	cfg.twFloor = tw
}

// SetTestDPRGrace shortens how long a connection stays after our DPA.
func SetTestDPRGrace(cfg *Config, d time.Duration) { cfg.dprGrace = d }
