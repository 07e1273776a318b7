package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

func greetingHarness(t *testing.T, startMode string) *harness {
	return newHarness(t, harnessOptions{startMode: startMode, website: WebsiteConfig{Greeting: &GreetingConfig{
		Text:  LocalText{"en": "Hi! Questions about our plans? Ask me.", "es": "¡Hola! ¿Dudas sobre los planes?"},
		Delay: 300 * time.Millisecond, Pages: []string{"https://shop.example/pricing*"}}}})
}

func (h *harness) greetings(session string) int {
	n := 0
	for _, m := range h.ours(session, "text") {
		if t := contentText(m); strings.HasPrefix(t, "Hi! Questions") || strings.HasPrefix(t, "¡Hola!") {
			n++
		}
	}
	return n
}

// noJournal waits until the bridge has processed a later event of the conversation (barrier) and
// reports whether its journal holds a greeting.
func (h *harness) greetingPending(session string) bool {
	p, _ := h.app.bridge.Pending(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: session})
	return slices.ContainsFunc(p, func(e bridge.JournalEntry) bool { return e.Kind == bridge.JournalGreet })
}

// TestGreetingOnAMatchingPage: a visitor who has not written and stays on a matching page is greeted
// once, in their language, after the delay; more page views do not greet again.
func TestGreetingOnAMatchingPage(t *testing.T) {
	h := greetingHarness(t, "auto")
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"es-ES"}})
	s := v.SessionID()
	start := time.Now()
	if err := v.Browse("https://shop.example/pricing?plan=pro", "Pricing"); err != nil {
		t.Fatal(err)
	}
	h.eventually("greeting", func() bool { return h.greetings(s) == 1 })
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("greeted after %s, before the 300ms delay", d)
	}
	if got := contentText(h.ours(s, "text")[0]); got != "¡Hola! ¿Dudas sobre los planes?" {
		t.Errorf("greeting = %q, want the Spanish one", got)
	}
	if err := v.Browse("https://shop.example/pricing/teams", "Teams"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, v, "¿Cuánto cuesta el plan pro?")
	h.waitTurn(s, "visitor", "¿Cuánto cuesta el plan pro?")
	if h.greetingPending(s) || h.greetings(s) != 1 {
		t.Fatalf("greeted again: %d greetings, pending %v", h.greetings(s), h.greetingPending(s))
	}
}

// TestGreetingNotOnOtherPages: a page that does not match, a visitor who wrote first and a
// wait_for_signal website never get the greeting.
func TestGreetingNotOnOtherPages(t *testing.T) {
	h := greetingHarness(t, "auto")

	other := h.visitor(crisptest.VisitorInfo{})
	if err := other.Browse("https://shop.example/about", "About"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, other, "hello") // barrier: the page view was processed before
	h.waitTurn(other.SessionID(), "visitor", "hello")
	if h.greetingPending(other.SessionID()) {
		t.Fatal("a greeting was scheduled for a page that does not match")
	}

	wrote := h.visitor(crisptest.VisitorInfo{})
	mustSend(t, wrote, "How long does shipping take?")
	h.waitTurn(wrote.SessionID(), "visitor", "How long does shipping take?")
	if err := wrote.Browse("https://shop.example/pricing", "Pricing"); err != nil {
		t.Fatal(err)
	}
	// A barrier that stays in the transcript ("thanks" would resolve the conversation and start a
	// fresh window, racing the wait).
	mustSend(t, wrote, "Do you ship to Norway?")
	h.waitTurn(wrote.SessionID(), "visitor", "Do you ship to Norway?")
	if h.greetingPending(wrote.SessionID()) || h.greetings(wrote.SessionID()) != 0 {
		t.Fatal("greeted a visitor who had written")
	}

	w := greetingHarness(t, "wait_for_signal")
	wv := w.visitor(crisptest.VisitorInfo{})
	if err := wv.Browse("https://shop.example/pricing", "Pricing"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, wv, "hi")
	w.waitTurn(wv.SessionID(), "visitor", "hi")
	if w.greetingPending(wv.SessionID()) {
		t.Fatal("a wait_for_signal website greeted before its start signal")
	}
}

// TestGreetingFromTheSnippet: the snippet's greet() writes greet_chatbot#<nonce>; the assistant greets
// at once, whatever the page.
func TestGreetingFromTheSnippet(t *testing.T) {
	h := greetingHarness(t, "auto")
	v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en"}})
	s := v.SessionID()
	mustSetData(t, v, map[string]any{"enum": "greet_chatbot#k3v9x2"})
	h.eventually("greeting", func() bool { return h.greetings(s) == 1 })
	mustSetData(t, v, map[string]any{"enum": "greet_chatbot#p0q1r2"})
	mustSend(t, v, "hi")
	h.waitTurn(s, "visitor", "hi")
	if h.greetingPending(s) || h.greetings(s) != 1 {
		t.Fatalf("greeted twice: %d", h.greetings(s))
	}
}

// TestGreetingNotOverAHuman: the greeting is scheduled, an operator writes during its delay; when it
// comes due (the injected clock moves past it) it is dropped, not posted.
func TestGreetingNotOverAHuman(t *testing.T) {
	clock := newTestClock(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	h := newHarness(t, harnessOptions{startMode: "auto", now: clock.Now, website: WebsiteConfig{Greeting: &GreetingConfig{
		Text: LocalText{"": "Hi! Questions about our plans? Ask me."}, Delay: 5 * time.Minute}}})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	if err := v.Browse("https://shop.example/pricing", "Pricing"); err != nil {
		t.Fatal(err)
	}
	h.eventually("greeting scheduled", func() bool { return h.greetingPending(s) })
	if _, err := h.fake.OperatorReply(testSite, s, testOperator, "Hi, Alex here. Need a hand?"); err != nil {
		t.Fatal(err)
	}
	h.waitMode(s, signals.ModePaused)
	clock.Set(clock.Now().Add(10 * time.Minute))
	mustSend(t, v, "oh, hello") // processed after the clock moved: kicks the journal, the greeting is due
	h.waitTurn(s, "visitor", "oh, hello")
	h.eventually("greeting entry done", func() bool { return !h.greetingPending(s) })
	if n := h.greetings(s); n != 0 {
		t.Fatalf("greeted over the operator: %d", n)
	}
}
