package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js/jstest"
)

// badResponses records the HTTP answers of status 400 and above that the tab of ctx receives from
// now on (a 404 for a favicon or a conversation shows as an error in the console), and returns a
// func that lists them as "STATUS URL".
func badResponses(tb testing.TB, ctx context.Context) func() []string {
	tb.Helper()
	var (
		mu  sync.Mutex
		bad []string
	)
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Response != nil && e.Response.Status >= 400 {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			mu.Unlock()
		}
	})
	if err != nil {
		tb.Fatalf("listen for responses: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), bad...)
	}
}

// evalJS evaluates a JavaScript expression in the tab.
func evalJS[T any](p *demoTab, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until the JavaScript expression is true.
func (p *demoTab) poll(what, expr string) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(demoWait))); err != nil {
		p.t.Fatalf("waiting for %s (%s): %v\npage shows: %+v", what, expr, err, p.view())
	}
}

// pollAcrossReload is poll for a condition that holds after the page reloads itself: a poll that
// the navigation interrupts is started again, until demoWait.
func (p *demoTab) pollAcrossReload(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(demoWait)
	for {
		err := chromedp.Do(p.ctx, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		// A reload interrupts a poll with "Inspected target navigated or closed" or "Cannot find
		// context with specified id"; a false condition ends at the deadline.
		if time.Now().After(deadline) || p.ctx.Err() != nil {
			p.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
		}
	}
}

// operatorMessages returns the operator-side messages of the conversation in the fake Crisp.
func operatorMessages(d *demo, k string, typ string) []string {
	c, _ := d.fake.Conversation(DemoWebsiteID, k)
	var out []string
	for _, m := range c.Filter("operator", typ) {
		if m.Origin == "chat" || m.Origin == "" {
			out = append(out, m.Text())
		}
	}
	return out
}

// TestDemoPageDetails checks, in a real chromium, what a first-time user sees on the demo page:
// links, timestamps, Crisp-like messages without type tags, the operator's Reply / Note switch and
// its warning before a command goes to the visitor, the handover note's mentions, an answered email
// field, no error answers (no 404 for a conversation the bridge has not stored), and a usable layout
// on a phone-sized screen.
func TestDemoPageDetails(t *testing.T) {
	browser := jstest.NewBrowser(t)

	t.Run("messages_and_composer", func(t *testing.T) {
		d := startTestDemo(t, "auto")
		p := openDemoPage(t, browser, d)
		// A new conversation before its first message: the page must not ask the bridge for it
		// (badResponses would record a 404).
		p.click("visitor-new")
		p.wait("not seen yet", `s.detail === "not seen by the bridge yet"`)

		p.visitorSays("How do I return an item?")
		k := p.key()
		p.wait("answer", `s.mode === "active" && s.visitor.some(function (m) { return m.bot && m.type === "picker"; })`)
		// "Read more" is a link to the article, opened in a new tab.
		p.poll("read-more link", `Array.from(document.querySelectorAll("#visitor-messages li.msg.bot a.link")).some(function (a) {
			return a.href.indexOf("https://help.nimbus.example/") === 0 && a.target === "_blank" && a.closest(".text").textContent.indexOf("Read more: " + a.textContent) >= 0; })`)
		// Every message carries its time; no debug type tag is shown.
		if bad := evalJS[[]string](p, `Array.from(document.querySelectorAll("li.msg")).filter(function (li) {
			var at = li.querySelector(".who time.at"); return !at || !/^\d\d:\d\d$/.test(at.textContent); }).map(function (li) { return li.textContent; })`); len(bad) > 0 {
			t.Fatalf("messages without a HH:MM time: %q", bad)
		}
		if tags := evalJS[[]string](p, `Array.from(document.querySelectorAll("li.msg .who")).map(function (w) { return w.textContent; })
			.filter(function (t) { return /picker|field|note|PICKER|FIELD|NOTE/.test(t) && !/private note/.test(t); })`); len(tags) > 0 {
			t.Fatalf("message headers show type tags: %q", tags)
		}

		// The composer starts in Reply mode; a command-looking reply is held with a warning on Enter.
		if h := evalJS[int](p, `document.getElementById("operator-warn").offsetHeight`); h != 0 {
			t.Fatalf("the command warning shows (%d px high) before any command", h)
		}
		p.do("type /ai off and Enter", chromedp.Click(chromedp.ID("operator-input")), chromedp.SendKeys(chromedp.ID("operator-input"), "/ai off\r"))
		p.poll("command warning", `document.getElementById("operator-warn").offsetHeight > 0 &&
			document.getElementById("operator-warn-text").textContent.indexOf("/ai off") >= 0`)
		if got := operatorMessages(d, k.SessionID, "text"); len(got) != 0 {
			t.Fatalf("the command went to the visitor before confirmation: %q", got)
		}
		// "Send as a note": a private note, and the switch is on Note.
		p.click("operator-warn-note")
		waitCond(t, "the note in Crisp", func() bool {
			n := operatorMessages(d, k.SessionID, "note")
			return len(n) == 1 && n[0] == "/ai off"
		})
		p.poll("note mode", `document.getElementById("compose-note").checked && document.getElementById("operator-form").classList.contains("note") &&
			document.getElementById("operator-warn").offsetHeight === 0 && document.getElementById("operator-input").value === ""`)
		p.wait("paused by the note command", `s.mode === "paused"`)
		if got := operatorMessages(d, k.SessionID, "text"); len(got) != 0 {
			t.Fatalf("replies in Crisp = %q, want none", got)
		}
		// Back to Reply: a plain reply goes to the visitor without a warning.
		p.do("switch to reply", chromedp.Click(chromedp.CSS(`label[for="compose-reply"]`)))
		p.operatorSays("Hi, Alex here.")
		p.wait("reply in the chatbox", `s.visitor.some(function (m) { return m.from === "operator" && !m.bot && m.text === "Hi, Alex here."; })`)
		if got := operatorMessages(d, k.SessionID, "text"); len(got) != 1 || got[0] != "Hi, Alex here." {
			t.Fatalf("replies in Crisp = %q, want the one reply", got)
		}
		p.screenshot("composer")
	})

	t.Run("handover_mentions_and_email_field", func(t *testing.T) {
		d := startTestDemo(t, "auto")
		p := openDemoPage(t, browser, d)

		// Operator online: the handover note mentions them by name.
		p.visitorSays("How do I return an item?")
		p.wait("answer with choices", `s.visitor.some(function (m) { return m.bot && m.choices.indexOf("sb:human") >= 0; })`)
		p.do("talk to a human", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="sb:human"]`)))
		p.poll("note with the mention", `Array.from(document.querySelectorAll('#operator-messages li.msg[data-type="note"] .mention')).some(function (m) {
			return m.textContent === "@Alex (operator)"; })`)
		// The chosen choice is highlighted, the other one dimmed.
		p.poll("choice state", `document.querySelector('#visitor-messages button.choice.selected[data-value="sb:human"]') &&
			document.querySelector('#visitor-messages button.choice.other')`)

		// Operator away, a new conversation: the handover asks the email with a field; once
		// answered, the field is read-only with a check and no OK button.
		p.click("operator-online")
		waitCond(t, "operator offline", func() bool { return !d.fake.Operators(DemoWebsiteID)[0].Online })
		p.click("visitor-new")
		p.visitorSays("Can I pause my subscription?")
		p.wait("answer with choices", `s.visitor.some(function (m) { return m.bot && m.choices.indexOf("sb:human") >= 0; })`)
		p.do("talk to a human", chromedp.Click(chromedp.CSS(`#visitor-messages button.choice[data-value="sb:human"]`)))
		p.poll("email field", `document.querySelector('#visitor-messages li[data-type="field"] form.field:not(.answered) input:not([disabled])')`)
		p.do("fill the email", chromedp.SendKeys(chromedp.CSS(`#visitor-messages li[data-type="field"] form.field input`), "ana@example.com\r"))
		p.poll("answered field", `(function () {
			var f = document.querySelector('#visitor-messages li[data-type="field"] form.field.answered');
			if (!f) { return false; }
			var input = f.querySelector("input"), ok = f.querySelector("button");
			return input.disabled && input.value === "ana@example.com" && (!ok || ok.hidden) && f.querySelector(".check");
		})()`)
		p.screenshot("email-field")
	})

	t.Run("narrow_screen", func(t *testing.T) {
		d := startTestDemo(t, "auto")
		p := openDemoPage(t, browser, d)
		p.do("phone viewport", chromedp.EmulateViewport(375, 740))
		defer chromedp.Do(context.WithoutCancel(p.ctx), chromedp.EmulateViewport(1400, 900))
		// No horizontal scrolling, and every control a user needs fits the width.
		type box struct {
			Scroll  int      `json:"scroll"`
			Width   int      `json:"width"`
			Outside []string `json:"outside"`
			Inner   int      `json:"inner"`
			Send    float64  `json:"send"`
		}
		b := evalJS[box](p, `(function () {
			var w = document.documentElement.clientWidth, out = [];
			["visitor-input", "visitor-send", "visitor-new", "sb-start", "sb-pause", "sb-handover", "operator-input",
			 "operator-send", "compose-note", "operator-resolve", "conn-sandbox", "conn-bridge", "conn-snippet", "mode-value"].forEach(function (id) {
				var e = document.getElementById(id);
				if (id === "compose-note") { e = document.querySelector('label[for="compose-note"]'); }
				e.scrollIntoView({ block: "center" });
				var r = e.getBoundingClientRect();
				var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
				if (r.width === 0 || r.left < 0 || r.right > w + 0.5) { out.push(id + " " + Math.round(r.left) + ".." + Math.round(r.right)); }
				else if (!hit || !(hit === e || e.contains(hit))) { out.push(id + " covered by " + (hit ? hit.tagName + "#" + hit.id + "." + hit.className : "nothing")); }
			});
			return { scroll: document.documentElement.scrollWidth, width: w, outside: out, inner: window.innerWidth,
				send: document.getElementById("visitor-send").getBoundingClientRect().right };
		})()`)
		if b.Scroll > b.Width || len(b.Outside) > 0 {
			t.Fatalf("at 375 px: page %d px wide in a %d px viewport; controls outside: %v", b.Scroll, b.Width, b.Outside)
		}
		t.Logf("narrow layout: %+v", b)
		p.screenshot("narrow")
		// And a user can chat there: the controls are where a tap lands.
		p.visitorSays("How long does delivery take?")
		p.wait("answer", `s.visitor.some(function (m) { return m.bot; })`)
	})

	t.Run("restart_reloads_the_page", func(t *testing.T) {
		d := startTestDemo(t, "auto")
		p := openDemoPage(t, browser, d)
		p.visitorSays("Hello before the restart")
		addr := strings.TrimPrefix(d.app.web.URL(), "http://")
		evalJS[bool](p, `window.__beforeRestart = true`)
		if err := d.Close(context.Background()); err != nil {
			t.Fatalf("close the first demo: %v", err)
		}
		// The same address, a new run: new sandbox, new admin token, no conversations.
		d2, err := startDemo(demoOptions{addr: addr, data: filepath.Join(t.TempDir(), "second.db"), startMode: "auto",
			events: "both", getenv: func(string) string { return "" }, log: testWriter{t}, logLevel: "warn"})
		if err != nil {
			t.Fatalf("restart the demo on %s: %v", addr, err)
		}
		t.Cleanup(func() { d2.Close(context.Background()) })
		p.d = d2
		p.pollAcrossReload("reloaded on the new run", `window.__beforeRestart === undefined && document.getElementById("conn-sandbox").textContent === "sandbox live" &&
			document.getElementById("restart-banner").hidden && document.querySelectorAll("#inbox-list li[data-session]").length === 0`)
		p.visitorSays("Hello after the restart")
		p.wait("the bridge answers with the new token", `s.mode === "active" && s.pills.indexOf("bridge live") >= 0`)
	})
}

// TestDemoCtrlCWithPageOpen runs `signalbridge demo` through Main with SIGNALBRIDGE_ADDR and
// SIGNALBRIDGE_DATA, opens its page in chromium (a live event stream) and interrupts it: the demo
// must stop with exit code 0, without waiting for the page's stream to time out.
func TestDemoCtrlCWithPageOpen(t *testing.T) {
	browser := jstest.NewBrowser(t)
	data := filepath.Join(t.TempDir(), "from-env.db")
	env := map[string]string{"SIGNALBRIDGE_ADDR": "127.0.0.1:0", "SIGNALBRIDGE_DATA": data}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdout := &lineWriter{ch: make(chan string, 64)}
	stderr := &lineWriter{ch: make(chan string, 1)}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"demo", "--log-level", "warn"}, stdout, stderr, envFunc(env)) }()
	var page string
	deadline := time.After(demoWait)
	for page == "" {
		select {
		case line := <-stdout.ch:
			if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Demo page:"); ok {
				page = strings.TrimSpace(u)
			}
		case code := <-done:
			t.Fatalf("demo exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatalf("demo did not start: %s", stdout.String())
		}
	}
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("SIGNALBRIDGE_DATA not used: %v", err)
	}
	tab := jstest.NewTab(t, browser, 30*time.Second)
	if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.Poll[chromedp.Void](
		`document.getElementById("conn-sandbox").textContent === "sandbox live"`, chromedp.WithPollingTimeout(demoWait))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	interrupt()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("demo exited %d on interrupt with the page open: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30 s of the interrupt")
	}
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("the --data file given by SIGNALBRIDGE_DATA was removed: %v", err)
	}
}

