package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/confcheck"
	"github.com/hsdfat8/diam-gw/internal/link"
)

// IdentityPolicy says which Origin-Host a DRA's connections present. RFC 6733 §2.1 allows one
// connection per peer identity and real DRAs enforce it (freeDiameter answers a second CER with
// the same Origin-Host with 5012), so several connections to one such DRA need an identity each.
type IdentityPolicy uint8

const (
	// SharedIdentity: every connection uses Config.OriginHost.
	SharedIdentity IdentityPolicy = iota
	// IdentityPerConnection: connection k (1-based) uses the first label of Config.OriginHost
	// with "-k" appended: gw.realm -> gw-1.realm, gw-2.realm, ...
	IdentityPerConnection
)

// DRA is one Diameter Routing Agent (or an EIR reached directly).
type DRA struct {
	Name            string         // label in statistics and errors; default: Address
	Address         string         // host:port, or host (Config.Port is added)
	Connections     int            // default: Config.ConnectionCount
	Priority        int            // 0 is the most preferred; higher values are used only when no DRA with a lower value has a usable connection
	Identity        IdentityPolicy // which Origin-Host each connection presents
	PeerOriginHost  string         // when set, a CEA from any other Origin-Host is rejected
	PeerOriginRealm string         // when set, a CEA from any other Origin-Realm is rejected
	// TLS, when set, runs the connections over TLS from the connect on (RFC 6733 §13: TLS
	// first, then CER/CEA inside it); nil is plain TCP. The engine uses a copy: MinVersion 0
	// becomes TLS 1.2, an empty ServerName becomes Address's host, and certificates are
	// verified unless the config itself sets InsecureSkipVerify (lab use only). CEATimeout
	// bounds the handshake and the CEA together. Not read after New.
	TLS *tls.Config
}

