package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/signals"
)

// lineWriter collects output and hands out the first line containing a prefix.
type lineWriter struct {
	mu  sync.Mutex
	buf strings.Builder
	ch  chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		select {
		case w.ch <- sc.Text():
		default:
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.buf.String() }

// writeConfig writes a YAML config for the fake Crisp and returns its path and environment.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signalbridge.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// TestRunEndToEnd boots the real `signalbridge run` through Main against the fake Crisp and the fake
// OpenAI server on loopback and drives a whole conversation: signal, answer, handover, resolution,
// plus the admin API.
func TestRunEndToEnd(t *testing.T) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite},
		HookSecret: "hook-secret", Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	model := openaitest.MustStart(t)
	kb := t.TempDir()
	if err := os.WriteFile(filepath.Join(kb, "shipping.md"), []byte("---\ntitle: Shipping\nurl: https://help.example/shipping\n---\nDelivery takes 2 to 4 days.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := writeConfig(t, `
listen: 127.0.0.1:0
log_format: json
crisp:
  events: both
websites:
  allow_unknown: true
  default:
    start_mode: wait_for_signal
    knowledge_base: `+kb+`
    handover:
      offer_human: never
`)
	env := map[string]string{
		"SIGNALBRIDGE_DATA": filepath.Join(t.TempDir(), "sb.db"), "SIGNALBRIDGE_ADMIN_TOKEN": "tok-123",
		"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(), "CRISP_RTM_URL": fake.RTMURL(),
		"CRISP_HOOKS_SECRET": "hook-secret", "CRISP_PLUGIN_URN": testURN,
		"OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": model.URL(), "OPENAI_MODEL": "gpt-4o-mini",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lineWriter{ch: make(chan string, 16)}
	stderr := &lineWriter{ch: make(chan string, 1)}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"run", "--config", cfgPath}, stdout, stderr, envFunc(env)) }()
	var base string
	select {
	case line := <-stdout.ch:
		base = strings.TrimPrefix(line, "signalbridge listening on ")
	case code := <-done:
		t.Fatalf("run exited %d: %s", code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not start: %s", stderr.String())
	}
	fake.SetHookURL(base + "/webhooks/crisp")
	for _, secret := range []string{"sk-fake", "hook-secret", "tok-123"} {
		if strings.Contains(stderr.String(), secret) {
			t.Fatalf("a secret appears in the logs")
		}
	}

	h := &harness{t: t, fake: fake}
	api := func(method, path, token string, want int) web.ConversationView {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, body, want)
		}
		var v web.ConversationView
		_ = json.Unmarshal(body, &v)
		return v
	}
	h.eventually("ready", func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	v := fake.Visitor(testSite, "", crisptest.VisitorInfo{Locales: []string{"en-US"}})
	s := v.SessionID()
	conv := "/v1/conversations/" + testSite + "/" + s
	mode := func() signals.Mode { return api("GET", conv, "tok-123", 200).Mode }
	wait := func(m signals.Mode) {
		t.Helper()
		h.eventually("mode "+string(m), func() bool {
			req, _ := http.NewRequest("GET", base+conv, nil)
			req.Header.Set("Authorization", "Bearer tok-123")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			defer res.Body.Close()
			var cv web.ConversationView
			return res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&cv) == nil && cv.Mode == m
		})
	}

	// Signal, then answer.
	mustSend(t, v, "Hi")
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	wait(signals.ModeActive)
	model.Script(openaitest.Text("Delivery takes 2 to 4 days."))
	mustSend(t, v, "How long does delivery take?")
	h.eventually("answer", func() bool { return len(h.answers(s)) == 1 })

	// Admin API: auth and errors.
	api("GET", conv, "", 401)
	api("GET", conv, "wrong", 401)
	api("GET", "/v1/conversations/"+testSite+"/session_00000000-0000-0000-0000-000000000000", "tok-123", 404)
	api("POST", "/v1/conversations/"+testSite+"/session_00000000-0000-0000-0000-000000000000/pause", "tok-123", 404)
	api("POST", conv+"/explode", "tok-123", 404)
	// Each control call changes state and is audited with source api.
	for _, step := range []struct {
		cmd  string
		want signals.Mode
	}{{"pause", signals.ModePaused}, {"resume", signals.ModeActive}, {"handover", signals.ModeHuman}, {"start", signals.ModeActive}} {
		got := api("POST", conv+"/"+step.cmd, "tok-123", 200)
		if got.Mode != step.want {
			t.Fatalf("%s: mode %s, want %s", step.cmd, got.Mode, step.want)
		}
		view := api("GET", conv, "tok-123", 200)
		last := view.Audit[len(view.Audit)-1]
		if last.Source != signals.SourceAPI || last.To != step.want {
			t.Fatalf("%s: last audit %+v", step.cmd, last)
		}
	}

	// Handover by the visitor's words, then resolution back to the start mode.
	mustSend(t, v, "I want to speak to a human please")
	wait(signals.ModeHuman)
	h.eventually("handover note", func() bool { return len(h.ours(s, "note")) >= 1 })
	if err := fake.Resolve(testSite, s); err != nil {
		t.Fatal(err)
	}
	wait(signals.ModeWaiting)
	if m := mode(); m != signals.ModeWaiting {
		t.Fatalf("mode after resolution = %s", m)
	}
	list := func() int {
		req, _ := http.NewRequest("GET", base+"/v1/conversations?mode=waiting", nil)
		req.Header.Set("Authorization", "Bearer tok-123")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Conversations []web.ConversationView `json:"conversations"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		return len(out.Conversations)
	}
	if n := list(); n != 1 {
		t.Fatalf("waiting conversations = %d, want 1", n)
	}
	// Metrics are exported.
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, m := range []string{"signalbridge_events_total", "signalbridge_handovers_total{reason=\"human\"}", "signalbridge_replies_total", "signalbridge_model_tokens_total", "signalbridge_crisp_calls_total", "signalbridge_rtm_connected 1"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}

	// Graceful shutdown.
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run exited %d: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
}

