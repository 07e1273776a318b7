package bridge_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// pumpRTM hands every event the fake Crisp emits to the bridge, decoded by the real adapter, as an
// RTM socket would (our own writes come back as events too). The returned quiesce waits until
// everything emitted so far was handed over and settled, and nothing new was emitted meanwhile.
func pumpRTM(t *testing.T, fake *crisptest.Server, b *bridge.Bridge) (quiesce func()) {
	t.Helper()
	evs, stop := fake.Subscribe()
	var handed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range evs {
			if crisp.Handled(ev.Name) {
				if e, err := crisp.DecodeEvent(ev.Name, ev.Data, bridge.ViaRTM, ev.WebsiteID); err == nil {
					_ = b.HandleEvent(context.Background(), e) // ErrClosed once the test is over
				}
			}
			handed.Store(ev.Seq)
		}
	}()
	t.Cleanup(func() { stop(); wg.Wait() })
	return func() {
		t.Helper()
		for range 20 {
			seq := fake.LastSeq()
			rvWait(t, "the fake's events handed to the bridge", 5*time.Second, func() bool { return handed.Load() >= seq })
			rvSettle(t, b)
			if fake.LastSeq() == seq {
				return
			}
		}
		t.Fatal("the fake keeps emitting events")
	}
}

// restateRig opens a bridge on a real bbolt file with run's edge limits, its events fed back from
// the fake Crisp (pumpRTM), and one conversation of session already answered once; enum reads a key
// of the conversation's data in Crisp.
// writeInLoop has the page write signal#loop<i> into the key n times, waits for the bridge to settle
// and returns the REST calls the conversation cost meanwhile.
func writeInLoop(t *testing.T, r *rvRig, v *crisptest.Visitor, quiesce func(), session, signal string, n int) int {
	t.Helper()
	before := r.fake.CallCount("", "/conversation/"+session+"/")
	for i := range n {
		if err := v.SetData(map[string]any{"enum": signal + "#loop" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	quiesce()
	return r.fake.CallCount("", "/conversation/"+session+"/") - before
}

func restateRig(t *testing.T, session string) (r *rvRig, b *bridge.Bridge, v *crisptest.Visitor, quiesce func(), enum func(key string) string) {
	t.Helper()
	r = newRvRig(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := signals.DefaultConfig()
	cfg.Limits.Edges = signals.Rate{Burst: 4, Every: 30_000} // the defaults of run
	site := &bridge.Website{ID: rvSite, Signals: cfg, Language: "en"}
	b = rvOpen(t, st, r.plat, echo{}, site, nil)
	t.Cleanup(func() { _ = b.Close(); _ = st.Close() })
	quiesce = pumpRTM(t, r.fake, b)
	v = r.fake.Visitor(rvSite, session, crisptest.VisitorInfo{})
	enum = func(k string) string {
		c, _ := r.fake.Conversation(rvSite, session)
		s, _ := c.Data[k].(string)
		return s
	}
	if _, err := v.Send("hello"); err != nil {
		t.Fatal(err)
	}
	rvWait(t, "the answer", 5*time.Second, func() bool { return len(r.ours(session, "text")) == 1 })
	quiesce()
	return r, b, v, quiesce, enum
}

// TestSecondPauseClickRestatesTheWriteBack: two quick clicks on the page's Pause AI write
// pause_chatbot#<nonce> twice. The first pauses the assistant; the second, while paused, changes
// nothing (no transition, no new epoch, no message) but has the write-back made again, so Crisp's
// signal key says chatbot_paused:signal rather than the page's raw value, and its echo is no
// signal. A page clicking Pause in a loop has it restated a bounded number of times only.
func TestSecondPauseClickRestatesTheWriteBack(t *testing.T) {
	const session = "session_restate"
	r, b, v, quiesce, enum := restateRig(t, session)
	key := bridge.Key{WebsiteID: rvSite, SessionID: session}

	// Two quick clicks: the second lands before the first one's write-back.
	for _, nonce := range []string{"a1", "b2"} {
		if err := v.SetData(map[string]any{"enum": "pause_chatbot#" + nonce}); err != nil {
			t.Fatal(err)
		}
	}
	quiesce()
	c, audit, err := b.Conversation(context.Background(), key, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after two clicks: mode %s (%s), epoch %d; Crisp enum=%q enum_state=%q enum_reason=%q",
		c.Mode, c.Reason, c.Epoch, enum("enum"), enum("enum_state"), enum("enum_reason"))
	if c.Mode != signals.ModePaused || c.Reason != signals.ReasonSignal || len(audit) != 1 {
		t.Fatalf("mode %s (%s) with %d audit entries, want paused (signal) by one transition", c.Mode, c.Reason, len(audit))
	}
	if enum("enum") != "chatbot_paused:signal" || enum("enum_state") != "paused" || enum("enum_reason") != "signal" {
		t.Errorf("Crisp holds enum=%q enum_state=%q enum_reason=%q after a double click on Pause, want chatbot_paused:signal, paused, signal",
			enum("enum"), enum("enum_state"), enum("enum_reason"))
	}
	epoch, messages := c.Epoch, len(r.ours(session, "text"))+len(r.ours(session, "note"))
	if messages != 1 {
		t.Errorf("%d messages of ours after the clicks, want the one answer", messages)
	}

	// A third click: restated again by one data write, nothing else; its echo writes nothing more.
	patches := r.fake.CallCount("PATCH", "/conversation/"+session+"/meta")
	if err := v.SetData(map[string]any{"enum": "pause_chatbot#c3"}); err != nil {
		t.Fatal(err)
	}
	quiesce()
	c, audit, err = b.Conversation(context.Background(), key, 100)
	if err != nil {
		t.Fatal(err)
	}
	if enum("enum") != "chatbot_paused:signal" || c.Mode != signals.ModePaused || len(audit) != 1 || c.Epoch != epoch ||
		len(r.ours(session, "text"))+len(r.ours(session, "note")) != messages {
		t.Errorf("third click: Crisp enum=%q, mode %s, %d audit entries, epoch %d (was %d), want the write-back restated and nothing else",
			enum("enum"), c.Mode, len(audit), c.Epoch, epoch)
	}
	if got := r.fake.CallCount("PATCH", "/conversation/"+session+"/meta") - patches; got != 1 {
		t.Errorf("the third click cost %d data writes, want 1 (its echo is no signal)", got)
	}

	// Clicking in a loop: the restates stop with their burst; the key keeps a pause value.
	calls := writeInLoop(t, r, v, quiesce, session, "pause_chatbot", 200)
	c, audit, _ = b.Conversation(context.Background(), key, 100)
	t.Logf("200 more clicks: %d REST calls; Crisp enum=%q", calls, enum("enum"))
	if calls > 2*2 { // two restates left in the burst of 4, a read and a write each
		t.Errorf("200 more clicks on Pause cost %d REST calls, want at most 4", calls)
	}
	if c.Mode != signals.ModePaused || len(audit) != 1 || c.Epoch != epoch {
		t.Errorf("after the loop: mode %s, %d audit entries, epoch %d (was %d), want unchanged", c.Mode, len(audit), c.Epoch, epoch)
	}
}

// TestRefusedStartRestatesTheWriteBack: an operator has taken the conversation (paused by
// operator: a human owns it), and the page writes start_chatbot#<nonce>. The start is refused (a
// visitor cannot take a conversation back from a person), and the key does not keep the refused
// start: the write-back of the stop is made again, so a scenario branching on the key reads
// chatbot_paused:operator. A page writing starts in a loop has it restated a bounded number of
// times only, and never starts the assistant.
func TestRefusedStartRestatesTheWriteBack(t *testing.T) {
	const session = "session_refused_start"
	r, b, v, quiesce, enum := restateRig(t, session)
	key := bridge.Key{WebsiteID: rvSite, SessionID: session}
	ops := r.fake.Operators(rvSite)
	if len(ops) == 0 {
		t.Fatal("the fake has no operator")
	}
	if _, err := r.fake.OperatorReply(rvSite, session, ops[0].UserID, "Hi, Marta here, I'll take it from here."); err != nil {
		t.Fatal(err)
	}
	quiesce()
	c, _, err := b.Conversation(context.Background(), key, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !signals.HumanOwned(c.State) || enum("enum") != "chatbot_paused:operator" {
		t.Fatalf("after the operator's reply: mode %s (%s), Crisp enum=%q, want owned by the operator and chatbot_paused:operator", c.Mode, c.Reason, enum("enum"))
	}
	epoch := c.Epoch

	if err := v.SetData(map[string]any{"enum": "start_chatbot#s1"}); err != nil {
		t.Fatal(err)
	}
	quiesce()
	c, _, err = b.Conversation(context.Background(), key, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the refused start: mode %s (%s); Crisp enum=%q enum_state=%q", c.Mode, c.Reason, enum("enum"), enum("enum_state"))
	if c.Mode != signals.ModePaused || c.Reason != signals.ReasonOperator || c.Epoch != epoch {
		t.Fatalf("mode %s (%s), epoch %d (was %d), want still paused by the operator", c.Mode, c.Reason, c.Epoch, epoch)
	}
	if enum("enum") != "chatbot_paused:operator" || enum("enum_state") != "paused" {
		t.Errorf("Crisp holds enum=%q enum_state=%q after a refused start, want chatbot_paused:operator, paused", enum("enum"), enum("enum_state"))
	}

	// Starts in a loop: never started, the restates stop with their burst.
	calls := writeInLoop(t, r, v, quiesce, session, "start_chatbot", 100)
	c, _, _ = b.Conversation(context.Background(), key, 100)
	t.Logf("100 more starts: %d REST calls; Crisp enum=%q", calls, enum("enum"))
	if calls > 3*2 { // three restates left in the burst of 4, a read and a write each
		t.Errorf("100 more refused starts cost %d REST calls, want at most 6", calls)
	}
	if c.Mode != signals.ModePaused || c.Reason != signals.ReasonOperator {
		t.Errorf("after the loop: mode %s (%s), want still paused by the operator", c.Mode, c.Reason)
	}
}
