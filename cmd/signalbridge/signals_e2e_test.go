package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestSignalsEndToEnd drives the whole signal contract against the fake Crisp, once over RTM and once
// over signed web hooks.
func TestSignalsEndToEnd(t *testing.T) {
	for _, events := range []string{"rtm", "hooks"} {
		t.Run(events, func(t *testing.T) {
			// The contract, every form of signal in one conversation: more edges than the default
			// per-conversation limit allows (TestHostileToggles covers the limit).
			h := newHarness(t, harnessOptions{events: events, startMode: "wait_for_signal",
				website: WebsiteConfig{Limits: LimitsConfig{SignalEdges: -1}}})
			v := h.visitor(crisptest.VisitorInfo{})
			s := v.SessionID()

			// wait_for_signal: the visitor writes, nothing is answered.
			mustSend(t, v, "How long does shipping take?")
			h.waitTurn(s, "visitor", "How long does shipping take?")
			if c, _ := h.conv(s); c.Mode != signals.ModeWaiting {
				t.Fatalf("mode = %s, want waiting", c.Mode)
			}
			// A scenario's "Update Custom Data" sets enum=start_chatbot: the visitor's pending question
			// is answered, and so is the next message.
			mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
			h.waitMode(s, signals.ModeActive)
			h.waitAnswers(s, 1)
			mustSend(t, v, "How do I return an item?")
			h.waitAnswers(s, 2)

			// pause_chatbot silences it and is written back for the scenario to branch on.
			mustSetData(t, v, map[string]any{"enum": "pause_chatbot"})
			c := h.waitMode(s, signals.ModePaused)
			if c.Reason != signals.ReasonSignal {
				t.Fatalf("reason = %s, want signal", c.Reason)
			}
			h.eventually("write-back", func() bool {
				fc, _ := h.fake.Conversation(testSite, s)
				return fc.Data["enum"] == "chatbot_paused:signal" && fc.Data["enum_reason"] == "signal"
			})
			mustSend(t, v, "Are you there?")
			h.waitTurn(s, "visitor", "Are you there?")
			if n := len(h.answers(s)); n != 2 {
				t.Fatalf("answers while paused = %d, want 2", n)
			}

			// start_chatbot resumes it (our write-back made it a new edge) and answers the message
			// written while paused.
			mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
			h.waitMode(s, signals.ModeActive)
			h.waitAnswers(s, 3)
			_, audit := h.conv(s)
			transitions := len(audit)

			// The whole map again with another key changed: same enum value, no transition.
			mustSetData(t, v, map[string]any{"enum": "start_chatbot", "plan": "pro"})
			mustSend(t, v, "What does the pro plan cost?")
			h.waitTurn(s, "visitor", "What does the pro plan cost?")
			h.waitAnswers(s, 4)
			if _, audit := h.conv(s); len(audit) != transitions {
				t.Fatalf("transitions after a repeated value = %d, want %d: %v", len(audit), transitions, sources(audit))
			}

			// Dummy value then the same command again: applied.
			mustSetData(t, v, map[string]any{"enum": "pause_chatbot"})
			h.waitMode(s, signals.ModePaused)
			mustSetData(t, v, map[string]any{"enum": "noop-7f3a"})
			mustSetData(t, v, map[string]any{"enum": "pause_chatbot"}) // differs from the dummy: delivered
			mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
			h.waitMode(s, signals.ModeActive)

			// Nonce form (the website snippet): applied every time, source page.
			for i := range 3 {
				mustSetData(t, v, map[string]any{"enum": "pause_chatbot#p" + strconv.Itoa(i)})
				h.waitMode(s, signals.ModePaused)
				mustSetData(t, v, map[string]any{"enum": "start_chatbot#s" + strconv.Itoa(i)})
				h.waitMode(s, signals.ModeActive)
			}

			// A Crisp Bot button picker whose choices are the signal ids (message:updated).
			bot := h.crispBot()
			fp, err := bot.Send(h.ctx(), testSite, s, bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{
				ID: "ai-or-human", Text: "AI or human?", Choices: []bridge.Choice{
					{Value: "enum:start_chatbot", Label: "AI"}, {Value: "enum:pause_chatbot", Label: "Human"}}}})
			if err != nil {
				t.Fatalf("bot picker: %v", err)
			}
			if err := v.Click(fp, "enum:pause_chatbot"); err != nil {
				t.Fatal(err)
			}
			h.waitMode(s, signals.ModePaused)
			if err := v.Click(fp, "enum:start_chatbot"); err != nil {
				t.Fatal(err)
			}
			h.waitMode(s, signals.ModeActive)

			// The API.
			if _, err := h.app.bridge.Control(h.ctx(), bridge.Key{WebsiteID: testSite, SessionID: s}, bridge.ControlPause, "", ""); err != nil {
				t.Fatal(err)
			}
			h.waitMode(s, signals.ModePaused)
			if _, err := h.app.bridge.Control(h.ctx(), bridge.Key{WebsiteID: testSite, SessionID: s}, bridge.ControlStart, "", ""); err != nil {
				t.Fatal(err)
			}

			// An operator reply pauses with reason operator; resolving returns to the start mode.
			if _, err := h.fake.OperatorReply(testSite, s, testOperator, "Hi, Alex here."); err != nil {
				t.Fatal(err)
			}
			c = h.waitMode(s, signals.ModePaused)
			if c.Reason != signals.ReasonOperator {
				t.Fatalf("reason after operator reply = %s, want operator", c.Reason)
			}
			if err := h.fake.Resolve(testSite, s); err != nil {
				t.Fatal(err)
			}
			c = h.waitMode(s, signals.ModeWaiting)
			if c.Reason != signals.ReasonResolved {
				t.Fatalf("reason after resolve = %s, want resolved", c.Reason)
			}

			// Every source appears in the audit trail.
			_, audit = h.conv(s)
			got := map[signals.Source]bool{}
			for _, a := range audit {
				got[a.Source] = true
			}
			for _, want := range []signals.Source{signals.SourceData, signals.SourceButton, signals.SourcePage,
				signals.SourceAPI, signals.SourceOperator, signals.SourceResolution} {
				if !got[want] {
					t.Errorf("audit has no transition from source %s: %v", want, sources(audit))
				}
			}
		})
	}
}

