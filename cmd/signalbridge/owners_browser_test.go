package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
	"github.com/signalbridge/signalbridge/signals"
)

// ownersOtherSite is a second website that installed the plugin in the owners' tests.
const ownersOtherSite = "0f5b6c2e-8d1a-4c3b-9e7f-2a1b3c4d5e6f"

// ownerTab opens url in a new tab and returns it with the navigation's HTTP status.
func ownerTab(t *testing.T, browser context.Context, url string) (context.Context, int) {
	t.Helper()
	tab := jstest.NewTab(t, browser, 30*time.Second)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	status, err := chromedp.Run(tab, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return tab, status
}

// TestOwnerSettingsInBrowser: the demo page links to the sandbox website's settings page (its own
// plugin token in the URL, as Crisp opens it); the page shows the file's values and the precedence;
// the owner pastes a Markdown article, a closed message and switches to wait_for_signal, saves, and
// the assistant answers from that article in a new conversation once it is started; the page of the
// website cannot be opened with another website's token, nor read through the JSON API.
func TestOwnerSettingsInBrowser(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	d.fake.AddWebsite(ownersOtherSite)
	p := openDemoPage(t, browser, d)

	link := evalJS[string](p, `document.getElementById("link-settings").href`)
	if !strings.Contains(link, "/owners/settings?") || evalJS[bool](p, `document.getElementById("link-settings").hidden`) {
		t.Fatalf("demo page settings link = %q (hidden: %v)", link, evalJS[bool](p, `document.getElementById("link-settings").hidden`))
	}
	tab, status := ownerTab(t, browser, link)
	if status != http.StatusOK {
		t.Fatalf("settings page answered %d", status)
	}
	exceptions := jstest.Exceptions(t, tab)
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`)||{}).textContent||""`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := text("#precedence"); !strings.Contains(got, "wins over the server's configuration file") {
		t.Errorf("precedence note = %q", got)
	}
	if got := text("body"); !strings.Contains(got, "From the file: You are the friendly support assistant of Nimbus Coffee") ||
		!strings.Contains(got, "From the file: the built-in articles") {
		t.Errorf("the page does not show the file's prompt and knowledge:\n%s", got)
	}

	const article = "# Llama care\n\nOur llamas are fed twice a day, at seven in the morning and at five in the afternoon."
	if err := chromedp.Do(tab,
		chromedp.SetValue(chromedp.ID("knowledge"), "markdown"),
		chromedp.SetValue(chromedp.ID("knowledge_markdown"), article),
		chromedp.SetValue(chromedp.ID("start_mode"), "wait_for_signal"),
		chromedp.SetValue(chromedp.ID("closed_message"), "The llama team is away."),
		chromedp.Click(chromedp.ID("save")),
	); err != nil {
		t.Fatalf("edit and save: %v\npage: %s", err, text("body"))
	}
	pollTab(t, tab, "saved", `!!document.getElementById("saved")`)
	(&demoTab{t: t, d: d, ctx: tab}).screenshot("owner-settings")
	if v := evalOn[string](t, tab, `document.getElementById("knowledge_markdown").value`); strings.TrimSpace(v) != article {
		t.Errorf("after save the page shows markdown %q", v)
	}
	if errs := exceptions(); len(errs) > 0 {
		t.Errorf("exceptions on the settings page: %v", errs)
	}

	// The change takes effect in a conversation: a new one now waits for a signal; once started
	// from the page's button, the question is answered from the pasted article.
	p.click("visitor-new")
	const q = "When are the llamas fed?"
	p.visitorSays(q)
	k := p.key()
	if c := p.waitTurn(k, q); c.Mode != signals.ModeWaiting {
		t.Fatalf("mode of a new conversation after saving wait_for_signal = %s, want waiting", c.Mode)
	}
	p.click("sb-start")
	p.wait("answer from the pasted article", `s.visitor.some(function (m) { return m.bot && m.text.indexOf("seven in the morning") >= 0; })`)
	p.screenshot("owner-settings-effect")

	// Another website's token opens nothing of this website.
	other := d.fake.WebsiteToken(ownersOtherSite)
	forbidden := strings.Replace(link, "token=", "token="+other+"&x=", 1)
	ftab, status := ownerTab(t, browser, forbidden)
	if status != http.StatusForbidden {
		t.Errorf("settings page with another website's token answered %d, want 403", status)
	}
	body, err := chromedp.Run(ftab, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"llama", "Nimbus", DemoWebsiteID} {
		if strings.Contains(body, secret) {
			t.Errorf("the forbidden page shows %q: %s", secret, body)
		}
	}
	// The other website's own page opens with its token, and shows nothing of the demo website's.
	otab, status := ownerTab(t, browser, d.app.web.URL()+ownerURL("/owners/settings", ownersOtherSite, other))
	if status != http.StatusOK {
		t.Fatalf("the other website's page with its own token answered %d", status)
	}
	if body, _ := chromedp.Run(otab, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(body, "llama") {
		t.Errorf("the other website's page shows the demo website's settings: %s", body)
	}
	// The JSON API: the other token is refused, the admin token (header) is admitted.
	for _, c := range []struct {
		auth string
		want int
	}{{"Bearer " + other, http.StatusForbidden}, {"Bearer " + d.tok, http.StatusOK}, {"", http.StatusForbidden}} {
		req, _ := http.NewRequest("GET", d.app.web.URL()+"/v1/websites/"+DemoWebsiteID+"/settings", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.want || (c.want != http.StatusOK && strings.Contains(string(b), "llama")) {
			t.Errorf("GET settings with %q = %d %s, want %d", c.auth[:min(len(c.auth), 12)], res.StatusCode, b, c.want)
		}
	}
}

// evalOn evaluates a JavaScript expression in a tab.
func evalOn[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// pollTab waits until the expression holds in the tab, across the navigation a form post causes.
func pollTab(t *testing.T, tab context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(demoWait)
	for {
		err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if time.Now().After(deadline) || tab.Err() != nil {
			t.Fatalf("waiting for %s (%s): %v", what, expr, err)
		}
	}
}
