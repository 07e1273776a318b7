package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/js/jstest"
)

// demoWait bounds every single wait of the browser tests; the tab's own deadline bounds a whole test.
const demoWait = 10 * time.Second

// startTestDemo runs the demo (fake Crisp + real bridge, events over RTM and signed hooks) on
// loopback with the offline assistant, and waits until the bridge's RTM session is up.
func startTestDemo(t *testing.T, startMode string) *demo {
	t.Helper()
	d, err := startDemo(demoOptions{addr: "127.0.0.1:0", data: filepath.Join(t.TempDir(), "signalbridge.db"),
		startMode: startMode, events: "both", getenv: func(string) string { return "" }, // never a real model
		log: testWriter{t}, logLevel: "warn"})
	if err != nil {
		t.Fatalf("start demo: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(context.Background()); err != nil {
			t.Errorf("close demo: %v", err)
		}
	})
	waitCond(t, "rtm connected", func() bool {
		return d.app.rtm != nil && d.app.rtm.Connected() && d.fake.RTMConnections() >= 1
	})
	return d
}

// waitCond polls cond until it holds or demoWait passes (a bounded wait on observable state).
func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(demoWait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// pageMsg is one message as a column of the demo page renders it.
type pageMsg struct {
	From     string   `json:"from"` // user or operator
	Type     string   `json:"type"` // text, picker, note, ...
	Bot      bool     `json:"bot"`  // posted by a bot (our plugin's origin)
	Text     string   `json:"text"`
	Choices  []string `json:"choices"`  // picker choice values
	Selected []string `json:"selected"` // picker choice values shown as selected
}

// pageView is what the demo page shows, read from its DOM by the stable element ids.
type pageView struct {
	Session  string            `json:"session"`
	Mode     string            `json:"mode"`
	Detail   string            `json:"detail"`
	Audit    []string          `json:"audit"` // newest first, as shown
	Visitor  []pageMsg         `json:"visitor"`
	Operator []pageMsg         `json:"operator"`
	Data     map[string]string `json:"data"`
	Snippet  string            `json:"snippet"`
	Pills    []string          `json:"pills"`
	Toast    string            `json:"toast"`
}

// pageBots returns the bot messages of a column.
func pageBots(msgs []pageMsg) []pageMsg {
	var out []pageMsg
	for _, m := range msgs {
		if m.Bot {
			out = append(out, m)
		}
	}
	return out
}

// viewJS evaluates to a pageView.
const viewJS = `(function () {
  function txt(e) { return e ? e.textContent : ""; }
  function byId(id) { return document.getElementById(id); }
  function msgs(id) {
    return Array.prototype.map.call(document.querySelectorAll("#" + id + " li.msg"), function (li) {
      var choices = li.querySelectorAll("button.choice");
      return {
        from: li.dataset.from || "", type: li.dataset.type || "", bot: li.classList.contains("bot"),
        text: txt(li.querySelector(".text")),
        choices: Array.prototype.map.call(choices, function (b) { return b.dataset.value; }),
        selected: Array.prototype.filter.call(choices, function (b) { return b.classList.contains("selected"); })
          .map(function (b) { return b.dataset.value; })
      };
    });
  }
  var data = {};
  Array.prototype.forEach.call(document.querySelectorAll("#data-panel tr[data-key]"), function (tr) {
    data[tr.dataset.key] = txt(tr.cells[1]);
  });
  var toast = byId("toast");
  return {
    session: txt(byId("session-id")), mode: txt(byId("mode-value")), detail: txt(byId("mode-detail")),
    audit: Array.prototype.map.call(document.querySelectorAll("#audit-list li"), txt),
    visitor: msgs("visitor-messages"), operator: msgs("operator-messages"), data: data,
    snippet: txt(byId("snippet-state")),
    pills: Array.prototype.map.call(document.querySelectorAll(".status .pill"), txt),
    toast: toast && !toast.hidden ? txt(toast) : ""
  };
})()`

// demoTab is the demo page open in a headless chromium tab.
type demoTab struct {
	t   *testing.T
	d   *demo
	ctx context.Context
}

// openDemoPage opens <bridge>/demo/ in a new tab of browser and waits until the page is live: the
// sandbox event stream is open and the bridge served signalbridge.js. The page must not throw.
func openDemoPage(t *testing.T, browser context.Context, d *demo) *demoTab {
	t.Helper()
	ctx := jstest.NewTab(t, browser, 25*time.Second)
	exceptions := jstest.Exceptions(t, ctx)
	failed := badResponses(t, ctx)
	t.Cleanup(func() {
		if errs := exceptions(); len(errs) > 0 {
			t.Errorf("uncaught exceptions in the demo page: %v", errs)
		}
		if bad := failed(); len(bad) > 0 {
			t.Errorf("the demo page got error answers (each one is a red line in the browser console): %v", bad)
		}
	})
	p := &demoTab{t: t, d: d, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate(d.app.web.URL()+"/demo/")); err != nil {
		t.Fatalf("open demo page: %v", err)
	}
	p.wait("page live", `s.pills.indexOf("sandbox live") >= 0 && s.pills.indexOf("snippet loaded") >= 0`)
	return p
}

// view reads what the page shows now.
func (p *demoTab) view() pageView {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[pageView](viewJS))
	if err != nil {
		p.t.Fatalf("read demo page: %v", err)
	}
	return v
}

