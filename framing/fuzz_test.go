package framing_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// The fuzz targets check properties, not values: nothing panics, every error matches exactly one
// sentinel, the scanner terminates in a bounded number of steps and allocates only for errors,
// and whatever parses re-encodes into a well-formed message that parses back to the same values.
// Seeds: every vector (f.Add) and the committed corpus in testdata/fuzz/<FuzzName>/.

var sentinels = []error{
	framing.ErrShortBuffer, framing.ErrVersion, framing.ErrMessageLength, framing.ErrMessageTooLarge,
	framing.ErrTruncated, framing.ErrAVPLength, framing.ErrAVPOverrun, framing.ErrAVPData,
	framing.ErrMissingAVP, framing.ErrDuplicateAVP, framing.ErrUnexpectedMessage, framing.ErrInvalidValue,
}

// checkSentinel fails unless err matches exactly one sentinel, and one of allowed if given. It
// returns that sentinel.
func checkSentinel(t *testing.T, err error, allowed ...error) error {
	t.Helper()
	var match error
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			match = s
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d sentinels, want 1", err, n)
	}
	if len(allowed) > 0 && !slices.Contains(allowed, match) {
		t.Fatalf("error %q is not one of %v", err, allowed)
	}
	return match
}

func addVectors(f *testing.F) {
	for _, name := range append(append([]string(nil), validVectors...), negativeVectors...) {
		f.Add(vector(f, name))
	}
}

func FuzzFrameLen(f *testing.F) {
	for _, name := range append(append([]string(nil), validVectors...), negativeVectors...) {
		v := vector(f, name)
		f.Add(v, 0)
		f.Add(v[:len(v)/2], 0)
	}
	f.Add(concat(vector(f, "03_dwr"), vector(f, "05_ecr"), vector(f, "04_dwa")), 0)
	f.Add(vector(f, "05_ecr"), 100)
	f.Add([]byte{1, 0xff, 0xff, 0xfc}, framing.MaxMessageLength)

	f.Fuzz(func(t *testing.T, data []byte, max int) {
		n, err := framing.FrameLen(data, max)
		if n < 0 || n > len(data) {
			t.Fatalf("FrameLen = %d for %d bytes", n, len(data))
		}
		if len(data) < 4 {
			if n != 0 || err != nil {
				t.Fatalf("FrameLen of %d bytes = %d, %v; want 0, nil", len(data), n, err)
			}
			return
		}
		// The verdict depends on the first four bytes only: it never waits for the body.
		n4, err4 := framing.FrameLen(data[:4], max)
		if n4 != 0 || (err4 == nil) != (err == nil) {
			t.Fatalf("FrameLen of the first 4 bytes = %d, %v; of all = %d, %v", n4, err4, n, err)
		}
		if err != nil {
			s := checkSentinel(t, err, framing.ErrVersion, framing.ErrMessageLength, framing.ErrMessageTooLarge)
			if n != 0 || !errors.Is(err4, s) {
				t.Fatalf("FrameLen = %d, %v; first 4 bytes: %v", n, err, err4)
			}
			return
		}
		limit := max
		if limit <= 0 {
			limit = framing.DefaultMaxMessageSize
		}
		if n == 0 {
			// Waiting: the declared length is valid but not all here yet.
			if len(data) >= framing.HeaderLen {
				if _, _, err := framing.Message(data); !errors.Is(err, framing.ErrTruncated) {
					t.Fatalf("FrameLen waits but Message says %v", err)
				}
			}
			return
		}
		if n < framing.HeaderLen || n%4 != 0 || n > limit {
			t.Fatalf("FrameLen = %d (max %d)", n, limit)
		}
		m, h, err := framing.Message(data)
		if err != nil || len(m) != n || int(h.Length) != n {
			t.Fatalf("FrameLen = %d but Message = %d bytes, %v", n, len(m), err)
		}

		// Splitting the whole input as a stream terminates and never over-reads.
		rest := data
		for {
			k, err := framing.FrameLen(rest, max)
			if err != nil || k == 0 {
				break
			}
			rest = rest[k:]
		}
	})
}

