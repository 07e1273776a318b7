package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
	"github.com/signalbridge/signalbridge/signals"
)

// auditHas is a JavaScript condition: the page's audit trail shows a transition to mode whose
// reason · source line contains src ("signal · page").
func auditHas(mode, src string) string {
	return `s.audit.some(function (a) { return a.indexOf("→ ` + mode + ` ") >= 0 && a.indexOf(` + jsString(src) + `) >= 0; })`
}

// restatedAfter reports whether, among the demo's events after seq, a page's pause_chatbot#<nonce>
// was followed by the write-back chatbot_paused:signal.
func restatedAfter(d *demo, seq int64) bool {
	paused := false
	for _, ev := range d.fake.Events(seq) {
		if ev.Name != "session:set_data" {
			continue
		}
		var data struct {
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal(ev.Data, &data) != nil {
			continue
		}
		v, _ := data.Data["enum"].(string)
		switch {
		case strings.HasPrefix(v, "pause_chatbot#"):
			paused = true
		case paused && v == "chatbot_paused:signal":
			return true
		}
	}
	return false
}

// TestDemoInBrowser drives `signalbridge demo` from its page in a real headless chromium: the
// visitor chatbox, the real signalbridge.js buttons (through the page's $crisp shim), the operator
// inbox and the bridge's mode and audit panels, against the fake Crisp and the real bridge over RTM
// and signed hooks.
func TestDemoInBrowser(t *testing.T) {
	browser := jstest.NewBrowser(t)

	t.Run("wait_for_signal", func(t *testing.T) {
		d := startTestDemo(t, "wait_for_signal")
		p := openDemoPage(t, browser, d)

		// Before any signal the assistant stays silent.
		const hello = "Hello, is anyone there?"
		p.visitorSays(hello)
		k := p.key()
		if c := p.waitTurn(k, hello); c.Mode != signals.ModeWaiting {
			t.Fatalf("mode after the first message = %s, want waiting", c.Mode)
		}
		p.wait("mode waiting", `s.mode === "waiting"`)

		// The page's Start button (signalbridge.js) writes enum=start_chatbot#nonce: active, source page.
		p.click("sb-start")
		v := p.wait("mode active from the page", `s.mode === "active" && `+auditHas("active", "signal · page")+
			` && /^start_chatbot#[0-9a-z]+$/.test(s.data.enum || "")`)
		// The visitor's pending first message is answered when the assistant is switched on.
		p.wait("the first message answered on start", `s.visitor.filter(function (m) { return m.bot; }).length === 1`)

		// Now a question is answered from the demo knowledge base, in the visitor's chatbox.
		const question = "How do I return an item?"
		p.visitorSays(question)
		v = p.wait("assistant answer", `s.visitor.some(function (m) { return m.bot && m.text.indexOf("/returns") >= 0; })`)
		if b := pageBots(v.Visitor); len(b) != 2 || !strings.Contains(b[1].Text, "Return items") {
			t.Fatalf("chatbox bot messages = %+v, want the first answer then one from returns.md", b)
		}
		p.wait("panel counts the answers", `s.mode === "active" && s.detail.indexOf("· 2 replies in total") > 0`)
		p.screenshot("answered")

		// Pause: paused by a signal, written back for Crisp's bot, and the page's snippet sees it.
		p.click("sb-pause")
		p.wait("mode paused", `s.mode === "paused" && s.detail.indexOf("signal") === 0 && `+auditHas("paused", "signal · page")+
			` && s.data.enum === "chatbot_paused:signal" && s.snippet === "paused (signal)"`)
		// Pause clicked again while paused (a double click): no second transition (the audit below),
		// and the button's pause_chatbot#<nonce> is written over with the write-back once more.
		seq := d.fake.LastSeq()
		p.click("sb-pause")
		waitCond(t, "the second pause written back", func() bool { return restatedAfter(d, seq) })
		p.wait("still paused, the write-back shown", `s.mode === "paused" && s.data.enum === "chatbot_paused:signal" && s.snippet === "paused (signal)"`)
		const still = "Still there?"
		p.visitorSays(still)
		if c := p.waitTurn(k, still); c.Mode != signals.ModePaused {
			t.Fatalf("mode after a message while paused = %s, want paused", c.Mode)
		}
		p.wait("operator thread shows the message", `s.operator.some(function (m) { return m.from === "user" && m.text === `+jsString(still)+`; })`)

		// The admin API (the panel's "start" button): active again, source api; barrier for the
		// message sent while paused.
		p.do("click API start", chromedp.Click(chromedp.CSS(`button[data-api="start"]`)))
		p.wait("mode active from the API", `s.mode === "active" && `+auditHas("active", "signal · api"))
		// The message sent while paused is the visitor's pending question: answered on start.
		p.wait("the paused message answered on start", `s.visitor.filter(function (m) { return m.bot; }).length === 3`)

		// An operator reply from the inbox pauses the assistant with reason operator.
		const reply = "Hi, Alex here. Let me check your order."
		p.operatorSays(reply)
		p.wait("paused by the operator", `s.mode === "paused" && s.detail.indexOf("operator") === 0 && `+auditHas("paused", "operator · operator")+
			` && s.visitor.some(function (m) { return m.from === "operator" && !m.bot && m.text === `+jsString(reply)+`; })`)

		// Resolving the conversation returns it to the start mode.
		p.click("operator-resolve")
		v = p.wait("waiting after resolve", `s.mode === "waiting" && s.detail.indexOf("resolved") === 0 && `+auditHas("waiting", "resolved · resolution"))
		p.noNewAnswer(k, v, 3)
		if got := p.posted(k); len(got) != 3 || !strings.Contains(contentText(got[1]), "Return items") {
			t.Fatalf("answers in Crisp = %+v, want three, the second to %q", got, question)
		}
		_, audit := p.conv(k)
		want := []string{"page:active", "page:paused", "api:active", "operator:paused", "resolution:waiting"}
		if got := sources(audit); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("audit = %v, want %v", got, want)
		}
	})

	t.Run("talk_to_human", func(t *testing.T) {
		d := startTestDemo(t, "auto")
		p := openDemoPage(t, browser, d)

		// start mode auto: the first question is answered, with the "talk to a human" choice.
		p.visitorSays("How do I return an item?")
		k := p.key()
		v := p.wait("answer with choices", `s.mode === "active" && s.visitor.some(function (m) { return m.bot && m.type === "picker" && m.choices.indexOf("sb:human") >= 0; })`)
		if b := pageBots(v.Visitor); len(b) != 1 || !strings.Contains(b[0].Text, "Return items") {
			t.Fatalf("chatbox bot messages = %+v, want one answer from returns.md", b)
		}

		// The visitor clicks it in the chatbox: handed over to a human, written back, operators get a
		// private note (in the inbox, never in the visitor's chatbox).
		p.do("click talk to a human", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="sb:human"]`)))
		v = p.wait("handed over", `s.mode === "human" && s.detail.indexOf("human") === 0 && `+auditHas("human", "human · visitor")+
			` && s.data.enum === "chatbot_paused:human" && s.operator.some(function (m) { return m.type === "note"; })`+
			` && s.visitor.some(function (m) { return m.selected.indexOf("sb:human") >= 0; })`+
			` && s.snippet === "human (human)"`)
		for _, m := range v.Visitor {
			if m.Type == "note" {
				t.Fatalf("visitor chatbox shows a private note: %+v", m)
			}
		}
		if c, _ := p.conv(k); c.Mode != signals.ModeHuman || c.Reason != signals.ReasonHuman {
			t.Fatalf("bridge mode = %s (%s), want human (human)", c.Mode, c.Reason)
		}
		p.screenshot("handover")
	})
}
