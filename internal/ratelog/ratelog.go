// Package ratelog bounds the log records that a remote peer can cause. A peer that sends the
// same bad message in a loop must not get one record per message written on the event loop:
// a Limiter allows one record per interval and counts the ones it refused, so the next record
// can say how many were left out. The caller passes its own clock reading, so the loop reads
// its clock no more often than it does already, and tests run in virtual time.
package ratelog

import "time"

// DefaultEvery is the interval of a Limiter whose Every is zero.
const DefaultEvery = 10 * time.Second

// Limiter allows at most Burst records per Every (a fixed window that opens with the first
// record after the last window ended). The zero value is ready for use: one record per
// DefaultEvery. Not safe for concurrent use: a Limiter belongs to the goroutine (event loop)
// that owns the connection it limits.
type Limiter struct {
	Every time.Duration
	Burst int // records per window; 0 means 1

	next       int64 // clock reading at which the window ends
	used       int   // records allowed in the window
	started    bool  // a record was allowed already
	suppressed uint64
}

// Allow reports whether a record may be written at now (nanoseconds on any monotonic clock).
// When it may, suppressed is the number of records refused since the last one allowed, for the
// record to report; when it may not, the refusal is counted. Not safe for concurrent use.
func (l *Limiter) Allow(now int64) (ok bool, suppressed uint64) {
	if l.started && now < l.next {
		if l.used >= max(l.Burst, 1) {
			l.suppressed++
			return false, 0
		}
		l.used++
	} else {
		every := l.Every
		if every <= 0 {
			every = DefaultEvery
		}
		l.started, l.next, l.used = true, now+int64(every), 1
	}
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
