package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// A minimal SVG line chart for the HTML report: inline, no script, no external resource.

// line is one named series of a chart; ys[i] belongs to the chart's xs[i].
type line struct {
	name  string
	color string
	ys    []float64
}

// chart is a line chart; logX/logY put an axis on a log10 scale (values <= 0 are left out).
type chart struct {
	title        string
	xLabel       string
	yLabel       string
	xs           []float64
	lines        []line
	logX, logY   bool
	xTick, yTick func(float64) string // axis labels
}

const (
	chartW, chartH           = 1000, 320
	padL, padR, padT, padB   = 80, 160, 30, 45
	plotW, plotH             = chartW - padL - padR, chartH - padT - padB
	chartTicks               = 5
	chartFont                = `font-family="sans-serif" font-size="12"`
	chartAxisColor, gridGrey = "#333", "#ddd"
)

// svg renders the chart.
func (c *chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="18" %s font-weight="bold">%s</text>`, padL, chartFont, html.EscapeString(c.title))
	x0, x1 := bounds(c.xs, c.logX)
	var all []float64
	for _, l := range c.lines {
		all = append(all, l.ys...)
	}
	y0, y1 := bounds(all, c.logY)
	if !c.logY {
		y0 = 0
	}
	sx := scaler(x0, x1, c.logX, padL, padL+plotW)
	sy := scaler(y0, y1, c.logY, padT+plotH, padT)
	for _, fy := range ticks(y0, y1, c.logY) {
		py := sy(fy)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>`, padL, py, padL+plotW, py, gridGrey)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`, padL-6, py+4, chartFont, html.EscapeString(c.yTick(fy)))
	}
	for _, fx := range ticks(x0, x1, c.logX) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`, sx(fx), padT+plotH+16, chartFont, html.EscapeString(c.xTick(fx)))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`, padL, padT, plotW, plotH, chartAxisColor)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`, padL+plotW/2, chartH-6, chartFont, html.EscapeString(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" %s text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`, padT+plotH/2, chartFont, padT+plotH/2, html.EscapeString(c.yLabel))
	for k, l := range c.lines {
		var pts []string
		for i, y := range l.ys {
			if i >= len(c.xs) || (c.logY && y <= 0) || (c.logX && c.xs[i] <= 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(c.xs[i]), sy(y)))
		}
		fmt.Fprintf(&b, `<polyline class="series" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, l.color, strings.Join(pts, " "))
		ly := padT + 14 + 18*k
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`, padL+plotW+12, ly-4, padL+plotW+32, ly-4, l.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s>%s</text>`, padL+plotW+38, ly, chartFont, html.EscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// ticks are an axis's labelled values: 1, 2 and 5 times the powers of ten inside [lo, hi] on a
// log scale (its ends when fewer than two fall inside), else chartTicks+1 evenly spaced.
func ticks(lo, hi float64, log bool) []float64 {
	var out []float64
	if log {
		for k := math.Floor(math.Log10(lo)); k <= math.Ceil(math.Log10(hi)); k++ {
			for _, m := range []float64{1, 2, 5} {
				if v := m * math.Pow(10, k); v >= lo && v <= hi {
					out = append(out, v)
				}
			}
		}
		if len(out) >= 2 {
			return out
		}
		return []float64{lo, hi}
	}
	for i := 0; i <= chartTicks; i++ {
		out = append(out, lo+(hi-lo)*float64(i)/chartTicks)
	}
	return out
}

// bounds is the range of vs (positive ones on a log scale), never empty.
func bounds(vs []float64, log bool) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if log && v <= 0 {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	switch {
	case math.IsInf(lo, 1) && log:
		return 1, 10
	case math.IsInf(lo, 1):
		return 0, 1
	case lo == hi && log:
		return lo / 2, hi * 2
	case lo == hi:
		return lo - 1, hi + 1
	}
	return lo, hi
}

// scaler maps [v0, v1] onto pixels [p0, p1], linearly or by log10.
func scaler(v0, v1 float64, log bool, p0, p1 int) func(float64) float64 {
	if log {
		v0, v1 = math.Log10(v0), math.Log10(v1)
	}
	return func(v float64) float64 {
		if log {
			v = math.Log10(v)
		}
		return float64(p0) + (v-v0)/(v1-v0)*float64(p1-p0)
	}
}