func TestCheckCommand(t *testing.T) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	model := openaitest.MustStart(t)
	good := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
		"OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": model.URL()}

	t.Run("broken config names the field", func(t *testing.T) {
		path := writeConfig(t, "crisp:\n  events: carrier-pigeon\nwebsites:\n  default:\n    start_mode: sometimes\n")
		var out, errb strings.Builder
		code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(good))
		if code == 0 {
			t.Fatalf("check exited 0 on a broken config:\n%s", out.String())
		}
		for _, want := range []string{"crisp.events", "websites.default.start_mode"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		path := writeConfig(t, "crips:\n  events: rtm\n")
		var out, errb strings.Builder
		if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(good)); code == 0 {
			t.Fatal("check accepted an unknown key")
		}
		if !strings.Contains(out.String(), "crips") {
			t.Errorf("output does not name the unknown key:\n%s", out.String())
		}
	})
	t.Run("good config against the fake", func(t *testing.T) {
		path := writeConfig(t, "websites:\n  default:\n    start_mode: auto\n")
		var out, errb strings.Builder
		code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(good))
		if code != 0 {
			t.Fatalf("check exited %d:\n%s%s", code, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "ok   crisp") || !strings.Contains(out.String(), "ok   model") || strings.Contains(out.String(), "sk-fake") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		env := map[string]string{}
		for k, v := range good {
			env[k] = v
		}
		env["CRISP_KEY"] = "nope"
		path := writeConfig(t, "")
		var out, errb strings.Builder
		if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
			t.Fatalf("check exited 0 with a wrong key:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "FAIL crisp") || strings.Contains(out.String(), "nope") {
			t.Fatalf("output:\n%s", out.String())
		}
	})
	t.Run("help and version", func(t *testing.T) {
		var out, errb strings.Builder
		if code := Main(context.Background(), []string{"version"}, &out, &errb, envFunc(nil)); code != 0 || !strings.Contains(out.String(), "signalbridge") {
			t.Fatalf("version: %d %q", code, out.String())
		}
		for _, cmd := range []string{"run", "demo", "check"} {
			var o, e strings.Builder
			if code := Main(context.Background(), []string{cmd, "--help"}, &o, &e, envFunc(nil)); code != 0 || !strings.Contains(e.String(), "Usage: signalbridge "+cmd) {
				t.Fatalf("%s --help: %d %q", cmd, code, e.String())
			}
		}
	})
}
