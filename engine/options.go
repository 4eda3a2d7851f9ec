package engine

import (
	"log/slog"
	"net/netip"
	"time"
)

// Option changes a Config; New applies options after the Config it is given.
type Option func(*Config)

// WithOrigin sets our Origin-Host and Origin-Realm.
func WithOrigin(host, realm string) Option {
	return func(c *Config) { c.OriginHost, c.OriginRealm = host, realm }
}

// WithDestination sets the Destination-Realm and Destination-Host used when a request has none.
func WithDestination(realm, host string) Option {
	return func(c *Config) { c.DestinationRealm, c.DestinationHost = realm, host }
}

// WithDRA adds a DRA.
func WithDRA(d DRA) Option {
	return func(c *Config) { c.DRAs = append(c.DRAs, d) }
}

// WithConnectionCount sets the default number of connections per DRA.
func WithConnectionCount(n int) Option {
	return func(c *Config) { c.ConnectionCount = n }
}

// WithRequestTimeout sets the default answer deadline.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Config) { c.RequestTimeout = d }
}

// WithMaxInFlight sets the outstanding-request window of each connection.
func WithMaxInFlight(n int) Option {
	return func(c *Config) { c.MaxInFlight = n }
}

// WithInboxSize sets the inbox capacity (Config.InboxSize).
func WithInboxSize(n int) Option {
	return func(c *Config) { c.InboxSize = n }
}

// WithWatchdog sets Tw (DWRInterval) and the DWA wait (DWATimeout; 0 waits Tw, as RFC 3539).
func WithWatchdog(interval, timeout time.Duration) Option {
	return func(c *Config) { c.DWRInterval, c.DWATimeout = interval, timeout }
}

// WithReconnect sets the reconnect backoff: first delay, cap and multiplier.
func WithReconnect(initial, max time.Duration, multiplier float64) Option {
	return func(c *Config) {
		c.BackoffInitial, c.BackoffMax, c.BackoffMultiplier = initial, max, multiplier
	}
}

// WithTimeouts sets the connect, CEA and DPA timeouts.
func WithTimeouts(connect, cea, dpa time.Duration) Option {
	return func(c *Config) { c.ConnectTimeout, c.CEATimeout, c.DPATimeout = connect, cea, dpa }
}

// WithProduct sets Product-Name, Vendor-Id and Firmware-Revision of our CER.
func WithProduct(name string, vendorID, firmware uint32) Option {
	return func(c *Config) { c.ProductName, c.VendorID, c.FirmwareRevision = name, vendorID, firmware }
}

// WithHostIPAddresses sets the CER Host-IP-Address values instead of the socket's address.
func WithHostIPAddresses(ips ...netip.Addr) Option {
	return func(c *Config) { c.HostIPAddresses = ips }
}

// WithOriginStateID sets Origin-State-Id instead of the start time.
func WithOriginStateID(id uint32) Option {
	return func(c *Config) { c.OriginStateID = id }
}

// WithMaxMessageSize sets the largest message accepted from a peer.
func WithMaxMessageSize(n int) Option {
	return func(c *Config) { c.MaxMessageSize = n }
}

// WithFailoverLimit sets how many times a request may be resent after its connection failed;
// 0 means never (NoFailover).
func WithFailoverLimit(n int) Option {
	return func(c *Config) {
		if n == 0 {
			n = NoFailover
		}
		c.FailoverLimit = n
	}
}

// WithNagle turns Nagle's algorithm on (TCP_NODELAY off). Off by default.
func WithNagle(on bool) Option {
	return func(c *Config) { c.EnableNagle = on }
}

// WithLogger logs connection events (state changes, errors) to l.
func WithLogger(l *slog.Logger) Option {
	return func(c *Config) { c.Logger = l }
}

// WithHealthReport calls fn with a Snapshot every interval, on its own goroutine.
func WithHealthReport(interval time.Duration, fn func(Snapshot)) Option {
	return func(c *Config) { c.HealthInterval, c.HealthReport = interval, fn }
}