// Config configures an Engine. Start from DefaultConfig (or set the fields you need: New fills
// zero fields with the defaults below) and check it with Validate.
type Config struct {
	OriginHost  string // our DiameterIdentity, e.g. mme1.epc.mnc001.mcc001.3gppnetwork.org
	OriginRealm string
	// Defaults for requests that leave them empty.
	DestinationRealm string // default: OriginRealm
	DestinationHost  string

	ProductName      string       // default "diam-gw"
	VendorID         uint32       // our Vendor-Id in CER; default 10415
	HostIPAddresses  []netip.Addr // CER Host-IP-Address; default: the socket's local address
	OriginStateID    uint32       // default: the Unix time at New (it must grow across restarts)
	FirmwareRevision uint32       // 0: not sent

	DRAs            []DRA
	Port            int // added to DRA addresses without one; default 3868
	ConnectionCount int // connections per DRA by default; default 5

	ConnectTimeout    time.Duration // TCP connect; default 10 s
	CEATimeout        time.Duration // wait for the CEA to our CER; default 5 s
	DWRInterval       time.Duration // RFC 3539 Tw; default 30 s, at least 6 s; ±2 s jitter
	DWATimeout        time.Duration // DWA wait before SUSPECT; 0 (default): Tw (RFC 3539 §3.4.1); may be shorter
	DPATimeout        time.Duration // our DPR's answer on Close; default 2 s
	BackoffInitial    time.Duration // first reconnect delay; default 5 s
	BackoffMax        time.Duration // reconnect delay cap, also used after DPR BUSY; default 5 min
	BackoffMultiplier float64       // reconnect delay growth per failed attempt; default 1.5

	RequestTimeout   time.Duration // answer deadline when the caller gives none; default 5 s
	InboxSize        int           // inbox capacity: requests queued for the loop; default 16384
	MaxInFlight      int           // outstanding requests per connection; default 1024
	MaxMessageSize   int           // largest accepted message; default 64 KiB
	MaxOutboundBytes int           // unsent bytes (our batch plus gnet's buffer) above which a connection takes no new requests, and past which answering the peer's own requests resets it; default 4 MiB
	FragmentTimeout  time.Duration // how long a message may stay incomplete before the stream is reset; default 3 s
	FailoverLimit    int           // resends of one request after its connection failed; default 2, NoFailover for none
	EnableNagle      bool          // clear TCP_NODELAY; by default it is set
	// KeepGnetWorkerPool leaves gnet's process-wide goroutine pool running. By default Start
	// releases it: the engine never submits to it, and its housekeeping wakes an idle process
	// several times a second. Keep it when other code in the process uses gnet's
	// EventLoop.Register or EventLoop.Enroll.
	KeepGnetWorkerPool bool
	// DisableAlternateRetry stops the one resend, through another DRA, of a request that a DRA
	// answered with 3002 DIAMETER_UNABLE_TO_DELIVER or 3004 DIAMETER_TOO_BUSY.
	DisableAlternateRetry bool

	HealthInterval time.Duration // period of HealthReport; 0 disables it
	// HealthReport is called on its own goroutine every HealthInterval. It may call Close (which
	// then does the whole shutdown); a panic in it is recovered and counted, and after a
	// runtime.Goexit a new goroutine carries on the reports.
	HealthReport func(Snapshot)
	Logger       *slog.Logger // connection events; default: discard
	// OnStateChange is called on the event loop whenever a connection changes state (an
	// OTP-style event stream for monitoring and tests). It must not block; it may call Close,
	// which then returns ErrClosing at once. Panics and runtime.Goexit are handled as in a Go
	// callback.
	OnStateChange func(StateChange)

	// Deprecated: use CEATimeout. Still honoured, see the note after these fields.
	CERTimeout time.Duration
	// Deprecated: use DWATimeout.
	DWRTimeout time.Duration
	// Deprecated: use BackoffInitial.
	ReconnectInterval time.Duration
	// Deprecated: use BackoffMax.
	MaxReconnectDelay time.Duration
	// Deprecated: use BackoffMultiplier.
	ReconnectBackoff float64
	// Deprecated: use InboxSize.
	SendBufferSize int
	// A deprecated field above, when set, takes effect if its new field is zero or still holds
	// its default, so DefaultConfig followed by the old name works as before. New moves it into
	// the new field and clears it: Engine.Config and DefaultConfig report values under the new
	// names only, and a Config read back from Engine.Config means the same when passed to New.

	// watchdogFloor lowers the 6 s minimum of DWRInterval; tests only (see export_test.go).
	watchdogFloor time.Duration
	// seed seeds jitter and identifiers; tests only (0: from the clock).
	seed uint64
	// onHold is told, on the loop, when a connection's hold (peerreopen.go) begins or ends;
	// tests only, to await a connection's routability as OnStateChange awaits its state.
	onHold func(conn *ConnStats)
	// noJitter turns the watchdog's ±2 s jitter off; tests only.
	noJitter bool
}

// Defaults; the ones fsm and server share are declared once in internal/link.
const (
	DefaultPort              = 3868
	DefaultConnectionCount   = 5
	DefaultConnectTimeout    = link.DefaultConnectTimeout
	DefaultCEATimeout        = link.DefaultCEATimeout
	DefaultDWRInterval       = link.DefaultDWRInterval
	DefaultDPATimeout        = link.DefaultDPATimeout
	DefaultBackoffInitial    = link.DefaultBackoffInitial
	DefaultBackoffMax        = link.DefaultBackoffMax
	DefaultBackoffMultiplier = link.DefaultBackoffMultiplier
	DefaultRequestTimeout    = 5 * time.Second
	DefaultInboxSize         = 16384
	DefaultMaxInFlight       = 1024
	DefaultMaxOutboundBytes  = 4 << 20
	DefaultFailoverLimit     = 2
	DefaultFragmentTimeout   = 3 * time.Second
	DefaultProductName       = link.DefaultProductName
	MinDWRInterval           = link.MinDWRInterval // RFC 3539 §3.4.1: TwInit MUST NOT be below 6 s
	// NoFailover as FailoverLimit: a request whose connection fails is never resent (0 there
	// means the default, as for every other field).
	NoFailover = -1
)

