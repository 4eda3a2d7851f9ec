package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/server"
)

// One flag.FlagSet per subcommand. Go's flag package accepts -x and --x alike; short and long
// names are registered on the same variable.

const (
	defaultOriginHost  = "gw.diamload.local"
	defaultOriginRealm = "diamload.local"
	defaultEIRHost     = "eir.diamload.local"
	defaultListen      = server.DefaultListen
	defaultRequests    = 10000
	defaultConcurrency = 64
	defaultTimeout     = engine.DefaultRequestTimeout
	defaultWatchdog    = engine.DefaultDWRInterval
	selftestDuration   = 3 * time.Second
)

// runOpts are the options of run and selftest.
type runOpts struct {
	peers           stringList
	conns           int
	originHost      string
	originRealm     string
	identityPerConn bool
	destRealm       string
	destHost        string
	requests        int64
	duration        time.Duration
	concurrency     int
	rate            rateValue
	warmup          time.Duration
	timeout         time.Duration
	watchdog        time.Duration
	imei            string
	imsi            string
	seed            uint64
	seedSet         bool
	jsonOut         string
	quiet           bool
	maxErrorRatio   float64
	client          string
	serveOriginHost string
	cpuProfile      string
	rules           string
	delay           delayValue
	interval        time.Duration // progress period (hidden in tests)
	procs           int           // GOMAXPROCS for the run; 0 = procsFor's choice
	pacer           string        // open loop: pacerPrecise or pacerCoarse
	sample          time.Duration // --sample: the sampling period; 0 = no samples
	sampleSet       bool
	sampleHook      func()    // run before each sample; nil but in tests
	soak            *soakOpts // diamload soak; nil for run and selftest
	observe         observeOpts
	thresholds      thresholdList
	csvOut          string
	htmlOut         string
	log             logOpts

	// TLS (tlsflags.go): the flags as given, then per --dra (by index in peers) its TLS config,
	// nil for plain TCP (tls nil: no TLS at all), and --tls-keylog's file, which the run
	// closes after the client.
	tlsIn       tlsFlags
	tls         []*tls.Config
	tlsKeyLog   *os.File
	selftestTLS bool // selftest --tls: the embedded EIR and the client over TLS (labpki)

	selftest bool
	imeiSet  bool
}

// wantsSeries: the run keeps its per-second rows, for a file that shows them or a merge.
func (o *runOpts) wantsSeries() bool { return o.csvOut != "" || o.htmlOut != "" || o.jsonOut != "" }