// wait waits until cond, a JavaScript expression over the page's view s (a pageView), holds and
// returns that view. On timeout it fails with what the page showed.
func (p *demoTab) wait(what, cond string) pageView {
	p.t.Helper()
	expr := fmt.Sprintf(`(function (s) { return (%s) ? s : null; })(%s)`, cond, viewJS)
	v, err := chromedp.Run(p.ctx, chromedp.Poll[pageView](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(demoWait)))
	if err != nil {
		shown := "(page unreadable)"
		if got, err := chromedp.Run(context.WithoutCancel(p.ctx), chromedp.Evaluate[pageView](viewJS)); err == nil {
			b, _ := json.MarshalIndent(got, "", "  ")
			shown = string(b)
		}
		p.t.Fatalf("waiting for %s (%s): %v\npage shows: %s", what, cond, err, shown)
	}
	return v
}

// do runs browser actions and fails the test on error.
func (p *demoTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// visitorSays types text into the chatbox and sends it, and waits until the chatbox shows it.
func (p *demoTab) visitorSays(text string) pageView {
	p.t.Helper()
	p.do("visitor sends "+text, chromedp.SetValue(chromedp.ID("visitor-input"), text), chromedp.Click(chromedp.ID("visitor-send")))
	return p.wait("visitor message "+text, fmt.Sprintf(`s.session !== "–" && s.visitor.some(function (m) { return m.from === "user" && m.text === %s; })`, jsString(text)))
}

// operatorSays replies from the operator inbox.
func (p *demoTab) operatorSays(text string) {
	p.t.Helper()
	p.do("operator replies "+text, chromedp.SetValue(chromedp.ID("operator-input"), text), chromedp.Click(chromedp.ID("operator-send")))
}

// click clicks the element with the id.
func (p *demoTab) click(id string) {
	p.t.Helper()
	p.do("click #"+id, chromedp.Click(chromedp.ID(id)))
}

// key is the bridge's key of the page's current conversation.
func (p *demoTab) key() bridge.Key {
	p.t.Helper()
	s := p.view().Session
	if !strings.HasPrefix(s, "session_") {
		p.t.Fatalf("page shows no session: %q", s)
	}
	return bridge.Key{WebsiteID: DemoWebsiteID, SessionID: s}
}

// conv returns the bridge's stored conversation (zero value when not stored yet).
func (p *demoTab) conv(k bridge.Key) (bridge.Conversation, []bridge.AuditEntry) {
	c, audit, err := p.d.app.bridge.Conversation(context.Background(), k, 100)
	if err != nil {
		return bridge.Conversation{}, nil
	}
	return c, audit
}

// waitTurn waits until the bridge has processed the visitor message text (it is in the stored
// transcript) and returns the conversation as that event left it.
func (p *demoTab) waitTurn(k bridge.Key, text string) bridge.Conversation {
	p.t.Helper()
	var c bridge.Conversation
	waitCond(p.t, "bridge processed "+text, func() bool {
		c, _ = p.conv(k)
		for _, tr := range c.Transcript {
			if tr.Role == "visitor" && tr.Text == text {
				return true
			}
		}
		return false
	})
	return c
}

// noNewAnswer checks, at a barrier, that the bridge is generating nothing and has posted exactly
// want answers in Crisp, and that the visitor's chatbox shows no more than that. Call it after a
// later event of the conversation was processed: the bridge starts an answer while performing the
// message's event, before it takes the conversation's next event, and Generating counts it until
// its result is posted or dropped, so a wrongly started answer is counted or posted by then.
func (p *demoTab) noNewAnswer(k bridge.Key, v pageView, want int) {
	p.t.Helper()
	if n := p.d.app.bridge.Generating(); n != 0 {
		p.t.Fatalf("bridge generating %d answers, want 0", n)
	}
	if got := p.posted(k); len(got) != want {
		p.t.Fatalf("bridge posted %d answers, want %d: %+v", len(got), want, got)
	}
	if got := pageBots(v.Visitor); len(got) > want {
		p.t.Fatalf("chatbox shows %d bot messages, want %d: %+v", len(got), want, got)
	}
}

// posted returns the answers (text and picker messages) the bridge posted in Crisp.
func (p *demoTab) posted(k bridge.Key) []crisptest.Message {
	c, _ := p.d.fake.Conversation(k.WebsiteID, k.SessionID)
	var out []crisptest.Message
	for _, m := range c.Messages {
		if m.Origin == p.d.app.cfg.Crisp.PluginURN && (m.Type == "text" || m.Type == "picker") {
			out = append(out, m)
		}
	}
	return out
}

// screenshot writes a full-page PNG of the tab when UI_SCREENSHOT is set: to that path when it ends
// in ".png" (name is inserted before the extension), else to a new temporary file. It logs the path.
func (p *demoTab) screenshot(name string) {
	p.t.Helper()
	dest := os.Getenv("UI_SCREENSHOT")
	if dest == "" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if strings.HasSuffix(dest, ".png") {
		dest = strings.TrimSuffix(dest, ".png") + "-" + name + ".png"
		err = os.WriteFile(dest, png, 0o644)
	} else {
		var f *os.File
		if f, err = os.CreateTemp("", "signalbridge-demo-"+name+"-*.png"); err == nil {
			dest = f.Name()
			_, err = f.Write(png)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		p.t.Fatalf("write screenshot: %v", err)
	}
	p.t.Logf("screenshot %s: %s", name, dest)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
