package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestDrillKill9WhenCrispStored: the real binary is killed with SIGKILL the instant the fake Crisp
// has stored one of its messages, before the answer to the POST leaves Crisp, so the bridge never
// learns that the message landed. After a restart on the same data file the message exists once: the
// entry is looked up by its fingerprint before it is posted again. Done for an answer, a guided
// step, a handover note and a handover notice.
func TestDrillKill9WhenCrispStored(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	kb, err := filepath.Abs("demokb")
	if err != nil {
		t.Fatal(err)
	}
	scenario, err := filepath.Abs(filepath.Join("..", "..", "docs", "scenario.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		steps    bool
		match    string // the body of the POST .../message to kill the process at
		typ      string // the type of our message that must exist once
		text     string // and a part of its text
		handover bool   // trigger: an admin handover (else a visitor message)
	}{
		{name: "answer", match: `"type":"picker"`, typ: "picker", text: "30 euros"},
		{name: "step", steps: true, match: `"type":"picker"`, typ: "picker", text: "How would you like to get help"},
		{name: "note", handover: true, match: `"type":"note"`, typ: "note", text: "AI handover"},
		{name: "notice", handover: true, match: "passing you", typ: "text", text: "passing you"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := t.TempDir()
			fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
				Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fake.Close() })
			steps := ""
			if tc.steps {
				steps = fmt.Sprintf("    scenario: %q\n", scenario)
			}
			cfgPath := filepath.Join(sub, "signalbridge.yaml")
			cfg := fmt.Sprintf(`log_level: warn
log_format: text
crisp:
  tier: plugin
  events: rtm
websites:
  %s:
    start_mode: auto
    language: en
    knowledge_base: %q
%s`, testSite, kb, steps)
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(sub, "signalbridge.db")
			env := []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + sub,
				"SIGNALBRIDGE_ADDR=127.0.0.1:0", "SIGNALBRIDGE_DATA=" + data, "SIGNALBRIDGE_ADMIN_TOKEN=admin-secret-token",
				"CRISP_IDENTIFIER=test-ident", "CRISP_KEY=test-key", "CRISP_API_URL=" + fake.RESTURL(),
				"CRISP_RTM_URL=" + fake.RTMURL(), "CRISP_PLUGIN_URN=" + testURN,
			}
			ours := func(session string) (n int, all []string) {
				c, _ := fake.Conversation(testSite, session)
				for _, m := range c.Messages {
					if m.Origin != testURN {
						continue
					}
					all = append(all, m.Type+": "+m.Text())
					if m.Type == tc.typ && strings.Contains(m.Text(), tc.text) {
						n++
					}
				}
				return n, all
			}
			p := startProc(t, bin, cfgPath, env)
			poll(t, "readyz", func() bool { return p.get("/readyz", nil) })
			poll(t, "rtm socket", func() bool { return fake.RTMConnections() == 1 })
			v := fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			s := v.SessionID()

			killed := make(chan struct{})
			arm := func() {
				fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Method: http.MethodPost, Path: "/message",
					BodyContains: tc.match, AfterCommit: true, Stall: true, OnCommit: func() {
						_ = p.cmd.Process.Kill() // SIGKILL: the message is stored, its answer never arrives
						close(killed)
					}})
			}
			if tc.handover {
				mustSend(t, v, "How much is shipping?")
				poll(t, "the answer", func() bool {
					c, _ := fake.Conversation(testSite, s)
					for _, m := range c.Messages {
						if m.Origin == testURN {
							return true
						}
					}
					return false
				})
				poll(t, "nothing pending", func() bool { v := p.view(s); return len(v.Pending) == 0 && v.ReplyDue == 0 })
				arm()
				req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/conversations/"+testSite+"/"+s+"/handover", nil)
				req.Header.Set("Authorization", "Bearer admin-secret-token")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			} else {
				arm()
				mustSend(t, v, "How much is shipping?")
			}
			select {
			case <-killed:
			case <-time.After(15 * time.Second):
				t.Fatal("the message was never posted")
			}
			err = <-p.done
			if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("process ended with %v, want killed by SIGKILL", err)
			}
			checkStore(t, data)
			if n, all := ours(s); n != 1 {
				t.Fatalf("before the restart: %d matching messages, want 1 (stored by Crisp): %q", n, all)
			}

			p = startProc(t, bin, cfgPath, env)
			poll(t, "readyz after the restart", func() bool { return p.get("/readyz", nil) })
			poll(t, "the journal performed after the restart", func() bool {
				v := p.view(s)
				return v.SessionID != "" && len(v.Pending) == 0 && v.ReplyDue == 0
			})
			// An entry leaves the journal only once its message is known to be in Crisp (posted, or
			// found by its fingerprint), so nothing can post it after this point.
			if !tc.handover && !tc.steps {
				// A barrier all the same: one more question, and its answer.
				before := fake.CallCount(http.MethodPost, "/message")
				mustSend(t, v, "Do you ship to the UK?")
				poll(t, "one more answer after the barrier", func() bool { return fake.CallCount(http.MethodPost, "/message") > before })
				poll(t, "nothing pending after the barrier", func() bool { v := p.view(s); return len(v.Pending) == 0 && v.ReplyDue == 0 })
			}
			n, all := ours(s)
			if n != 1 {
				t.Errorf("%s posted %d times, want 1; our messages: %q", tc.name, n, all)
			}
			if tc.handover {
				seen := map[string]int{}
				for _, m := range all {
					if seen[m]++; seen[m] == 2 && !strings.HasPrefix(m, "picker") {
						t.Errorf("message posted twice: %q", m)
					}
				}
			}
		})
	}
}
