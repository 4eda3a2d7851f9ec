package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
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
	Name           string         // label in statistics and errors; default: Address
	Address        string         // host:port, or host (Config.Port is added)
	Connections    int            // default: Config.ConnectionCount
	Priority       int            // 0 is the most preferred; higher values are used only when no DRA with a lower value has a usable connection
	Identity       IdentityPolicy // which Origin-Host each connection presents
	PeerOriginHost string         // when set, a CEA from any other Origin-Host is rejected
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
	CERTimeout        time.Duration // CEA wait; default 5 s
	DWRInterval       time.Duration // RFC 3539 Tw; default 30 s, at least 6 s; ±2 s jitter
	DWRTimeout        time.Duration // DWA wait before SUSPECT; 0 (default): Tw (RFC 3539 §3.4.1); may be shorter
	DPATimeout        time.Duration // our DPR's answer on Close; default 2 s
	ReconnectInterval time.Duration // first reconnect delay; default 5 s
	MaxReconnectDelay time.Duration // backoff cap, also used after DPR BUSY; default 5 min
	ReconnectBackoff  float64       // multiplier per failed attempt; default 1.5

	RequestTimeout   time.Duration // answer deadline when the caller gives none; default 5 s
	SendBufferSize   int           // inbox capacity (requests queued for the loop); default 16384
	MaxInFlight      int           // outstanding requests per connection; default 1024
	MaxMessageSize   int           // largest accepted message; default 64 KiB
	MaxOutboundBytes int           // unsent bytes (our batch plus gnet's buffer) above which a connection takes no new requests, and past which answering the peer's own requests resets it; default 4 MiB
	FragmentTimeout  time.Duration // how long a message may stay incomplete before the stream is reset; default 3 s
	FailoverLimit    int           // resends of one request after its connection failed; default 2, NoFailover for none
	EnableNagle      bool          // clear TCP_NODELAY; by default it is set
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

	// watchdogFloor lowers the 6 s minimum of DWRInterval; tests only (see export_test.go).
	watchdogFloor time.Duration
	// seed seeds jitter and identifiers; tests only (0: from the clock).
	seed uint64
	// noJitter turns the watchdog's ±2 s jitter off; tests only.
	noJitter bool
}

