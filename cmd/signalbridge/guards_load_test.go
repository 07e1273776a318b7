package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// hostileToggles toggles the signal from the page of one conversation n times (pause, start, pause,
// ...) and returns the last value written. Each pause is written once the bridge has taken the
// previous start (seen(value): a start, applied or refused, leaves its value as the last seen), so
// the toggles do not pile up in the queue: each pair is decided on its own, the worst case for the
// Crisp calls they cost.
func hostileToggles(t testing.TB, v *crisptest.Visitor, n int, seen func(value string) bool) string {
	t.Helper()
	last := ""
	for i := range n {
		last = "pause_chatbot#p" + strconv.Itoa(i)
		if i%2 == 1 {
			last = "start_chatbot#s" + strconv.Itoa(i)
		}
		if err := v.SetData(map[string]any{"enum": last}); err != nil {
			t.Errorf("toggle %d: %v", i, err)
			return last
		}
		if i%2 == 0 {
			continue
		}
		deadline := time.Now().Add(time.Minute)
		for !seen(last) {
			if time.Now().After(deadline) {
				t.Errorf("toggle %d not taken within a minute", i)
				return last
			}
			time.Sleep(time.Millisecond) // polling the store for an observable state, bounded above
		}
	}
	return last
}

// sessionCalls counts the REST calls of the fake that concern one conversation.
func sessionCalls(f *crisptest.Server, session string) int {
	return f.CallCount("", "/conversation/"+session+"/")
}

// TestHostileToggles is the load test of issue 21: over loopback, with the default Crisp quota
// (5,000 a day) and the default limits, one conversation toggles its signal 1,000 times while 50
// others ask a question each. Every one of the 50 is answered, the hostile conversation spends a
// bounded number of REST calls, and its refused toggles are counted (and audited once per run).
func TestHostileToggles(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	h := newHarness(t, harnessOptions{startMode: "auto", edit: func(c *Config) {
		c.Crisp.DailyQuota = defaultConfig().Crisp.DailyQuota // the default quota, as run has it
	}})
	if h.cfg.Crisp.DailyQuota != 5000 {
		t.Fatalf("daily quota %d, want the default 5000", h.cfg.Crisp.DailyQuota)
	}
	hostile := h.visitor(crisptest.VisitorInfo{})
	hs := hostile.SessionID()
	mustSetData(t, hostile, map[string]any{"plan": "free"}) // the conversation exists

	const others = 50
	var wg sync.WaitGroup
	var last string
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		last = hostileToggles(t, hostile, 1000, func(v string) bool {
			c, _, err := h.app.bridge.Conversation(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: hs}, 0)
			return err == nil && c.Last["enum"] == v
		})
	}()
	sessions := make([]string, others)
	for i := range others {
		v := h.visitor(crisptest.VisitorInfo{Locales: []string{"en-US"}})
		sessions[i] = v.SessionID()
		mustSend(t, v, "How do I return an item?")
	}
	wg.Wait()
	toggled := time.Since(start)
	for _, s := range sessions {
		waitLong(t, "an answer in "+s, func() bool { return len(h.answers(s)) >= 1 })
	}
	answered := time.Since(start)
	// The hostile conversation has seen its last toggle and performed what it decided.
	key := bridge.Key{WebsiteID: testSite, SessionID: hs}
	var c bridge.Conversation
	var audit []bridge.AuditEntry
	waitLong(t, "the last toggle processed, its writes done", func() bool {
		var err error
		c, audit, err = h.app.bridge.Conversation(context.Background(), key, 10_000)
		return err == nil && c.Last["enum"] == last && len(c.Journal) == 0
	})
	calls := sessionCalls(h.fake, hs)
	applied, refusedAudited := 0, 0
	for _, a := range audit {
		switch {
		case a.Refused:
			refusedAudited++
		case a.Source == signals.SourcePage:
			applied++
		}
	}
	counted := 0.0
	if m, err := h.app.metrics.Registry.Gather(); err == nil {
		for _, f := range m {
			if f.GetName() == "signalbridge_limited_total" {
				for _, mm := range f.GetMetric() {
					counted += mm.GetCounter().GetValue()
				}
			}
		}
	}
	t.Logf("1,000 toggles in %s; %d/%d other conversations answered after %s; hostile conversation: %d REST calls, %d edges applied, %d refusals audited, %.0f limited inputs counted; quota left %d",
		toggled.Round(time.Millisecond), others, others, answered.Round(time.Millisecond), calls, applied, refusedAudited, counted, h.app.client.QuotaLeft())
	for _, q := range h.app.client.QuotaStats() {
		t.Logf("quota class %-11s granted %4d waited %3d refused %3d", q.Class, q.Granted, q.Waited, q.Refused)
	}
	if calls > 20 {
		t.Errorf("the hostile conversation spent %d REST calls on 1,000 toggles, want <= 20", calls)
	}
	if counted < 400 {
		t.Errorf("%.0f limited toggles counted, want most of the 500 starts", counted)
	}
	if refusedAudited < 1 || refusedAudited > applied+1 {
		t.Errorf("%d refusals audited for %d edges applied: want at least one, at most one per run", refusedAudited, applied)
	}
	if c.Mode != signals.ModePaused {
		t.Errorf("hostile conversation ends %s, want paused", c.Mode)
	}
	for _, s := range sessions {
		if cv, _ := h.conv(s); cv.Mode != signals.ModeActive {
			t.Errorf("conversation %s is %s/%s, want active (answered, not handed over)", s, cv.Mode, cv.Reason)
		}
	}
}

// waitLong polls cond until it holds or a minute passes: a load test under -race on a shared machine
// takes longer than the harness's 10 s, but is still bounded.
func waitLong(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
