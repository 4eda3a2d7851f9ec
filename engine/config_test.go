package engine

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, 3868, c.Port)
	assert.Equal(t, uint32(10415), c.VendorID)
	assert.Equal(t, 5, c.ConnectionCount)
	assert.Equal(t, 10*time.Second, c.ConnectTimeout)
	assert.Equal(t, 5*time.Second, c.CEATimeout)
	assert.Equal(t, 30*time.Second, c.DWRInterval)
	assert.Zero(t, c.DWATimeout, "the DWA wait is Tw (RFC 3539 §3.4.1)")
	assert.Equal(t, 5*time.Second, c.BackoffInitial)
	assert.Equal(t, 5*time.Minute, c.BackoffMax)
	assert.Equal(t, 1.5, c.BackoffMultiplier)
	assert.Equal(t, 5*time.Second, c.RequestTimeout)
	assert.Equal(t, 64<<10, c.MaxMessageSize)
}

func TestNewFillsDefaultsAndPort(t *testing.T) {
	e, err := New(Config{OriginHost: "gw.example", OriginRealm: "example"}, WithDRA(DRA{Address: "dra1.example"}),
		WithDRA(DRA{Address: "10.0.0.2:3870", Name: "second", Connections: 2}))
	require.NoError(t, err)
	cfg := e.Config()
	assert.Equal(t, "dra1.example:3868", cfg.DRAs[0].Address, "default port added")
	assert.Equal(t, "dra1.example:3868", cfg.DRAs[0].Name)
	assert.Equal(t, 5, cfg.DRAs[0].Connections)
	assert.Equal(t, 2, cfg.DRAs[1].Connections)
	assert.Equal(t, "example", cfg.DestinationRealm, "requests default to our realm")
	assert.Len(t, e.Stats().Conns, 7)
	require.NoError(t, e.Close(ctxT(t, time.Second)))
}

// Every invalid field is reported, by name, in one error matching ErrInvalidConfig.
func TestValidateNamesFields(t *testing.T) {
	c := Config{
		OriginHost:      "bad host",
		DRAs:            []DRA{{Address: "nohost:"}, {Address: "h:99999", Connections: -1, Priority: -1}, {Address: "h:1", Name: "x"}, {Address: "h:2", Name: "x"}},
		DWRInterval:     time.Second,
		MaxInFlight:     -5,
		HealthInterval:  time.Second,
		HostIPAddresses: []netip.Addr{{}},
	}
	c.setDefaults()
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalidConfig)
	for _, field := range []string{"OriginHost", "OriginRealm", "DRAs[0].Address", "DRAs[1].Address", "DRAs[1].Connections",
		"DRAs[1].Priority", "DRAs[3].Name", "DWRInterval", "MaxInFlight", "HealthReport", "HostIPAddresses[0]"} {
		assert.Contains(t, err.Error(), field+":")
	}
	_, err = New(Config{})
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.True(t, strings.Contains(err.Error(), "DRAs: at least one DRA"), err.Error())
}

// DWATimeout may shorten the DWA wait below Tw, never lengthen it; 0 is Tw.
func TestValidateDWRTimeout(t *testing.T) {
	for _, tc := range []struct {
		dwa time.Duration
		ok  bool
	}{{0, true}, {time.Second, true}, {30 * time.Second, true}, {30*time.Second + 1, false}, {-1, false}} {
		c := testConfig("127.0.0.1:1")
		c.DWRInterval, c.DWATimeout = 30*time.Second, tc.dwa
		c.setDefaults()
		err := c.Validate()
		if tc.ok {
			assert.NoError(t, err, "%v", tc.dwa)
		} else {
			require.ErrorIs(t, err, ErrInvalidConfig, "%v", tc.dwa)
			assert.Contains(t, err.Error(), "DWATimeout:")
		}
	}
}

