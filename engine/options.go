package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/confcheck"
)

// Option changes a Config; New applies options, in order, after the Config it is given, and
// stops at the first that returns an error. Each option below checks what it can without the
// defaults (the rest waits for Validate) and reports a bad value as a *ConfigError naming the
// field; New returns an option's error wrapped with ErrInvalidConfig. There is an option for
// every Config field. An Option is a plain function: safe for concurrent use on distinct
// Configs.
type Option func(*Config) error

// applyOptions applies opts to c in order and returns the first error, matching
// ErrInvalidConfig: a nil Option is one, and an error of the caller's own Option that does not
// match it yet is wrapped.
func applyOptions(c *Config, opts []Option) error {
	for i, o := range opts {
		if o == nil {
			return &ConfigError{Sentinel: ErrInvalidConfig, Field: "opts[" + strconv.Itoa(i) + "]", Reason: "nil Option"}
		}
		if err := o(c); err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				err = fmt.Errorf("%w: %w", ErrInvalidConfig, err)
			}
			return err
		}
	}
	return nil
}

// option builds an Option from a body that sets fields and records bad values in ck, with the
// same field checks Validate uses.
func option(body func(ck *confcheck.Checker, c *Config)) Option {
	return func(c *Config) error {
		ck := confcheck.New(ErrInvalidConfig)
		body(ck, c)
		return ck.Err()
	}
}

// WithOrigin sets our Origin-Host and Origin-Realm (OriginHost, OriginRealm).
func WithOrigin(host, realm string) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		identityField(ck, "OriginHost", host)
		identityField(ck, "OriginRealm", realm)
		c.OriginHost, c.OriginRealm = host, realm
	})
}

// WithDestination sets the Destination-Realm and Destination-Host used when a request has none
// (DestinationRealm, DestinationHost); empty leaves a default.
func WithDestination(realm, host string) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		optionalIdentityField(ck, "DestinationRealm", realm)
		optionalIdentityField(ck, "DestinationHost", host)
		c.DestinationRealm, c.DestinationHost = realm, host
	})
}

// WithDRA adds a DRA (DRAs). Its address may leave out the port (Config.Port is added).
func WithDRA(d DRA) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		checkDRA(ck, draPath(len(c.DRAs)), d, false)
		c.DRAs = append(c.DRAs, d)
	})
}

// WithPort sets the port added to DRA addresses that have none (Port).
func WithPort(port int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		intField(ck, "Port", port, 1, 65535)
		c.Port = port
	})
}

// WithConnectionCount sets the default number of connections per DRA (ConnectionCount).
func WithConnectionCount(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		intField(ck, "ConnectionCount", n, 1, 1000)
		c.ConnectionCount = n
	})
}

// WithRequestTimeout sets the default answer deadline (RequestTimeout).
func WithRequestTimeout(d time.Duration) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		positiveField(ck, "RequestTimeout", d)
		c.RequestTimeout = d
	})
}

// WithMaxInFlight sets the outstanding-request window of each connection (MaxInFlight).
func WithMaxInFlight(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		intField(ck, "MaxInFlight", n, 1, 1<<20)
		c.MaxInFlight = n
	})
}

// WithInboxSize sets the inbox capacity: requests queued for the loop (InboxSize).
func WithInboxSize(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		intField(ck, "InboxSize", n, 1, 1<<24)
		c.InboxSize = n
	})
}

// WithWatchdog sets Tw (DWRInterval) and the DWA wait (DWATimeout; 0 waits Tw, as RFC 3539).
func WithWatchdog(interval, timeout time.Duration) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		watchdogFields(ck, interval, timeout, c.dwrFloor())
		c.DWRInterval, c.DWATimeout = interval, timeout
	})
}

// WithReconnect sets the reconnect backoff: first delay, cap and multiplier (BackoffInitial,
// BackoffMax, BackoffMultiplier).
func WithReconnect(initial, max time.Duration, multiplier float64) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		positiveField(ck, "BackoffInitial", initial)
		backoffFields(ck, initial, max, multiplier)
		c.BackoffInitial, c.BackoffMax, c.BackoffMultiplier = initial, max, multiplier
	})
}

