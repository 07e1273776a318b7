package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/signals"
)

// buildBinary builds this command into dir with the go tool running the test.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the binary")
	}
	bin := filepath.Join(dir, "signalbridge")
	start := time.Now()
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %s", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// proc is one run of the signalbridge binary.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string        // admin/web base URL, read from stdout
	stderr *bytes.Buffer // logs, shown when the test fails
	done   chan error
}

// lockedBuffer is a bytes.Buffer safe for the process's writer goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// startProc runs `signalbridge run --config cfg` with env and waits until it prints its address.
func startProc(t *testing.T, bin, cfg string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfg)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "signalbridge listening on "); ok {
				urls <- strings.TrimSpace(u)
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("signalbridge (pid %d) logs:\n%s", cmd.Process.Pid, logs.String())
			logs.mu.Unlock()
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("signalbridge exited before listening: %v\n%s", err, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("signalbridge did not print its address in 15 s\n%s", logs.String())
	}
	return p
}

// get decodes a JSON answer of the process's HTTP API (status 200 expected); it returns false on
// any other status so callers can poll.
func (p *proc) get(path string, out any) bool {
	req, _ := http.NewRequest(http.MethodGet, p.url+path, nil)
	req.Header.Set("Authorization", "Bearer admin-secret-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return false
	}
	if out == nil {
		return true
	}
	return json.NewDecoder(res.Body).Decode(out) == nil
}

// view returns the process's view of a conversation (zero when not stored yet).
func (p *proc) view(session string) web.ConversationView {
	var v web.ConversationView
	p.get("/v1/conversations/"+testSite+"/"+session, &v)
	return v
}

// poll waits up to 10 s for cond, checking every few milliseconds (a bounded wait, not a sleep).
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// checkStore opens the data file, runs bbolt's consistency check and closes it.
func checkStore(t *testing.T, path string) {
	t.Helper()
	s, err := bolt.Open(path, bolt.Options{Timeout: 5 * time.Second, PurgeInterval: -1})
	if err != nil {
		t.Fatalf("open data file: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("consistency check: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDrillKill9 runs the real binary against the fake Crisp and the fake model, SIGKILLs it while
// an answer is being generated, checks the data file, restarts it on the same file and checks that
// the state survived, the answer owed at the kill is posted once (the outbox), nothing is answered
// twice and the file is consistent after a clean stop too.
func TestDrillKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)

	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	model := openaitest.MustStart(t)

	kb, err := filepath.Abs("demokb")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "signalbridge.yaml")
	cfg := fmt.Sprintf(`log_level: warn
log_format: text
crisp:
  tier: plugin
  events: rtm
openai:
  model: gpt-4o-mini
  timeout: 2m
websites:
  allow_unknown: true
  default:
    start_mode: wait_for_signal
    language: en
    model: gpt-4o-mini
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
		"CRISP_RTM_URL=" + fake.RTMURL(), "CRISP_PLUGIN_URN=" + testURN,
		"OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + model.URL(),
	}
	ready := func(p *proc) {
		t.Helper()
		poll(t, "readyz (store open, rtm connected)", func() bool { return p.get("/readyz", nil) })
		poll(t, "rtm socket", func() bool { return fake.RTMConnections() == 1 })
	}
	answers := func(session string) []string {
		c, _ := fake.Conversation(testSite, session)
		var out []string
		for _, m := range c.Messages {
			if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
				out = append(out, m.Text())
			}
		}
		return out
	}
	waitAnswers := func(session string, n int) {
		t.Helper()
		poll(t, fmt.Sprintf("%d answers", n), func() bool { return len(answers(session)) >= n })
	}

	p := startProc(t, bin, cfgPath, env)
	ready(p)
	v := fake.Visitor(testSite, "", crisptest.VisitorInfo{})
	s := v.SessionID()

	// Signals and one answered message before the crash.
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	poll(t, "active", func() bool { return p.view(s).Mode == signals.ModeActive })
	mustSend(t, v, drillQuestions[0])
	waitAnswers(s, 1)
	mustSetData(t, v, map[string]any{"enum": "pause_chatbot"})
	poll(t, "pause write-back", func() bool {
		c, _ := fake.Conversation(testSite, s)
		return c.Data["enum"] == "chatbot_paused:signal"
	})
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	poll(t, "active again", func() bool { return p.view(s).Mode == signals.ModeActive })
	before := p.view(s)

	// A message whose answer is being generated when the process dies.
	model.SetLatency(time.Minute)
	mustSend(t, v, drillQuestions[1])
	poll(t, "model request in flight", func() bool { return len(model.Requests()) == 2 })
	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown code runs
		t.Fatal(err)
	}
	err = <-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("process ended with %v, want killed by SIGKILL", err)
	}
	checkStore(t, data) // the file as the crash left it
	model.SetLatency(0)

	// Restart on the same file: the state is intact and the conversation goes on.
	p = startProc(t, bin, cfgPath, env)
	ready(p)
	after := p.view(s)
	if after.Mode != signals.ModeActive || after.Signals["enum"] != "start_chatbot" || len(after.Audit) != len(before.Audit) {
		t.Fatalf("after restart mode=%s enum=%q audit=%d, want active, start_chatbot, %d",
			after.Mode, after.Signals["enum"], len(after.Audit), len(before.Audit))
	}
	// The answer owed at the crash is in the outbox: generated after the restart, exactly once.
	waitAnswers(s, 2)
	mustSend(t, v, drillQuestions[2])
	waitAnswers(s, 3)
	mustSend(t, v, drillQuestions[3]) // barrier: a late duplicate of anything earlier would show by now
	waitAnswers(s, 4)
	got := answers(s)
	if len(got) != 4 {
		t.Fatalf("answers = %d, want 4 (one per visitor message, the one owed at the kill included): %q", len(got), got)
	}
	seen := map[string]bool{}
	for _, a := range got {
		if seen[a] {
			t.Errorf("answer posted twice: %q", a)
		}
		seen[a] = true
	}

	// A clean stop, and the file is consistent again.
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("clean stop: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("signalbridge did not stop within 15 s of SIGINT")
	}
	checkStore(t, data)
}
