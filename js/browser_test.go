package js_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signalbridge/signalbridge/js"
	"github.com/signalbridge/signalbridge/js/jstest"
	"github.com/signalbridge/signalbridge/signals"
)

// The signing side of the test website's backend.
var (
	signSecret  = []byte("test-website-start-secret")
	signWebsite = "w"
	signCount   atomic.Int64
)

// set is one recorded $crisp.push(["set","session:data",[[[key, value]]]]).
type set struct {
	Key      string  `json:"key"`
	Value    string  `json:"value"`
	T        float64 `json:"t"` // performance.now() when pushed
	Replayed bool    `json:"replayed"`
}

// state is what the snippet passes to onState.
type state struct {
	State  string `json:"state"`
	Active bool   `json:"active"`
	Paused bool   `json:"paused"`
	Human  bool   `json:"human"`
	Reason string `json:"reason"`
	Key    string `json:"key"`
	Value  string `json:"value"`
}

const buttons = `
<button id="start" data-signalbridge="start">Start</button>
<button id="pause" data-signalbridge="pause">Pause</button>
<button id="handover" data-signalbridge="handover">Human</button>`

// pages are the test pages, by path.
var pages = map[string]string{
	"/stub-first": `<script src="/stub.js"></script><script src="/signalbridge.js"></script>` + buttons,
	"/snippet-first": `<script src="/signalbridge.js"></script>` + buttons + `
<script>function loadStub() { var s = document.createElement("script"); s.src = "/stub.js"; document.head.appendChild(s); }</script>`,
	"/dummy": `<script src="/stub.js"></script>
<script src="/signalbridge.js" data-signalbridge-strategy="dummy" data-signalbridge-delay="300"></script>` + buttons,
	"/key": `<script src="/stub.js"></script>
<script src="/signalbridge.js" data-signalbridge-key="ai_control" data-signalbridge-nonce-separator="~" data-signalbridge-state-key="ai_mode"></script>
<button id="start" data-signalbridge="start">Start</button>
<button id="other" data-signalbridge="pause" data-signalbridge-key="bot">Pause bot</button>`,
	"/state": `<script src="/stub.js"></script><script src="/signalbridge.js" async></script>` + buttons + `
<script>
window.__states = [];
window.addEventListener("load", function () {
  SignalBridge.init({ poll: 50, onState: function (s) { window.__states.push(s); } });
});
</script>`,
	"/signed": `<script src="/stub.js"></script>
<script src="/signalbridge.js" data-signalbridge-signed-start-url="/sign"></script>` + buttons,
	"/async": `<script>window.SignalBridgeConfig = { start: "go_bot" };</script>
<script src="/signalbridge.js" async></script><script src="/stub.js" async></script>` + buttons,
}

func newSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /signalbridge.js", js.Handler())
	// The website's backend: signs a start for the session it is asked about (a real backend checks
	// first that its logged-in user may start the assistant).
	mux.HandleFunc("GET /sign", func(w http.ResponseWriter, r *http.Request) {
		session := r.URL.Query().Get("session_id")
		if session == "" {
			http.Error(w, "session_id required", http.StatusBadRequest)
			return
		}
		nonce := fmt.Sprintf("n%d", signCount.Add(1))
		v := "start_chatbot#" + signals.SignStart(signSecret, signWebsite, session, nonce, time.Now().Add(5*time.Minute).UnixMilli())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"value": %q}`, v)
	})
	mux.HandleFunc("GET /stub.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/stub.js")
	})
	for path, body := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><title>t</title></head><body>%s</body></html>", body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// sets waits until the stub has recorded at least n session data writes and returns them.
func sets(t *testing.T, ctx context.Context, n int) []set {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Poll[[]set](
		fmt.Sprintf(`window.__sets && window.__sets().length >= %d && window.__sets()`, n),
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		have, _ := chromedp.Run(ctx, chromedp.Evaluate[[]set](`window.__sets ? window.__sets() : []`))
		t.Fatalf("wait for %d session:data writes: %v (have %+v)", n, err, have)
	}
	return got
}

func noExceptions(t *testing.T, exceptions func() []string) {
	t.Helper()
	if errs := exceptions(); len(errs) > 0 {
		t.Fatalf("uncaught exceptions in the page: %v", errs)
	}
}

var nonced = func(prefix string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9a-z]{2,}$")
}

func TestSnippetInBrowser(t *testing.T) {
	site := newSite(t)
	browser := jstest.NewBrowser(t)

	open := func(t *testing.T, path string) context.Context {
		t.Helper()
		tab := jstest.NewTab(t, browser, 30*time.Second)
		exceptions := jstest.Exceptions(t, tab)
		t.Cleanup(func() { noExceptions(t, exceptions) })
		if err := chromedp.Do(tab, chromedp.Navigate(site.URL+path)); err != nil {
			t.Fatalf("navigate %s: %v", path, err)
		}
		return tab
	}

	t.Run("buttons write nonce-suffixed values, each click a new edge", func(t *testing.T) {
		tab := open(t, "/stub-first")
		if err := chromedp.Do(tab,
			chromedp.Click(chromedp.ID("start")),
			chromedp.Click(chromedp.ID("start")),
			chromedp.Click(chromedp.ID("pause")),
			chromedp.Click(chromedp.ID("handover")),
		); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 4)
		wants := []string{"start_chatbot#", "start_chatbot#", "pause_chatbot#", "handover_chatbot#"}
		for i, w := range wants {
			if got[i].Key != "enum" || !nonced(w).MatchString(got[i].Value) {
				t.Errorf("write %d = %s=%s, want enum=%s<nonce>", i, got[i].Key, got[i].Value, w)
			}
		}
		if got[0].Value == got[1].Value {
			t.Errorf("two start clicks wrote the same value %q; want two distinct edges", got[0].Value)
		}
	})

	t.Run("buttons added later and clicks on their children work", func(t *testing.T) {
		tab := open(t, "/stub-first")
		if err := chromedp.Do(tab,
			chromedp.Evaluate[chromedp.Void](`(function () {
				var b = document.createElement("button");
				b.setAttribute("data-signalbridge", "pause");
				b.innerHTML = '<span id="late">Pause <b>now</b></span>';
				document.body.appendChild(b);
			})()`),
			chromedp.Click(chromedp.ID("late")),
		); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 1)
		if !nonced("pause_chatbot#").MatchString(got[0].Value) {
			t.Fatalf("late button wrote %q, want pause_chatbot#<nonce>", got[0].Value)
		}
	})

	t.Run("snippet before the Crisp script: queued writes are replayed", func(t *testing.T) {
		tab := open(t, "/snippet-first")
		if err := chromedp.Do(tab,
			chromedp.Click(chromedp.ID("start")),
			chromedp.Evaluate[chromedp.Void](`SignalBridge.pause()`),
		); err != nil {
			t.Fatal(err)
		}
		queued, err := chromedp.Run(tab, chromedp.Evaluate[int](`Array.isArray(window.$crisp) ? window.$crisp.length : -1`))
		if err != nil {
			t.Fatal(err)
		}
		if queued != 2 {
			t.Fatalf("before Crisp loads, $crisp queue holds %d commands, want 2", queued)
		}
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`loadStub()`)); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 2)
		if !nonced("start_chatbot#").MatchString(got[0].Value) || !nonced("pause_chatbot#").MatchString(got[1].Value) {
			t.Fatalf("replayed writes %+v, want start then pause", got)
		}
		if !got[0].Replayed || !got[1].Replayed {
			t.Fatalf("writes %+v were not queued before Crisp loaded", got)
		}
		// After Crisp has replaced the queue, new writes go straight to it.
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("handover"))); err != nil {
			t.Fatal(err)
		}
		got = sets(t, tab, 3)
		if got[2].Replayed || !nonced("handover_chatbot#").MatchString(got[2].Value) {
			t.Fatalf("write after load %+v, want a direct handover_chatbot#<nonce>", got[2])
		}
	})

	t.Run("Crisp before the snippet", func(t *testing.T) {
		tab := open(t, "/stub-first")
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](`SignalBridge.start()`)); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 1)
		if got[0].Replayed || !nonced("start_chatbot#").MatchString(got[0].Value) {
			t.Fatalf("write %+v, want a direct start_chatbot#<nonce>", got[0])
		}
	})

	t.Run("async scripts in either order with window.SignalBridgeConfig", func(t *testing.T) {
		tab := open(t, "/async")
		if err := chromedp.Do(tab,
			chromedp.Poll[chromedp.Void](`window.SignalBridge && window.__sets`, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Click(chromedp.ID("start")),
		); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 1)
		if !nonced("go_bot#").MatchString(got[0].Value) {
			t.Fatalf("write %+v, want go_bot#<nonce> from SignalBridgeConfig", got[0])
		}
	})

	t.Run("dummy strategy writes a dummy, then the exact value after the delay", func(t *testing.T) {
		tab := open(t, "/dummy")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("start"))); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 2)
		if !nonced("noop#").MatchString(got[0].Value) {
			t.Errorf("first write %q, want noop#<random>", got[0].Value)
		}
		if got[1].Value != "start_chatbot" {
			t.Errorf("second write %q, want exactly start_chatbot", got[1].Value)
		}
		gap := got[1].T - got[0].T
		t.Logf("dummy -> value gap %.1f ms (delay 300 ms)", gap)
		if gap < 300 {
			t.Errorf("gap between dummy and value %.1f ms, want >= 300 ms", gap)
		}
	})

	t.Run("key from the script tag and from the button", func(t *testing.T) {
		tab := open(t, "/key")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("start")), chromedp.Click(chromedp.ID("other"))); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 2)
		if got[0].Key != "ai_control" || !nonced("start_chatbot~").MatchString(got[0].Value) {
			t.Errorf("script-tag key: wrote %s=%s, want ai_control=start_chatbot~<nonce>", got[0].Key, got[0].Value)
		}
		if got[1].Key != "bot" || !nonced("pause_chatbot~").MatchString(got[1].Value) {
			t.Errorf("button key: wrote %s=%s, want bot=pause_chatbot~<nonce>", got[1].Key, got[1].Value)
		}
	})

	t.Run("onState follows the session data", func(t *testing.T) {
		tab := open(t, "/state")
		waitState := func(n int) state {
			t.Helper()
			got, err := chromedp.Run(tab, chromedp.Poll[state](
				fmt.Sprintf(`window.__states.length >= %d && window.__states[%d]`, n, n-1),
				chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				have, _ := chromedp.Run(tab, chromedp.Evaluate[[]state](`window.__states`))
				t.Fatalf("wait for state %d: %v (have %+v)", n, err, have)
			}
			return got
		}
		if err := chromedp.Do(tab,
			chromedp.Poll[chromedp.Void](`window.SignalBridge && SignalBridge.config().poll === 50`, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Click(chromedp.ID("start")),
		); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			write string // value the "server" writes; "" = the click above
			want  state
		}{
			{"", state{State: "active", Active: true, Reason: "signal", Key: "enum"}},
			{"chatbot_paused:human", state{State: "human", Human: true, Reason: "human", Key: "enum", Value: "chatbot_paused:human"}},
			{"noop#x1", state{}}, // a dummy is no state: nothing reported
			{"chatbot_paused:operator", state{State: "paused", Paused: true, Reason: "operator", Key: "enum", Value: "chatbot_paused:operator"}},
			{"pause_chatbot", state{State: "paused", Paused: true, Reason: "signal", Key: "enum", Value: "pause_chatbot"}},
		}
		n := 0
		for i, s := range steps {
			if s.write != "" {
				if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`__serverWrite("enum", %q)`, s.write))); err != nil {
					t.Fatal(err)
				}
			}
			if s.want.State == "" {
				continue // checked by the next step: its state must come right after the previous one
			}
			n++
			got := waitState(n)
			if i == 0 {
				if !nonced("start_chatbot#").MatchString(got.Value) {
					t.Fatalf("state value %q, want the written start_chatbot#<nonce>", got.Value)
				}
				s.want.Value = got.Value
			}
			if got != s.want {
				t.Fatalf("step %d (%q): state %+v, want %+v", i, s.write, got, s.want)
			}
		}
		total, err := chromedp.Run(tab, chromedp.Evaluate[int](`window.__states.length`))
		if err != nil || total != n {
			t.Fatalf("onState called %d times (%v), want %d (no call for the dummy)", total, err, n)
		}
		attr, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.getAttribute("data-signalbridge-state")`))
		if err != nil || attr != "paused" {
			t.Fatalf("data-signalbridge-state %q (%v), want paused", attr, err)
		}
	})

	t.Run("the bridge's enum_state is the authority for onState", func(t *testing.T) {
		tab := open(t, "/state")
		if err := chromedp.Do(tab, chromedp.Poll[chromedp.Void](`window.SignalBridge && SignalBridge.config().poll === 50`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			data map[string]string // what the bridge writes, in one go
			want state
		}{
			{map[string]string{"enum": "chatbot_paused:human", "enum_reason": "human", "enum_state": "human"},
				state{State: "human", Human: true, Reason: "human", Key: "enum", Value: "chatbot_paused:human"}},
			// A page start refused by the bridge: the value changes, the mode does not.
			{map[string]string{"enum": "start_chatbot#abc"},
				state{State: "human", Human: true, Reason: "human", Key: "enum", Value: "start_chatbot#abc"}},
			// "/ai on", an API resume or a resolution: the bridge empties enum and enum_reason.
			{map[string]string{"enum": "", "enum_reason": "", "enum_state": "active"},
				state{State: "active", Active: true, Key: "enum"}},
			{map[string]string{"enum": "chatbot_paused:operator", "enum_reason": "operator", "enum_state": "paused"},
				state{State: "paused", Paused: true, Reason: "operator", Key: "enum", Value: "chatbot_paused:operator"}},
			{map[string]string{"enum": "", "enum_reason": "", "enum_state": "waiting"},
				state{State: "waiting", Key: "enum"}},
		}
		for i, s := range steps {
			js := ""
			for k, v := range s.data {
				js += fmt.Sprintf("__serverWrite(%q, %q);", k, v)
			}
			if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](js)); err != nil {
				t.Fatal(err)
			}
			got, err := chromedp.Run(tab, chromedp.Poll[state](
				fmt.Sprintf(`window.__states.length >= %d && window.__states[%d]`, i+1, i),
				chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				have, _ := chromedp.Run(tab, chromedp.Evaluate[[]state](`window.__states`))
				t.Fatalf("step %d: wait for a state: %v (have %+v)", i, err, have)
			}
			if got != s.want {
				t.Fatalf("step %d (%v): state %+v, want %+v", i, s.data, got, s.want)
			}
		}
		attr, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.getAttribute("data-signalbridge-state")`))
		if err != nil || attr != "waiting" {
			t.Fatalf("data-signalbridge-state %q (%v), want waiting", attr, err)
		}
	})

	t.Run("state-key attribute names the mode key", func(t *testing.T) {
		tab := open(t, "/key")
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](`(function () {
			var seen = [];
			__serverWrite("ai_control", "chatbot_paused:human");
			__serverWrite("enum_state", "paused");
			__serverWrite("ai_mode", "active");
			SignalBridge.init({ poll: 0, onState: function (s) { seen.push(s.state); } });
			return seen.join(",") + "|" + SignalBridge.config().stateKey;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if got != "active|ai_mode" {
			t.Fatalf("states|stateKey = %q, want active|ai_mode", got)
		}
	})

	t.Run("signed start: fetched from the website backend, verified as the bridge does", func(t *testing.T) {
		tab := open(t, "/signed")
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("start")), chromedp.Click(chromedp.ID("start"))); err != nil {
			t.Fatal(err)
		}
		got := sets(t, tab, 2)
		cfg := signals.DefaultConfig()
		cfg.StartMode, cfg.StartSecret = signals.StartWaitForSignal, signSecret
		s := cfg.Initial(0)
		for i, w := range got {
			in := signals.Input{Kind: signals.InputData, At: time.Now().UnixMilli(), Data: map[string]string{w.Key: w.Value},
				WebsiteID: signWebsite, SessionID: "session_test"}
			res := cfg.Step(s, in)
			if res.Refused != nil || res.State.Mode != signals.ModeActive {
				t.Fatalf("write %d %s=%s: refused %v mode %s (%s), want a signed start", i, w.Key, w.Value, res.Refused, res.State.Mode, res.Note)
			}
			s = cfg.Step(res.State, signals.Input{Kind: signals.InputPause, At: in.At}).State
		}
		// A value passed in by page code is written as is; a malformed one throws.
		v := "start_chatbot#" + signals.SignStart(signSecret, signWebsite, "session_test", "given", time.Now().Add(time.Minute).UnixMilli())
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`SignalBridge.start({signed: %q})`, v))); err != nil {
			t.Fatal(err)
		}
		if got := sets(t, tab, 3); got[2].Value != v {
			t.Fatalf("start({signed}) wrote %q, want %q", got[2].Value, v)
		}
		msg, err := chromedp.Run(tab, chromedp.Evaluate[string](`(function () {
			try { SignalBridge.start({signed: "start_chatbot#forged"}); return "no error"; } catch (e) { return e.message; }
		})()`))
		if err != nil || !strings.Contains(msg, "<nonce>.<exp>.<sig>") {
			t.Fatalf("start({signed: forged}) = %q (%v), want an error naming the signed form", msg, err)
		}
		// A forged value written straight into session data (a visitor's console) is refused.
		res := cfg.Step(s, signals.Input{Kind: signals.InputData, At: time.Now().UnixMilli(),
			Data: map[string]string{"enum": "start_chatbot#x.9999999999999.forged"}, WebsiteID: signWebsite, SessionID: "session_test"})
		if res.Refused == nil {
			t.Fatalf("forged signed start accepted: %+v", res.State)
		}
	})

	t.Run("parse maps values to states", func(t *testing.T) {
		tab := open(t, "/stub-first")
		tests := []struct {
			value string
			want  string // state + "/" + reason, or "null"
		}{
			{"start_chatbot", "active/signal"},
			{"start_chatbot#k3v9", "active/signal"},
			{"pause_chatbot", "paused/signal"},
			{"pause_chatbot#x", "paused/signal"},
			{"handover_chatbot#x", "human/human"},
			{"chatbot_paused:human", "human/human"},
			{"chatbot_paused:budget", "paused/budget"},
			{"chatbot_paused:error", "paused/error"},
			{"noop#abc", "null"},
			{"", "null"},
		}
		for _, tt := range tests {
			got, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(
				`(function (s) { return s ? s.state + "/" + s.reason : "null"; })(SignalBridge.parse(%q))`, tt.value)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parse(%q) = %s, want %s", tt.value, got, tt.want)
			}
		}
	})
}

func TestSnippetSize(t *testing.T) {
	// Not a speed target, a budget: the snippet stays a few KB (printed, not asserted beyond sanity).
	n := len(js.Script())
	t.Logf("signalbridge.js: %d bytes", n)
	if n == 0 || strings.Contains(string(js.Script()), "import ") {
		t.Fatal("snippet empty or uses ES modules")
	}
}
