package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlRun runs a short open-loop load (a few seconds, so the series has rows) with --html.
func htmlRun(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.html")
	code, _, stderr := cli(t, ctxT(t, time.Minute), "run", "-d", "2500ms", "--rate", "400", "--quiet", "--html", path)
	require.Equal(t, exitOK, code, stderr)
	return readFile(t, path)
}

// The page is well formed (every element closed, strict XML tokenizer), references nothing
// outside itself, and has each section with a drawn chart.
func TestHTMLReport(t *testing.T) {
	page := htmlRun(t)
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	var sections []string
	polylines := map[string]int{}
	section := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "well-formed")
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "link", "img", "iframe", "object", "embed":
			t.Fatalf("external-resource element <%s>", se.Name.Local)
		}
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "src", "href", "srcset":
				t.Fatalf("<%s %s=%q>: the page must not load anything", se.Name.Local, a.Name.Local, a.Value)
			case "id":
				if se.Name.Local == "section" {
					section = a.Value
					sections = append(sections, a.Value)
				}
			case "points":
				if strings.TrimSpace(a.Value) != "" {
					polylines[section]++
				}
			}
		}
	}
	assert.NotRegexp(t, regexp.MustCompile(`(?i)(https?:)?//[a-z0-9]`), page, "no URL of any kind")
	assert.NotContains(t, page, "@import")
	assert.NotContains(t, page, "url(")
	assert.Equal(t, []string{"summary", "latency-over-time", "throughput-over-time", "latency-distribution",
		"results", "connections", "checks"}, sections)
	assert.Equal(t, 4, polylines["latency-over-time"], "p50, p90, p99, max")
	assert.Equal(t, 1, polylines["throughput-over-time"])
	assert.Equal(t, 1, polylines["latency-distribution"])
	assert.Contains(t, page, "DIAMETER_SUCCESS")
	assert.Contains(t, page, "WHITELISTED")
	assert.Contains(t, page, "eir.diamload.local", "the connection table")
}

// The page renders in headless Chromium: the screenshot is not blank, and the page's script ran
// to its end (the marker it sets last is in the DOM) without a console error.
func TestHTMLReportChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("DIAMGW_REQUIRE_PEERS") != "" {
			t.Fatal("DIAMGW_REQUIRE_PEERS is set but chromium is not on PATH (.ci/run installs it)")
		}
		t.Skip("chromium not on PATH (apt-get install chromium): the HTML report is not rendered")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "r.html")
	require.NoError(t, os.WriteFile(path, []byte(htmlRun(t)), 0o644))
	shot := filepath.Join(dir, "shot.png")
	chrome := func(args ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		args = append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=" + filepath.Join(dir, "profile"),
			"--enable-logging=stderr", "--v=1"}, args...)
		cmd := exec.CommandContext(ctx, bin, append(args, "file://"+path)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Env = append(os.Environ(), "HOME="+dir)
		require.NoError(t, cmd.Run(), "chromium: %s", stderr.String())
		return stdout.String(), stderr.String()
	}
	dom, logs := chrome("--dump-dom")
	assert.True(t, strings.Contains(dom, `data-rendered="diamload-ok"`), "the page's script did not run to its end (no marker in the DOM)")
	assert.NotRegexp(t, `Uncaught|CONSOLE\(\d+\)\] "(Error|TypeError|ReferenceError)`, logs)

	chrome("--screenshot="+shot, "--window-size=1200,2000", "--hide-scrollbars")
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	colours, dark := screenshotStats(img)
	assert.Greater(t, colours, 20, "a page of charts and text has many colours")
	assert.Greater(t, dark, 2000, "text and lines are drawn")
}

// screenshotStats counts the distinct colours and the pixels darker than light grey.
func screenshotStats(img image.Image) (colours, dark int) {
	seen := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
			if (r+g+bl)/3 < 0xc000 {
				dark++
			}
		}
	}
	return len(seen), dark
}