// serveOpts are the options of serve.
type serveOpts struct {
	listen      string
	originHost  string
	originRealm string
	rules       string
	delay       delayValue
	watchdog    time.Duration
	observe     observeOpts
	log         logOpts

	// TLS (tlsflags.go): the flags as given, the server's config (nil: plain TCP) and
	// --tls-keylog's file, which serve closes after the server.
	tlsIn     tlsFlags
	tls       *tls.Config
	tlsKeyLog *os.File
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// rateValue is a total request rate: "20000", "20000/s", "1200/1m", "50/100ms".
type rateValue struct{ perSec float64 }

func (r *rateValue) String() string {
	if r == nil || r.perSec == 0 {
		return "0"
	}
	return strconv.FormatFloat(r.perSec, 'f', -1, 64)
}

func (r *rateValue) Set(v string) error {
	num, unit, hasUnit := strings.Cut(v, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return errors.New("want a number of ECR/s, optionally /unit (20000, 20000/s, 1200/1m)")
	}
	per := time.Second
	if hasUnit {
		if unit != "" && (unit[0] < '0' || unit[0] > '9') {
			unit = "1" + unit
		}
		if per, err = time.ParseDuration(unit); err != nil || per <= 0 {
			return fmt.Errorf("bad unit %q: want a duration such as s, 1m, 100ms", unit)
		}
	}
	r.perSec = n * float64(time.Second) / float64(per)
	if r.perSec > 1e8 {
		return errors.New("above 100M ECR/s")
	}
	return nil
}

// delayValue is a responder delay: fixed ("2ms") or uniformly random in a range ("1ms-5ms").
type delayValue struct{ min, max time.Duration }

func (d *delayValue) String() string {
	if d == nil || d.max == 0 {
		return "0"
	}
	if d.min == d.max {
		return d.min.String()
	}
	return d.min.String() + "-" + d.max.String()
}

func (d *delayValue) Set(v string) error {
	lo, hi, isRange := strings.Cut(v, "-")
	a, err := time.ParseDuration(lo)
	if err != nil || a < 0 {
		return errors.New("want a duration (2ms) or a range (1ms-5ms)")
	}
	b := a
	if isRange {
		if b, err = time.ParseDuration(hi); err != nil || b < a {
			return errors.New("want a range low-high with low <= high (1ms-5ms)")
		}
	}
	if b > time.Minute {
		return errors.New("above 1m")
	}
	d.min, d.max = a, b
	return nil
}

// newFlagSet returns a silent FlagSet: parse errors become one line, not the usage dump.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// runFlags registers the run (or selftest) flags on fs.
func runFlags(fs *flag.FlagSet, o *runOpts, selftest bool) {
	if selftest {
		fs.BoolVar(&o.selftestTLS, "tls", false, "run the self-test over TLS: throwaway certificates made in memory, client certificates required")
	} else {
		registerTLSFlags(fs, &o.tlsIn, false)
		fs.Var(&o.peers, "dra", "peer `host:port` (DRA or EIR); repeatable. None: an embedded EIR on 127.0.0.1")
	}
	fs.IntVar(&o.conns, "conns", 1, "connections per peer")
	fs.StringVar(&o.originHost, "origin-host", defaultOriginHost, "our Origin-Host")
	fs.StringVar(&o.originRealm, "origin-realm", defaultOriginRealm, "our Origin-Realm")
	fs.BoolVar(&o.identityPerConn, "identity-per-conn", false, "connection k uses <first-label>-k.<rest> as Origin-Host")
	fs.StringVar(&o.destRealm, "dest-realm", "", "Destination-Realm (default: --origin-realm)")
	fs.StringVar(&o.destHost, "dest-host", "", "Destination-Host (default: none)")
	fs.Int64Var(&o.requests, "requests", defaultRequests, "total ECRs; with --duration alone, the duration ends the run")
	fs.Int64Var(&o.requests, "n", defaultRequests, "short for --requests")
	fs.DurationVar(&o.duration, "duration", 0, "run for this long instead of a count")
	fs.DurationVar(&o.duration, "d", 0, "short for --duration")
	fs.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "max ECRs in flight (closed loop: always this many)")
	fs.IntVar(&o.concurrency, "c", defaultConcurrency, "short for --concurrency")
	fs.Var(&o.rate, "rate", "open loop: total `ECR/s` (20000, 1200/1m); 0 = closed loop")
	fs.DurationVar(&o.warmup, "warmup", 0, "send for this long first, excluded from the report")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "answer timeout")
	fs.DurationVar(&o.watchdog, "watchdog", defaultWatchdog, "Tw (RFC 3539, at least 6s): the DWR interval on an idle connection, and the DWA wait before it is SUSPECT")
	fs.StringVar(&o.imei, "imei", defaultIMEISpec, "IMEI `spec`: 14 or 15 digits, x = random digit, a 15th x = the Luhn check digit; prefix* pads with x to 14")
	fs.StringVar(&o.imsi, "imsi", defaultIMSISpec, "User-Name (IMSI) `spec`, x = random digit, prefix* pads to 15; none omits it")
	fs.Func("seed", "payload `seed` for reproducible runs (default: random, printed in the report)", func(v string) error {
		n, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			return errors.New("want an unsigned integer")
		}
		o.seed, o.seedSet = n, true
		return nil
	})
	fs.StringVar(&o.jsonOut, "json", "", "write the report as JSON to `file` (- = stdout, the human report then goes to stderr)")
	fs.BoolVar(&o.quiet, "quiet", false, "no live progress line")
	fs.Float64Var(&o.maxErrorRatio, "max-error-ratio", -1, "exit 99 when errors/requests exceeds this, 0..1 (negative: no check)")
	fs.StringVar(&o.client, "client", "engine", "client implementation: engine, or baseline (goroutine per connection, for comparison)")
	fs.StringVar(&o.serveOriginHost, "serve-origin-host", defaultEIRHost, "Origin-Host of the embedded EIR")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured window to `file`")
	fs.StringVar(&o.rules, "rules", "", "embedded EIR: rules `file` (eir_rules.conf format)")
	fs.Var(&o.delay, "delay", "embedded EIR: answer delay, fixed (2ms) or random in a range (1ms-5ms)")
	fs.DurationVar(&o.interval, "progress-interval", time.Second, "live progress period")
	fs.StringVar(&o.pacer, "pacer", pacerPrecise, "open loop: how the pacer waits: precise (its own thread in ppoll with 1 ns timer slack: sends within tens of µs of the intended time) or coarse (Go timers, at most one wake a millisecond sending what came due together: cheaper above a few thousand ECR/s, up to 1-2 ms late)")
	fs.DurationVar(&o.sample, "sample", 0, "every `interval` of the measured window, record RSS, Go heap, goroutines, open fds and the counters (JSON samples, live line); at most --duration")
	observeFlags(fs, &o.observe)
	fs.Var(&o.thresholds, "threshold", "pass `condition` on the report, repeatable: p50|p90|p99|p999|max|mean <|<=|>|>= duration, error_rate < ratio, throughput > ECR/s (p99<5ms, error_rate<0.001, throughput>50000); a failed one exits 99")
	fs.StringVar(&o.csvOut, "csv", "", "write one row per second of the measured window to `file`")
	fs.StringVar(&o.htmlOut, "html", "", "write a self-contained HTML report to `file`")
	fs.IntVar(&o.procs, "procs", 0, "GOMAXPROCS during the run; 0 = 1 for the engine client against --dra peers (its work is one event loop), else the Go default")
	logFlags(fs, &o.log, slog.LevelWarn) // the live line is the output: only what goes wrong
}