// TestDuplicateDeliveryOneReply: the same visitor message over RTM and hooks, and hooks delivered
// twice and retried, give exactly one reply each.
func TestDuplicateDeliveryOneReply(t *testing.T) {
	h := newHarness(t, harnessOptions{events: "both", startMode: "auto"})
	h.fake.SetHookFaults(crisptest.HookFaults{Duplicate: true, FailFirstAttempt: true})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	questions := []string{"How long does shipping take?", "How do I return an item?", "What payment methods do you accept?"}
	for i, q := range questions {
		mustSend(t, v, q)
		h.waitAnswers(s, i+1)
	}
	if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
		t.Fatal(err)
	}
	st := h.fake.HookStats()
	// Every delivery of every copy has been answered by now; one more round trip through the
	// conversation's shard proves the bridge processed them all.
	mustSend(t, v, "Thanks!")
	h.waitAnswers(s, len(questions)+1)
	if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
		t.Fatal(err)
	}
	if got := len(h.answers(s)); got != len(questions)+1 {
		t.Fatalf("answers = %d, want %d (one per visitor message)", got, len(questions)+1)
	}
	t.Logf("hook stats: %+v", st)
}

// TestRestartKeepsState: state, signal edges and processed ids survive closing and reopening.
func TestRestartKeepsState(t *testing.T) {
	h := newHarness(t, harnessOptions{events: "hooks", startMode: "wait_for_signal"})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	h.waitMode(s, signals.ModeActive)
	fp := mustSend(t, v, "How long does shipping take?")
	h.waitAnswers(s, 1)
	before, beforeAudit := h.conv(s)

	h.close()
	h.open()
	after, afterAudit := h.conv(s)
	if after.Mode != signals.ModeActive || after.Last["enum"] != before.Last["enum"] || len(afterAudit) != len(beforeAudit) {
		t.Fatalf("after restart mode=%s last=%q audit=%d, want active %q %d", after.Mode, after.Last["enum"], len(afterAudit), before.Last["enum"], len(beforeAudit))
	}
	// Redeliver the old message (a late retry): the processed id survived, no second reply.
	h.postHook(t, "message:send", map[string]any{"website_id": testSite, "session_id": s, "type": "text",
		"from": "user", "origin": "chat", "content": "How long does shipping take?", "fingerprint": fp,
		"timestamp": time.Now().UnixMilli(), "user": map[string]any{"user_id": s, "nickname": "visitor"}}, http.StatusOK)
	// Re-deliver the old start value: the edge survived, no transition.
	h.postHook(t, "session:set_data", map[string]any{"website_id": testSite, "session_id": s,
		"data": map[string]any{"enum": before.Last["enum"]}}, http.StatusOK)
	mustSend(t, v, "And returns?")
	h.waitAnswers(s, 2)
	if n := len(h.answers(s)); n != 2 {
		t.Fatalf("answers = %d, want 2", n)
	}
	if _, audit := h.conv(s); len(audit) != len(beforeAudit) {
		t.Fatalf("audit = %v, want no new transition", sources(audit))
	}
}

