package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/js/jstest"
)

// A visitor's conversation in the demo, in a real browser, with the offline assistant: a greeting
// is answered as a greeting (never "I couldn't find"), a question with its article, a follow-up
// ("and to Norway?") with the same article, opening hours with the support hours, and thanks with
// the closing words.
func TestDemoConversationTurns(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	p := openDemoPage(t, browser, d)
	strs := assistant.DefaultStrings()
	bots := func(v pageView) []string {
		var out []string
		for _, m := range pageBots(v.Visitor) {
			out = append(out, m.Text)
		}
		return out
	}
	waitBots := func(what string, n int) []string {
		t.Helper()
		v := p.wait(what, fmt.Sprintf(`s.visitor.filter(function (m) { return m.bot; }).length >= %d`, n))
		return bots(v)
	}

	p.visitorSays("hello!")
	got := waitBots("greeting answered", 1)
	if !strings.Contains(got[0], strs.Get("en", assistant.StrGreeting)) || strings.Contains(got[0], strs.Get("en", assistant.StrNoAnswer)) {
		t.Fatalf("answer to hello = %q, want the greeting", got[0])
	}

	p.visitorSays("Do you ship to Switzerland?")
	got = waitBots("question answered", 2)
	if !strings.Contains(got[1], "Switzerland") || !strings.Contains(got[1], "help.nimbus.example/en/shipping") {
		t.Fatalf("answer to the question = %q, want the international shipping section and its link", got[1])
	}

	p.visitorSays("and to Norway?")
	got = waitBots("follow-up answered", 3)
	if !strings.Contains(got[2], "Norway") || !strings.Contains(got[2], "help.nimbus.example/en/shipping") {
		t.Fatalf("answer to the follow-up = %q, want the international shipping section again", got[2])
	}

	// Opening hours come from the demo website's support hours, not from an article sharing
	// "open" or "hour".
	p.visitorSays("what are your opening hours?")
	got = waitBots("opening hours answered", 4)
	if !strings.Contains(got[3], "Monday to Friday 9:00–18:00 (Europe/Madrid time)") || strings.Contains(got[3], "help.nimbus.example") {
		t.Fatalf("answer to the opening hours = %q, want the support hours and no article", got[3])
	}

	p.visitorSays("great, thanks!")
	got = waitBots("thanks answered", 5)
	if !strings.Contains(got[4], strs.Get("en", assistant.StrClosing)) {
		t.Fatalf("answer to thanks = %q, want the closing words", got[4])
	}
	for _, b := range got {
		if strings.Contains(b, strs.Get("en", assistant.StrNoAnswer)) {
			t.Fatalf("a turn got %q", b)
		}
	}
	p.screenshot("conversation-turns")
}