// Defaults.
const (
	DefaultPort              = 3868
	DefaultConnectionCount   = 5
	DefaultConnectTimeout    = 10 * time.Second
	DefaultCERTimeout        = 5 * time.Second
	DefaultDWRInterval       = 30 * time.Second
	DefaultDPATimeout        = link.DefaultDPATimeout
	DefaultReconnectInterval = 5 * time.Second
	DefaultMaxReconnectDelay = 5 * time.Minute
	DefaultReconnectBackoff  = 1.5
	DefaultRequestTimeout    = 5 * time.Second
	DefaultSendBufferSize    = 16384
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
	def(&c.CERTimeout, DefaultCERTimeout)
	def(&c.DWRInterval, DefaultDWRInterval)
	def(&c.DPATimeout, DefaultDPATimeout)
	def(&c.ReconnectInterval, DefaultReconnectInterval)
	def(&c.MaxReconnectDelay, DefaultMaxReconnectDelay)
	if c.ReconnectBackoff == 0 {
		c.ReconnectBackoff = DefaultReconnectBackoff
	}
	def(&c.RequestTimeout, DefaultRequestTimeout)
	defInt(&c.SendBufferSize, DefaultSendBufferSize)
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

// Validate reports every problem with the configuration, each naming its field, joined into one
// error that matches ErrInvalidConfig. It does not fill defaults; New does that first.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...)))
	}
	if err := checkIdentity(c.OriginHost); err != nil {
		bad("OriginHost", "%v", err)
	}
	if err := checkIdentity(c.OriginRealm); err != nil {
		bad("OriginRealm", "%v", err)
	}
	if c.DestinationRealm != "" {
		if err := checkIdentity(c.DestinationRealm); err != nil {
			bad("DestinationRealm", "%v", err)
		}
	}
	if c.DestinationHost != "" {
		if err := checkIdentity(c.DestinationHost); err != nil {
			bad("DestinationHost", "%v", err)
		}
	}
	for i, ip := range c.HostIPAddresses {
		if !ip.IsValid() {
			bad(fmt.Sprintf("HostIPAddresses[%d]", i), "not an IP address")
		}
	}
	if len(c.DRAs) == 0 {
		bad("DRAs", "at least one DRA is needed")
	}
	names := map[string]bool{}
	for i, d := range c.DRAs {
		f := fmt.Sprintf("DRAs[%d]", i)
		host, port, err := net.SplitHostPort(d.Address)
		switch {
		case d.Address == "":
			bad(f+".Address", "empty")
		case err != nil:
			bad(f+".Address", "%q: %v", d.Address, err)
		case host == "":
			bad(f+".Address", "%q: no host", d.Address)
		default:
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				bad(f+".Address", "%q: port must be 1-65535", d.Address)
			}
		}
		if d.Connections < 1 || d.Connections > 1000 {
			bad(f+".Connections", "%d: must be 1-1000", d.Connections)
		}
		if d.Priority < 0 {
			bad(f+".Priority", "%d: must be >= 0", d.Priority)
		}
		if d.Identity > IdentityPerConnection {
			bad(f+".Identity", "unknown policy %d", d.Identity)
		}
		if d.PeerOriginHost != "" {
			if err := checkIdentity(d.PeerOriginHost); err != nil {
				bad(f+".PeerOriginHost", "%v", err)
			}
		}
		if names[d.Name] {
			bad(f+".Name", "%q used twice", d.Name)
		}
		names[d.Name] = true
	}
	floor := MinDWRInterval
	if c.watchdogFloor > 0 {
		floor = c.watchdogFloor
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, "%v: must be positive", d)
		}
	}
	positive("ConnectTimeout", c.ConnectTimeout)
	positive("CERTimeout", c.CERTimeout)
	positive("DPATimeout", c.DPATimeout)
	positive("ReconnectInterval", c.ReconnectInterval)
	positive("RequestTimeout", c.RequestTimeout)
	positive("FragmentTimeout", c.FragmentTimeout)
	if c.DWRInterval < floor {
		bad("DWRInterval", "%v: must be at least %v (RFC 3539 §3.4.1)", c.DWRInterval, floor)
	}
	if c.DWRTimeout < 0 || c.DWRTimeout > c.DWRInterval {
		bad("DWRTimeout", "%v: must be 0 (Tw) or up to DWRInterval %v (RFC 3539 §3.4.1: SUSPECT when no DWA came within Tw)",
			c.DWRTimeout, c.DWRInterval)
	}
	if c.MaxReconnectDelay < c.ReconnectInterval {
		bad("MaxReconnectDelay", "%v: below ReconnectInterval %v", c.MaxReconnectDelay, c.ReconnectInterval)
	}
	if c.ReconnectBackoff < 1 {
		bad("ReconnectBackoff", "%v: must be at least 1", c.ReconnectBackoff)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("Port", "%d: must be 1-65535", c.Port)
	}
	if c.SendBufferSize < 1 || c.SendBufferSize > 1<<24 {
		bad("SendBufferSize", "%d: must be 1-16777216", c.SendBufferSize)
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > 1<<20 {
		bad("MaxInFlight", "%d: must be 1-1048576", c.MaxInFlight)
	}
	if c.MaxMessageSize < 1024 || c.MaxMessageSize > framing.MaxMessageLength {
		bad("MaxMessageSize", "%d: must be 1024-%d", c.MaxMessageSize, framing.MaxMessageLength)
	}
	if c.MaxOutboundBytes < 1 {
		bad("MaxOutboundBytes", "%d: must be positive", c.MaxOutboundBytes)
	}
	if c.FailoverLimit < NoFailover {
		bad("FailoverLimit", "%d: must be >= 0, or NoFailover", c.FailoverLimit)
	}
	if c.HealthInterval < 0 {
		bad("HealthInterval", "%v: must not be negative", c.HealthInterval)
	}
	if c.HealthInterval > 0 && c.HealthReport == nil {
		bad("HealthReport", "nil while HealthInterval is set")
	}
	return errors.Join(errs...)
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