// walk scans it and, to the given depth, every AVP's data as if it were Grouped, checking the
// scanner's invariants against the original buffer. base is the offset of it's buffer in buf and
// limit the end of that buffer. It returns the number of scans that ended in an error.
func walk(t *testing.T, buf []byte, it framing.Iter, base, limit, depth int) (errs int) {
	steps := 0
	for it.Next() {
		a := *it.AVP()
		steps++
		if steps > (limit-base)/framing.AVPHeaderLen+1 {
			t.Fatalf("scan of %d bytes took more than %d steps", limit-base, steps)
		}
		end := a.Offset + a.Len()
		if a.Offset < base || end > limit || (a.Offset%4 != 0 && base%4 == 0) {
			t.Fatalf("AVP %d at [%d,%d) outside its container [%d,%d)", a.Code, a.Offset, end, base, limit)
		}
		// Zero copy: the AVP is a view of buf at its offset.
		hdr := buf[a.Offset:]
		if code := uint32(hdr[0])<<24 | uint32(hdr[1])<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]); code != a.Code {
			t.Fatalf("AVP code %d, buffer says %d", a.Code, code)
		}
		if l := int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7]); l != a.Len() || a.Flags != hdr[4] {
			t.Fatalf("AVP length %d flags %#x, buffer says %d %#x", a.Len(), a.Flags, l, hdr[4])
		}
		if len(a.Data) > 0 && &a.Data[0] != &buf[a.Offset+a.HeaderLen()] {
			t.Fatalf("AVP %d data is a copy", a.Code)
		}
		if depth > 1 {
			errs += walk(t, buf, a.Grouped(), a.Offset+a.HeaderLen(), end, depth-1)
		}
	}
	if err := it.Err(); err != nil {
		checkSentinel(t, err, framing.ErrAVPLength, framing.ErrAVPOverrun, framing.ErrShortBuffer, framing.ErrTruncated)
		var ae *framing.AVPError
		if errors.As(err, &ae) && ae.Offset != it.Offset() {
			t.Fatalf("error at offset %d, scan stopped at %d", ae.Offset, it.Offset())
		}
		errs++
	}
	return errs
}

// scanDepth is walk without the checks, for counting allocations.
func scanDepth(it framing.Iter, depth int) (errs int) {
	for it.Next() {
		a := *it.AVP()
		if depth > 1 {
			errs += scanDepth(a.Grouped(), depth-1)
		}
	}
	if it.Err() != nil {
		errs++
	}
	return errs
}

func FuzzScan(f *testing.F) {
	addVectors(f)
	for _, name := range validVectors {
		f.Add(vector(f, name)[framing.HeaderLen:]) // bare AVP sequences
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		errs := walk(t, data, framing.Scan(data), 0, len(data), 4)
		// Only an error allocates (its *AVPError); a clean scan allocates nothing. AllocsPerRun
		// stops the world, which costs this target most of its exec rate; worth it, as zero
		// allocations is the scanner's contract.
		if allocs := testing.AllocsPerRun(5, func() { scanDepth(framing.Scan(data), 4) }); allocs > float64(errs) {
			t.Fatalf("scan allocated %v times with %d errors", allocs, errs)
		}

		if m, _, err := framing.Message(data); err == nil {
			walk(t, m, framing.AVPs(m), framing.HeaderLen, len(m), 4)
		}
	})
}

// normalize maps capabilities to what an encode-decode cycle keeps: Origin-State-Id 0 is not sent
// and an IPv4-mapped address is sent as IPv4.
func normalize(c framing.Capabilities) framing.Capabilities {
	c.HasOriginStateID = c.OriginStateID != 0
	ips := make([]netip.Addr, len(c.HostIPAddresses))
	for i, ip := range c.HostIPAddresses {
		ips[i] = ip.Unmap()
	}
	if len(ips) == 0 {
		ips = nil
	}
	c.HostIPAddresses = ips
	return c
}

// zeroVSAI reports a Vendor-Specific-Application-Id whose one id is 0: VendorApp uses 0 for
// "absent", so the encoder drops it and the result is not a valid VSAI.
func zeroVSAI(c *framing.Capabilities) bool {
	for _, v := range c.VendorSpecificApps {
		if v.AuthAppID == 0 && v.AcctAppID == 0 {
			return true
		}
	}
	return false
}

func checkWellFormed(t *testing.T, out []byte) {
	t.Helper()
	m, _, err := framing.Message(out)
	if err != nil || len(m) != len(out) {
		t.Fatalf("re-encoded message is malformed (%d of %d bytes): %v", len(m), len(out), err)
	}
	if n := walk(t, out, framing.AVPs(out), framing.HeaderLen, len(out), 1); n != 0 {
		t.Fatalf("re-encoded message does not scan")
	}
}

func FuzzParseCEA(f *testing.F) {
	addVectors(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		h, _ := framing.ParseHeader(data)

		a, err := framing.ParseCEA(data)
		if err != nil {
			checkSentinel(t, err)
		} else {
			out := framing.AppendCEA(nil, h, a.ResultCode, &a.Capabilities, a.ErrorMessage)
			checkWellFormed(t, out)
			// The encoder sets E exactly for 3xxx; an E-bit CEA with another code re-encodes
			// without E and then needs the capability AVPs an E-bit one may omit.
			lostE := a.Error && !a.ResultCode.IsProtocolError() && len(a.HostIPAddresses) == 0
			if !lostE && !zeroVSAI(&a.Capabilities) {
				b, err := framing.ParseCEA(out)
				if err != nil {
					t.Fatalf("re-encoded CEA does not parse: %v", err)
				}
				if b.ResultCode != a.ResultCode || b.ErrorMessage != a.ErrorMessage ||
					b.Error != a.ResultCode.IsProtocolError() {
					t.Fatalf("CEA changed: %+v, then %+v", a, b)
				}
				assertSameCapabilities(t, a.Capabilities, b.Capabilities)
			}
		}

		// CER shares the capability decoder.
		c, err := framing.ParseCER(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		out := framing.AppendCER(nil, h.HopByHop, h.EndToEnd, &c)
		checkWellFormed(t, out)
		if zeroVSAI(&c) {
			return
		}
		d, err := framing.ParseCER(out)
		if err != nil {
			t.Fatalf("re-encoded CER does not parse: %v", err)
		}
		assertSameCapabilities(t, c, d)
	})
}