// Deprecated defaults, the old names of the ones above.
const (
	// Deprecated: use DefaultCEATimeout.
	DefaultCERTimeout = DefaultCEATimeout
	// Deprecated: use DefaultBackoffInitial.
	DefaultReconnectInterval = DefaultBackoffInitial
	// Deprecated: use DefaultBackoffMax.
	DefaultMaxReconnectDelay = DefaultBackoffMax
	// Deprecated: use DefaultBackoffMultiplier.
	DefaultReconnectBackoff = DefaultBackoffMultiplier
	// Deprecated: use DefaultInboxSize.
	DefaultSendBufferSize = DefaultInboxSize
)

// DefaultConfig returns a Config with every default filled in and no identity or DRA.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	c.takeDeprecated()
	if c.DestinationRealm == "" {
		c.DestinationRealm = c.OriginRealm
	}
	if c.ProductName == "" {
		c.ProductName = DefaultProductName
	}
	if c.VendorID == 0 {
		c.VendorID = framing.Vendor3GPP
	}
	defInt(&c.Port, DefaultPort)
	defInt(&c.ConnectionCount, DefaultConnectionCount)
	def(&c.ConnectTimeout, DefaultConnectTimeout)
	def(&c.CEATimeout, DefaultCEATimeout)
	def(&c.DWRInterval, DefaultDWRInterval)
	def(&c.DPATimeout, DefaultDPATimeout)
	def(&c.BackoffInitial, DefaultBackoffInitial)
	def(&c.BackoffMax, DefaultBackoffMax)
	if c.BackoffMultiplier == 0 {
		c.BackoffMultiplier = DefaultBackoffMultiplier
	}
	def(&c.RequestTimeout, DefaultRequestTimeout)
	defInt(&c.InboxSize, DefaultInboxSize)
	defInt(&c.MaxInFlight, DefaultMaxInFlight)
	defInt(&c.MaxMessageSize, framing.DefaultMaxMessageSize)
	defInt(&c.MaxOutboundBytes, DefaultMaxOutboundBytes)
	defInt(&c.FailoverLimit, DefaultFailoverLimit)
	def(&c.FragmentTimeout, DefaultFragmentTimeout)
	for i := range c.DRAs {
		d := &c.DRAs[i]
		defInt(&d.Connections, c.ConnectionCount)
		if d.Address != "" {
			if _, _, err := net.SplitHostPort(d.Address); err != nil && !strings.Contains(d.Address, "]") {
				d.Address = net.JoinHostPort(d.Address, strconv.Itoa(c.Port))
			}
		}
		if d.Name == "" {
			d.Name = d.Address
		}
	}
}

// takeDeprecated moves each set deprecated field into its new one, unless the new one was given
// a value of its own (anything but zero or its default), and clears the deprecated ones.
func (c *Config) takeDeprecated() {
	take(&c.CEATimeout, c.CERTimeout, DefaultCEATimeout)
	take(&c.DWATimeout, c.DWRTimeout, 0)
	take(&c.BackoffInitial, c.ReconnectInterval, DefaultBackoffInitial)
	take(&c.BackoffMax, c.MaxReconnectDelay, DefaultBackoffMax)
	take(&c.BackoffMultiplier, c.ReconnectBackoff, DefaultBackoffMultiplier)
	take(&c.InboxSize, c.SendBufferSize, DefaultInboxSize)
	c.CERTimeout, c.DWRTimeout, c.SendBufferSize = 0, 0, 0
	c.ReconnectInterval, c.MaxReconnectDelay, c.ReconnectBackoff = 0, 0, 0
}

func take[T comparable](field *T, deprecated, def T) {
	var zero T
	if deprecated != zero && (*field == zero || *field == def) {
		*field = deprecated
	}
}

