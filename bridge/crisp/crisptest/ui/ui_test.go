package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest/ui"
	"github.com/signalbridge/signalbridge/js"
	"github.com/signalbridge/signalbridge/js/jstest"
)

const (
	website    = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"
	adminToken = "demo-token"
	identifier = "plugin-id"
	key        = "plugin-key"
)

// fakeBridge stands in for the bridge: it serves the real snippet and answers the admin API's
// conversation view with a fixed mode, recording the bearer tokens it was sent.
type fakeBridge struct {
	*httptest.Server
	mu     sync.Mutex
	tokens []string
}

func (b *fakeBridge) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.tokens...)
}

func newFakeBridge(t *testing.T, origin func() string) *fakeBridge {
	t.Helper()
	b := &fakeBridge{}
	mux := http.NewServeMux()
	mux.Handle("GET /signalbridge.js", js.Handler())
	mux.HandleFunc("/v1/conversations/{website}/{session}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", origin())
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b.mu.Lock()
		b.tokens = append(b.tokens, r.Header.Get("Authorization"))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"website_id": r.PathValue("website"), "session_id": r.PathValue("session"),
			"mode": "active", "reason": "signal", "since": time.Now().UnixMilli(), "answers": 2,
			"audit": []map[string]any{{"at": time.Now().UnixMilli(), "source": "page", "from": "waiting", "to": "active", "reason": "signal"}},
		})
	})
	b.Server = httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

// setup starts the fake Crisp and the page on one origin (the page under /ui/, the sandbox API
// beside it) and a fake bridge on another.
func setup(t *testing.T) (*crisptest.Server, *httptest.Server, *fakeBridge) {
	t.Helper()
	crisp := crisptest.New(crisptest.Options{Identifier: identifier, Key: key, Websites: []string{website}})
	t.Cleanup(func() { crisp.Close() })
	var site *httptest.Server
	br := newFakeBridge(t, func() string { return site.URL })
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui.Handler(ui.Config{BridgeURL: br.URL + "/", AdminToken: adminToken, WebsiteID: website}))
	mux.Handle("/", crisp)
	site = httptest.NewServer(mux)
	t.Cleanup(site.Close)
	return crisp, site, br
}