// parseRunFlags parses and checks run or selftest arguments.
func parseRunFlags(name string, args []string, selftest bool) (*runOpts, error) {
	o := &runOpts{selftest: selftest}
	fs := newFlagSet(name)
	runFlags(fs, o, selftest)
	return o, parseRunArgs(fs, o, name, args)
}

// parseRunArgs parses args into o (whose flags fs holds) and checks them.
func parseRunArgs(fs *flag.FlagSet, o *runOpts, name string, args []string) error {
	if err := parseFlags(fs, name, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	peers, useTLS := splitTLSPeers(&o.tlsIn, o.peers) // before the peers are checked as host:port
	o.peers = peers
	o.imeiSet = set["imei"]
	o.sampleSet = set["sample"]
	if len(o.peers) > 0 {
		for _, f := range []string{"rules", "delay", "serve-origin-host"} {
			if set[f] {
				return usagef("diamload %s: --%s configures the embedded EIR, which --dra replaces", name, f)
			}
		}
	}
	if o.selftest && o.soak == nil && !set["duration"] && !set["d"] && !set["requests"] && !set["n"] {
		o.duration = selftestDuration
	}
	if o.duration > 0 && !set["requests"] && !set["n"] {
		o.requests = 0 // the duration alone ends the run
	}
	if o.soak != nil {
		o.sampleSet = true // its default is checked too
		if set["requests"] || set["n"] {
			return &flagError{Cmd: name, Flag: "requests", Value: strconv.FormatInt(o.requests, 10),
				Want: "none: a soak's timeline is over --duration"}
		}
	}
	if err := o.check(name); err != nil {
		return err
	}
	if o.soak != nil {
		if err := o.checkSoak(name); err != nil {
			return err
		}
	}
	if o.client == "baseline" && slices.Contains(useTLS, true) {
		return usagef("diamload %s: --client baseline speaks plain TCP only; TLS needs --client engine", name)
	}
	// Last: it may open --tls-keylog, which nothing would close after a later error.
	var err error
	o.tls, o.tlsKeyLog, err = runTLSConfigs(&o.tlsIn, name, o.peers, useTLS)
	return err
}

// parseFlags parses args and turns a flag error into one usage line.
func parseFlags(fs *flag.FlagSet, name string, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return usagef("diamload %s: %v (see diamload %s -h)", name, err, name)
	}
	if fs.NArg() > 0 {
		return usagef("diamload %s: unexpected argument %q (see diamload %s -h)", name, fs.Arg(0), name)
	}
	return nil
}

