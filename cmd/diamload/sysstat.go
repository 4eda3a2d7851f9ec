package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTime returns the process's user+system CPU time so far (getrusage RUSAGE_SELF).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mallocs returns the heap allocations of the process so far. ReadMemStats stops the world
// briefly: call it at the edges of a measurement only.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// peakRSSKiB returns the process's peak resident set size in KiB: VmHWM from /proc/self/status,
// else ru_maxrss (KiB on Linux, bytes on macOS). VmHWM comes first because ru_maxrss survives
// execve: under `go run` it would report the go command's own peak.
func peakRSSKiB() int64 {
	if n := procStatusKiB("VmHWM:"); n > 0 {
		return n
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil && ru.Maxrss > 0 {
		if runtime.GOOS == "darwin" {
			return int64(ru.Maxrss) / 1024
		}
		return int64(ru.Maxrss)
	}
	return 0
}

func procStatusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// isTerminal reports whether f is a character device (a terminal): the live line then
// rewrites itself with \r instead of printing a line per period.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