func TestHandler(t *testing.T) {
	h := ui.Handler(ui.Config{BridgeURL: "http://127.0.0.1:9/", AdminToken: "tok", WebsiteID: "w1"})
	tests := []struct {
		method, path string
		status       int
		contentType  string
		contains     string // in the body; for a 301, the Location
	}{
		{"GET", "/ui/", 200, "text/html; charset=utf-8", `id="visitor-input"`},
		{"GET", "/ui/index.html", 200, "text/html; charset=utf-8", `<script src="app.js">`},
		{"GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "SANDBOX_CONFIG"},
		{"GET", "/ui/app.css", 200, "text/css; charset=utf-8", ".columns"},
		{"GET", "/ui/", 200, "text/html; charset=utf-8",
			`<script>window.SANDBOX_CONFIG = {"bridgeURL":"http://127.0.0.1:9","adminToken":"tok","websiteID":"w1","sandboxURL":""};</script>`},
		{"GET", "/ui/config.js", 404, "", ""}, // the token is in no script another site could include
		{"GET", "/demo/config.js", 404, "", ""},
		{"GET", "/demo/", 200, "text/html; charset=utf-8", `id="visitor-input"`},
		{"GET", "/demo/app.css", 200, "text/css; charset=utf-8", ".columns"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/ui/nope.js", 404, "", ""},
		{"GET", "/ui", 301, "", "ui/"},
		{"GET", "/demo", 301, "", "demo/"},
		{"POST", "/ui/", 405, "", ""},
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	mux.Handle("/ui", h)
	mux.Handle("/demo/", http.StripPrefix("/demo", h))
	mux.Handle("/demo", http.StripPrefix("/demo", h))
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.contentType != "" && rec.Header().Get("Content-Type") != tt.contentType {
				t.Fatalf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.status != 301 && !strings.Contains(rec.Body.String(), tt.contains) {
				t.Fatalf("body does not contain %q", tt.contains)
			}
			if tt.status == 301 && rec.Header().Get("Location") != tt.contains {
				t.Fatalf("Location %q, want %q", rec.Header().Get("Location"), tt.contains)
			}
		})
	}
}

func TestPageInBrowser(t *testing.T) {
	crisp, site, br := setup(t)
	browser := jstest.NewBrowser(t)
	tab := jstest.NewTab(t, browser, 60*time.Second)
	exceptions := jstest.Exceptions(t, tab)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	poll := func(what, expr string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("wait for %s: %v", what, err)
		}
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q).textContent`, id)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	if err := chromedp.Do(tab, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(site.URL+"/ui/")); err != nil {
		t.Fatal(err)
	}
	poll("the snippet to load from the bridge", `document.getElementById("conn-snippet").textContent === "snippet loaded"`)
	poll("the sandbox connection", `document.getElementById("conn-sandbox").textContent === "sandbox live"`)

	// A visitor message goes to the fake Crisp and comes back into both message lists.
	const hello = "Hello from a real browser"
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("visitor-input"), hello),
		chromedp.Click(chromedp.ID("visitor-send")),
	); err != nil {
		t.Fatal(err)
	}
	var session string
	err := crisp.Wait(ctx, func(s *crisptest.Server) bool {
		for _, c := range s.Conversations(website) {
			for _, m := range c.Filter("user", "text") {
				if m.Text() == hello {
					session = c.SessionID
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("visitor message never reached the fake Crisp: %v", err)
	}
	poll("the message in the visitor chat", fmt.Sprintf(
		`Array.from(document.querySelectorAll("#visitor-messages li.msg.mine")).some(li => li.textContent.includes(%q))`, hello))
	poll("the message in the operator thread", fmt.Sprintf(
		`Array.from(document.querySelectorAll("#operator-messages li.msg")).some(li => li.textContent.includes(%q))`, hello))
	if got := text("session-id"); got != session {
		t.Fatalf("page shows session %q, want %q", got, session)
	}

	// The start button is handled by the real snippet; the $crisp shim forwards the write.
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("sb-start"))); err != nil {
		t.Fatal(err)
	}
	nonced := regexp.MustCompile(`^start_chatbot#[0-9a-z]{2,}$`)
	conv, err := crisp.WaitConversation(ctx, website, session, func(c crisptest.Conversation) bool {
		v, _ := c.Data["enum"].(string)
		return nonced.MatchString(v)
	})
	if err != nil {
		c, _ := crisp.Conversation(website, session)
		t.Fatalf("start button did not write enum=start_chatbot#<nonce>: %v (data %v)", err, c.Data)
	}
	started := conv.Data["enum"].(string)
	poll("the session data panel", fmt.Sprintf(`document.querySelector("#data-panel tr[data-key=enum]") &&
		document.querySelector("#data-panel tr[data-key=enum]").textContent.includes(%q)`, started))
	poll("the snippet's onState", `document.getElementById("snippet-state").textContent === "active"`)

	// A second click is a new edge; pause writes pause_chatbot#<nonce>.
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("sb-pause"))); err != nil {
		t.Fatal(err)
	}
	if _, err := crisp.WaitConversation(ctx, website, session, func(c crisptest.Conversation) bool {
		v, _ := c.Data["enum"].(string)
		return strings.HasPrefix(v, "pause_chatbot#")
	}); err != nil {
		t.Fatalf("pause button: %v", err)
	}

	// The bridge's view (stubbed) shows in the mode panel, fetched with the admin token.
	poll("the bridge mode", `document.getElementById("mode-value").textContent === "active"`)
	poll("the audit trail", `document.querySelectorAll("#audit-list li").length === 1`)
	for _, tok := range br.seen() {
		if tok != "Bearer "+adminToken {
			t.Fatalf("bridge got Authorization %q, want the admin token", tok)
		}
	}

	// An operator reply from the inbox reaches the visitor.
	const reply = "Hi, a human here"
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("operator-input"), reply),
		chromedp.Click(chromedp.ID("operator-send")),
	); err != nil {
		t.Fatal(err)
	}
	poll("the operator reply in the visitor chat", fmt.Sprintf(
		`Array.from(document.querySelectorAll("#visitor-messages li.msg.theirs")).some(li => li.textContent.includes(%q))`, reply))

	// A picker posted over Crisp's REST API is clickable in the visitor chat.
	pickerFP := sendPicker(t, site.URL, session)
	poll("the picker", `document.querySelector("#visitor-messages li[data-type=picker] .choice[data-value='enum:start_chatbot']")`)
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`#visitor-messages li[data-type=picker] .choice[data-value='enum:start_chatbot']`))); err != nil {
		t.Fatal(err)
	}
	if _, err := crisp.WaitConversation(ctx, website, session, func(c crisptest.Conversation) bool {
		m, ok := c.Message(pickerFP)
		if !ok {
			return false
		}
		content, _ := m.Content.(map[string]any)
		choices, _ := content["choices"].([]any)
		for _, ch := range choices {
			if ch, ok := ch.(map[string]any); ok && ch["value"] == "enum:start_chatbot" && ch["selected"] == true {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("picker click: %v", err)
	}

	// The operator availability switch drives the fake's operator presence.
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("operator-online"))); err != nil {
		t.Fatal(err)
	}
	if err := crisp.Wait(ctx, func(s *crisptest.Server) bool {
		ops := s.Operators(website)
		return len(ops) > 0 && ops[0].Online
	}); err != nil {
		t.Fatalf("operator online switch: %v", err)
	}
	poll("the availability dot", `document.getElementById("visitor-availability").classList.contains("on")`)

	if path := os.Getenv("UI_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("uncaught exceptions in the page: %v", errs)
	}
}

// sendPicker posts a picker as the bot would, over the fake's REST API, and returns its fingerprint.
func sendPicker(t *testing.T, base, session string) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"type": "picker", "from": "operator", "origin": "urn:crisp.im:bot:0",
		"content": map[string]any{"id": "ai", "text": "Shall our assistant help you?", "choices": []map[string]any{
			{"value": "enum:start_chatbot", "label": "Yes, AI please", "selected": false},
			{"value": "enum:pause_chatbot", "label": "No thanks", "selected": false},
		}},
	})
	req, err := http.NewRequest(http.MethodPost, base+"/v1/website/"+website+"/conversation/"+session+"/message", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(identifier, key)
	req.Header.Set("X-Crisp-Tier", "plugin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error  bool   `json:"error"`
		Reason string `json:"reason"`
		Data   struct {
			Fingerprint int64 `json:"fingerprint"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Error || out.Data.Fingerprint == 0 {
		t.Fatalf("send picker: status %d, %+v, %v", resp.StatusCode, out, err)
	}
	return out.Data.Fingerprint
}
