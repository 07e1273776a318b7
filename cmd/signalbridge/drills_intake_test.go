package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestDrillKill9AfterHookAck: 40 visitors write at once over signed hooks only; the bridge is
// SIGKILLed the moment the last hook got its 2xx, while it is still busy with them (every Crisp call
// is slow, so none of them is processed yet). A 2xx means durable: after a restart on the same file
// every conversation is answered, exactly once.
func TestDrillKill9AfterHookAck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	const secret = "drill-hook-secret"
	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		HookSecret: secret, Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	kb, err := filepath.Abs("demokb")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "signalbridge.yaml")
	cfg := fmt.Sprintf(`log_level: warn
log_format: text
crisp:
  tier: plugin
  events: hooks
websites:
  allow_unknown: true
  default:
    start_mode: auto
    language: en
    knowledge_base: %q
`, kb)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "signalbridge.db")
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SIGNALBRIDGE_ADDR=127.0.0.1:0", "SIGNALBRIDGE_DATA=" + data, "SIGNALBRIDGE_ADMIN_TOKEN=admin-secret-token",
		"CRISP_IDENTIFIER=test-ident", "CRISP_KEY=test-key", "CRISP_API_URL=" + fake.RESTURL(),
		"CRISP_RTM_URL=" + fake.RTMURL(), "CRISP_PLUGIN_URN=" + testURN, "CRISP_HOOKS_SECRET=" + secret,
	}
	answers := func(session string) int {
		c, _ := fake.Conversation(testSite, session)
		n := 0
		for _, m := range c.Messages {
			if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
				n++
			}
		}
		return n
	}

	p := startProc(t, bin, cfgPath, env)
	poll(t, "readyz", func() bool { return p.get("/readyz", nil) })
	fake.SetHookURL(p.url + "/webhooks/crisp")
	// Every REST call now takes long: the bridge accepts the hooks but cannot finish any of them.
	fake.SetLatency(20 * time.Second)
	const n = 40
	visitors := make([]*crisptest.Visitor, n)
	for i := range visitors {
		visitors[i] = fake.Visitor(testSite, "", crisptest.VisitorInfo{})
	}
	start := time.Now()
	for i, v := range visitors {
		mustSend(t, v, drillQuestions[i%len(drillQuestions)])
	}
	poll(t, "40 hooks acknowledged", func() bool { return fake.HookStats().Delivered >= n })
	acked := time.Since(start)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = <-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("process ended with %v, want killed by SIGKILL", err)
	}
	answeredBefore := 0
	for _, v := range visitors {
		answeredBefore += answers(v.SessionID())
	}
	checkStore(t, data)
	fake.SetLatency(0)

	restart := time.Now()
	p = startProc(t, bin, cfgPath, env)
	fake.SetHookURL(p.url + "/webhooks/crisp")
	poll(t, "every conversation answered after the restart", func() bool {
		for _, v := range visitors {
			if answers(v.SessionID()) < 1 {
				return false
			}
		}
		return true
	})
	recovered := time.Since(restart)
	// A barrier per conversation: one more message each, answered; a late duplicate of anything
	// earlier would have been posted before it.
	for i, v := range visitors[:5] {
		mustSend(t, v, drillQuestions[(i+1)%len(drillQuestions)])
	}
	poll(t, "barrier answers", func() bool {
		for _, v := range visitors[:5] {
			if answers(v.SessionID()) < 2 {
				return false
			}
		}
		return true
	})
	for i, v := range visitors {
		want := 1
		if i < 5 {
			want = 2
		}
		if got := answers(v.SessionID()); got != want {
			t.Errorf("conversation %d: %d answers, want %d (exactly once per message)", i, got, want)
		}
	}
	t.Logf("drill: %d hooks acknowledged in %v, %d answered before the kill, all answered %v after the restart",
		n, acked.Round(time.Millisecond), answeredBefore, recovered.Round(time.Millisecond))
}