func TestConnectionIdentity(t *testing.T) {
	assert.Equal(t, "gw.realm", ConnectionIdentity("gw.realm", SharedIdentity, 3))
	assert.Equal(t, "gw-3.realm", ConnectionIdentity("gw.realm", IdentityPerConnection, 3))
	assert.Equal(t, "gw-1", ConnectionIdentity("gw", IdentityPerConnection, 1))
}

// The health report hook runs on its own goroutine with fresh statistics.
func TestHealthReport(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	reports := make(chan Snapshot, 16)
	cfg := testConfig(peer.Addr())
	cfg.HealthInterval = 20 * time.Millisecond
	cfg.HealthReport = func(s Snapshot) {
		select {
		case reports <- s:
		default: // the test reads only until it sees what it wants
		}
	}
	e := startEngine(t, cfg)
	_, err := e.Check(ctxT(t, time.Second), testReq)
	require.NoError(t, err)
	ctx := ctxT(t, 2*time.Second)
	for {
		select {
		case s := <-reports:
			if s.Total.Answers.Success == 1 {
				assert.Equal(t, 1, s.Usable)
				assert.Equal(t, "Open", s.Conns[0].State)
				return
			}
		case <-ctx.Done():
			t.Fatal("no health report with the answer counted")
		}
	}
}

func TestErrorFormatting(t *testing.T) {
	err := &Error{Err: ErrTimeout, DRA: "dra1", Conn: 2, Cause: errors.New("x")}
	assert.Equal(t, "engine: answer timeout (dra dra1 conn 2): x", err.Error())
	assert.ErrorIs(t, err, ErrTimeout)
}

// Each option sets the field it names, on top of the Config given to New.
func TestOptions(t *testing.T) {
	e, err := New(Config{OriginHost: "x.example", OriginRealm: "example", DRAs: []DRA{{Address: "h:1"}}}, allOptions()...)
	require.NoError(t, err)
	defer e.Close(ctxT(t, time.Second))
	c := e.Config()
	assert.Equal(t, "gw.realm", c.OriginHost)
	assert.Equal(t, "realm", c.OriginRealm)
	assert.Equal(t, "eir.realm", c.DestinationRealm)
	assert.Equal(t, "eir1.eir.realm", c.DestinationHost)
	require.Len(t, c.DRAs, 2)
	assert.Equal(t, "h:1", c.DRAs[0].Address, "the Config's own DRA had its port")
	assert.Equal(t, "h:2", c.DRAs[1].Address)
	assert.Equal(t, 3, c.DRAs[1].Connections, "the option's default applies to DRAs without a count")
	assert.Equal(t, 3870, c.Port)
	assert.Equal(t, time.Second, c.RequestTimeout)
	assert.Equal(t, 64, c.MaxInFlight)
	assert.Equal(t, 128, c.InboxSize)
	assert.Equal(t, 7*time.Second, c.DWRInterval)
	assert.Equal(t, 2*time.Second, c.DWATimeout)
	assert.Equal(t, time.Second, c.BackoffInitial)
	assert.Equal(t, time.Minute, c.BackoffMax)
	assert.Equal(t, 2.0, c.BackoffMultiplier)
	assert.Equal(t, 3*time.Second, c.ConnectTimeout)
	assert.Equal(t, 4*time.Second, c.CEATimeout)
	assert.Equal(t, 5*time.Second, c.DPATimeout)
	assert.Equal(t, time.Second, c.FragmentTimeout)
	assert.Equal(t, "p", c.ProductName)
	assert.Equal(t, uint32(99), c.VendorID)
	assert.Equal(t, uint32(7), c.FirmwareRevision)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.1.2.3")}, c.HostIPAddresses)
	assert.Equal(t, uint32(42), c.OriginStateID)
	assert.Equal(t, 8192, c.MaxMessageSize)
	assert.Equal(t, 1<<20, c.MaxOutboundBytes)
	assert.Equal(t, 5, c.FailoverLimit)
	assert.True(t, c.EnableNagle)
	assert.True(t, c.KeepGnetWorkerPool)
	assert.True(t, c.DisableAlternateRetry)
	assert.NotNil(t, c.Logger)
	assert.Equal(t, time.Minute, c.HealthInterval)
	assert.NotNil(t, c.HealthReport)
	assert.NotNil(t, c.OnStateChange)

	e2, err := New(Config{OriginHost: "x.example", OriginRealm: "example", DRAs: []DRA{{Address: "h:1"}}}, WithFailoverLimit(0))
	require.NoError(t, err)
	defer e2.Close(ctxT(t, time.Second))
	assert.Equal(t, NoFailover, e2.Config().FailoverLimit, "0 means never")
}

