package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/confcheck"
	"github.com/hsdfat8/diam-gw/internal/link"
)

// DuplicatePolicy says what a CER gets when its Origin-Host is already connected.
type DuplicatePolicy uint8

const (
	// AllowDuplicates accepts every connection whatever its Origin-Host (the default: load
	// generators often share one identity across connections).
	AllowDuplicates DuplicatePolicy = iota
	// RejectDuplicates answers a CER whose Origin-Host (compared case-insensitively) already has an
	// open connection with CEA 5012 DIAMETER_UNABLE_TO_COMPLY and closes it, as freeDiameter does;
	// the first connection is unaffected.
	RejectDuplicates
)

// Config configures a Server. Zero fields take the defaults below.
type Config struct {
	Listen      string // host:port; default "127.0.0.1:3868"; port 0 picks a free port (see Server.Addr)
	OriginHost  string // required
	OriginRealm string // required

	ProductName      string // default "diam-gw"
	VendorID         uint32 // our Vendor-Id in CEA; default 10415
	OriginStateID    uint32 // default: the Unix time at New
	FirmwareRevision uint32 // 0: not sent

	// The applications advertised in CEA. When all three are empty: S13 as
	// Vendor-Specific-Application-Id {10415, 16777252} with Supported-Vendor-Id 10415. A CER
	// that shares none of them (the client's Relay matches anything, and so does ours) gets 5010.
	AuthAppIDs         []uint32
	VendorSpecificApps []framing.VendorApp
	SupportedVendorIDs []uint32

	// Handler answers every request other than CER, DWR and DPR; nil answers each with an E-bit
	// 3001 DIAMETER_COMMAND_UNSUPPORTED.
	Handler Handler

	DWRInterval       time.Duration // Tw for our DWRs on idle connections; default 30 s, at least 6 s; ±2 s jitter
	CERTimeout        time.Duration // a connection that sends no CER within this is closed; default 10 s
	DPATimeout        time.Duration // how long Close waits for the DPAs to its DPRs; default 2 s
	MaxMessageSize    int           // largest accepted message; default 64 KiB
	MaxOutboundBytes  int           // unsent answer bytes above which a client that does not read is disconnected; default 16 MiB
	MaxDelayedPerConn int           // delayed answers pending per connection; more are dropped and counted; default 65536
	Loops             int           // gnet event loops; default 1 (leave the other core to the client)
	Logger            *slog.Logger  // connection events; default: discard
	// KeepGnetWorkerPool leaves gnet's process-wide goroutine pool running. By default Start
	// releases it: the server never submits to it, and its housekeeping wakes an idle process
	// several times a second. Keep it when other code in the process uses gnet's
	// EventLoop.Register or EventLoop.Enroll.
	KeepGnetWorkerPool bool

	// TLS, when set, makes the listener TLS-on-connect (RFC 6733 §13: TLS first, then CER/CEA
	// inside it); nil is plain TCP. It must carry a certificate (Certificates, GetCertificate
	// or GetConfigForClient); ClientAuth tls.RequireAndVerifyClientCert with ClientCAs demands
	// client certificates. The server uses a copy: MinVersion 0 becomes TLS 1.2. CERTimeout
	// bounds the handshake and the CER together. Not read after New.
	TLS *tls.Config

	// AllowOrigin, when set, is asked about every CER's Origin-Host; false answers 3010
	// DIAMETER_UNKNOWN_PEER (E-bit answer-message) and closes. Called on an event loop: must not
	// block.
	AllowOrigin func(originHost string) bool
	// DuplicateIdentity: see DuplicatePolicy; default AllowDuplicates.
	DuplicateIdentity DuplicatePolicy

	// twFloor lowers the 6 s minimum of DWRInterval; tests only (export_test.go).
	twFloor time.Duration
	// twJitter replaces the RFC's ±2 s around Tw; tests only, where Tw is a fraction of that.
	twJitter time.Duration
	// dprGrace is how long a connection stays after our DPA; tests only shorten it.
	dprGrace time.Duration
}

