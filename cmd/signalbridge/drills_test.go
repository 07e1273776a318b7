package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// Fault drills: the product wired to the fake Crisp on loopback, with faults injected at run time.
// Each drill waits on observable state with a deadline and never sleeps.

// newDrill is newHarness with a hook to change the configuration before the product opens.
func newDrill(t *testing.T, o harnessOptions, edit func(*Config)) *harness {
	t.Helper()
	o.edit = edit
	return newHarness(t, o)
}

// drillQuestions are visitor messages the demo knowledge base answers (offline or with the model).
var drillQuestions = []string{
	"How long does shipping take?",
	"How do I return an item?",
	"What payment methods do you accept?",
	"Can I pause my subscription?",
	"How do I track my order?",
	"What does the warranty cover?",
}

// roundTrip sends a message and waits for one more answer than the conversation had; it returns the
// new count. Because a conversation is processed in order, once this answer is posted every event
// delivered before the message has been processed too, so no earlier duplicate can still be on its way.
func (h *harness) roundTrip(v *crisptest.Visitor, text string) int {
	h.t.Helper()
	s := v.SessionID()
	n := len(h.answers(s))
	mustSend(h.t, v, text)
	h.waitAnswers(s, n+1)
	return len(h.answers(s))
}

// answerTexts returns the texts of the messages.
func answerTexts(msgs []crisptest.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = contentText(m)
	}
	return out
}

// TestDrillRTMDrop drops the RTM connection mid-conversation. Over RTM alone, events emitted while
// the socket is down come back only through the REST catch-up (TestDrillRTMOutageCatchup), so for
// "rtm" the drill asserts only the messages delivered before the drop and after the reconnect; with
// "both" the message sent while the socket is down arrives by web hook (and again by the catch-up)
// and the drill asserts every message is answered exactly once.
func TestDrillRTMDrop(t *testing.T) {
	for _, events := range []string{"rtm", "both"} {
		t.Run(events, func(t *testing.T) {
			h := newDrill(t, harnessOptions{events: events, startMode: "auto"}, nil)
			v := h.visitor(crisptest.VisitorInfo{})
			s := v.SessionID()
			h.roundTrip(v, drillQuestions[0])
			h.roundTrip(v, drillQuestions[1])

			h.fake.DropRTM()
			h.eventually("rtm socket closed", func() bool { return h.fake.RTMConnections() == 0 })
			sent := 2
			if events == "both" {
				// Sent while no RTM socket is open (the client waits a back-off of at least half a
				// second before reconnecting): only the web hook carries it.
				mustSend(t, v, drillQuestions[2])
				sent++
				h.waitAnswers(s, sent)
			}
			h.eventually("rtm reconnected", func() bool {
				return h.app.rtm.Reconnects() >= 1 && h.app.rtm.Connected() && h.fake.RTMConnections() == 1
			})
			for _, q := range drillQuestions[3:5] {
				h.roundTrip(v, q)
				sent++
			}
			if events == "both" {
				if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
					t.Fatal(err)
				}
			}
			h.roundTrip(v, drillQuestions[5]) // barrier: everything delivered before it is processed
			sent++
			if got := len(h.answers(s)); got != sent {
				t.Fatalf("answers = %d, want %d (one per delivered visitor message): %q", got, sent, answerTexts(h.answers(s)))
			}
			t.Logf("events=%s: %d messages, %d answers, %d reconnect(s)", events, sent, sent, h.app.rtm.Reconnects())
		})
	}
}