// TestDrillCrispOutageDuringHandover: Crisp answers 503 to every PATCH of the meta and the state
// for a few seconds (the same point as the 30 s, shorter) while a conversation is handed
// over. The write-back and pending are kept in the journal and land after the outage, once; the
// operators' note and the visitor's notice are not held back by them.
func TestDrillCrispOutageDuringHandover(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto"}, nil)
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	if n := h.roundTrip(v, drillQuestions[0]); n != 1 {
		t.Fatalf("answers = %d, want 1", n)
	}
	const outage = 3 * time.Second
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: 1 << 20, Method: http.MethodPatch, Path: "/meta"})
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: 1 << 20, Method: http.MethodPatch, Path: "/state"})
	start := time.Now()
	if _, err := h.app.bridge.Control(h.ctx(), bridge.Key{WebsiteID: testSite, SessionID: s}, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	h.eventually("the note posted during the outage", func() bool { return len(h.ours(s, "note")) == 1 })
	if c, _ := h.conv(s); len(c.Journal) == 0 {
		t.Fatal("no Crisp write pending during the outage")
	}
	fc, _ := h.fake.Conversation(testSite, s)
	if fc.Data["enum"] == "chatbot_paused:human" {
		t.Fatal("the write-back landed during the outage")
	}
	waitUntil(t, start.Add(outage))
	h.fake.ClearFaults()
	failed := h.fake.CallCount(http.MethodPatch, "/conversation/"+s+"/meta")
	h.eventually("write-back and pending after the outage", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.Data["enum"] == "chatbot_paused:human" && fc.State == "pending" && len(journal(h, s)) == 0
	})
	landed := time.Since(start)
	if n := len(h.ours(s, "note")); n != 1 {
		t.Errorf("notes = %d, want 1", n)
	}
	fc, _ = h.fake.Conversation(testSite, s)
	if got := fc.Data["enum_state"]; got != "human" {
		t.Errorf("enum_state = %q, want human", got)
	}
	t.Logf("drill: %d failed PATCH meta attempts during a %v outage; every write landed %v after the handover",
		failed, outage, landed.Round(time.Millisecond))
}

// TestDrillSlotsDoNotTimeOutAnswers: 30 visitors ask at once, with 2 generation slots, a model that
// takes 200 ms and an answer timeout of 1 s. Waiting for a slot is not answering: all of them are
// answered, none is handed over.
func TestDrillSlotsDoNotTimeOutAnswers(t *testing.T) {
	model := openaitest.MustStart(t)
	model.SetLatency(200 * time.Millisecond)
	oc, err := openai.New(openai.Config{BaseURL: model.URL(), APIKey: "sk-test", Model: "gpt-4o-mini", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto", completer: oc, website: WebsiteConfig{Model: "gpt-4o-mini"}},
		func(c *Config) {
			c.Bridge.Generations = 2
			c.Bridge.ReplyTimeout = time.Second
		})
	const n = 30
	visitors := make([]*crisptest.Visitor, n)
	for i := range visitors {
		visitors[i] = h.visitor(crisptest.VisitorInfo{})
	}
	start := time.Now()
	for i, v := range visitors {
		mustSend(t, v, drillQuestions[i%len(drillQuestions)])
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, v := range visitors {
		for len(h.answers(v.SessionID())) < 1 {
			if c, _ := h.conv(v.SessionID()); c.Mode == signals.ModeHuman {
				t.Fatalf("conversation %s handed over (%s) while waiting for a slot", v.SessionID(), c.Reason)
			}
			if time.Now().After(deadline) {
				t.Fatalf("conversation %s not answered in 30 s", v.SessionID())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	took := time.Since(start)
	for _, v := range visitors {
		if c, _ := h.conv(v.SessionID()); c.Mode != signals.ModeActive {
			t.Errorf("conversation %s is %s, want active", v.SessionID(), c.Mode)
		}
	}
	t.Logf("drill: %d conversations on 2 slots with a 200 ms model answered in %v, none handed over", n, took.Round(time.Millisecond))
}

// waitUntil waits until t (a bounded wait for a point in time, which is what an outage of a given
// length is).
func waitUntil(tb testing.TB, at time.Time) {
	tb.Helper()
	if d := time.Until(at); d > 0 {
		<-time.After(d)
	}
}

func journal(h *harness, session string) []bridge.JournalEntry {
	c, _ := h.conv(session)
	return c.Journal
}
