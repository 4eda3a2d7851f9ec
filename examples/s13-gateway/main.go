// Command s13-gateway is a small S13 gateway client: it connects to one or more DRAs (or an EIR)
// through the engine and checks the IMEIs (or 16-digit IMEISVs) given on the command line,
// printing each verdict the way an MME would act on it.
//
//	go run ./examples/s13-gateway -dra 127.0.0.1:3868 -origin-host gw.test.local \
//	    -origin-realm test.local -dest-realm test.local 35209900176148 9900000112345623
//
// Try it against `go run ./cmd/diamload serve` or the freeDiameter peers in ../shared/peers.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

type addrs []string

func (a *addrs) String() string     { return strings.Join(*a, ",") }
func (a *addrs) Set(v string) error { *a = append(*a, v); return nil }

func main() {
	var dras addrs
	flag.Var(&dras, "dra", "DRA or EIR host:port (repeatable; the first is preferred)")
	originHost := flag.String("origin-host", "gw.test.local", "our Origin-Host")
	originRealm := flag.String("origin-realm", "test.local", "our Origin-Realm")
	destRealm := flag.String("dest-realm", "", "the EIR's realm (default: our realm)")
	conns := flag.Int("conns", 2, "connections per DRA (one Origin-Host each)")
	timeout := flag.Duration("timeout", 3*time.Second, "answer timeout")
	verbose := flag.Bool("v", false, "log connection events")
	flag.Parse()
	if len(dras) == 0 || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: s13-gateway -dra host:port [flags] IMEI|IMEISV ...")
		os.Exit(2)
	}

	cfg := engine.DefaultConfig()
	cfg.OriginHost, cfg.OriginRealm, cfg.DestinationRealm = *originHost, *originRealm, *destRealm
	cfg.RequestTimeout = *timeout
	for i, a := range dras {
		cfg.DRAs = append(cfg.DRAs, engine.DRA{Address: a, Connections: *conns, Priority: i,
			Identity: engine.IdentityPerConnection})
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e, err := engine.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = e.Start(startCtx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "no DRA reachable:", err)
		_ = e.Close(context.Background())
		os.Exit(1)
	}

	// Check every IMEI concurrently, as an MME does for attaching handsets.
	var wg sync.WaitGroup
	lines := make([]string, flag.NArg())
	for i, arg := range flag.Args() {
		req := s13.Request{IMEI: arg}
		if len(arg) == s13.IMEISVLen {
			if req.IMEI, req.SoftwareVersion, err = s13.SplitIMEISV(arg); err != nil {
				lines[i] = fmt.Sprintf("%s: %v", arg, err)
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans, err := e.Check(ctx, req)
			lines[i] = fmt.Sprintf("%s: %s", arg, verdict(ans, err))
		}()
	}
	wg.Wait()
	for _, l := range lines {
		fmt.Println(l)
	}

	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Close(closeCtx); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
}

// verdict turns an answer into what the MME does with it (TS 24.301: EMM cause #6 "Illegal ME"
// for a blacklisted handset; the rest is operator policy).
func verdict(a s13.Answer, err error) string {
	switch {
	case errors.Is(err, engine.ErrTimeout), errors.Is(err, engine.ErrNoConnection), errors.Is(err, engine.ErrConnectionLost):
		return "EIR unavailable (" + err.Error() + "): apply the operator's fallback policy"
	case err != nil:
		return "error: " + err.Error()
	case a.HasExperimentalResult && a.ExperimentalResult.Code == s13.EquipmentUnknown:
		return "unknown to the EIR (5422): apply the operator's policy"
	case a.ResultCode != framing.Success:
		return fmt.Sprintf("EIR error %s: apply the operator's fallback policy", a.String())
	case !a.HasEquipmentStatus:
		return "2001 without Equipment-Status: treat as unknown"
	case a.EquipmentStatus == s13.Blacklisted:
		return "BLACKLISTED: reject the attach (EMM cause #6 Illegal ME)"
	case a.EquipmentStatus == s13.Greylisted:
		return "GREYLISTED: allow, and track"
	default:
		return a.EquipmentStatus.String() + ": allow"
	}
}