// allOptions is one call of every option, each with values other than zero and the defaults.
// TestEveryFieldHasAnOption checks that together they set every field.
func allOptions() []Option {
	return []Option{
		WithOrigin("gw.realm", "realm"),
		WithDestination("eir.realm", "eir1.eir.realm"),
		WithDRA(DRA{Address: "h:2"}),
		WithPort(3870),
		WithConnectionCount(3),
		WithRequestTimeout(time.Second),
		WithMaxInFlight(64),
		WithInboxSize(128),
		WithWatchdog(7*time.Second, 2*time.Second),
		WithReconnect(time.Second, time.Minute, 2),
		WithTimeouts(3*time.Second, 4*time.Second, 5*time.Second),
		WithFragmentTimeout(time.Second),
		WithProduct("p", 99, 7),
		WithHostIPAddresses(netip.MustParseAddr("10.1.2.3")),
		WithOriginStateID(42),
		WithMaxMessageSize(8192),
		WithMaxOutboundBytes(1 << 20),
		WithFailoverLimit(5),
		WithNagle(true),
		WithGnetWorkerPool(true),
		WithAlternateRetry(false),
		WithLogger(slog.New(slog.DiscardHandler)),
		WithHealthReport(time.Minute, func(Snapshot) {}),
		WithStateChange(func(StateChange) {}),
	}
}

// Every exported Config field that is not deprecated has an option that sets it: a field added
// without one fails here. Deprecated fields are found by their "Deprecated:" doc in config.go.
func TestEveryFieldHasAnOption(t *testing.T) {
	deprecated := deprecatedConfigFields(t)
	require.NotEmpty(t, deprecated)
	set := map[string]bool{}
	for _, o := range allOptions() {
		var c Config
		require.NoError(t, o(&c))
		v := reflect.ValueOf(c)
		for i := range v.NumField() {
			if !v.Field(i).IsZero() {
				set[v.Type().Field(i).Name] = true
			}
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Config{})) {
		if !f.IsExported() || deprecated[f.Name] {
			continue
		}
		assert.True(t, set[f.Name], "no option sets Config.%s", f.Name)
	}
	for name := range deprecated {
		assert.False(t, set[name], "an option sets the deprecated Config.%s", name)
	}
}

// deprecatedConfigFields reads config.go for the Config fields documented as deprecated.
func deprecatedConfigFields(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	require.NoError(t, err)
	out := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		for _, fl := range ts.Type.(*ast.StructType).Fields.List {
			if fl.Doc != nil && strings.Contains(fl.Doc.Text(), "Deprecated:") {
				for _, n := range fl.Names {
					out[n.Name] = true
				}
			}
		}
		return false
	})
	return out
}

