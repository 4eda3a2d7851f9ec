package main

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13"
)

// --html: one self-contained file (inline SVG and CSS, a few lines of inline script that only
// mark the page as rendered for the browser test): latency percentiles and throughput over
// time, the HDR percentile plot, the result-code and equipment-status breakdown, the
// per-connection table and the checks. Nothing is fetched: it opens offline, from an archive.

//go:embed report.html.tmpl
var htmlTemplateText string

var htmlTemplate = template.Must(template.New("report").Parse(htmlTemplateText))

// htmlCode is one row of the result breakdown.
type htmlCode struct {
	Code  string
	Name  string
	Count uint64
	Share string
}

// htmlView is what the template shows.
type htmlView struct {
	R           *report
	Title       string
	Latency     template.HTML
	Throughput  template.HTML
	Percentiles template.HTML
	Codes       []htmlCode
	Equipment   []htmlCode
}

// writeHTML writes the HTML report.
func (rp *report) writeHTML(w io.Writer) error {
	v := htmlView{R: rp, Title: fmt.Sprintf("diamload %s: %s client, %s loop", rp.Command, rp.Client, rp.Mode)}
	xs := make([]float64, len(rp.Timeline))
	var p50, p90, p99, pmax, rps []float64
	for i, s := range rp.Timeline {
		xs[i] = s.AtS
		p50, p90, p99 = append(p50, float64(s.P50)), append(p90, float64(s.P90)), append(p99, float64(s.P99))
		pmax, rps = append(pmax, float64(s.Max)), append(rps, s.RPS)
	}
	secs := func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) + "s" }
	us := func(y float64) string { return fmtUS(int64(math.Round(y))) }
	v.Latency = template.HTML((&chart{title: "Latency percentiles per second", xLabel: "time in the measured window",
		yLabel: "latency (log)", xs: xs, logY: true, xTick: secs, yTick: us, lines: []line{
			{"p50", "#1f77b4", p50}, {"p90", "#2ca02c", p90}, {"p99", "#ff7f0e", p99}, {"max", "#d62728", pmax}}}).svg())
	v.Throughput = template.HTML((&chart{title: "Throughput (answers per second)", xLabel: "time in the measured window",
		yLabel: "ECR/s", xs: xs, xTick: secs, yTick: func(y float64) string { return strconv.FormatFloat(y, 'f', 0, 64) },
		lines: []line{{"answers/s", "#1f77b4", rps}}}).svg())
	px, py := percentilePlot(rp.LatencyHDR)
	v.Percentiles = template.HTML((&chart{title: "Latency by percentile (HDR)", xLabel: "percentile (log scale of 1/(1-q))",
		yLabel: "latency (log)", xs: px, logX: true, logY: true, yTick: us, xTick: pctLabel, lines: []line{{"latency", "#9467bd", py}}}).svg())
	v.Codes, v.Equipment = rp.htmlCodes()
	return htmlTemplate.Execute(w, &v)
}

// percentilePlot is the HDR percentile plot's points: x = 1/(1-q), y = the latency at q, from
// the median to the last sample (q = 1 - 1/count), at 20 points a decade.
func percentilePlot(enc string) (xs, ys []float64) {
	if enc == "" {
		return nil, nil
	}
	h, err := hdrhistogram.Decode([]byte(enc))
	if err != nil || h.TotalCount() == 0 {
		return nil, nil
	}
	top := math.Min(float64(h.TotalCount()), 1e6)
	for k := 0; ; k++ {
		x := math.Pow(10, float64(k)/20)
		if x > top {
			break
		}
		xs = append(xs, x)
		ys = append(ys, float64(h.ValueAtQuantile(100*(1-1/x))))
	}
	return xs, ys
}

// pctLabel labels the percentile plot's x axis: x = 1/(1-q) as the percentile 100·q.
func pctLabel(x float64) string {
	return strconv.FormatFloat(100*(1-1/x), 'g', 5, 64) + "%"
}

// htmlCodes is the result-code and equipment-status breakdown with names and shares.
func (rp *report) htmlCodes() (codes, equip []htmlCode) {
	share := func(n uint64) string {
		if rp.Answers == 0 {
			return "-"
		}
		return strconv.FormatFloat(100*float64(n)/float64(rp.Answers), 'f', 2, 64) + "%"
	}
	for _, k := range sortedKeys(rp.ResultCodes) {
		n, _ := strconv.ParseUint(k, 10, 32)
		codes = append(codes, htmlCode{k, framing.ResultCode(n).String(), rp.ResultCodes[k], share(rp.ResultCodes[k])})
	}
	for _, k := range sortedKeys(rp.ExperimentalResultCodes) {
		n, _ := strconv.ParseUint(k, 10, 32)
		codes = append(codes, htmlCode{"exp " + k, s13.ExperimentalResultCode(n).String(), rp.ExperimentalResultCodes[k], share(rp.ExperimentalResultCodes[k])})
	}
	q := rp.EquipmentStatus
	for _, e := range []htmlCode{{"0", "WHITELISTED", q.Whitelisted, ""}, {"1", "BLACKLISTED", q.Blacklisted, ""},
		{"2", "GREYLISTED", q.Greylisted, ""}, {"?", "other", q.Other, ""}} {
		e.Share = share(e.Count)
		equip = append(equip, e)
	}
	return codes, equip
}
