package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/webpages"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

const (
	testSite     = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"
	testOperator = "a4c32c68-be91-4e29-8a05-976e93abbe3f"
	testURN      = "urn:signalbridge:test:0"
)

// harness is the real product wired to the fake Crisp on loopback.
type harness struct {
	t      *testing.T
	fake   *crisptest.Server
	app    *app
	cfg    Config
	opt    appOptions
	secret string
}

type harnessOptions struct {
	events    string // rtm, hooks or both
	startMode string
	website   WebsiteConfig
	completer assistant.Completer
	data      string
	fake      crisptest.Options
	edit      func(*Config)     // changes the configuration before the product opens
	now       func() time.Time  // the bridge's clock; nil = time.Now
	pageFetch []webpages.Option // the fetcher of public help pages (loopback test servers)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: testLogLevel()}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newHarness starts the fake Crisp and the product; both are closed at the end of the test.
func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	if o.events == "" {
		o.events = "rtm"
	}
	h := &harness{t: t, secret: "914a657d8cc2efbc20593f1806f9bde2"}
	fo := o.fake
	fo.Identifier, fo.Key, fo.Websites, fo.HookSecret = "test-ident", "test-key", []string{testSite}, h.secret
	if fo.Operators == nil {
		fo.Operators = []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}
	}
	fo.HookRetryDelay = 20 * time.Millisecond
	fake, err := crisptest.Start(fo)
	if err != nil {
		t.Fatalf("start fake crisp: %v", err)
	}
	h.fake = fake
	t.Cleanup(func() { fake.Close() })

	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = o.data
	if cfg.Data == "" {
		cfg.Data = filepath.Join(t.TempDir(), "signalbridge.db")
	}
	cfg.AdminToken = "admin-secret-token"
	cfg.Crisp = CrispConfig{Identifier: "test-ident", Key: "test-key", Tier: "plugin", APIURL: fake.RESTURL(),
		RTMURL: fake.RTMURL(), Events: o.events, EIO: 4, HooksSecret: h.secret, HookMaxAge: time.Minute,
		PluginURN: testURN, Timeout: 5 * time.Second, BotNickname: "Assistant"}
	w := o.website
	if w.StartMode == "" {
		w.StartMode = o.startMode
	}
	if w.Language == "" {
		w.Language = "en"
	}
	cfg.Websites = map[string]WebsiteConfig{"default": w}
	cfg.AllowUnknown = true
	if o.edit != nil {
		o.edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	h.opt = appOptions{completer: o.completer, now: o.now, pageFetch: o.pageFetch, kbs: map[string]*assistant.KnowledgeBase{
		"default": assistant.NewKnowledgeBase(demoKBFiles(), assistant.WithBaseURL("https://help.nimbus.example/"))}}
	h.open()
	return h
}

// open starts the product on the harness's config (again, after close, for restarts).
func (h *harness) open() {
	h.t.Helper()
	a, err := openApp(h.cfg, testLogger(h.t), h.opt)
	if err != nil {
		h.t.Fatalf("open app: %v", err)
	}
	h.app = a
	h.t.Cleanup(func() { a.Close(context.Background()) })
	if h.cfg.Crisp.Events != "rtm" {
		h.fake.SetHookURL(a.web.URL() + "/webhooks/crisp")
	}
	if a.rtm != nil {
		h.eventually("rtm connected", func() bool { return a.rtm.Connected() && h.fake.RTMConnections() >= 1 })
	}
}

// close stops the product (the fake keeps running).
func (h *harness) close() {
	h.t.Helper()
	if err := h.app.Close(context.Background()); err != nil {
		h.t.Fatalf("close app: %v", err)
	}
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or 10 s pass (a bounded wait on observable state, not a sleep).
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func (h *harness) visitor(info crisptest.VisitorInfo) *crisptest.Visitor {
	return h.fake.Visitor(testSite, "", info)
}

// conv returns the bridge's stored conversation (zero value when not stored yet).
func (h *harness) conv(session string) (bridge.Conversation, []bridge.AuditEntry) {
	c, audit, err := h.app.bridge.Conversation(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: session}, 200)
	if err != nil {
		return bridge.Conversation{}, nil
	}
	return c, audit
}

// waitMode waits until the conversation is in mode.
func (h *harness) waitMode(session string, mode signals.Mode) bridge.Conversation {
	h.t.Helper()
	var c bridge.Conversation
	h.eventually("mode "+string(mode), func() bool { c, _ = h.conv(session); return c.Mode == mode })
	return c
}

// waitTurn waits until the bridge has processed a message whose text is text (it is in the transcript).
func (h *harness) waitTurn(session, role, text string) {
	h.t.Helper()
	h.eventually("turn "+role+": "+text, func() bool {
		c, _ := h.conv(session)
		for _, tr := range c.Transcript {
			if tr.Role == role && tr.Text == text {
				return true
			}
		}
		return false
	})
}

// ours returns the messages the bridge posted in a conversation, by type ("" = all).
func (h *harness) ours(session, typ string) []crisptest.Message {
	c, _ := h.fake.Conversation(testSite, session)
	var out []crisptest.Message
	for _, m := range c.Messages {
		if m.Origin == testURN && (typ == "" || m.Type == typ) {
			out = append(out, m)
		}
	}
	return out
}

// answers returns the bridge's answers to the visitor (text and picker messages).
func (h *harness) answers(session string) []crisptest.Message {
	var out []crisptest.Message
	for _, m := range h.ours(session, "") {
		if m.Type == "text" || m.Type == "picker" {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) waitAnswers(session string, n int) []crisptest.Message {
	h.t.Helper()
	h.eventually("answers", func() bool { return len(h.answers(session)) >= n })
	return h.answers(session)
}

// crispBot posts as Crisp's own no-code bot (origin urn:crisp.im:bot:0) through the real REST client.
func (h *harness) crispBot() *crisp.Platform {
	c, err := crisp.NewClient(crisp.ClientConfig{BaseURL: h.fake.RESTURL(), Identifier: "test-ident", Key: "test-key",
		PluginURN: "urn:crisp.im:bot:0", BotNickname: "Crisp Bot"})
	if err != nil {
		h.t.Fatal(err)
	}
	return crisp.NewPlatform(c, crisp.PlatformOptions{})
}

// sources returns the audit sources in order.
func sources(audit []bridge.AuditEntry) []string {
	var out []string
	for _, a := range audit {
		out = append(out, string(a.Source)+":"+string(a.To))
	}
	return out
}

func contentText(m crisptest.Message) string {
	switch c := m.Content.(type) {
	case string:
		return c
	case map[string]any:
		s, _ := c["text"].(string)
		return s
	}
	return ""
}

func compactJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// testLogLevel is warn, or debug with SB_TEST_DEBUG=1.
func testLogLevel() slog.Level {
	if os.Getenv("SB_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}