// WithTimeouts sets the connect, CEA and DPA timeouts (ConnectTimeout, CEATimeout, DPATimeout).
func WithTimeouts(connect, cea, dpa time.Duration) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		positiveField(ck, "ConnectTimeout", connect)
		positiveField(ck, "CEATimeout", cea)
		positiveField(ck, "DPATimeout", dpa)
		c.ConnectTimeout, c.CEATimeout, c.DPATimeout = connect, cea, dpa
	})
}

// WithFragmentTimeout sets how long a message may stay incomplete before the stream is reset
// (FragmentTimeout).
func WithFragmentTimeout(d time.Duration) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		positiveField(ck, "FragmentTimeout", d)
		c.FragmentTimeout = d
	})
}

// WithProduct sets Product-Name, Vendor-Id and Firmware-Revision of our CER (ProductName,
// VendorID, FirmwareRevision); zero values leave the defaults.
func WithProduct(name string, vendorID, firmware uint32) Option {
	return option(func(_ *confcheck.Checker, c *Config) {
		c.ProductName, c.VendorID, c.FirmwareRevision = name, vendorID, firmware
	})
}

// WithHostIPAddresses sets the CER Host-IP-Address values instead of the socket's address
// (HostIPAddresses).
func WithHostIPAddresses(ips ...netip.Addr) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		hostIPsField(ck, ips)
		c.HostIPAddresses = ips
	})
}

// WithOriginStateID sets Origin-State-Id instead of the start time (OriginStateID).
func WithOriginStateID(id uint32) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.OriginStateID = id })
}

// WithMaxMessageSize sets the largest message accepted from a peer (MaxMessageSize).
func WithMaxMessageSize(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		intField(ck, "MaxMessageSize", n, 1024, framing.MaxMessageLength)
		c.MaxMessageSize = n
	})
}

// WithMaxOutboundBytes sets the unsent bytes above which a connection takes no new requests
// (MaxOutboundBytes).
func WithMaxOutboundBytes(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		if n < 1 {
			ck.Bad("MaxOutboundBytes", "%d: must be positive", n)
		}
		c.MaxOutboundBytes = n
	})
}

// WithFailoverLimit sets how many times a request may be resent after its connection failed
// (FailoverLimit); 0 means never (NoFailover).
func WithFailoverLimit(n int) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		if n == 0 {
			n = NoFailover
		}
		failoverField(ck, n)
		c.FailoverLimit = n
	})
}

// WithNagle turns Nagle's algorithm on (TCP_NODELAY off; EnableNagle). Off by default.
func WithNagle(on bool) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.EnableNagle = on })
}

// WithGnetWorkerPool keeps gnet's process-wide goroutine pool running (KeepGnetWorkerPool) when
// keep is true; by default Start releases it.
func WithGnetWorkerPool(keep bool) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.KeepGnetWorkerPool = keep })
}

// WithAlternateRetry turns the one resend through another DRA of a request answered 3002 or
// 3004 on or off (the inverse of DisableAlternateRetry). On by default.
func WithAlternateRetry(on bool) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.DisableAlternateRetry = !on })
}

// WithLogger logs connection events (state changes, errors) to l (Logger).
func WithLogger(l *slog.Logger) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.Logger = l })
}

// WithHealthReport calls fn with a Snapshot every interval, on its own goroutine
// (HealthInterval, HealthReport); interval 0 turns it off.
func WithHealthReport(interval time.Duration, fn func(Snapshot)) Option {
	return option(func(ck *confcheck.Checker, c *Config) {
		healthFields(ck, interval, fn)
		c.HealthInterval, c.HealthReport = interval, fn
	})
}

// WithStateChange calls fn on the event loop at every connection state change
// (OnStateChange; see there for what fn may do).
func WithStateChange(fn func(StateChange)) Option {
	return option(func(_ *confcheck.Checker, c *Config) { c.OnStateChange = fn })
}
