package s13

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// ParseECAInto and ParseECR walk their AVPs with framing.AVPAt; reference_test.go keeps the
// decoders as they were over a framing.Iter. Whatever the input, both must give the same answer,
// the same request and the same error, offsets included: a fast path may not change a verdict.

// checkECASame fails unless the fast and the reference ECA decoder agree on msg.
func checkECASame(t *testing.T, msg []byte) {
	t.Helper()
	var got, want Answer
	gerr, werr := ParseECAInto(msg, &got), refParseECAInto(msg, &want)
	if errString(gerr) != errString(werr) {
		t.Fatalf("ECA %x: error %v, reference %v", msg, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ECA %x:\n got       %+v\n reference %+v", msg, got, want)
	}
}

// checkECRSame fails unless the fast and the reference ECR decoder agree on msg.
func checkECRSame(t *testing.T, msg []byte) {
	t.Helper()
	got, gerr := ParseECR(msg)
	want, werr := refParseECR(msg)
	if errString(gerr) != errString(werr) {
		t.Fatalf("ECR %x: error %v, reference %v", msg, gerr, werr)
	}
	if g, w := asRequestError(gerr), asRequestError(werr); g != nil && w != nil &&
		(g.ResultCode != w.ResultCode || !bytes.Equal(g.FailedAVP, w.FailedAVP) || (g.FailedAVP == nil) != (w.FailedAVP == nil)) {
		t.Fatalf("ECR %x: error %d %x, reference %d %x", msg, g.ResultCode, g.FailedAVP, w.ResultCode, w.FailedAVP)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ECR %x:\n got       %+v\n reference %+v", msg, got, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func asRequestError(err error) *RequestError {
	re, _ := err.(*RequestError)
	return re
}

// corpus returns the committed seed inputs of the fuzz target name (testdata/fuzz/name/*).
func corpus(tb testing.TB, name string) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seed corpus for %s: %v", name, err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		_, lit, ok := strings.Cut(string(b), "[]byte(")
		lit, _, ok2 := strings.Cut(lit, ")\n")
		s, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil {
			tb.Fatalf("%s: not a []byte seed: %v", f, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// mutants calls fn with msg and with every single-byte change of it from a fixed set (lengths,
// flags and codes broken one byte at a time) and every truncation: a few thousand malformed
// messages per seed, deterministic, so a plain go test covers the error paths.
func mutants(msg []byte, fn func([]byte)) {
	fn(msg)
	m := make([]byte, len(msg))
	for i := range msg {
		for _, v := range [...]byte{0x00, 0xff, 0x80, 0x40, 0xc0, msg[i] + 1, msg[i] - 1, msg[i] ^ 0x04} {
			copy(m, msg)
			m[i] = v
			fn(m)
		}
	}
	for n := range len(msg) {
		fn(msg[:n])
	}
}

func ecaSeeds(tb testing.TB) [][]byte {
	seeds := corpus(tb, "FuzzParseECA")
	for _, name := range fuzzVectors {
		seeds = append(seeds, vector(tb, name))
	}
	return seeds
}

func ecrSeeds(tb testing.TB) [][]byte {
	seeds := corpus(tb, "FuzzParseECR")
	for _, name := range fuzzVectors {
		seeds = append(seeds, vector(tb, name))
	}
	return seeds
}

func TestParseECAMatchesReference(t *testing.T) {
	for _, s := range ecaSeeds(t) {
		mutants(s, func(m []byte) { checkECASame(t, m) })
	}
}

func TestParseECRMatchesReference(t *testing.T) {
	for _, s := range ecrSeeds(t) {
		mutants(s, func(m []byte) { checkECRSame(t, m) })
	}
}

func FuzzParseECAMatchesReference(f *testing.F) {
	for _, s := range ecaSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkECASame)
}

func FuzzParseECRMatchesReference(f *testing.F) {
	for _, s := range ecrSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(checkECRSame)
}
