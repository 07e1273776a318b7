package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// TestDemoFirstMinute: before anything is written the page shows the bridge connected and offers
// three first questions; clicking one sends it and the assistant answers it from the sample
// knowledge base, and the suggestions go away.
func TestDemoFirstMinute(t *testing.T) {
	browser := jstest.NewBrowser(t)
	d := startTestDemo(t, "auto")
	p := openDemoPage(t, browser, d)

	v := p.wait("bridge badge live before any conversation", `s.session === "–" && s.visitor.length === 0 && s.pills.indexOf("bridge live") >= 0`)
	if len(v.Visitor) != 0 {
		t.Fatalf("visitor column shows messages before any: %+v", v.Visitor)
	}
	suggestions := evalJS[[]string](p, `Array.prototype.map.call(document.querySelectorAll("#visitor-suggest button"), function (b) { return b.textContent; })`)
	if len(suggestions) != 3 || !evalJS[bool](p, `!document.getElementById("visitor-suggest").hidden`) {
		t.Fatalf("first questions = %q (shown %v), want three shown", suggestions, evalJS[bool](p, `!document.getElementById("visitor-suggest").hidden`))
	}
	p.screenshot("first-minute")

	p.do("click a first question", chromedp.Click(chromedp.CSS(`#visitor-suggest button:nth-child(2)`)))
	p.wait("the question answered from shipping.md", `s.visitor.some(function (m) { return m.from === "user" && m.text === `+jsString(suggestions[1])+`; }) && `+
		`s.visitor.some(function (m) { return m.bot && m.text.indexOf("/shipping") >= 0; })`)
	p.poll("suggestions hidden once the visitor wrote", `document.getElementById("visitor-suggest").hidden`)
}
