package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// typingOff fails when the fake's operator compose state was left on. The fake keeps the compose
// state across our messages (KeepComposeOnMessage) so only an explicit stop clears it.
func (h *harness) typingOff(session string) {
	h.t.Helper()
	h.eventually("generations finished", func() bool { return h.app.bridge.Generating() == 0 })
	if c, _ := h.fake.Conversation(testSite, session); c.Compose == "start" {
		h.t.Fatalf("typing indicator left on in %s", session)
	}
}

func handoverHarness(t *testing.T, o harnessOptions) *harness {
	o.fake.KeepComposeOnMessage = true
	if o.startMode == "" {
		o.startMode = "auto"
	}
	return newHarness(t, o)
}

// pickerChoice returns the fingerprint of the last answer picker offering value.
func (h *harness) pickerWith(session, value string) int64 {
	h.t.Helper()
	for _, m := range slices.Backward(h.answers(session)) {
		if c, ok := m.Content.(map[string]any); ok {
			choices, _ := c["choices"].([]any)
			for _, ch := range choices {
				if cm, _ := ch.(map[string]any); cm["value"] == value {
					return m.Fingerprint
				}
			}
		}
	}
	h.t.Fatalf("no answer offers %q: %+v", value, h.answers(session))
	return 0
}

func TestHandoverVisitorClicksHumanOperatorOnline(t *testing.T) {
	h := handoverHarness(t, harnessOptions{})
	v := h.visitor(crisptest.VisitorInfo{Email: "ana@example.com", Locales: []string{"en-GB"}})
	s := v.SessionID()
	mustSend(t, v, "How long does shipping take?")
	h.waitAnswers(s, 1)
	if err := v.Click(h.pickerWith(s, bridge.ChoiceHuman), bridge.ChoiceHuman); err != nil {
		t.Fatal(err)
	}
	c := h.waitMode(s, signals.ModeHuman)
	if c.Reason != signals.ReasonHuman {
		t.Fatalf("reason = %s", c.Reason)
	}
	var fc crisptest.Conversation
	h.eventually("handover steps", func() bool {
		fc, _ = h.fake.Conversation(testSite, s)
		return fc.Data["enum"] == "chatbot_paused:human" && fc.State == "pending" &&
			slices.Contains(fc.Segments, "ai-handover") && len(h.ours(s, "note")) == 1 &&
			len(h.ours(s, "text")) == 1 // the handover acknowledgement, the last message
	})
	if fc.Data["enum_reason"] != "human" || fc.Data["enum_at"] == nil {
		t.Errorf("write-back = %v", fc.Data)
	}
	note := h.ours(s, "note")[0]
	text := contentText(note)
	for _, want := range []string{"reason: human", "ana@example.com", "How long does shipping take?", "Language: en"} {
		if !strings.Contains(text, want) {
			t.Errorf("note lacks %q:\n%s", want, text)
		}
	}
	if !slices.Contains(note.Mentions, testOperator) {
		t.Errorf("note mentions %v, want the online operator %s", note.Mentions, testOperator)
	}
	answers := len(h.answers(s))
	mustSend(t, v, "Hello?")
	h.waitTurn(s, "visitor", "Hello?")
	if n := len(h.answers(s)); n != answers {
		t.Fatalf("AI answered after the handover: %d answers, want %d", n, answers)
	}
	h.typingOff(s)
}

func TestHandoverNobodyOnlineAsksEmail(t *testing.T) {
	h := handoverHarness(t, harnessOptions{})
	if err := h.fake.SetOperatorOnline(testSite, testOperator, false); err != nil {
		t.Fatal(err)
	}
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "I want to talk to a human")
	h.waitMode(s, signals.ModeHuman)
	var field crisptest.Message
	h.eventually("no-agent message and email field", func() bool {
		fields := h.ours(s, "field")
		if len(fields) == 0 {
			return false
		}
		field = fields[0]
		for _, m := range h.ours(s, "text") {
			if strings.Contains(contentText(m), "online right now") {
				return true
			}
		}
		return false
	})
	if err := v.Fill(field.Fingerprint, "not an email"); err != nil {
		t.Fatal(err)
	}
	if err := v.Fill(field.Fingerprint, "bo@example.com"); err != nil {
		t.Fatal(err)
	}
	h.eventually("email stored", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		c, _ := h.conv(s)
		return fc.Email == "bo@example.com" && c.Email == "bo@example.com"
	})
	h.typingOff(s)
}