// TestDrillCrispErrors makes Crisp answer 429 and 5xx in bursts. Idempotent calls (GET and PATCH)
// are retried with back-off and succeed; a POST that fails after Crisp committed it is not repeated
// (no doubled answer): the retry finds it in Crisp by its fingerprint, and the conversation stays
// with the assistant (a transient error is not a reason to hand over); every attempt, retries
// included, is taken from the client-side daily quota.
func TestDrillCrispErrors(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "wait_for_signal"}, func(c *Config) {
		c.Crisp.DailyQuota = 24 * 200 // a burst of 200 calls, refilling at about one per 19 s
	})
	client := h.app.client
	quota0 := client.QuotaLeft()
	calls0 := len(h.fake.Calls())
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()

	// A start signal, then a pause: its write-back is a read-merge-write of the meta. Both the GET
	// and the PATCH hit a burst of 429 and 503 and still land.
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	h.waitMode(s, signals.ModeActive)
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusTooManyRequests, Count: 1, Method: http.MethodGet, Path: "/meta"})
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: 1, Method: http.MethodGet, Path: "/meta"})
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusTooManyRequests, Count: 2, Method: http.MethodPatch, Path: "/meta"})
	mustSetData(t, v, map[string]any{"enum": "pause_chatbot"})
	h.waitMode(s, signals.ModePaused)
	h.eventually("write-back after 429/503", func() bool {
		fc, _ := h.fake.Conversation(testSite, s)
		return fc.Data["enum"] == "chatbot_paused:signal"
	})
	if n := h.fake.PendingFaults(); n != 0 {
		t.Fatalf("faults left = %d, want 0 (every failing call was retried)", n)
	}

	// Back on; the first message's meta read hits a 429 and the answer is still posted once.
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	h.waitMode(s, signals.ModeActive)
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusTooManyRequests, Count: 2, Method: http.MethodGet, Path: "/meta"})
	if n := h.roundTrip(v, drillQuestions[0]); n != 1 {
		t.Fatalf("answers = %d, want 1", n)
	}

	// The answer's POST fails with 500 after Crisp stored it: it must not be posted again.
	h.fake.FailNext(crisptest.RESTFault{Status: http.StatusInternalServerError, Count: 1, Method: http.MethodPost, Path: "/message", AfterCommit: true})
	mustSend(t, v, drillQuestions[1])
	h.eventually("the answer's entry retried and found in Crisp", func() bool {
		c, _ := h.conv(s)
		return len(c.Journal) == 0 && c.ReplyDue == 0 && len(h.answers(s)) >= 2
	})
	if c, _ := h.conv(s); c.Mode != signals.ModeActive {
		t.Fatalf("mode after a transient failure of the answer's post = %s (%s), want active", c.Mode, c.Reason)
	}
	texts := map[string]int{}
	for _, m := range h.answers(s) {
		texts[contentText(m)]++
	}
	for text, n := range texts {
		if n > 1 {
			t.Errorf("answer posted %d times: %q", n, text)
		}
	}
	posts := h.fake.CallCount(http.MethodPost, "/conversation/"+s+"/message")
	if got := len(h.ours(s, "")); got != posts {
		t.Errorf("messages of ours in the conversation = %d, POST calls = %d: a POST was repeated or lost", got, posts)
	}

	// Quota: every recorded call (the failed attempts too) took one token; nothing bypassed it.
	used := len(h.fake.Calls()) - calls0
	left := client.QuotaLeft()
	if spent := quota0 - left; spent < used-1 || spent > used+1 { // ±1: refill during the drill
		t.Errorf("quota spent = %d, calls recorded = %d: retries must take quota", spent, used)
	}
	t.Logf("calls %d (quota %d -> %d), answers %q", used, quota0, left, answerTexts(h.answers(s)))
}

