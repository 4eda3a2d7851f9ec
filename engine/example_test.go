package engine_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
)

// An S13 gateway checking IMEIs through the engine. The EIR here is this module's responder on
// loopback with freeDiameter's test rules; in production the DRAs are the operator's.
func Example() {
	policy, _ := eir.ParsePolicy(strings.NewReader("99000001 BLACKLISTED\n99000003 UNKNOWN\n* WHITELISTED\n"))
	handler, _ := eir.New(framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, policy)
	srv, _ := server.New(server.Config{Listen: "127.0.0.1:0", OriginHost: "eir.test.local", OriginRealm: "test.local", Handler: handler})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close(ctx)

	cfg := engine.DefaultConfig()
	cfg.OriginHost, cfg.OriginRealm = "mme1.test.local", "test.local"
	cfg.DRAs = []engine.DRA{{Address: srv.Addr(), Connections: 2, Identity: engine.IdentityPerConnection}}
	e, err := engine.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close(ctx)

	for _, imei := range []string{"35209900176148", "99000001123456", "99000003123456"} {
		ans, err := e.Check(ctx, s13.Request{IMEI: imei, SoftwareVersion: "23"})
		switch {
		case err != nil:
			fmt.Println(imei, "EIR unavailable:", err)
		case ans.HasExperimentalResult:
			fmt.Println(imei, ans.ExperimentalResult.Code)
		default:
			fmt.Println(imei, ans.ResultCode, ans.EquipmentStatus)
		}
	}
	// Output:
	// 35209900176148 DIAMETER_SUCCESS WHITELISTED
	// 99000001123456 DIAMETER_SUCCESS BLACKLISTED
	// 99000003123456 DIAMETER_ERROR_EQUIPMENT_UNKNOWN
}
