// Command diamload loads S13 peers (DRAs or an EIR) with ME-Identity-Check-Requests and reports
// throughput, latency percentiles (HDR histogram, open loop without coordinated omission), the
// Result-Code / Equipment-Status breakdown and per-connection statistics. It also answers as an
// EIR (serve), and with no arguments runs a short self-test against an embedded EIR.
//
//	diamload run      [flags]  load S13 peers with ECRs and report
//	diamload serve    [flags]  answer as an S13 EIR
//	diamload selftest [flags]  run against an embedded EIR on loopback and check every answer
//	diamload soak     [flags]  run for long through a fault timeline, check exactly-once and trends
//	diamload merge    files…   add the JSON reports of several instances into one
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage error, 99 a check failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel() // first signal: stop sending, drain, DPR, report
		<-sigs
		fmt.Fprintln(os.Stderr, "diamload: second signal, exiting without draining")
		os.Exit(130)
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usageText = `diamload — S13 (ME-Identity-Check) load generator and EIR responder

usage: diamload <command> [flags]

  diamload run      [flags]  load S13 peers (DRAs or an EIR) with ECRs and report
  diamload serve    [flags]  answer as an S13 EIR (test peer and load target)
  diamload selftest [flags]  run against an embedded serve on loopback;
                             diamload with no arguments does this for a few seconds
  diamload soak     [flags]  run against two embedded EIRs through a fault timeline, sampling
                             resources; fail on a request not completed exactly once, a wrong
                             answer or a resource that keeps growing

  diamload merge a.json b.json … [--json F] [--html F]
                             add the JSON reports of several instances into one

  diamload <command> -h      the flags of a command (-x and --x both work)

exit codes: 0 ok, 1 runtime failure, 2 usage error, 99 a check failed
            (--max-error-ratio, --threshold, or a selftest or soak check)
`

// run is main without the process: tests call it with their own context and writers.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "selftest"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run", "selftest", "soak":
		err = runCommand(ctx, cmd, args, stdout, stderr)
	case "serve":
		err = serve(ctx, args, stdout, stderr)
	case "merge":
		err = mergeCommand(ctx, args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		err = usagef("diamload: unknown command %q (want run, serve, selftest, soak or merge; see diamload -h)", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, cmd)
		return exitOK
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "diamload") {
			msg = "diamload " + cmd + ": " + msg
		}
		fmt.Fprintln(stderr, oneLine(msg))
	}
	return exitCode(err)
}

// oneLine keeps an error message on one line.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// commandUsage prints a command's flags.
func commandUsage(w io.Writer, cmd string) {
	fs := newFlagSet(cmd)
	switch cmd {
	case "merge":
		mergeUsage(w)
		return
	case "serve":
		fmt.Fprint(w, "usage: diamload serve [flags]\n\nAnswer ECRs as an S13 EIR until SIGINT/SIGTERM, then DPR the clients and print statistics.\n\n")
		var o serveOpts
		serveFlags(fs, &o)
	case "soak":
		fmt.Fprintf(w, "usage: diamload soak [flags]\n\nRun open loop against two embedded EIRs (the selftest's rules), one connection each, for\n--duration, with the faults of --faults at 20 %% (latency spike), 40 %% (blackhole of one\nconnection for 2·Tw), 60 %% (RST of every connection) and 80 %% (restart of a responder),\nsampling every --sample. Fails when a request is not completed exactly once, an answer differs\nfrom the policy, a fault fails, or RSS, the live heap, goroutines or fds keep growing.\n\n")
		var err error
		if fs, _, err = soakFlagSet(); err != nil {
			fmt.Fprintln(w, err)
			return
		}
	default:
		if cmd == "selftest" {
			fmt.Fprintf(w, "usage: diamload selftest [flags]\n\nRun against an embedded EIR on 127.0.0.1 (default %v) with built-in rules that exercise\nevery outcome, and check every answer against them.\n\n", selftestDuration)
		} else {
			fmt.Fprint(w, "usage: diamload run [flags]\n\nLoad S13 peers with ECRs and report. Closed loop by default (-c in flight), open loop with --rate.\n\n")
		}
		var o runOpts
		runFlags(fs, &o, cmd == "selftest")
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, "\nexit codes: 0 ok, 1 runtime failure, 2 usage error, 99 a check failed\n")
}

// runCommand is run, selftest and soak: parse, load, report, check.
func runCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	var o *runOpts
	var err error
	if name == "soak" {
		o, err = parseSoakFlags(args)
	} else {
		o, err = parseRunFlags(name, args, name == "selftest")
	}
	if err != nil {
		return err
	}
	if o.tlsKeyLog != nil {
		defer o.tlsKeyLog.Close() // after the client
	}
	res, rec, err := load(ctx, o, stderr)
	if err != nil {
		return err
	}
	rp := buildReport(name, res, rec)
	switch name {
	case "selftest":
		addSelftestChecks(rp, o.selftestTLS)
	case "soak":
		addSoakChecks(rp, res)
	}
	rp.addThresholdChecks(o.thresholds)
	return writeRunReport(rp, o.jsonOut, o.csvOut, o.htmlOut, o.quiet, stdout, stderr)
}

// writeRunReport writes the report where the flags say (JSON to a file or stdout, CSV, HTML;
// the text to stdout, or to stderr when stdout carries the JSON) and fails when a check did.
func writeRunReport(rp *report, jsonOut, csvOut, htmlOut string, quiet bool, stdout, stderr io.Writer) error {
	human := stdout
	switch jsonOut {
	case "":
	case "-":
		// stdout carries only the JSON; the human report goes to stderr unless --quiet.
		if err := rp.writeJSON(stdout); err != nil {
			return err
		}
		human = nil
		if !quiet {
			human = stderr
		}
	default:
		if err := writeTo("json", jsonOut, rp.writeJSON); err != nil {
			return err
		}
	}
	if err := rp.writeFiles(csvOut, htmlOut); err != nil {
		return err
	}
	if human != nil {
		rp.writeText(human)
	}
	if !rp.Passed {
		var failed []string
		for _, c := range rp.Checks {
			if !c.OK {
				failed = append(failed, c.Name+" ("+c.Detail+")")
			}
		}
		return fmt.Errorf("%w: %s", errThreshold, strings.Join(failed, "; "))
	}
	return nil
}