// check validates option values; each problem is one usage line naming the flag.
func (o *runOpts) check(name string) error {
	bad := func(format string, args ...any) error {
		return usagef("diamload %s: %s", name, fmt.Sprintf(format, args...))
	}
	for _, p := range o.peers {
		if err := checkHostPort(p); err != nil {
			return bad("invalid --dra %q: %v", p, err)
		}
	}
	var err error
	switch {
	case o.conns < 1 || o.conns > 1000:
		return bad("invalid --conns %d: want 1-1000", o.conns)
	case o.requests < 0:
		return bad("invalid --requests %d: want a positive count", o.requests)
	case o.duration < 0:
		return bad("invalid --duration %v: want a positive duration", o.duration)
	case o.requests == 0 && o.duration == 0:
		return bad("invalid --requests 0: want a positive count (or --duration)")
	case o.concurrency < 1 || o.concurrency > 1<<20:
		return bad("invalid --concurrency %d: want 1-1048576", o.concurrency)
	case o.warmup < 0:
		return bad("invalid --warmup %v: want a positive duration", o.warmup)
	case o.timeout <= 0 || o.timeout > time.Hour:
		return bad("invalid --timeout %v: want 1ms-1h", o.timeout)
	case o.watchdog < engine.MinDWRInterval:
		return bad("invalid --watchdog %v: want at least %v (RFC 3539)", o.watchdog, engine.MinDWRInterval)
	case o.maxErrorRatio > 1:
		return bad("invalid --max-error-ratio %v: want 0..1", o.maxErrorRatio)
	case o.client != "engine" && o.client != "baseline":
		return bad("invalid --client %q: want engine or baseline", o.client)
	case o.pacer != pacerPrecise && o.pacer != pacerCoarse:
		return bad("invalid --pacer %q: want precise or coarse", o.pacer)
	case o.procs < 0 || o.procs > 1024:
		return bad("invalid --procs %d: want 0 (automatic) or 1-1024", o.procs)
	case o.interval <= 0:
		return bad("invalid --progress-interval %v: want a positive duration", o.interval)
	case o.destHost != "" && strings.ContainsAny(o.destHost, " \t"):
		return bad("invalid --dest-host %q", o.destHost)
	}
	if err := o.checkSample(name); err != nil {
		return err
	}
	if err := o.observe.check(name); err != nil {
		return err
	}
	if o.imei, err = parseIMEISpec(o.imei); err != nil {
		return bad("%v", err)
	}
	if o.imsi, err = parseIMSISpec(o.imsi); err != nil {
		return bad("%v", err)
	}
	if o.destRealm == "" {
		o.destRealm = o.originRealm
	}
	return nil
}

// checkSample checks --sample: a positive period that fits in the window when it has a length.
func (o *runOpts) checkSample(name string) error {
	switch {
	case !o.sampleSet:
		return nil
	case o.sample <= 0:
		return &flagError{Cmd: name, Flag: "sample", Value: o.sample.String(), Want: "a positive interval"}
	case o.duration > 0 && o.sample > o.duration:
		return &flagError{Cmd: name, Flag: "sample", Value: o.sample.String(),
			Want: "at most --duration " + o.duration.String()}
	}
	return nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("want host:port")
	}
	if host == "" {
		return errors.New("no host")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return errors.New("port must be 1-65535")
	}
	return nil
}

// parseServeFlags parses and checks serve arguments.
func parseServeFlags(args []string) (*serveOpts, error) {
	o := &serveOpts{}
	fs := newFlagSet("serve")
	serveFlags(fs, o)
	return o, parseServeArgs(fs, o, args)
}

// parseServeArgs parses args into o (whose flags fs holds) and checks them.
func parseServeArgs(fs *flag.FlagSet, o *serveOpts, args []string) error {
	if err := parseFlags(fs, "serve", args); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return usagef("diamload serve: %s", fmt.Sprintf(format, args...))
	}
	if _, port, err := net.SplitHostPort(o.listen); err != nil {
		return bad("invalid --listen %q: want host:port", o.listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return bad("invalid --listen %q: port must be 0-65535", o.listen)
	}
	if o.watchdog < engine.MinDWRInterval {
		return bad("invalid --watchdog %v: want at least %v (RFC 3539)", o.watchdog, engine.MinDWRInterval)
	}
	if err := o.observe.check("serve"); err != nil {
		return err
	}
	// Last: it may open --tls-keylog, which nothing would close after a later error.
	var err error
	o.tls, o.tlsKeyLog, err = resolveServeTLS(&o.tlsIn)
	return err
}

// serveFlags registers the serve flags on fs.
func serveFlags(fs *flag.FlagSet, o *serveOpts) {
	fs.StringVar(&o.listen, "listen", defaultListen, "listen `host:port` (port 0: any free port)")
	fs.StringVar(&o.originHost, "origin-host", defaultEIRHost, "our Origin-Host")
	fs.StringVar(&o.originRealm, "origin-realm", defaultOriginRealm, "our Origin-Realm")
	fs.StringVar(&o.rules, "rules", "", "IMEI rules `file` (eir_rules.conf format; default: everything WHITELISTED)")
	fs.Var(&o.delay, "delay", "answer delay when no rule sets one: fixed (2ms) or random in a range (1ms-5ms)")
	fs.DurationVar(&o.watchdog, "watchdog", defaultWatchdog, "Tw, the DWR interval towards idle clients (at least 6s)")
	observeFlags(fs, &o.observe)
	logFlags(fs, &o.log, slog.LevelInfo) // a server's log is its output: its clients come and go there
	registerTLSFlags(fs, &o.tlsIn, true)
}
