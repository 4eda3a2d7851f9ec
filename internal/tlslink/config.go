package tlslink

import "crypto/tls"

// Config is the caller's tls.Config as a loop uses it, a copy: TLS 1.2 at least when MinVersion
// is left 0 (RFC 6733 §13.1 wants TLS 1.2 or later, RFC 8996 retires 1.0 and 1.1), and full-size
// records from the first byte (DynamicRecordSizingDisabled: the small first records crypto/tls
// uses for web page latency would only put fewer messages in each record). Verification stays
// as the caller set it. Safe for concurrent use.
func Config(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	c.DynamicRecordSizingDisabled = true
	return c
}
