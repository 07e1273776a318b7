package main

import (
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestBurstAnsweredOnce: three lines written in a row get one answer, asked with all three in the
// history; the next line after the answer is a new burst with its own answer.
func TestBurstAnsweredOnce(t *testing.T) {
	model, client := slowModel(t)
	h := newHarness(t, harnessOptions{startMode: "auto", completer: client,
		website: WebsiteConfig{Burst: &BurstConfig{Window: 400 * time.Millisecond, Max: 3 * time.Second}}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	model.Script(openaitest.Text("Shipping takes 2 to 4 days."), openaitest.Text("You're welcome!"))
	start := time.Now()
	for _, line := range []string{"hi", "I have a question", "how long does shipping take?"} {
		mustSend(t, v, line)
	}
	h.waitAnswers(s, 1)
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("answered after %s, before the 400ms window", d)
	}
	mustSend(t, v, "thanks")
	answers := h.waitAnswers(s, 2)
	if len(answers) != 2 || !strings.Contains(contentText(answers[0]), "Shipping takes") || !strings.Contains(contentText(answers[1]), "welcome") {
		t.Fatalf("answers = %+v, want one for the burst and one for the thanks", answers)
	}
	reqs := model.Requests()
	if len(reqs) != 2 {
		t.Fatalf("model asked %d times, want 2 (one per burst)", len(reqs))
	}
	if body := string(reqs[0].Raw); !strings.Contains(body, "I have a question") || !strings.Contains(body, "how long does shipping take?") {
		t.Errorf("the burst's answer was asked without every line: %s", body)
	}
}

// TestBurstWaitsWhileTheVisitorTypes: a visitor who pauses while typing a second line is answered
// once, after it; one who keeps typing is answered at the maximum.
func TestBurstWaitsWhileTheVisitorTypes(t *testing.T) {
	model, client := slowModel(t)
	h := newHarness(t, harnessOptions{startMode: "auto", completer: client,
		website: WebsiteConfig{Burst: &BurstConfig{Window: 200 * time.Millisecond, Max: time.Second}}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	model.Script(openaitest.Text("Your order ships tomorrow."), openaitest.Text("Hello!"))
	mustSend(t, v, "hi")
	if err := v.Compose("start", "where is"); err != nil {
		t.Fatal(err)
	}
	// The visitor types for longer than the window (the scenario, not a wait for the product).
	time.Sleep(500 * time.Millisecond)
	mustSend(t, v, "where is my order?")
	h.waitAnswers(s, 1)
	if reqs := model.Requests(); len(reqs) == 0 || !strings.Contains(string(reqs[0].Raw), "where is my order?") {
		t.Fatalf("the first answer was asked before the line typed after a pause (%d model calls)", len(reqs))
	}

	// Typing that never stops is answered at the maximum.
	v2 := h.visitor(crisptest.VisitorInfo{})
	start := time.Now()
	mustSend(t, v2, "hello")
	if err := v2.Compose("start", "and"); err != nil {
		t.Fatal(err)
	}
	h.waitAnswers(v2.SessionID(), 1)
	if d := time.Since(start); d < time.Second {
		t.Errorf("answered after %s while the visitor was typing; want the 1s maximum", d)
	}
}
