package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressPrinter writes the live line to stderr every period: rewritten in place on a
// terminal, one line per period otherwise (logs, CI).
type progressPrinter struct {
	stopCh chan struct{}
	wg     sync.WaitGroup
}

func startProgress(r *runner, w io.Writer, every time.Duration) *progressPrinter {
	p := &progressPrinter{stopCh: make(chan struct{})}
	tty := isTerminal(w)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		var lastAnswers uint64
		lastEpoch := r.rec.epoch.Load()
		last := time.Now()
		for {
			select {
			case <-p.stopCh:
				if tty {
					fmt.Fprint(w, "\n")
				}
				return
			case now := <-t.C:
				pr := r.rec.progress()
				epoch := r.rec.epoch.Load()
				if epoch != lastEpoch { // warm-up ended: counters restarted
					lastAnswers, lastEpoch = 0, epoch
				}
				rate := float64(pr.answers-min(lastAnswers, pr.answers)) / now.Sub(last).Seconds()
				lastAnswers, last = pr.answers, now
				phase := ""
				if epoch < r.measureEpoch {
					phase = " [warm-up]"
				}
				line := fmt.Sprintf("%6.1fs  %9.0f ECR/s  requests %d  answers %d  in flight %d  errors %d  p99 %s%s%s",
					time.Duration(r.clock()).Seconds(), rate, pr.requests, pr.answers, pr.inFlight, pr.errors,
					fmtUS(pr.p99US), resources(r.lastSample.Load()), phase)
				if tty {
					fmt.Fprint(w, "\r"+line+"\x1b[K")
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	return p
}

func (p *progressPrinter) stop() {
	close(p.stopCh)
	p.wg.Wait()
}

// resources is the newest sample's part of the live line ("" without --sample).
func resources(s *sample) string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("  rss %s  heap %s  goroutines %d  fds %d", fmtKiB(s.RSSKiB), fmtKiB(int64(s.HeapBytes/1024)), s.Goroutines, s.FDs)
}

// fmtKiB renders KiB as MiB with one decimal.
func fmtKiB(kib int64) string { return fmt.Sprintf("%.1fMiB", float64(kib)/1024) }

// fmtUS renders microseconds compactly: 850µs, 1.25ms, 2.5s.
func fmtUS(us int64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 1000000:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	}
	return fmt.Sprintf("%.2fs", float64(us)/1e6)
}
