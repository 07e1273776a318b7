package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/js/jstest"
	"github.com/signalbridge/signalbridge/signals"
)

// scriptedDay plays a day of conversations through the sandbox (visitors and an operator, over RTM
// and hooks) and returns when the bridge has processed each:
//
//	shipping, resolved by the visitor's button    handled, resolved without a human, cites shipping
//	returns, "talk to a human" button              handled, handed over (human), cites returns
//	llama socks, twice                             handled (offline "no answer"), a gap counted twice
//	shipping, operator replies then resolves       handled, cites shipping; not resolved without a human
func scriptedDay(t *testing.T, d *demo) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	urn := d.app.cfg.Crisp.PluginURN
	ask := func(session, q string) (*crisptest.Visitor, crisptest.Message) {
		t.Helper()
		v := d.fake.Visitor(DemoWebsiteID, session, crisptest.VisitorInfo{})
		if _, err := v.Send(q); err != nil {
			t.Fatal(err)
		}
		var answer crisptest.Message
		_, err := d.fake.WaitConversation(ctx, DemoWebsiteID, session, func(c crisptest.Conversation) bool {
			for _, m := range c.Messages {
				if m.Origin == urn && (m.Type == "text" || m.Type == "picker") {
					answer = m
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("%s: %q not answered: %v", session, q, err)
		}
		return v, answer
	}
	mode := func(session string, want signals.Mode, reason signals.Reason) {
		t.Helper()
		var c bridge.Conversation
		var audit []bridge.AuditEntry
		deadline := time.Now().Add(demoWait)
		for {
			var err error
			c, audit, err = d.app.bridge.Conversation(context.Background(), bridge.Key{WebsiteID: DemoWebsiteID, SessionID: session}, 20)
			if err == nil && c.Mode == want && c.Reason == reason {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: mode %s (%s), want %s (%s); audit %+v", session, c.Mode, c.Reason, want, reason, audit)
			}
			time.Sleep(5 * time.Millisecond) // polling stored state, bounded by the deadline
		}
	}
	v, a := ask("session_day_1", "How long does shipping take?")
	if err := v.Click(a.Fingerprint, bridge.ChoiceResolve); err != nil {
		t.Fatal(err)
	}
	// Resolved in Crisp by the bridge; the assistant keeps the conversation (start mode auto).
	if _, err := d.fake.WaitConversation(ctx, DemoWebsiteID, "session_day_1", func(c crisptest.Conversation) bool { return c.State == "resolved" }); err != nil {
		t.Fatalf("session_day_1 not resolved: %v", err)
	}

	v, a = ask("session_day_2", "How do I return an item?")
	if err := v.Click(a.Fingerprint, bridge.ChoiceHuman); err != nil {
		t.Fatal(err)
	}
	mode("session_day_2", signals.ModeHuman, signals.ReasonHuman)

	ask("session_day_3", "Do you sell llama wool socks?")
	ask("session_day_4", "do you sell LLAMA wool socks")

	ask("session_day_5", "How long does shipping take?")
	const op = "7e9ac3b4-1f1d-4b39-9e5a-1b2d4f2e6a01" // the demo's operator
	if _, err := d.fake.OperatorReply(DemoWebsiteID, "session_day_5", op, "Hi, Alex here, it ships tomorrow."); err != nil {
		t.Fatal(err)
	}
	mode("session_day_5", signals.ModePaused, signals.ReasonOperator)
	if err := d.fake.Resolve(DemoWebsiteID, "session_day_5"); err != nil {
		t.Fatal(err)
	}
	mode("session_day_5", signals.ModeActive, signals.ReasonResolved)
}

// TestOwnerInsightsInBrowser: after a scripted day, the insights page opened from the demo page's
// link shows the day's counters, the handover reason, the knowledge gap and the cited articles, and
// its charts draw today's bars; the JSON API gives the same numbers; another website's token is
// refused.
func TestOwnerInsightsInBrowser(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	d.fake.AddWebsite(otherSite)
	scriptedDay(t, d)

	p := openDemoPage(t, browser, d)
	link := evalJS[string](p, `document.getElementById("link-insights").href`)
	tab, status := ownerTab(t, browser, link)
	if status != http.StatusOK {
		t.Fatalf("insights page answered %d", status)
	}
	exceptions := jstest.Exceptions(t, tab)
	text := func(sel string) string {
		t.Helper()
		return evalOn[string](t, tab, `(document.querySelector(`+jsString(sel)+`)||{}).textContent||""`)
	}
	today := time.Now().UTC().Format("01-02")
	for sel, want := range map[string]string{"#total-handled": "5", "#total-resolved": "1", "#total-handovers": "human 1"} {
		if got := strings.TrimSpace(text(sel)); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	gaps := text("#gaps")
	if !strings.Contains(gaps, "do you sell llama wool socks") || !strings.Contains(gaps, "2") || strings.Contains(gaps, "shipping") {
		t.Errorf("knowledge gaps table = %q, want the llama question twice and nothing answered", gaps)
	}
	cited := evalOn[[]string](t, tab, `Array.prototype.map.call(document.querySelectorAll("#cited td"), function (td) { return td.textContent; })`)
	if len(cited) < 4 || !strings.Contains(cited[0], "/en/shipping") || cited[1] != "2" || !strings.Contains(cited[2], "/en/returns") || cited[3] != "1" {
		t.Errorf("cited articles = %q, want shipping 2 then returns 1", cited)
	}
	bar := func(chart, series string) string {
		sel := "#chart-" + chart + " rect.bar[data-series=" + jsString(series) + "][data-day=" + jsString(today) + "]"
		return evalOn[string](t, tab, `(function () { var r = document.querySelector(`+jsString(sel)+`); return r ? r.getAttribute("data-value") + "/" + r.getAttribute("height") : ""; })()`)
	}
	for _, c := range []struct{ chart, series, value string }{
		{"conversations", "handled by the assistant", "5"}, {"conversations", "handed over to a human", "1"},
		{"conversations", "resolved without a human", "1"}, {"handovers", "human", "1"},
	} {
		got := bar(c.chart, c.series)
		if v, h, _ := strings.Cut(got, "/"); v != c.value || h == "0.0" || h == "" {
			t.Errorf("chart %s, %s today = %q, want value %s and a visible bar", c.chart, c.series, got, c.value)
		}
	}
	if v, _, _ := strings.Cut(bar("first-answer", "p90"), "/"); v == "" || v == "0.0" {
		t.Errorf("time to first answer p90 today = %q, want a measured value", v)
	}
	(&demoTab{t: t, d: d, ctx: tab}).screenshot("insights")
	if errs := exceptions(); len(errs) > 0 {
		t.Errorf("exceptions on the insights page: %v", errs)
	}

	// The JSON API has the same day.
	req, _ := http.NewRequest("GET", d.app.web.URL()+"/v1/websites/"+DemoWebsiteID+"/insights?days=7", nil)
	req.Header.Set("Authorization", "Bearer "+d.tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep bridge.InsightsReport
	err = json.NewDecoder(res.Body).Decode(&rep)
	res.Body.Close()
	if err != nil || len(rep.Days) != 7 {
		t.Fatalf("insights JSON: %v, %d days", err, len(rep.Days))
	}
	day := rep.Days[6]
	if day.Handled != 5 || day.Answers != 5 || day.ResolvedAI != 1 || day.Handovers["human"] != 1 || day.FirstAnswerP50Ms <= 0 ||
		len(rep.Gaps) != 1 || rep.Gaps[0].Count != 2 {
		t.Errorf("insights JSON today = %+v, gaps %+v", day, rep.Gaps)
	}

	// Another website's token sees nothing of this one.
	other := strings.Replace(link, "token=", "token=0123456789abcdef0123456789abcdef&x=", 1)
	ftab, status := ownerTab(t, browser, other)
	if status != http.StatusForbidden {
		t.Errorf("insights with a wrong token answered %d, want 403", status)
	}
	if body, _ := chromedp.Run(ftab, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(body, "llama") {
		t.Errorf("the forbidden page shows data: %s", body)
	}
}
