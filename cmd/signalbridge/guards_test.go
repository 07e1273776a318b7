package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

const otherSite = "0b5c7f3e-6a51-4f7e-9a46-2f0d1c3b9e77"

// TestGuardsConfig: budgets and limits are on by default and each can be turned off with -1;
// websites.allow_unknown is read from under websites (off unless set).
func TestGuardsConfig(t *testing.T) {
	path := writeConfig(t, `websites:
  allow_unknown: true
  default:
    budgets:
      website_tokens_per_day: 500000
  `+testSite+`:
    budgets:
      conversation_answers: -1
    limits:
      signal_edges: 2
    signals:
      legacy_signed_until: none
`)
	cfg, err := LoadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowUnknown {
		t.Errorf("websites.allow_unknown: true not read")
	}
	if _, ok := cfg.Websites["allow_unknown"]; ok {
		t.Errorf("allow_unknown taken for a website id")
	}
	d, w := cfg.Websites["default"], cfg.Websites[testSite]
	if d.Budgets != (BudgetsConfig{ConversationTokens: 0, WebsiteTokensDay: 500_000, ConversationAnswers: 40}) {
		t.Errorf("default budgets %+v", d.Budgets)
	}
	if w.Budgets != (BudgetsConfig{ConversationTokens: 0, WebsiteTokensDay: 500_000, ConversationAnswers: -1}) {
		t.Errorf("website budgets %+v, want the default block's tokens and no answer cap", w.Budgets)
	}
	if w.Limits != (LimitsConfig{SignalEdges: 2, SignalEdgeEvery: 30 * time.Second, Answers: 8, AnswerEvery: 6 * time.Second}) {
		t.Errorf("website limits %+v", w.Limits)
	}
	if d.Signals.LegacySignedUntil != legacySignedUntil || w.Signals.LegacySignedUntil != "none" {
		t.Errorf("legacy_signed_until: default %q, website %q", d.Signals.LegacySignedUntil, w.Signals.LegacySignedUntil)
	}
	if u, _ := legacyUntil(legacySignedUntil); time.UnixMilli(u).UTC().Format(time.DateOnly) != "2027-03-02" {
		t.Errorf("legacy grace ends %v, want the end of %s", time.UnixMilli(u).UTC(), legacySignedUntil)
	}

	cfg, err = LoadConfig(writeConfig(t, "websites:\n  default: {}\n"), func(string) string { return "" })
	if err != nil || cfg.AllowUnknown {
		t.Errorf("without websites.allow_unknown: %v, allow %v; want off", err, cfg.AllowUnknown)
	}
	if !strings.Contains(cfg.unservedWarning(), "websites.allow_unknown") {
		t.Errorf("a config that serves no website is not warned about: %q", cfg.unservedWarning())
	}
	_, err = LoadConfig(writeConfig(t, "websites:\n  allow_unknown: sometimes\n"), func(string) string { return "" })
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "websites.allow_unknown") {
		t.Errorf("allow_unknown: sometimes: %v, want a problem naming websites.allow_unknown", err)
	}
	bad := writeConfig(t, "websites:\n  default:\n    budgets:\n      conversation_answers: -2\n    signals:\n      legacy_signed_until: soon\n")
	cfg, _ = LoadConfig(bad, func(string) string { return "" })
	err = cfg.Validate()
	for _, f := range []string{"websites.default.budgets", "websites.default.signals.legacy_signed_until"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate: %v, want a problem with %s", err, f)
		}
	}
}

// TestRedactURL: the one redaction of printed URLs hides passwords and secret query values, and
// the configuration's String (what check prints) uses it for every URL.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:s3cret@proxy.example/v1":             "https://user:redacted@proxy.example/v1",
		"https://proxy.example/v1?api_key=s3cret&x=1":      "https://proxy.example/v1?api_key=redacted&x=1",
		"redis://:s3cret@127.0.0.1:6379/0":                 "redis://:redacted@127.0.0.1:6379/0",
		"wss://relay.example/w/?token=s3cret":              "wss://relay.example/w/?token=redacted",
		"https://api.openai.com/v1":                        "https://api.openai.com/v1",
		"http://[::1]:8080/p?Key=s3cret":                   "http://[::1]:8080/p?Key=redacted",
		"https://user@host.example/?sig=s3cret&Signature=": "https://user@host.example/?Signature=redacted&sig=redacted",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactText(`Post "http://team:***@127.0.0.1:1/v1?api_key=s3cret/chat": refused; see https://x.example/?token=s3cret`); strings.Contains(got, "s3cret") {
		t.Errorf("redactText left a secret: %s", got)
	}
	cfg := defaultConfig()
	cfg.OpenAI.BaseURL = "https://team:s3cret@proxy.example/v1?api_key=s3cret"
	cfg.Crisp.APIURL = "https://u:s3cret@api.example/v1/"
	cfg.Crisp.RTMURL = "wss://relay.example/?token=s3cret"
	cfg.Redis.URL = "redis://:s3cret@127.0.0.1:6379/0"
	if s := cfg.String(); strings.Contains(s, "s3cret") {
		t.Errorf("Config.String prints a secret:\n%s", s)
	}
	cfg.OpenAI.BaseURL = "https://team:s3cret@/v1"
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate prints a secret: %v", err)
	}
}

