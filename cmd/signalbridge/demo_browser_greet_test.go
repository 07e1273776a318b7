package main

import (
	"testing"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestDemoGreetButton: the demo page's "Greet me" button is the website snippet's greet(); the
// assistant greets the new visitor once, in the chatbox, before the visitor writes anything.
func TestDemoGreetButton(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	p := openDemoPage(t, browser, d)

	p.click("visitor-new")
	p.click("sb-greet")
	p.wait("greeting in the chatbox", `s.visitor.length === 1 && s.visitor[0].bot && s.visitor[0].text.indexOf("Nimbus Coffee assistant") >= 0`)
	p.screenshot("greeting")

	// A second click does not greet again; the visitor's question is answered as usual.
	p.click("sb-greet")
	p.visitorSays("How do I return an item?")
	v := p.wait("answer after the greeting", `s.visitor.filter(function (m) { return m.bot; }).length >= 2 && s.visitor[1].from !== "operator"`)
	greetings := 0
	for _, m := range pageBots(v.Visitor) {
		if m.Text != "" && len(m.Text) > 10 && m.Text[:3] == "Hi!" {
			greetings++
		}
	}
	if greetings != 1 {
		t.Fatalf("greetings in the chatbox = %d, want 1: %+v", greetings, v.Visitor)
	}
}
