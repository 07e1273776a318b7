package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signalbridge/signalbridge/bridge"
)

// InsightsSource is implemented by Owners that also serve the insights page.
type InsightsSource interface {
	// Insights returns the website's insights of the last days (today included).
	Insights(ctx context.Context, websiteID string, days int) (bridge.InsightsReport, error)
}

func (s *Server) insightsRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	r.GET("/owners/insights", s.ownerAuth(), s.insightsPage)
	v1.GET("/websites/:website/insights", s.ownerAuth(), s.insightsJSON)
}

// insightsDays reads ?days= (default 14, 1..90).
func insightsDays(c *gin.Context) (int, bool) {
	v := c.DefaultQuery("days", "14")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 90 {
		return 0, false
	}
	return n, true
}

func (s *Server) insightsJSON(c *gin.Context) {
	days, ok := insightsDays(c)
	if !ok {
		c.JSON(http.StatusBadRequest, gin.H{"error": "days must be 1..90"})
		return
	}
	rep, err := s.Owners.(InsightsSource).Insights(c.Request.Context(), c.GetString("website"), days)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// insightsView is the insights page's data.
type insightsView struct {
	bridge.InsightsReport
	Token  string
	Period int
	Totals bridge.InsightsDay // the period's sums (percentiles: the worst day's)
	Charts []template.HTML
}

func (s *Server) insightsPage(c *gin.Context) {
	days, ok := insightsDays(c)
	if !ok {
		days = 14
	}
	rep, err := s.Owners.(InsightsSource).Insights(c.Request.Context(), c.GetString("website"), days)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := insightsView{InsightsReport: rep, Token: c.Query("token"), Period: days, Totals: bridge.InsightsDay{Handovers: map[string]int64{}}}
	labels := make([]string, len(rep.Days))
	handled, resolved, over := make([]float64, len(rep.Days)), make([]float64, len(rep.Days)), make([]float64, len(rep.Days))
	p50, p90, cost := make([]float64, len(rep.Days)), make([]float64, len(rep.Days)), make([]float64, len(rep.Days))
	reasons := map[string][]float64{}
	for i, d := range rep.Days {
		labels[i] = d.Day[5:] // MM-DD
		handled[i], resolved[i] = float64(d.Handled), float64(d.ResolvedAI)
		p50[i], p90[i], cost[i] = float64(d.FirstAnswerP50Ms)/1000, float64(d.FirstAnswerP90Ms)/1000, d.CostUSD
		v.Totals.Handled += d.Handled
		v.Totals.Answers += d.Answers
		v.Totals.ResolvedAI += d.ResolvedAI
		v.Totals.CostUSD += d.CostUSD
		for r, n := range d.Handovers {
			over[i] += float64(n)
			if reasons[r] == nil {
				reasons[r] = make([]float64, len(rep.Days))
			}
			reasons[r][i] = float64(n)
			v.Totals.Handovers[r] += n
		}
		v.Totals.FirstAnswerP90Ms = max(v.Totals.FirstAnswerP90Ms, d.FirstAnswerP90Ms)
	}
	var byReason []series
	for i, r := range slices.Sorted(func(yield func(string) bool) {
		for r := range reasons {
			if !yield(r) {
				return
			}
		}
	}) {
		byReason = append(byReason, series{Name: r, Color: palette[(i+1)%len(palette)], Values: reasons[r]})
	}
	v.Charts = []template.HTML{
		barChart("conversations", "Conversations per day", labels, "%.0f", []series{
			{Name: "handled by the assistant", Color: palette[0], Values: handled},
			{Name: "handed over to a human", Color: palette[1], Values: over},
			{Name: "resolved without a human", Color: palette[2], Values: resolved}}),
		barChart("handovers", "Handed over, by reason", labels, "%.0f", byReason),
		barChart("first-answer", "Time to first answer (seconds, at most)", labels, "%.1f", []series{
			{Name: "p50", Color: palette[0], Values: p50}, {Name: "p90", Color: palette[3], Values: p90}}),
		barChart("cost", "Model cost (USD)", labels, "%.4f", []series{{Name: "cost", Color: palette[4], Values: cost}}),
	}
	pageHeaders(c)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := insightsTmpl.Execute(c.Writer, v); err != nil {
		s.Logger.Error("insights page", "err", err)
	}
}

// series is one set of bars of a chart.
type series struct {
	Name   string
	Color  string
	Values []float64
}

var palette = []string{"#1972f5", "#f08c2e", "#23a566", "#8e5cf0", "#d0455b", "#0aa3b5"}

// barChart renders grouped bars (one group per label, one bar per series) as an SVG, with a
// legend, four grid lines and each bar's value in its tooltip. It uses no script and no font file.
func barChart(id, title string, labels []string, valueFormat string, ss []series) template.HTML {
	const w, h, left, right, top, bottom = 720, 220, 48, 12, 28, 36
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart" id="chart-%s"><figcaption>%s</figcaption>`, id, template.HTMLEscapeString(title))
	maxV := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	if len(ss) == 0 || maxV == 0 {
		b.WriteString(`<p class="file empty">No data in this period yet.</p></figure>`)
		return template.HTML(b.String())
	}
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">`,
		w, h, template.HTMLEscapeString(title))
	scale := niceCeil(maxV)
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	for i := 0; i <= 4; i++ {
		y := float64(top) + plotH - plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e2e7ef"/>`, left, w-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#5b6577">%s</text>`, left-6, y+4, trimNum(scale*float64(i)/4))
	}
	group := plotW / float64(max(len(labels), 1))
	barW := math.Max(1, (group*0.8)/float64(len(ss)))
	every := max(1, len(labels)/10)
	for i, l := range labels {
		gx := float64(left) + group*float64(i) + group*0.1
		for j, s := range ss {
			v := 0.0
			if i < len(s.Values) {
				v = s.Values[i]
			}
			bh := plotH * v / scale
			fmt.Fprintf(&b, `<rect class="bar" data-series="%s" data-day="%s" data-value="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				template.HTMLEscapeString(s.Name), l, fmt.Sprintf(valueFormat, v), gx+barW*float64(j), float64(top)+plotH-bh, barW, bh, s.Color,
				l, template.HTMLEscapeString(s.Name), fmt.Sprintf(valueFormat, v))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#5b6577">%s</text>`, gx+group*0.4, h-bottom+16, l)
		}
	}
	x := float64(left)
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%.1f" y="8" width="10" height="10" fill="%s"/><text x="%.1f" y="17" fill="#1c2433">%s</text>`,
			x, s.Color, x+14, template.HTMLEscapeString(s.Name))
		x += 24 + 6.5*float64(len(s.Name))
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimNum(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

var insightsTmpl = template.Must(template.New("insights").Funcs(template.FuncMap{
	"settingsURL": func(website, token string) string {
		q := url.Values{"website_id": {website}}
		if token != "" {
			q.Set("token", token)
		}
		return "/owners/settings?" + q.Encode()
	},
	"usd": func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"sec": func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) },
}).Parse(ownerCSS + insightsHTML))

const insightsHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assistant insights</title>{{template "css"}}
<style>.chart{margin:0 0 18px}.chart figcaption{font-weight:600;margin-bottom:4px}
.kpi{display:flex;gap:12px;flex-wrap:wrap}.kpi div{flex:1;min-width:130px;background:#fff;border:1px solid #e2e7ef;border-radius:10px;padding:10px 14px}
.kpi b{display:block;font-size:22px} table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:5px 8px;border-bottom:1px solid #eef1f6} td.n{text-align:right;width:70px}</style>
</head><body><main>
<nav><a id="settings-link" href="{{settingsURL .WebsiteID .Token}}">Settings</a> <b>Insights</b></nav>
<h1>What the assistant did</h1>
<p class="sub">Website <code>{{.WebsiteID}}</code>, the last {{.Period}} days (UTC), counted as it happened.</p>
<div class="kpi" id="totals">
<div>Handled<b id="total-handled">{{.Totals.Handled}}</b></div>
<div>Resolved without a human<b id="total-resolved">{{.Totals.ResolvedAI}}</b></div>
<div>Handed over<b id="total-handovers">{{range $r, $n := .Totals.Handovers}}<span data-reason="{{$r}}">{{$r}} {{$n}} </span>{{else}}0{{end}}</b></div>
<div>Model cost<b id="total-cost">$ {{usd .Totals.CostUSD}}</b></div>
</div>
<div class="card">{{range .Charts}}{{.}}{{end}}</div>
<h2>Knowledge gaps</h2>
<p class="sub">Questions answered without citing an article (or not answered), most frequent first. Add an article for them.</p>
<table class="card" id="gaps"><tr><th>Question</th><th>Times</th></tr>
{{range .Gaps}}<tr><td>{{.Text}}</td><td class="n">{{.Count}}</td></tr>{{else}}<tr><td colspan="2">None in this period.</td></tr>{{end}}</table>
<h2>Articles cited most</h2>
<table class="card" id="cited"><tr><th>Article</th><th>Times</th></tr>
{{range .Cited}}<tr><td>{{.Text}}</td><td class="n">{{.Count}}</td></tr>{{else}}<tr><td colspan="2">None in this period.</td></tr>{{end}}</table>
</main></body></html>`
