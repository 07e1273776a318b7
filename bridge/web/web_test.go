package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/signals"
)

var (
	errForged   = errors.New("forged")
	errUnneeded = errors.New("unhandled")
)

// hooks accepts bodies starting with "ok", ignores "skip" and rejects the rest as forged.
type hooks struct{}

func (hooks) Decode(_ http.Header, _ url.Values, body []byte) (bridge.Event, error) {
	switch {
	case strings.HasPrefix(string(body), "ok"):
		return bridge.Event{Name: bridge.EventMessageSend, WebsiteID: "w", SessionID: "s"}, nil
	case strings.HasPrefix(string(body), "skip"):
		return bridge.Event{}, errUnneeded
	}
	return bridge.Event{}, errForged
}

func (hooks) Status(err error) int {
	if errors.Is(err, errUnneeded) {
		return http.StatusOK
	}
	return http.StatusForbidden
}

// controller records events and knows one conversation.
type controller struct {
	mu     sync.Mutex
	events []bridge.Event
	erased []bridge.Key
}

func (c *controller) HandleEvent(_ context.Context, ev bridge.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, ev)
	return nil
}

func (c *controller) Control(_ context.Context, k bridge.Key, cmd string, _ signals.Reason, _ string) (bridge.Conversation, error) {
	if k.SessionID != "s" {
		return bridge.Conversation{}, bridge.ErrNotFound
	}
	if cmd != bridge.ControlPause {
		return bridge.Conversation{}, bridge.ErrUnknownControl
	}
	return bridge.Conversation{Key: k, State: signals.State{Mode: signals.ModePaused}}, nil
}

func (c *controller) Conversation(_ context.Context, k bridge.Key, _ int) (bridge.Conversation, []bridge.AuditEntry, error) {
	if k.SessionID != "s" {
		return bridge.Conversation{}, nil, bridge.ErrNotFound
	}
	return bridge.Conversation{Key: k, State: signals.State{Mode: signals.ModeActive}}, nil, nil
}

func (c *controller) List(context.Context, signals.Mode, int) ([]bridge.Conversation, error) {
	return nil, nil
}

func (c *controller) Erase(_ context.Context, k bridge.Key) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.erased = append(c.erased, k)
	return nil
}

func TestRoutes(t *testing.T) {
	ctrl := &controller{}
	notReady := errors.New("rtm down")
	var ready error
	s := &web.Server{Bridge: ctrl, Hooks: hooks{}, AdminToken: "tok", MaxBody: 64, Ready: func() error { return ready }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	do := func(method, path, token, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	cases := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"hook accepted", "POST", "/webhooks/crisp", "", "ok", 200},
		{"hook for an unhandled event", "POST", "/webhooks/crisp", "", "skip", 200},
		{"forged hook", "POST", "/webhooks/crisp", "", "evil", 403},
		{"oversized hook", "POST", "/webhooks/crisp", "", "ok" + strings.Repeat("x", 100), 413},
		{"no token", "GET", "/v1/conversations/w/s", "", "", 401},
		{"wrong token", "GET", "/v1/conversations/w/s", "nope", "", 401},
		{"admin token in the query", "GET", "/v1/conversations/w/s?token=tok", "", "", 401},
		{"conversation", "GET", "/v1/conversations/w/s", "tok", "", 200},
		{"unknown conversation", "GET", "/v1/conversations/w/other", "tok", "", 404},
		{"erase without a token", "DELETE", "/v1/conversations/w/gone", "", "", 401},
		{"erase", "DELETE", "/v1/conversations/w/gone", "tok", "", 204},
		{"unknown conversation, optional", "GET", "/v1/conversations/w/other?optional=true", "tok", "", 204},
		{"stored conversation, optional", "GET", "/v1/conversations/w/s?optional=true", "tok", "", 200},
		{"control", "POST", "/v1/conversations/w/s/pause", "tok", "", 200},
		{"unknown command", "POST", "/v1/conversations/w/s/explode", "tok", "", 404},
		{"bad reason", "POST", "/v1/conversations/w/s/pause", "tok", `{"reason":"whim"}`, 400},
		{"bad body", "POST", "/v1/control", "tok", `{`, 400},
		{"control without ids", "POST", "/v1/control", "tok", `{"command":"pause"}`, 400},
		{"bad mode filter", "GET", "/v1/conversations?mode=sleepy", "tok", "", 400},
		{"health", "GET", "/healthz", "", "", 200},
		{"ready", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
	}
	for _, tc := range cases {
		if res := do(tc.method, tc.path, tc.token, tc.body); res.StatusCode != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, res.StatusCode, tc.want)
		} else if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no request id", tc.name)
		}
	}
	ready = notReady
	if res := do("GET", "/readyz", "", ""); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while not ready = %d, want 503", res.StatusCode)
	}
	ctrl.mu.Lock()
	defer ctrl.mu.Unlock()
	if len(ctrl.events) != 1 {
		t.Errorf("events handed to the bridge = %d, want 1 (only the accepted hook)", len(ctrl.events))
	}
	if len(ctrl.erased) != 1 || ctrl.erased[0] != (bridge.Key{WebsiteID: "w", SessionID: "gone"}) {
		t.Errorf("erased = %v, want [w/gone] (once, and only with the token)", ctrl.erased)
	}
}

// TestHookAnswerBodies: a hook's answer is {"status": ...} as JSON, the constant answers and the
// error texts alike.
func TestHookAnswerBodies(t *testing.T) {
	s := &web.Server{Bridge: &controller{}, Hooks: hooks{}, MaxBody: 64}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for body, want := range map[string]string{
		"ok":   `{"status":"accepted"}`,
		"skip": `{"status":"ignored"}`,
		"evil": `{"status":"forged"}`,
	} {
		res, err := http.Post(srv.URL+"/webhooks/crisp", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("hook %q answered %s (%s), want %s (application/json; charset=utf-8)", body, got, res.Header.Get("Content-Type"), want)
		}
	}
}
