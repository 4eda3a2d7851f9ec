package framing_test

import (
	"encoding/binary"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
)

// refIter is framing.Iter.Next as it was before it stepped with framing.AVPAt, kept as the
// reference AVPAt and BadAVPAt are compared against (only the error constructor is spelled out).
type refIter struct {
	b    []byte
	off  int
	base int
	err  error
	cur  framing.AVP
}

func (it *refIter) Next() bool {
	if it.err != nil || it.off >= len(it.b) {
		return false
	}
	rest := it.b[it.off:]
	at := it.base + it.off
	if len(rest) < framing.AVPHeaderLen {
		it.err = &framing.AVPError{Offset: at, Err: framing.ErrAVPOverrun}
		return false
	}
	a := &it.cur
	a.Code = binary.BigEndian.Uint32(rest[0:4])
	a.Flags = rest[4]
	a.Offset = at
	a.Vendor = 0
	length := int(rest[5])<<16 | int(rest[6])<<8 | int(rest[7])
	hdr := framing.AVPHeaderLen
	if a.Flags&framing.AVPFlagVendor != 0 {
		hdr = framing.AVPVendorHeaderLen
		if len(rest) < hdr {
			it.err = &framing.AVPError{Code: a.Code, Offset: at, Err: framing.ErrAVPOverrun}
			return false
		}
		a.Vendor = binary.BigEndian.Uint32(rest[8:12])
	}
	if length < hdr {
		it.err = &framing.AVPError{Code: a.Code, Vendor: a.Vendor, Offset: at, Err: framing.ErrAVPLength}
		return false
	}
	if length > len(rest) {
		it.err = &framing.AVPError{Code: a.Code, Vendor: a.Vendor, Offset: at, Err: framing.ErrAVPOverrun}
		return false
	}
	a.Data = rest[hdr:length:length]
	it.off += min((length+3)&^3, len(rest))
	return true
}

// checkAVPAtSame walks b (offsets from base) with AVPAt, with Iter and with the reference, into
// every AVP that parses, and fails at the first difference: values, data (and its capacity: a
// decoder may not see past an AVP), next offset, error.
func checkAVPAtSame(t *testing.T, b []byte, base, depth int) {
	t.Helper()
	ref := refIter{b: b, base: base}
	// An Iter over b with offsets from base: the members of an AVP whose header ends at base.
	it := (&framing.AVP{Offset: base - framing.AVPHeaderLen, Data: b}).Grouped()
	for off := 0; off < len(b); {
		code, flags, vendor, data, next, ok := framing.AVPAt(b, off)
		refOK, itOK := ref.Next(), it.Next()
		if ok != refOK || itOK != refOK {
			t.Fatalf("%x at %d: AVPAt ok %v, Iter %v, reference %v (%v)", b, off, ok, itOK, refOK, ref.err)
		}
		if !ok {
			if got, want := framing.BadAVPAt(b, off, base).Error(), ref.err.Error(); got != want {
				t.Fatalf("%x at %d: BadAVPAt %q, reference %q", b, off, got, want)
			}
			if got := it.Err(); got == nil || got.Error() != ref.err.Error() {
				t.Fatalf("%x at %d: Iter's error %v, reference %v", b, off, got, ref.err)
			}
			return
		}
		r := ref.cur
		if code != r.Code || flags != r.Flags || vendor != r.Vendor || base+off != r.Offset ||
			len(data) != len(r.Data) || cap(data) != cap(r.Data) || (len(data) > 0 && &data[0] != &r.Data[0]) ||
			next != ref.off {
			t.Fatalf("%x at %d: AVPAt %d %x %d len %d cap %d next %d, reference %+v next %d",
				b, off, code, flags, vendor, len(data), cap(data), next, r, ref.off)
		}
		if a := it.AVP(); a.Code != r.Code || a.Flags != r.Flags || a.Vendor != r.Vendor || a.Offset != r.Offset ||
			len(a.Data) != len(r.Data) || cap(a.Data) != cap(r.Data) {
			t.Fatalf("%x at %d: Iter %+v, reference %+v", b, off, *a, r)
		}
		if depth > 1 {
			checkAVPAtSame(t, data, base+off+(r.Len()-len(r.Data)), depth-1)
		}
		off = next
	}
	if ref.Next() || it.Next() {
		t.Fatalf("%x: AVPAt ended, the reference or Iter did not", b)
	}
}

func avpatSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range append(append([]string(nil), validVectors...), negativeVectors...) {
		v := vector(tb, name)
		seeds = append(seeds, v[framing.HeaderLen:])
	}
	return seeds
}

// TestAVPAtMatchesReference runs every vector's AVPs, each byte of them changed to a few values
// and every truncation, through AVPAt, Iter and the reference.
func TestAVPAtMatchesReference(t *testing.T) {
	for _, s := range avpatSeeds(t) {
		m := make([]byte, len(s))
		for i := range s {
			for _, v := range [...]byte{0x00, 0xff, 0x80, 0x40, s[i] + 1, s[i] - 1, s[i] ^ 0x04} {
				copy(m, s)
				m[i] = v
				checkAVPAtSame(t, m, framing.HeaderLen, 3)
			}
		}
		for n := range len(s) + 1 {
			checkAVPAtSame(t, s[:n], framing.HeaderLen, 3)
		}
	}
}

func FuzzAVPAt(f *testing.F) {
	for _, s := range avpatSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAVPAtSame(t, b, 0, 3) })
}