// TestDrillModelTimeout makes the model slower than the assistant's timeout: the visitor gets the
// apology, the conversation is handed over with reason error, and the typing indicator that was
// started is stopped.
func TestDrillModelTimeout(t *testing.T) {
	model := openaitest.MustStart(t)
	model.SetLatency(10 * time.Second) // the request's context ends long before
	oc, err := openai.New(openai.Config{BaseURL: model.URL(), APIKey: "sk-test", Model: "gpt-4o-mini",
		Timeout: 300 * time.Millisecond, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := newDrill(t, harnessOptions{events: "rtm", startMode: "auto", completer: oc,
		website: WebsiteConfig{Model: "gpt-4o-mini"}}, nil)
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	start := time.Now()
	mustSend(t, v, drillQuestions[0])
	c := h.waitMode(s, signals.ModeHuman)
	if c.Reason != signals.ReasonError {
		t.Fatalf("reason = %s, want %s", c.Reason, signals.ReasonError)
	}
	// The handover's actions run after its commit: wait for the last of them, then look.
	h.eventually("apology posted", func() bool {
		for _, m := range h.answers(s) {
			if strings.Contains(contentText(m), "Sorry") {
				return true
			}
		}
		return false
	})
	h.eventually("typing stopped", func() bool {
		return h.fake.CallCount(http.MethodPatch, "/conversation/"+s+"/compose") >= 2
	})
	var composes []string
	for _, call := range h.fake.Calls() {
		if call.Matches(http.MethodPatch, "/conversation/"+s+"/compose") {
			switch {
			case strings.Contains(string(call.Body), `"start"`):
				composes = append(composes, "start")
			case strings.Contains(string(call.Body), `"stop"`):
				composes = append(composes, "stop")
			}
		}
	}
	if len(composes) != 2 || composes[0] != "start" || composes[1] != "stop" {
		t.Fatalf("compose calls = %v, want [start stop] (typing shown after the typing delay, then stopped)", composes)
	}
	fc, _ := h.fake.Conversation(testSite, s)
	if fc.Compose == "start" {
		t.Fatalf("fake conversation compose = %q, want stop or cleared", fc.Compose)
	}
	if n := len(model.Requests()); n != 2 {
		t.Errorf("model requests = %d, want 2 (one retry after the timeout)", n)
	}
	h.eventually("handover write-back", func() bool {
		fc, _ = h.fake.Conversation(testSite, s)
		return strings.HasPrefix(fmt.Sprint(fc.Data["enum"]), "chatbot_paused:")
	})
	if fc.State != "pending" && fc.State != "unresolved" {
		t.Errorf("conversation state = %s, want pending (handed over)", fc.State)
	}
	t.Logf("handover after %s; data %v; answers %q", time.Since(start).Round(time.Millisecond), fc.Data, answerTexts(h.answers(s)))
}

// TestDrillDeliveryStorm delivers every event over RTM and web hooks, every hook twice, the first
// attempt of each failed (so it is retried) and the queued hooks reversed in groups of five, to many
// conversations at once: exactly one answer per visitor message.
func TestDrillDeliveryStorm(t *testing.T) {
	h := newDrill(t, harnessOptions{events: "both", startMode: "auto"}, nil)
	h.fake.SetHookFaults(crisptest.HookFaults{Duplicate: true, ReorderWindow: 5, FailFirstAttempt: true})
	const convs, turns = 12, 3
	visitors := make([]*crisptest.Visitor, convs)
	for i := range visitors {
		visitors[i] = h.visitor(crisptest.VisitorInfo{})
	}
	var wg sync.WaitGroup
	errs := make(chan error, convs)
	for _, v := range visitors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			for i := range turns {
				if _, err := v.Send(drillQuestions[i]); err != nil {
					errs <- err
					return
				}
				// Wait for this message's answer before the next one (a visitor reads, then writes).
				_, err := h.fake.WaitConversation(ctx, testSite, v.SessionID(), func(c crisptest.Conversation) bool {
					n := 0
					for _, m := range c.Messages {
						if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
							n++
						}
					}
					return n >= i+1
				})
				if err != nil {
					errs <- fmt.Errorf("%s turn %d: %w", v.SessionID(), i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
		t.Fatal(err)
	}
	// Every copy has been delivered; one more round trip per conversation proves each was processed.
	for _, v := range visitors {
		h.roundTrip(v, "Thanks for the help so far, one more question about shipping?")
	}
	if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
		t.Fatal(err)
	}
	for _, v := range visitors {
		if got := len(h.answers(v.SessionID())); got != turns+1 {
			t.Errorf("%s: answers = %d, want %d", v.SessionID(), got, turns+1)
		}
	}
	st := h.fake.HookStats()
	t.Logf("hook stats: %+v", st)
}

// TestDrillStaleSignalReplay delivers a pause and then a start signal over RTM and web hooks, the
// hooks lagging behind (every first attempt fails, so each hook arrives again after the retry
// delay, after the RTM copy of the next signal). A late copy of an old signal must not be applied
// again: the conversation makes exactly two transitions, ends active, and a question asked after
// the start signal is answered. (The bridge counts deliveries per transport, see dropLateCopy; our
// pause write-back is conditional, so it does not overwrite the newer start in Crisp either.)
func TestDrillStaleSignalReplay(t *testing.T) {
	for _, values := range [][2]string{{"pause_chatbot#d1", "start_chatbot#d1"}, {"pause_chatbot", "start_chatbot"}} {
		t.Run(values[0], func(t *testing.T) {
			h := newDrill(t, harnessOptions{events: "both", startMode: "auto"}, nil)
			h.fake.SetHookFaults(crisptest.HookFaults{FailFirstAttempt: true})
			v := h.visitor(crisptest.VisitorInfo{})
			s := v.SessionID()
			h.roundTrip(v, drillQuestions[0])
			_, audit0 := h.conv(s)

			mustSetData(t, v, map[string]any{"enum": values[0]})
			mustSetData(t, v, map[string]any{"enum": values[1]})
			h.eventually("start applied", func() bool { c, _ := h.conv(s); return c.Last["enum"] == values[1] })
			mustSend(t, v, drillQuestions[1])
			if err := h.fake.WaitHooksIdle(h.ctx()); err != nil {
				t.Fatal(err)
			}
			mustSend(t, v, drillQuestions[2]) // barrier: processed after every copy above
			h.waitTurn(s, "visitor", drillQuestions[2])
			c, audit := h.conv(s)
			var got []string
			for _, a := range audit[len(audit0):] {
				got = append(got, string(a.To))
			}
			if c.Mode != signals.ModeActive || len(got) != 2 {
				t.Errorf("after %s then %s (each also by a late hook): mode %s, transitions to %v; want active after exactly [paused active]",
					values[0], values[1], c.Mode, got)
			}
			if c.Mode == signals.ModeActive {
				h.waitAnswers(s, 3)
			}
			if n := len(h.answers(s)); n != 3 {
				t.Errorf("answers = %d, want 3 (one per visitor message)", n)
			}
		})
	}
}