// Defaults; the ones the engine and fsm share are declared once in internal/link.
const (
	DefaultListen            = "127.0.0.1:3868"
	DefaultProductName       = link.DefaultProductName
	DefaultDWRInterval       = link.DefaultDWRInterval
	DefaultCERTimeout        = link.DefaultCERTimeout
	DefaultDPATimeout        = link.DefaultDPATimeout
	DefaultMaxOutboundBytes  = 16 << 20
	DefaultMaxDelayedPerConn = 65536
	MinDWRInterval           = link.MinDWRInterval // RFC 3539 §3.4.1: Tw MUST NOT be below 6 s
	// DPRGrace is how long a connection stays open after we answered the client's DPR: the DPR
	// sender closes (RFC 6733 §5.4), but a client that does not is not kept forever.
	DPRGrace = link.DefaultDPRGrace
	// MaxLoops bounds Config.Loops.
	MaxLoops = 256
)

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.ProductName == "" {
		c.ProductName = DefaultProductName
	}
	if c.VendorID == 0 {
		c.VendorID = framing.Vendor3GPP
	}
	if len(c.AuthAppIDs) == 0 && len(c.VendorSpecificApps) == 0 && len(c.SupportedVendorIDs) == 0 {
		c.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}
		c.SupportedVendorIDs = []uint32{framing.Vendor3GPP}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DWRInterval, DefaultDWRInterval)
	def(&c.CERTimeout, DefaultCERTimeout)
	def(&c.DPATimeout, DefaultDPATimeout)
	def(&c.dprGrace, DPRGrace)
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = framing.DefaultMaxMessageSize
	}
	if c.MaxOutboundBytes == 0 {
		c.MaxOutboundBytes = DefaultMaxOutboundBytes
	}
	if c.MaxDelayedPerConn == 0 {
		c.MaxDelayedPerConn = DefaultMaxDelayedPerConn
	}
	if c.Loops == 0 {
		c.Loops = 1
	}
}

// Validate reports every problem with the configuration, each a *ConfigError naming its field
// by path (VendorSpecificApps[0]), joined into one error that matches ErrInvalidConfig. It does
// not fill defaults; New does that first, so zero fields that have a default pass there. Safe for
// concurrent use on distinct Configs.
func (c *Config) Validate() error {
	ck := confcheck.New(ErrInvalidConfig)
	if c.OriginHost == "" {
		ck.Bad("OriginHost", "required")
	}
	if c.OriginRealm == "" {
		ck.Bad("OriginRealm", "required")
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		ck.Bad("Listen", "%v", err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		ck.Bad("Listen", "port %q is not a number in 0-65535", port)
	}
	floor := MinDWRInterval
	if c.twFloor > 0 {
		floor = c.twFloor
	}
	if c.DWRInterval < floor {
		ck.Bad("DWRInterval", "%v: below the RFC 3539 minimum of %v", c.DWRInterval, floor)
	}
	if c.CERTimeout < 0 {
		ck.Bad("CERTimeout", "%v: negative", c.CERTimeout)
	}
	if t := c.TLS; t != nil && len(t.Certificates) == 0 && t.GetCertificate == nil && t.GetConfigForClient == nil {
		ck.Bad("TLS", "no certificate: set Certificates, GetCertificate or GetConfigForClient")
	}
	if c.DPATimeout < 0 {
		ck.Bad("DPATimeout", "%v: negative", c.DPATimeout)
	}
	if c.MaxMessageSize < 1024 || c.MaxMessageSize > framing.MaxMessageLength {
		ck.Bad("MaxMessageSize", "%d: want 1024 to %d", c.MaxMessageSize, framing.MaxMessageLength)
	}
	if c.MaxOutboundBytes < 0 {
		ck.Bad("MaxOutboundBytes", "%d: negative", c.MaxOutboundBytes)
	}
	if c.MaxDelayedPerConn < 0 {
		ck.Bad("MaxDelayedPerConn", "%d: negative", c.MaxDelayedPerConn)
	}
	if c.Loops < 0 || c.Loops > MaxLoops {
		ck.Bad("Loops", "%d: want 1 to %d", c.Loops, MaxLoops)
	}
	if c.DuplicateIdentity > RejectDuplicates {
		ck.Bad("DuplicateIdentity", "unknown policy %d", c.DuplicateIdentity)
	}
	for i, v := range c.VendorSpecificApps {
		if v.VendorID == 0 || (v.AuthAppID == 0) == (v.AcctAppID == 0) {
			ck.Bad("VendorSpecificApps["+strconv.Itoa(i)+"]", "needs a Vendor-Id and exactly one of AuthAppID/AcctAppID")
		}
	}
	return ck.Err()
}
