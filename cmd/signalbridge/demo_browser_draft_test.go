package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestDemoDraftsForOperators: in the demo, once the visitor talks to a human, their next question
// gets an AI draft as a private note in the operator's thread, and nothing new in the chatbox.
func TestDemoDraftsForOperators(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	p := openDemoPage(t, browser, d)

	p.visitorSays("How do I return an item?")
	p.wait("answer with choices", `s.visitor.some(function (m) { return m.bot && m.choices.indexOf("sb:human") >= 0; })`)
	p.do("talk to a human", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="sb:human"]`)))
	v := p.wait("human", `s.mode === "human" && s.visitor.filter(function (m) { return m.bot; }).length === 2`)
	bots := len(pageBots(v.Visitor))

	p.visitorSays("How long does shipping take?")
	v = p.wait("draft note in the operator thread", `s.operator.some(function (m) { return m.type === "note" && m.text.indexOf("AI draft") === 0; })`)
	if n := len(pageBots(v.Visitor)); n != bots {
		t.Fatalf("the chatbox got %d new bot messages; a draft goes to operators only", n-bots)
	}
	p.screenshot("draft-note")
}
