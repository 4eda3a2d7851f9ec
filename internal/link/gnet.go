package link

import (
	"time"

	"github.com/panjf2000/gnet/v2/pkg/pool/goroutine"
)

// Linger is the part of a gnet.Conn that SetRST needs.
type Linger interface{ SetLinger(sec int) error }

// SetRST makes c's close an RST instead of a FIN: for a stream that broke the framing rules and
// cannot be resynchronised (RFC 6733 §2.1), or whose unread backlog would only hold a FIN back.
// Call it on the connection's loop just before closing it (Close, or gnet.Close from a handler).
func SetRST(c Linger) { _ = c.SetLinger(0) }

// QuietLogger is a gnet logging.Logger that writes nothing: gnet's own logging (a process-wide
// default) stays out of the application's output; the loops log what matters themselves.
// Safe for concurrent use.
type QuietLogger struct{}

func (QuietLogger) Debugf(string, ...any) {} // discards
func (QuietLogger) Infof(string, ...any)  {} // discards
func (QuietLogger) Warnf(string, ...any)  {} // discards
func (QuietLogger) Errorf(string, ...any) {} // discards
func (QuietLogger) Fatalf(string, ...any) {} // discards

// ReleaseGnetWorkerPool stops gnet's process-wide goroutine pool (pkg/pool/goroutine's
// DefaultWorkerPool, an ants pool started when gnet is imported). Neither loop submits to it:
// gnet uses it on Linux only for EventLoop.Register and EventLoop.Enroll, which the engine
// (Client.EnrollContext) and the server (Run) never call. Running, its two housekeeping
// goroutines wake the process several times a second, which is most of what an idle,
// connected client or server costs. Idempotent; safe for concurrent use. Code in the same process
// that does use those gnet calls must keep the pool (Config.KeepGnetWorkerPool in engine and
// server), or restart it with goroutine.DefaultWorkerPool.Reboot().
func ReleaseGnetWorkerPool() {
	// ReleaseTimeout, not Release: it returns once the housekeeping goroutines have exited, so a
	// later Reboot (ants does not guard it against them) finds them gone. A pool released
	// already returns at once.
	_ = goroutine.DefaultWorkerPool.ReleaseTimeout(time.Second)
}
