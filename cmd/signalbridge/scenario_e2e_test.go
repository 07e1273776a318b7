package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestGuidedStepsEndToEnd: a new visitor goes through the default scenario (email, then language),
// the bridge restarts in the middle and resumes at the same block, and the assistant then answers the
// visitor's first question in the chosen language.
func TestGuidedStepsEndToEnd(t *testing.T) {
	model, client := slowModel(t)
	h := newHarness(t, harnessOptions{startMode: "auto", completer: client,
		website: WebsiteConfig{Scenario: "default", Languages: []string{"en", "es", "ca", "fr"}}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSend(t, v, "How long does shipping take?")

	// Step 1: the email field.
	var field crisptest.Message
	h.eventually("email field", func() bool {
		f := h.ours(s, "field")
		if len(f) == 1 {
			field = f[0]
		}
		return len(f) == 1
	})
	if n := len(model.Requests()); n != 0 {
		t.Fatalf("model called %d times before the guided steps finished", n)
	}
	if err := v.Fill(field.Fingerprint, "marta@example.com"); err != nil {
		t.Fatal(err)
	}
	// Step 2: the language picker.
	var picker crisptest.Message
	h.eventually("language picker", func() bool {
		p := h.ours(s, "picker")
		if len(p) == 1 {
			picker = p[0]
		}
		return len(p) == 1
	})
	if fc, _ := h.fake.Conversation(testSite, s); fc.Email != "marta@example.com" {
		t.Fatalf("email in Crisp = %q", fc.Email)
	}
	before, _ := h.conv(s)

	// Restart in the middle: the conversation resumes at the same block.
	h.close()
	h.open()
	after, _ := h.conv(s)
	if after.ScenarioIndex != before.ScenarioIndex || after.ScenarioIndex <= 0 {
		t.Fatalf("cursor after restart = %d, want %d", after.ScenarioIndex, before.ScenarioIndex)
	}

	model.Script(openaitest.Text("El envío tarda de 1 a 2 días laborables."))
	if err := v.Click(picker.Fingerprint, "es"); err != nil {
		t.Fatal(err)
	}
	h.eventually("answer in Spanish", func() bool {
		for _, m := range h.answers(s) {
			if strings.Contains(contentText(m), "El envío tarda") {
				return true
			}
		}
		return false
	})
	c, _ := h.conv(s)
	if c.Language != "es" || c.ScenarioIndex != -1 || c.Mode != signals.ModeActive {
		t.Fatalf("conversation: language=%q cursor=%d mode=%s", c.Language, c.ScenarioIndex, c.Mode)
	}
	// The language is written back by the journal, beside the answer (not before it).
	h.eventually("session data language es", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.Data["language"] == "es"
	})
	reqs := model.Requests()
	if len(reqs) != 1 {
		t.Fatalf("model requests = %d, want 1", len(reqs))
	}
	var system, last string
	for _, m := range reqs[0].Body.Messages {
		if m.Role == "system" {
			system += m.Content
		}
		if m.Role == "user" {
			last = m.Content
		}
	}
	if !strings.Contains(system, "Spanish") || !strings.Contains(last, "How long does shipping take?") {
		t.Fatalf("prompt: system mentions Spanish=%v, last user message %q", strings.Contains(system, "Spanish"), last)
	}
}

// TestGuidedStepsSeeSessionData: a scenario branches on session data the website wrote before the
// visitor's first message (a plan key) and on a segment.
func TestGuidedStepsSeeSessionData(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "steps.yaml")
	if err := os.WriteFile(scenario, []byte(`start: route
languages: [en]
blocks:
  - id: route
    kind: branch
    cases:
      - {when: {data: {plan: pro}, segment: [vip]}, next: pro}
    else: basic
  - {id: pro, kind: message, text: "Welcome back, pro customer!", next: ai}
  - {id: basic, kind: message, text: "Welcome!", next: ai}
  - {id: ai, kind: assistant}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{startMode: "auto", website: WebsiteConfig{Scenario: scenario}})
	greeting := func(v *crisptest.Visitor) string {
		s := v.SessionID()
		mustSend(t, v, "How long does shipping take?")
		var got string
		h.eventually("greeting", func() bool {
			for _, m := range h.ours(s, "text") {
				if strings.HasPrefix(contentText(m), "Welcome") {
					got = contentText(m)
					return true
				}
			}
			return false
		})
		h.waitAnswers(s, 2) // the greeting, then the answer to the question that began the steps
		return got
	}

	pro := h.visitor(crisptest.VisitorInfo{})
	mustSetData(t, pro, map[string]any{"plan": "pro"})
	if err := pro.SetSegments([]string{"vip"}, false); err != nil {
		t.Fatal(err)
	}
	h.eventually("data and segments seen", func() bool {
		c, _ := h.conv(pro.SessionID())
		return c.Data["plan"] == "pro" && len(c.Segments) == 1
	})
	if got := greeting(pro); got != "Welcome back, pro customer!" {
		t.Fatalf("pro visitor greeted %q", got)
	}
	basic := h.visitor(crisptest.VisitorInfo{})
	mustSetData(t, basic, map[string]any{"plan": "pro"}) // a pro plan but not a vip: the case needs both
	h.eventually("data seen", func() bool { c, _ := h.conv(basic.SessionID()); return c.Data["plan"] == "pro" })
	if got := greeting(basic); got != "Welcome!" {
		t.Fatalf("basic visitor greeted %q", got)
	}
}
