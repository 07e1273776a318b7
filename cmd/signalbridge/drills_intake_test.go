package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
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