// TestBadInputKeepsRunning: malformed events and unknown values are rejected or skipped, and the next
// good event works.
func TestBadInputKeepsRunning(t *testing.T) {
	h := newHarness(t, harnessOptions{events: "hooks", startMode: "wait_for_signal"})
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	url := h.app.web.URL() + "/webhooks/crisp"
	post := func(body []byte, sign bool, ts string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Crisp-Request-Timestamp", ts)
		if sign {
			req.Header.Set("X-Crisp-Signature", crisptest.Sign(h.secret, ts, body))
		} else {
			// A wrong signature: the right one with its first byte changed (not merely set to "00",
			// which is the right one once in 256 runs).
			sig := crisptest.Sign(h.secret, ts, body)
			bad := "00"
			if sig[:2] == bad {
				bad = "ff"
			}
			req.Header.Set("X-Crisp-Signature", bad+sig[2:])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	cases := []struct {
		name string
		body string
		sign bool
		ts   string
		want int
	}{
		{"not json", `{"website_id":`, true, now, 400},
		{"no session", `{"website_id":"` + testSite + `","event":"message:send","data":{"type":"text","content":"x","fingerprint":1},"timestamp":1}`, true, now, 400},
		{"forged", `{"website_id":"` + testSite + `","event":"session:set_data","data":{"session_id":"` + s + `","data":{"enum":"start_chatbot"}},"timestamp":1}`, false, now, 403},
		{"stale", `{"website_id":"` + testSite + `","event":"session:set_data","data":{"session_id":"` + s + `","data":{"enum":"start_chatbot"}},"timestamp":1}`, true, strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10), 403},
		{"unhandled event", `{"website_id":"` + testSite + `","event":"people:profile:created","data":{},"timestamp":1}`, true, now, 200},
		{"oversized", `{"website_id":"` + testSite + `","event":"message:send","data":{"content":"` + string(bytes.Repeat([]byte("x"), 2<<20)) + `"}}`, true, now, 413},
	}
	for _, tc := range cases {
		if got := post([]byte(tc.body), tc.sign, tc.ts); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	// An unknown signal value is remembered and skipped.
	mustSetData(t, v, map[string]any{"enum": "launch_rockets"})
	h.eventually("unknown value remembered", func() bool { c, _ := h.conv(s); return c.Last["enum"] == "launch_rockets" })
	if c, _ := h.conv(s); c.Mode != signals.ModeWaiting {
		t.Fatalf("mode after unknown value = %s", c.Mode)
	}
	// The next good event works.
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	h.waitMode(s, signals.ModeActive)
	mustSend(t, v, "How long does shipping take?")
	h.waitAnswers(s, 1)
}

func (h *harness) postHook(t *testing.T, event string, data map[string]any, want int) {
	t.Helper()
	body := compactJSON(t, map[string]any{"website_id": testSite, "event": event, "data": data, "timestamp": time.Now().UnixMilli()})
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, h.app.web.URL()+"/webhooks/crisp", bytes.NewReader(body))
	req.Header.Set("X-Crisp-Request-Timestamp", ts)
	req.Header.Set("X-Crisp-Signature", crisptest.Sign(h.secret, ts, body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("hook %s: status %d, want %d", event, res.StatusCode, want)
	}
}

func mustSend(t *testing.T, v *crisptest.Visitor, text string) int64 {
	t.Helper()
	fp, err := v.Send(text)
	if err != nil {
		t.Fatalf("visitor send: %v", err)
	}
	return fp
}

func mustSetData(t *testing.T, v *crisptest.Visitor, data map[string]any) {
	t.Helper()
	if err := v.SetData(data); err != nil {
		t.Fatalf("visitor set data: %v", err)
	}
}