// slowModel is the fake OpenAI server behind the real go-openai client.
func slowModel(t *testing.T) (*openaitest.Server, *openai.Client) {
	t.Helper()
	srv := openaitest.MustStart(t)
	c, err := openai.New(openai.Config{BaseURL: srv.URL(), APIKey: "sk-test", Model: "gpt-4o-mini", Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestOperatorMessageDuringGenerationPostsNothing(t *testing.T) {
	model, client := slowModel(t)
	h := handoverHarness(t, harnessOptions{completer: client})
	model.SetLatency(30 * time.Second) // far longer than the test: only a cancellation ends it
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "How long does shipping take?")
	h.eventually("model called", func() bool { return len(model.Requests()) == 1 })
	h.eventually("typing started", func() bool { c, _ := h.fake.Conversation(testSite, s); return c.Compose == "start" })
	if _, err := h.fake.OperatorReply(testSite, s, testOperator, "Alex here, I'll take it from here."); err != nil {
		t.Fatal(err)
	}
	c := h.waitMode(s, signals.ModePaused)
	if c.Reason != signals.ReasonOperator {
		t.Fatalf("reason = %s, want operator", c.Reason)
	}
	h.typingOff(s)
	// Barrier: a later event of the same conversation is processed after the cancelled answer.
	mustSend(t, v, "ok thanks")
	h.waitTurn(s, "visitor", "ok thanks")
	if n := len(h.answers(s)); n != 0 {
		t.Fatalf("AI posted %d answers over the operator", n)
	}
}

func TestModelToolHandoverAndResolutionReturnsToStartMode(t *testing.T) {
	for _, mode := range []string{"auto", "wait_for_signal"} {
		t.Run(mode, func(t *testing.T) {
			model, client := slowModel(t)
			h := handoverHarness(t, harnessOptions{completer: client, startMode: mode})
			v := h.visitor(crisptest.VisitorInfo{})
			s := v.SessionID()
			if mode == "wait_for_signal" {
				mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
				h.waitMode(s, signals.ModeActive)
			}
			model.Script(openaitest.Call("handover_to_human", `{"reason":"refund over the limit"}`))
			mustSend(t, v, "I need a refund of 900 euros")
			c := h.waitMode(s, signals.ModeHuman)
			_, audit := h.conv(s)
			last := audit[len(audit)-1]
			if last.Source != signals.SourceAssistant || !strings.Contains(last.Detail, "refund over the limit") || c.Reason != signals.ReasonHuman {
				t.Fatalf("handover audit = %+v", last)
			}
			h.eventually("note", func() bool { return len(h.ours(s, "note")) == 1 })
			if err := h.fake.Resolve(testSite, s); err != nil {
				t.Fatal(err)
			}
			want := signals.ModeActive
			if mode == "wait_for_signal" {
				want = signals.ModeWaiting
			}
			h.waitMode(s, want)
			before := len(h.answers(s))
			model.Script(openaitest.Text("Shipping takes 2 to 4 days."))
			mustSend(t, v, "How long does shipping take?")
			if mode == "auto" {
				h.waitAnswers(s, before+1)
			} else {
				h.waitTurn(s, "visitor", "How long does shipping take?")
				if n := len(h.answers(s)); n != before {
					t.Fatalf("answered while waiting for a signal")
				}
			}
			h.typingOff(s)
		})
	}
}

func TestModelFailuresApologiseAndHandOver(t *testing.T) {
	model, client := slowModel(t)
	h := handoverHarness(t, harnessOptions{completer: client})
	model.Script(openaitest.Fail(500, ""), openaitest.Fail(500, ""), openaitest.Fail(500, ""))
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "How long does shipping take?")
	c := h.waitMode(s, signals.ModeHuman)
	if c.Reason != signals.ReasonError {
		t.Fatalf("reason = %s, want error", c.Reason)
	}
	h.eventually("apology", func() bool {
		for _, m := range h.ours(s, "text") {
			if strings.Contains(contentText(m), "Sorry") {
				return true
			}
		}
		return false
	})
	h.eventually("write-back", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.Data["enum"] == "chatbot_paused:error"
	})
	h.typingOff(s)
}

func TestVisitorSaysResolved(t *testing.T) {
	h := handoverHarness(t, harnessOptions{})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "How do I return an item?")
	h.waitAnswers(s, 1)
	if err := v.Click(h.pickerWith(s, bridge.ChoiceResolve), bridge.ChoiceResolve); err != nil {
		t.Fatal(err)
	}
	h.eventually("resolved with segment and closing", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.State == "resolved" && slices.Contains(fc.Segments, "ended-by-ai") && len(h.answers(s)) == 2
	})
	h.eventually("resolution seen by the bridge", func() bool { c, _ := h.conv(s); return c.CrispState == "resolved" })
	if c, _ := h.conv(s); c.Mode != signals.ModeActive {
		t.Fatalf("mode after resolution = %s, want active (auto)", c.Mode)
	}
	h.typingOff(s)
}