// A bad option value is a *ConfigError naming the field; New stops at the first such option and
// returns its error, matching ErrInvalidConfig. A caller's own option error is wrapped, and a
// nil Option is refused rather than called.
func TestOptionErrors(t *testing.T) {
	base := Config{OriginHost: "gw.example", OriginRealm: "example"}
	for _, tc := range []struct {
		opt   Option
		field string
	}{
		{WithOrigin("bad host", "realm"), "OriginHost"},
		{WithOrigin("gw.realm", ""), "OriginRealm"},
		{WithDestination("bad realm", ""), "DestinationRealm"},
		{WithDestination("", "bad host"), "DestinationHost"},
		{WithDRA(DRA{}), "DRAs[0].Address"},
		{WithDRA(DRA{Address: "h", Connections: 1001}), "DRAs[0].Connections"},
		{WithDRA(DRA{Address: "h", Priority: -1}), "DRAs[0].Priority"},
		{WithDRA(DRA{Address: "h", Identity: 9}), "DRAs[0].Identity"},
		{WithDRA(DRA{Address: "h", PeerOriginHost: "a b"}), "DRAs[0].PeerOriginHost"},
		{WithDRA(DRA{Address: "h", PeerOriginRealm: "a b"}), "DRAs[0].PeerOriginRealm"},
		{WithPort(0), "Port"},
		{WithConnectionCount(0), "ConnectionCount"},
		{WithRequestTimeout(0), "RequestTimeout"},
		{WithMaxInFlight(0), "MaxInFlight"},
		{WithInboxSize(1<<24 + 1), "InboxSize"},
		{WithWatchdog(time.Second, 0), "DWRInterval"},
		{WithWatchdog(30*time.Second, time.Minute), "DWATimeout"},
		{WithReconnect(0, time.Minute, 2), "BackoffInitial"},
		{WithReconnect(time.Minute, time.Second, 2), "BackoffMax"},
		{WithReconnect(time.Second, time.Minute, 0.5), "BackoffMultiplier"},
		{WithTimeouts(0, time.Second, time.Second), "ConnectTimeout"},
		{WithTimeouts(time.Second, -1, time.Second), "CEATimeout"},
		{WithTimeouts(time.Second, time.Second, 0), "DPATimeout"},
		{WithFragmentTimeout(-1), "FragmentTimeout"},
		{WithHostIPAddresses(netip.Addr{}), "HostIPAddresses[0]"},
		{WithMaxMessageSize(100), "MaxMessageSize"},
		{WithMaxOutboundBytes(0), "MaxOutboundBytes"},
		{WithFailoverLimit(-2), "FailoverLimit"},
		{WithHealthReport(-1, func(Snapshot) {}), "HealthInterval"},
		{WithHealthReport(time.Second, nil), "HealthReport"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			later := false
			_, err := New(base, tc.opt, func(*Config) error { later = true; return nil })
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.False(t, later, "New stops at the first bad option")
		})
	}

	mine := errors.New("my option")
	_, err := New(base, WithDRA(DRA{Address: "h"}), func(*Config) error { return mine })
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorIs(t, err, mine)

	_, err = New(base, WithDRA(DRA{Address: "h"}), nil)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "opts[1]", ce.Field)
}

