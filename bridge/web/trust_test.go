package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestTokens: the admin token only in the Authorization header; the scenario token (?token= or
// header) only on POST /v1/control.
func TestTokens(t *testing.T) {
	s := &web.Server{Bridge: &controller{}, AdminToken: "admin-tok", ScenarioToken: "scen-tok"}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	const pause = `{"website_id":"w","session_id":"s","command":"pause"}`
	cases := []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"admin header reads", "GET", "/v1/conversations/w/s", "Bearer admin-tok", "", 200},
		{"admin header, lower-case scheme", "GET", "/v1/conversations/w/s", "bearer admin-tok", "", 200},
		{"admin token without the scheme", "GET", "/v1/conversations/w/s", "admin-tok", "", 401},
		{"admin token in the query reads nothing", "GET", "/v1/conversations/w/s?token=admin-tok", "", "", 401},
		{"admin token in the query lists nothing", "GET", "/v1/conversations?token=admin-tok", "", "", 401},
		{"admin token in the query controls nothing", "POST", "/v1/control?token=admin-tok", "", pause, 401},
		{"admin header controls", "POST", "/v1/control", "Bearer admin-tok", pause, 200},
		{"scenario token in the query controls", "POST", "/v1/control?token=scen-tok", "", pause, 200},
		{"scenario token in the header controls", "POST", "/v1/control", "Bearer scen-tok", pause, 200},
		{"scenario token reads nothing", "GET", "/v1/conversations/w/s", "Bearer scen-tok", "", 401},
		{"scenario token in the query reads nothing", "GET", "/v1/conversations/w/s?token=scen-tok", "", "", 401},
		{"scenario token lists nothing", "GET", "/v1/conversations", "Bearer scen-tok", "", 401},
		{"scenario token only on /v1/control", "POST", "/v1/conversations/w/s/pause?token=scen-tok", "", "", 401},
		{"wrong scenario token", "POST", "/v1/control?token=scen-tok2", "", pause, 401},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, res.StatusCode, body, tc.want)
		}
		if tc.want == 401 && strings.Contains(tc.path, "token=admin-tok") && !strings.Contains(string(body), "Authorization header") {
			t.Errorf("%s: body %s, want it to say where the admin token goes", tc.name, body)
		}
	}
	// Without a scenario token configured, ?token= opens nothing.
	s2 := &web.Server{Bridge: &controller{}, AdminToken: "admin-tok"}
	srv2 := httptest.NewServer(s2.Handler())
	defer srv2.Close()
	for _, q := range []string{"?token=", "?token=admin-tok"} {
		res, err := http.Post(srv2.URL+"/v1/control"+q, "application/json", strings.NewReader(pause))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("no scenario token, POST /v1/control%s = %d, want 401", q, res.StatusCode)
		}
	}
}

// TestCORSPreflight checks the preflight answers without a browser.
func TestCORSPreflight(t *testing.T) {
	s := &web.Server{Bridge: &controller{}, AdminToken: "tok", CORSOrigins: []string{"http://admin.example"}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/v1/conversations/w/s", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := preflight("http://admin.example")
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "http://admin.example" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed preflight = %d %v, want 204 with the CORS headers", res.StatusCode, res.Header)
	}
	if res := preflight("http://evil.example"); res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin preflight = %d %v, want 403 without CORS headers", res.StatusCode, res.Header)
	}
	if res := preflight(""); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight without an origin = %d %v, want 204 without CORS headers", res.StatusCode, res.Header)
	}
}

// TestCORSFromBrowser: a page on one loopback origin calls the admin API on another with the
// Authorization header (which needs a preflight). An allowed origin gets the answer; another
// origin is blocked by the browser.
func TestCORSFromBrowser(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>admin</title>")
	})}
	go page.Serve(ln)
	t.Cleanup(func() { page.Close() })
	// The same page under two origins: 127.0.0.1 (allowed) and localhost (not).
	port := ln.Addr().(*net.TCPAddr).Port
	allowed := fmt.Sprintf("http://127.0.0.1:%d", port)
	other := fmt.Sprintf("http://localhost:%d", port)

	api := &web.Server{Addr: "127.0.0.1:0", Bridge: &controller{}, AdminToken: "tok", CORSOrigins: []string{allowed}}
	if err := api.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close(context.Background()) })

	browser := jstest.NewBrowser(t)
	call := func(origin string) map[string]any {
		t.Helper()
		tab := jstest.NewTab(t, browser, 30*time.Second)
		if err := chromedp.Do(tab, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatalf("navigate %s: %v", origin, err)
		}
		js := fmt.Sprintf(`fetch(%q, {headers: {Authorization: "Bearer tok"}})
			.then(function (r) { return r.json().then(function (b) { return {status: r.status, mode: b.mode, id: r.headers.get("X-Request-Id") || ""}; }); })
			.catch(function (e) { return {error: String(e)}; })`, api.URL()+"/v1/conversations/w/s")
		got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch from %s: %v", origin, err)
		}
		return got
	}
	if got := call(allowed); got["status"] != float64(200) || got["mode"] != "active" || got["id"] == "" {
		t.Errorf("from the allowed origin: %v, want status 200, mode active and the request id exposed", got)
	}
	if got := call(other); got["error"] == nil {
		t.Errorf("from another origin: %v, want the browser to block it", got)
	}
}

// releasing is a Hooks that records the bodies released.
type releasing struct {
	hooks
	released []string
}

func (r *releasing) Release(body []byte) { r.released = append(r.released, string(body)) }

// busy is a controller whose queue is full.
type busy struct{ controller }

func (*busy) HandleEvent(context.Context, bridge.Event) error { return bridge.ErrClosed }

// TestHookReleasedWhenNotQueued: a verified hook that cannot be queued (503) is released from the
// replay cache, so that Crisp's retry is accepted.
func TestHookReleasedWhenNotQueued(t *testing.T) {
	h := &releasing{}
	srv := httptest.NewServer((&web.Server{Bridge: &busy{}, Hooks: h}).Handler())
	defer srv.Close()
	res, err := http.Post(srv.URL+"/webhooks/crisp", "application/json", strings.NewReader("ok-1"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || len(h.released) != 1 || h.released[0] != "ok-1" {
		t.Fatalf("status %d released %v, want 503 and the body released", res.StatusCode, h.released)
	}
}