// TestUnknownWebsiteDropped: with websites.allow_unknown off, the events of a website not listed
// are dropped (nothing stored, nothing answered, nothing written), while a listed website is served.
func TestUnknownWebsiteDropped(t *testing.T) {
	h := newHarness(t, harnessOptions{startMode: "auto", edit: func(c *Config) {
		c.AllowUnknown = false
		c.Websites[otherSite] = WebsiteConfig{}.inherit(c.Websites["default"])
	}})
	h.fake.AddWebsite(otherSite)
	unlisted := h.visitor(crisptest.VisitorInfo{}) // testSite: not listed
	mustSend(t, unlisted, "How do I return an item?")
	mustSetData(t, unlisted, map[string]any{"enum": "pause_chatbot"})
	// A listed website's conversation after it, on the same socket: once it is answered, the
	// unlisted one's events were taken and dropped.
	listed := h.fake.Visitor(otherSite, "", crisptest.VisitorInfo{})
	mustSend(t, listed, "How do I return an item?")
	h.eventually("the listed website answered", func() bool {
		c, _ := h.fake.Conversation(otherSite, listed.SessionID())
		for _, m := range c.Messages {
			if m.Origin == testURN {
				return true
			}
		}
		return false
	})
	if c, _ := h.conv(unlisted.SessionID()); c.Mode != "" {
		t.Errorf("the unlisted website's conversation is stored (mode %s)", c.Mode)
	}
	if n := len(h.ours(unlisted.SessionID(), "")); n != 0 {
		t.Errorf("%d messages posted in the unlisted website's conversation", n)
	}
	if n := h.fake.CallCount("", "/website/"+testSite+"/"); n != 0 {
		t.Errorf("%d REST calls about the unlisted website", n)
	}
}

// TestCheckRedactsModelURL: `check` with a model base URL that carries a password (a proxy) never
// prints the password, whether the model answers or not.
func TestCheckRedactsModelURL(t *testing.T) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite}})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	path := writeConfig(t, "websites:\n  default:\n    start_mode: auto\n")
	for _, base := range []string{"http://team:s3cret-pw@127.0.0.1:1/v1?api_key=s3cret-q", "http://team:s3cret-pw@[::1/v1"} {
		env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
			"OPENAI_API_KEY": "sk-fake", "OPENAI_BASE_URL": base}
		var out, errb strings.Builder
		code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env))
		all := out.String() + errb.String()
		if code == 0 || strings.Contains(all, "s3cret") {
			t.Errorf("check with base URL %q exited %d, printing:\n%s", base, code, all)
		}
	}
}

// TestAnswerLimitsEndToEnd: over the real path, a burst past the answers' rate is left unanswered
// (and counted), and past the message cap the conversation is handed over with reason budget.
func TestAnswerLimitsEndToEnd(t *testing.T) {
	t.Run("rate", func(t *testing.T) {
		h := newHarness(t, harnessOptions{startMode: "auto", website: WebsiteConfig{
			Limits: LimitsConfig{Answers: 2, AnswerEvery: time.Hour}, Handover: HandoverConfig{OfferHuman: "never"}}})
		v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-US"}})
		s := v.SessionID()
		for i, q := range drillQuestions[:2] {
			mustSend(t, v, q)
			h.waitAnswers(s, i+1)
		}
		mustSend(t, v, drillQuestions[2]) // past the rate: kept, not answered
		h.waitTurn(s, "visitor", drillQuestions[2])
		if n := len(h.answers(s)); n != 2 {
			t.Fatalf("%d answers after a message past the rate, want 2", n)
		}
		if c, _ := h.conv(s); c.Mode != signals.ModeActive {
			t.Fatalf("mode %s after a message past the rate, want active", c.Mode)
		}
		if got := limitedCount(t, h, "answers"); got != 1 {
			t.Errorf("signalbridge_limited_total{limit=answers} = %v, want 1", got)
		}
	})
	t.Run("cap", func(t *testing.T) {
		h := newHarness(t, harnessOptions{startMode: "auto", website: WebsiteConfig{
			Budgets: BudgetsConfig{ConversationAnswers: 3}, Handover: HandoverConfig{OfferHuman: "never"}}})
		v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-US"}})
		s := v.SessionID()
		for i, q := range drillQuestions[:3] {
			mustSend(t, v, q)
			h.waitAnswers(s, i+1)
		}
		mustSend(t, v, drillQuestions[3])
		c := h.waitMode(s, signals.ModeHuman)
		if c.Reason != signals.ReasonBudget {
			t.Errorf("handover reason %s, want budget", c.Reason)
		}
		// The handover's own message ("I'm passing you to someone...") follows the mode; it is
		// no answer. Wait for it, then count the rest.
		ack := assistant.DefaultStrings().Get("en", assistant.StrHandoverAck)
		isAck := func(m crisptest.Message) bool { text, _ := m.Content.(string); return strings.Contains(text, ack) }
		h.eventually("handover message", func() bool { return slices.ContainsFunc(h.answers(s), isAck) })
		if n := len(slices.DeleteFunc(h.answers(s), isAck)); n != 3 {
			t.Errorf("%d answers, want 3 (the cap)", n)
		}
	})
}

// limitedCount reads signalbridge_limited_total{limit}.
func limitedCount(t *testing.T, h *harness, limit string) float64 {
	t.Helper()
	fams, err := h.app.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "signalbridge_limited_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "limit" && l.GetValue() == limit {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