// Validate reports every problem with the configuration, each a *ConfigError naming its field
// by path (DRAs[1].Address), joined into one error that matches ErrInvalidConfig; the server's
// Validate has the same shape. It does not fill defaults; New does that first. Safe for
// concurrent use on distinct Configs.
func (c *Config) Validate() error {
	ck := confcheck.New(ErrInvalidConfig)
	c.checkIdentities(ck)
	c.checkDRAs(ck)
	c.checkTimers(ck)
	c.checkLimits(ck)
	c.checkHooks(ck)
	return ck.Err()
}

// checkIdentities: what our CER says about us, and the request defaults.
func (c *Config) checkIdentities(ck *confcheck.Checker) {
	identityField(ck, "OriginHost", c.OriginHost)
	identityField(ck, "OriginRealm", c.OriginRealm)
	optionalIdentityField(ck, "DestinationRealm", c.DestinationRealm)
	optionalIdentityField(ck, "DestinationHost", c.DestinationHost)
	hostIPsField(ck, c.HostIPAddresses)
}

// checkDRAs: where we connect, and with how many connections.
func (c *Config) checkDRAs(ck *confcheck.Checker) {
	if len(c.DRAs) == 0 {
		ck.Bad("DRAs", "at least one DRA is needed")
	}
	names := map[string]bool{}
	for i, d := range c.DRAs {
		f := draPath(i)
		checkDRA(ck, f, d, true)
		if names[d.Name] {
			ck.Bad(f+".Name", "%q used twice", d.Name)
		}
		names[d.Name] = true
	}
	intField(ck, "Port", c.Port, 1, 65535)
}

// checkTimers: every timeout, the watchdog (RFC 3539) and the reconnect backoff.
func (c *Config) checkTimers(ck *confcheck.Checker) {
	positiveField(ck, "ConnectTimeout", c.ConnectTimeout)
	positiveField(ck, "CEATimeout", c.CEATimeout)
	positiveField(ck, "DPATimeout", c.DPATimeout)
	positiveField(ck, "BackoffInitial", c.BackoffInitial)
	positiveField(ck, "RequestTimeout", c.RequestTimeout)
	positiveField(ck, "FragmentTimeout", c.FragmentTimeout)
	watchdogFields(ck, c.DWRInterval, c.DWATimeout, c.dwrFloor())
	backoffFields(ck, c.BackoffInitial, c.BackoffMax, c.BackoffMultiplier)
}

// checkLimits: the sizes that bound memory per engine and per connection.
func (c *Config) checkLimits(ck *confcheck.Checker) {
	intField(ck, "InboxSize", c.InboxSize, 1, 1<<24)
	intField(ck, "MaxInFlight", c.MaxInFlight, 1, 1<<20)
	intField(ck, "MaxMessageSize", c.MaxMessageSize, 1024, framing.MaxMessageLength)
	if c.MaxOutboundBytes < 1 {
		ck.Bad("MaxOutboundBytes", "%d: must be positive", c.MaxOutboundBytes)
	}
	failoverField(ck, c.FailoverLimit)
}

// checkHooks: the callbacks and their periods.
func (c *Config) checkHooks(ck *confcheck.Checker) {
	healthFields(ck, c.HealthInterval, c.HealthReport)
}

// The field checks below serve Validate and the options alike, so both say the same.

func (c *Config) dwrFloor() time.Duration {
	if c.watchdogFloor > 0 {
		return c.watchdogFloor
	}
	return MinDWRInterval
}

func draPath(i int) string { return "DRAs[" + strconv.Itoa(i) + "]" }

func identityField(ck *confcheck.Checker, field, s string) {
	if err := checkIdentity(s); err != nil {
		ck.Bad(field, "%v", err)
	}
}

func optionalIdentityField(ck *confcheck.Checker, field, s string) {
	if s != "" {
		identityField(ck, field, s)
	}
}

