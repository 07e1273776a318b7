package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// attackPage is a page of another site that tries what the review showed possible: include the
// demo's config script to read the admin token, read the demo page, post to the sandbox (a "simple"
// text/plain POST needs no preflight; a JSON one does), read the sandbox and call the admin API.
const attackPage = `<!doctype html><html><head><title>another site</title></head><body><script>
var D = %q, F = %q, N = 0;
window.r = {done: 0, posts: []};
function done() { r.done++; }
var s = document.createElement("script");
s.src = D + "/demo/config.js";
s.onload = s.onerror = function () { r.scriptToken = (window.SANDBOX_CONFIG || {}).adminToken || ""; done(); };
document.head.appendChild(s); N++;
fetch(D + "/demo/").then(function (x) { return x.text(); }).then(function (t) { r.pageRead = t; }, function (e) { r.pageErr = String(e); }).finally(done); N++;
[D, F].forEach(function (base) {
  var body = JSON.stringify({text: "pwned from another site"});
  fetch(base + "/_sandbox/visitor/send", {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: body})
    .then(function () { r.posts.push("simple sent"); }, function (e) { r.posts.push("simple failed: " + e); }).finally(done); N++;
  fetch(base + "/_sandbox/visitor/send", {method: "POST", headers: {"Content-Type": "application/json"}, body: body})
    .then(function (x) { r.posts.push("json answered " + x.status); }, function (e) { r.posts.push("json failed: " + e); }).finally(done); N++;
  fetch(base + "/_sandbox/conversations").then(function (x) { return x.text(); })
    .then(function (t) { r.sandboxRead = t; }, function (e) { r.sandboxErr = String(e); }).finally(done); N++;
});
fetch(D + "/v1/conversations").then(function (x) { r.adminStatus = x.status; }, function (e) { r.adminErr = String(e); }).finally(done); N++;
r.want = N;
</script></body></html>`

type attackResult struct {
	Done        int      `json:"done"`
	Want        int      `json:"want"`
	ScriptToken string   `json:"scriptToken"`
	PageRead    string   `json:"pageRead"`
	PageErr     string   `json:"pageErr"`
	Posts       []string `json:"posts"`
	SandboxRead string   `json:"sandboxRead"`
	AdminStatus int      `json:"adminStatus"`
}

// TestDemoOtherOriginCannotDrive opens, in a real chromium, a page of another origin while the demo
// runs: it cannot read the demo's admin token (no script carries it, the page is not readable
// cross-origin), cannot post to the sandbox (through the demo or directly) and cannot read it. A name
// rebound to 127.0.0.1 (DNS rebinding) reaches nothing on either server.
func TestDemoOtherOriginCannotDrive(t *testing.T) {
	d := startTestDemo(t, "auto")
	demoURL := d.app.web.URL()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, attackPage, demoURL, d.fake.URL())
	}))
	t.Cleanup(evil.Close)
	if strings.HasPrefix(demoURL, evil.URL) || evil.URL == demoURL {
		t.Fatal("the attack page must be on another origin")
	}

	browser := jstest.NewBrowser(t)
	ctx := jstest.NewTab(t, browser, 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatalf("open the other site's page: %v", err)
	}
	var res attackResult
	waitCond(t, "the other site's requests settled", func() bool {
		var err error
		if res, err = chromedp.Run(ctx, chromedp.Evaluate[attackResult](`window.r`)); err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return res.Want > 0 && res.Done == res.Want
	})
	t.Logf("another origin: %+v", res)
	if res.ScriptToken != "" || strings.Contains(res.PageRead, d.tok) || strings.Contains(res.SandboxRead, DemoWebsiteID) {
		t.Errorf("the other site read the demo: token from a script %q, page %d bytes, sandbox %q", res.ScriptToken, len(res.PageRead), res.SandboxRead)
	}
	if res.PageRead != "" || res.SandboxRead != "" {
		t.Errorf("a cross-origin read succeeded: page %d bytes, sandbox %q", len(res.PageRead), res.SandboxRead)
	}
	if res.AdminStatus != 0 && res.AdminStatus < 400 {
		t.Errorf("admin API answered %d", res.AdminStatus)
	}
	for _, p := range res.Posts {
		if strings.HasPrefix(p, "json answered 2") {
			t.Errorf("a JSON POST from another origin was answered: %s", p)
		}
	}
	// The decisive check: nothing reached the sandbox's model. The simple POSTs were sent (the
	// browser does not stop them) and refused by the server.
	if convs := d.fake.Conversations(DemoWebsiteID); len(convs) != 0 {
		t.Errorf("the other site created %d conversations in the sandbox", len(convs))
	}
	simple := 0
	for _, p := range res.Posts {
		if p == "simple sent" {
			simple++
		}
	}
	if simple != 2 {
		t.Errorf("posts %v: want both simple POSTs sent by the browser (and refused by the servers)", res.Posts)
	}

	// DNS rebinding: the attacker's name now resolves to 127.0.0.1, so the browser calls the demo
	// as the attacker's own origin, with the attacker's Host. Both servers refuse that Host.
	for _, u := range []string{demoURL + "/demo/", demoURL + "/v1/conversations", demoURL + "/_sandbox/conversations",
		d.fake.URL() + "/_sandbox/conversations"} {
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = "rebound.example:" + req.URL.Port()
		req.Header.Set("Authorization", "Bearer "+d.tok)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusMisdirectedRequest || strings.Contains(string(body), d.tok) {
			t.Errorf("GET %s with Host %s: %d, want 421", u, req.Host, r.StatusCode)
		}
	}
	// The demo's own page still works from its own origin (TestDemoInBrowser drives it in full).
	r, err := http.Get(demoURL + "/demo/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(string(body), d.tok) {
		t.Errorf("GET /demo/ from loopback: %d, token inline %v", r.StatusCode, strings.Contains(string(body), d.tok))
	}
}