// TestDemoFlagsWinOverEnvironment: --data and --addr beat SIGNALBRIDGE_DATA and SIGNALBRIDGE_ADDR.
func TestDemoFlagsWinOverEnvironment(t *testing.T) {
	dir := t.TempDir()
	fromEnv, fromFlag := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	env := map[string]string{"SIGNALBRIDGE_ADDR": "256.0.0.1:1", "SIGNALBRIDGE_DATA": fromEnv}
	ctx, interrupt := context.WithCancel(context.Background())
	stdout := &lineWriter{ch: make(chan string, 64)}
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data", fromFlag, "--log-level", "error"}, stdout, &stderr, envFunc(env))
	}()
	deadline := time.After(demoWait)
	for started := false; !started; {
		select {
		case line := <-stdout.ch:
			started = strings.Contains(line, "Demo page:")
		case code := <-done:
			t.Fatalf("demo exited %d (the environment's address won over --addr?): %s", code, stderr.String())
		case <-deadline:
			t.Fatal("demo did not start")
		}
	}
	interrupt()
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d", code)
	}
	if _, err := os.Stat(fromFlag); err != nil {
		t.Fatalf("--data not used: %v", err)
	}
	if _, err := os.Stat(fromEnv); err == nil {
		t.Fatal("SIGNALBRIDGE_DATA used although --data was given")
	}
}
