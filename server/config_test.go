package server_test

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewValidatesNamingTheField(t *testing.T) {
	base := func() server.Config { return server.Config{OriginHost: srvHost, OriginRealm: realm} }
	cases := []struct {
		field string
		edit  func(*server.Config)
	}{
		{"OriginHost", func(c *server.Config) { c.OriginHost = "" }},
		{"OriginRealm", func(c *server.Config) { c.OriginRealm = "" }},
		{"Listen", func(c *server.Config) { c.Listen = "127.0.0.1" }},
		{"Listen", func(c *server.Config) { c.Listen = "127.0.0.1:http" }},
		{"Listen", func(c *server.Config) { c.Listen = "127.0.0.1:70000" }},
		{"DWRInterval", func(c *server.Config) { c.DWRInterval = 5 * time.Second }},
		{"CERTimeout", func(c *server.Config) { c.CERTimeout = -1 }},
		{"DPATimeout", func(c *server.Config) { c.DPATimeout = -1 }},
		{"MaxMessageSize", func(c *server.Config) { c.MaxMessageSize = 100 }},
		{"MaxMessageSize", func(c *server.Config) { c.MaxMessageSize = 1 << 24 }},
		{"MaxOutboundBytes", func(c *server.Config) { c.MaxOutboundBytes = -1 }},
		{"MaxDelayedPerConn", func(c *server.Config) { c.MaxDelayedPerConn = -1 }},
		{"Loops", func(c *server.Config) { c.Loops = -1 }},
		{"Loops", func(c *server.Config) { c.Loops = server.MaxLoops + 1 }},
		{"DuplicateIdentity", func(c *server.Config) { c.DuplicateIdentity = 9 }},
		{"VendorSpecificApps[0]", func(c *server.Config) {
			c.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: 1, AcctAppID: 2}}
		}},
	}
	for _, c := range cases {
		cfg := base()
		c.edit(&cfg)
		_, err := server.New(cfg)
		require.Error(t, err, c.field)
		assert.ErrorIs(t, err, server.ErrInvalidConfig)
		var ce *server.ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, c.field, ce.Field)
		assert.Contains(t, err.Error(), c.field)
	}
}

func TestNewDefaults(t *testing.T) {
	before := uint32(time.Now().Unix())
	srv, err := server.New(server.Config{OriginHost: srvHost, OriginRealm: realm})
	require.NoError(t, err)
	cfg := srv.Config()
	assert.Equal(t, server.DefaultListen, cfg.Listen)
	assert.Equal(t, server.DefaultProductName, cfg.ProductName)
	assert.Equal(t, framing.Vendor3GPP, cfg.VendorID)
	assert.GreaterOrEqual(t, cfg.OriginStateID, before)
	assert.Equal(t, []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}, cfg.VendorSpecificApps)
	assert.Equal(t, []uint32{framing.Vendor3GPP}, cfg.SupportedVendorIDs)
	assert.Equal(t, server.DefaultDWRInterval, cfg.DWRInterval)
	assert.Equal(t, server.DefaultCERTimeout, cfg.CERTimeout)
	assert.Equal(t, server.DefaultDPATimeout, cfg.DPATimeout)
	assert.Equal(t, framing.DefaultMaxMessageSize, cfg.MaxMessageSize)
	assert.Equal(t, 1, cfg.Loops)
	assert.Equal(t, server.AllowDuplicates, cfg.DuplicateIdentity)
	assert.Nil(t, cfg.Handler)

	srv, err = server.New(server.Config{OriginHost: srvHost, OriginRealm: realm, DWRInterval: server.MinDWRInterval})
	require.NoError(t, err, "the minimum itself is fine")
	assert.Equal(t, server.MinDWRInterval, srv.Config().DWRInterval)
}

// Validate reports every bad field at once, each by its path, not just the first.
func TestValidateReportsEveryField(t *testing.T) {
	cfg := server.Config{
		Listen:             "127.0.0.1:http",
		DWRInterval:        time.Second,
		CERTimeout:         -1,
		MaxMessageSize:     100,
		Loops:              -1,
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}, {}},
	}
	err := cfg.Validate()
	require.ErrorIs(t, err, server.ErrInvalidConfig)
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *server.ConfigError
		require.ErrorAs(t, e, &ce)
		fields = append(fields, ce.Field)
	}
	assert.Equal(t, []string{"OriginHost", "OriginRealm", "Listen", "DWRInterval", "CERTimeout",
		"MaxMessageSize", "Loops", "VendorSpecificApps[1]"}, fields)
	ok := server.Config{OriginHost: srvHost, OriginRealm: realm, Listen: "127.0.0.1:0", DWRInterval: server.MinDWRInterval, MaxMessageSize: 4096}
	assert.NoError(t, ok.Validate())
}
