package e2e

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The engine and the server report a bad configuration in one shape: a join of one ConfigError
// (the same type in both packages) per bad field, each matching its package's ErrInvalidConfig
// and carrying the same field name for the same notion.
func TestConfigErrorsHaveOneShape(t *testing.T) {
	fieldsOf := func(t *testing.T, err error, sentinel error) []string {
		t.Helper()
		require.ErrorIs(t, err, sentinel)
		var fields []string
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			var ce *engine.ConfigError // also a *server.ConfigError: both alias confcheck.FieldError
			require.ErrorAs(t, e, &ce)
			require.ErrorIs(t, ce, sentinel)
			fields = append(fields, ce.Field)
		}
		return fields
	}
	ec := engine.DefaultConfig()
	ec.OriginRealm, ec.DRAs, ec.DWRInterval = realm, []engine.DRA{{Address: "127.0.0.1:1", Connections: 1}}, time.Second
	assert.Equal(t, []string{"OriginHost", "DWRInterval"}, fieldsOf(t, ec.Validate(), engine.ErrInvalidConfig))
	_, err := engine.New(ec)
	assert.Equal(t, []string{"OriginHost", "DWRInterval"}, fieldsOf(t, err, engine.ErrInvalidConfig), "New returns Validate's error")

	sc := server.Config{OriginRealm: realm, Listen: "127.0.0.1:0", DWRInterval: time.Second, MaxMessageSize: 4096}
	assert.Equal(t, []string{"OriginHost", "DWRInterval"}, fieldsOf(t, sc.Validate(), server.ErrInvalidConfig))
	_, err = server.New(sc)
	assert.Equal(t, []string{"OriginHost", "DWRInterval"}, fieldsOf(t, err, server.ErrInvalidConfig), "New returns Validate's error")
}
