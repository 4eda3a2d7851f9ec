package link

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