func assertSameCapabilities(t *testing.T, a, b framing.Capabilities) {
	t.Helper()
	na, nb := normalize(a), normalize(b)
	eq := na.OriginHost == nb.OriginHost && na.OriginRealm == nb.OriginRealm &&
		na.VendorID == nb.VendorID && na.ProductName == nb.ProductName &&
		na.OriginStateID == nb.OriginStateID && na.HasOriginStateID == nb.HasOriginStateID &&
		na.FirmwareRevision == nb.FirmwareRevision &&
		equalSlices(na.HostIPAddresses, nb.HostIPAddresses) &&
		equalSlices(na.SupportedVendorIDs, nb.SupportedVendorIDs) &&
		equalSlices(na.AuthAppIDs, nb.AuthAppIDs) && equalSlices(na.AcctAppIDs, nb.AcctAppIDs) &&
		equalSlices(na.VendorSpecificApps, nb.VendorSpecificApps)
	if !eq {
		t.Fatalf("capabilities changed in an encode-decode cycle:\n%+v\n%+v", na, nb)
	}
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseBase(f *testing.F) {
	addVectors(f)

	f.Fuzz(func(t *testing.T, data []byte) {
		h, base, err := framing.ParseBase(data)
		if err != nil {
			checkSentinel(t, err)
			return
		}
		// Byte fields are views of the message.
		for _, field := range [][]byte{base.OriginHost, base.OriginRealm, base.SessionID, base.ErrorMessage, base.FailedAVP} {
			if len(field) > 0 && !within(data, field) {
				t.Fatalf("a Base field is a copy")
			}
		}

		id := framing.Identity{OriginHost: string(base.OriginHost), OriginRealm: string(base.OriginRealm),
			OriginStateID: base.OriginStateID}
		same := func(kind string, out []byte, parse func([]byte) (framing.Base, error), check func(framing.Base) bool) {
			t.Helper()
			checkWellFormed(t, out)
			got, err := parse(out)
			if err != nil {
				t.Fatalf("re-encoded %s does not parse: %v", kind, err)
			}
			if string(got.OriginHost) != id.OriginHost || string(got.OriginRealm) != id.OriginRealm || !check(got) {
				t.Fatalf("%s changed: %+v, then %+v", kind, base, got)
			}
		}

		if b, err := framing.ParseDWR(data); err != nil {
			checkSentinel(t, err)
		} else {
			same("DWR", framing.AppendDWR(nil, h.HopByHop, h.EndToEnd, &id), framing.ParseDWR,
				func(g framing.Base) bool { return g.OriginStateID == b.OriginStateID })
		}
		if b, err := framing.ParseDWA(data); err != nil {
			checkSentinel(t, err)
		} else {
			same("DWA", framing.AppendDWA(nil, h, b.ResultCode, &id), framing.ParseDWA,
				func(g framing.Base) bool { return g.ResultCode == b.ResultCode })
		}
		if b, err := framing.ParseDPR(data); err != nil {
			checkSentinel(t, err)
		} else {
			same("DPR", framing.AppendDPR(nil, h.HopByHop, h.EndToEnd, &id, b.DisconnectCause), framing.ParseDPR,
				func(g framing.Base) bool { return g.DisconnectCause == b.DisconnectCause })
		}
		if b, err := framing.ParseDPA(data); err != nil {
			checkSentinel(t, err)
		} else {
			same("DPA", framing.AppendDPA(nil, h, b.ResultCode, &id), framing.ParseDPA,
				func(g framing.Base) bool { return g.ResultCode == b.ResultCode })
		}
		if b, err := framing.ParseAnswerMessage(data); err != nil {
			checkSentinel(t, err)
		} else {
			out := framing.AppendAnswerMessage(nil, h, &id, &framing.ErrorAnswer{
				ResultCode: b.ResultCode, SessionID: b.SessionID, ErrorMessage: string(b.ErrorMessage), FailedAVP: b.FailedAVP,
			})
			if !b.ResultCode.IsProtocolError() {
				// The encoder sets E only for 3xxx, so this is no answer-message any more.
				checkWellFormed(t, out)
				if _, err := framing.ParseAnswerMessage(out); !errors.Is(err, framing.ErrUnexpectedMessage) {
					t.Fatalf("answer %d without E parsed as answer-message: %v", b.ResultCode, err)
				}
				return
			}
			same("answer-message", out, framing.ParseAnswerMessage, func(g framing.Base) bool {
				return g.ResultCode == b.ResultCode && bytes.Equal(g.SessionID, b.SessionID) &&
					bytes.Equal(g.ErrorMessage, b.ErrorMessage) && bytes.Equal(g.FailedAVP, b.FailedAVP)
			})
		}
	})
}

// within reports whether sub is a sub-slice of buf's memory.
func within(buf, sub []byte) bool {
	for i := range buf {
		if &buf[i] == &sub[0] {
			return i+len(sub) <= len(buf)
		}
	}
	return false
}