func hostIPsField(ck *confcheck.Checker, ips []netip.Addr) {
	for i, ip := range ips {
		if !ip.IsValid() {
			ck.Bad("HostIPAddresses["+strconv.Itoa(i)+"]", "not an IP address")
		}
	}
}

// checkDRA checks one DRA at path f. Before New's defaults (filled false, for WithDRA) an
// address may still lack its port and Connections may be 0.
func checkDRA(ck *confcheck.Checker, f string, d DRA, filled bool) {
	host, port, err := net.SplitHostPort(d.Address)
	switch {
	case d.Address == "":
		ck.Bad(f+".Address", "empty")
	case !filled:
	case err != nil:
		ck.Bad(f+".Address", "%q: %v", d.Address, err)
	case host == "":
		ck.Bad(f+".Address", "%q: no host", d.Address)
	default:
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			ck.Bad(f+".Address", "%q: port must be 1-65535", d.Address)
		}
	}
	if filled || d.Connections != 0 {
		intField(ck, f+".Connections", d.Connections, 1, 1000)
	}
	if d.Priority < 0 {
		ck.Bad(f+".Priority", "%d: must be >= 0", d.Priority)
	}
	if d.Identity > IdentityPerConnection {
		ck.Bad(f+".Identity", "unknown policy %d", d.Identity)
	}
	optionalIdentityField(ck, f+".PeerOriginHost", d.PeerOriginHost)
	optionalIdentityField(ck, f+".PeerOriginRealm", d.PeerOriginRealm)
}

func intField(ck *confcheck.Checker, field string, n, lo, hi int) {
	if n < lo || n > hi {
		ck.Bad(field, "%d: must be %d-%d", n, lo, hi)
	}
}

func positiveField(ck *confcheck.Checker, field string, d time.Duration) {
	if d <= 0 {
		ck.Bad(field, "%v: must be positive", d)
	}
}

func watchdogFields(ck *confcheck.Checker, interval, timeout, floor time.Duration) {
	if interval < floor {
		ck.Bad("DWRInterval", "%v: must be at least %v (RFC 3539 §3.4.1)", interval, floor)
	}
	if timeout < 0 || timeout > interval {
		ck.Bad("DWATimeout", "%v: must be 0 (Tw) or up to DWRInterval %v (RFC 3539 §3.4.1: SUSPECT when no DWA came within Tw)",
			timeout, interval)
	}
}

func backoffFields(ck *confcheck.Checker, initial, max time.Duration, multiplier float64) {
	if max < initial {
		ck.Bad("BackoffMax", "%v: below BackoffInitial %v", max, initial)
	}
	if multiplier < 1 {
		ck.Bad("BackoffMultiplier", "%v: must be at least 1", multiplier)
	}
}

func failoverField(ck *confcheck.Checker, n int) {
	if n < NoFailover {
		ck.Bad("FailoverLimit", "%d: must be >= 0, or NoFailover", n)
	}
}

func healthFields(ck *confcheck.Checker, interval time.Duration, fn func(Snapshot)) {
	if interval < 0 {
		ck.Bad("HealthInterval", "%v: must not be negative", interval)
	}
	if interval > 0 && fn == nil {
		ck.Bad("HealthReport", "nil while HealthInterval is set")
	}
}

// checkIdentity accepts a DiameterIdentity: non-empty printable ASCII without spaces (RFC 6733
// §4.3.1: an FQDN or realm).
func checkIdentity(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > 255 {
		return fmt.Errorf("%q: longer than 255 octets", s)
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("%q: byte %d is not printable ASCII", s, i)
		}
	}
	return nil
}

// ConnectionIdentity returns the Origin-Host that connection k (1-based) of a DRA with policy p
// presents: originHost itself, or its first label with -k appended.
func ConnectionIdentity(originHost string, p IdentityPolicy, k int) string {
	if p != IdentityPerConnection {
		return originHost
	}
	label, rest, found := strings.Cut(originHost, ".")
	s := label + "-" + strconv.Itoa(k)
	if found {
		s += "." + rest
	}
	return s
}