// The deprecated fields still take effect: on a zero Config, and after DefaultConfig (whose
// defaults fill the new fields); a new field given a value of its own wins. New clears the old
// ones, so the Config it reports carries each value once, under the new name.
func TestDeprecatedFieldsTakeEffect(t *testing.T) {
	for _, tc := range []struct {
		name         string
		setOld       func(*Config)
		setNew       func(*Config) // a value other than setOld's and the default
		got          func(*Config) any
		old, new     any
		deprecatedOf func(*Config) any
	}{
		{"CERTimeout", func(c *Config) { c.CERTimeout = 3 * time.Second }, func(c *Config) { c.CEATimeout = 4 * time.Second },
			func(c *Config) any { return c.CEATimeout }, 3 * time.Second, 4 * time.Second, func(c *Config) any { return c.CERTimeout }},
		{"DWRTimeout", func(c *Config) { c.DWRTimeout = 3 * time.Second }, func(c *Config) { c.DWATimeout = 4 * time.Second },
			func(c *Config) any { return c.DWATimeout }, 3 * time.Second, 4 * time.Second, func(c *Config) any { return c.DWRTimeout }},
		{"ReconnectInterval", func(c *Config) { c.ReconnectInterval = 3 * time.Second }, func(c *Config) { c.BackoffInitial = 4 * time.Second },
			func(c *Config) any { return c.BackoffInitial }, 3 * time.Second, 4 * time.Second, func(c *Config) any { return c.ReconnectInterval }},
		{"MaxReconnectDelay", func(c *Config) { c.MaxReconnectDelay = time.Hour }, func(c *Config) { c.BackoffMax = 2 * time.Hour },
			func(c *Config) any { return c.BackoffMax }, time.Hour, 2 * time.Hour, func(c *Config) any { return c.MaxReconnectDelay }},
		{"ReconnectBackoff", func(c *Config) { c.ReconnectBackoff = 3 }, func(c *Config) { c.BackoffMultiplier = 4 },
			func(c *Config) any { return c.BackoffMultiplier }, 3.0, 4.0, func(c *Config) any { return c.ReconnectBackoff }},
		{"SendBufferSize", func(c *Config) { c.SendBufferSize = 300 }, func(c *Config) { c.InboxSize = 400 },
			func(c *Config) any { return c.InboxSize }, 300, 400, func(c *Config) any { return c.SendBufferSize }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(c Config) Config {
				t.Helper()
				c.OriginHost, c.OriginRealm, c.DRAs = "gw.example", "example", []DRA{{Address: "127.0.0.1:1"}}
				e, err := New(c)
				require.NoError(t, err)
				t.Cleanup(func() { e.Close(ctxT(t, time.Second)) })
				return e.Config()
			}
			var zero Config
			tc.setOld(&zero)
			got := build(zero)
			assert.Equal(t, tc.old, tc.got(&got), "old name on a zero Config")
			assert.Zero(t, tc.deprecatedOf(&got), "cleared once taken")

			def := DefaultConfig()
			tc.setOld(&def)
			got = build(def)
			assert.Equal(t, tc.old, tc.got(&got), "old name after DefaultConfig")

			both := DefaultConfig()
			tc.setOld(&both)
			tc.setNew(&both)
			got = build(both)
			assert.Equal(t, tc.new, tc.got(&got), "the new name wins when set")
		})
	}
}

// The deprecated SendBufferSize sizes the real inbox, not just the Config.
func TestSendBufferSizeSizesInbox(t *testing.T) {
	e, err := New(Config{OriginHost: "gw.example", OriginRealm: "example", DRAs: []DRA{{Address: "127.0.0.1:1"}}, SendBufferSize: 300})
	require.NoError(t, err)
	defer e.Close(ctxT(t, time.Second))
	assert.Equal(t, 512, e.inbox.Cap(), "300 rounded up to a power of two")
}

// Validate reports every bad field at once as a *ConfigError, by path, in the server's shape
// (server.TestValidateReportsEveryField), with the messages it always had.
func TestValidateReportsEveryFieldAsConfigError(t *testing.T) {
	c := Config{
		OriginHost:        "bad host",
		DRAs:              []DRA{{Address: "h:99999"}, {Address: "h:1", Identity: 7}},
		DWRInterval:       time.Second,
		BackoffMultiplier: 0.5,
		InboxSize:         -1,
	}
	c.setDefaults()
	err := c.Validate()
	require.ErrorIs(t, err, ErrInvalidConfig)
	var fields, texts []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ce *ConfigError
		require.ErrorAs(t, e, &ce)
		assert.ErrorIs(t, ce, ErrInvalidConfig)
		fields = append(fields, ce.Field)
		texts = append(texts, ce.Error())
	}
	assert.Equal(t, []string{"OriginHost", "OriginRealm", "DRAs[0].Address", "DRAs[1].Identity", "DWRInterval",
		"BackoffMultiplier", "InboxSize"}, fields)
	assert.Equal(t, `engine: invalid configuration: DRAs[0].Address: "h:99999": port must be 1-65535`, texts[2])
	assert.Equal(t, "engine: invalid configuration: InboxSize: -1: must be 1-16777216", texts[6])
	var first *ConfigError
	require.ErrorAs(t, err, &first)
	assert.Equal(t, "OriginHost", first.Field, "errors.As finds the first")
}
