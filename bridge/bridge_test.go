package bridge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// recorder is a Platform that records what the bridge does, in order, per conversation.
type recorder struct {
	mu    sync.Mutex
	sent  map[string][]string // session -> texts
	state map[string]string
}

func (r *recorder) Send(_ context.Context, _, s string, m bridge.OutMessage) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	text := m.Text
	if m.Picker != nil {
		text = m.Picker.Text
	}
	r.sent[s] = append(r.sent[s], text)
	return int64(len(r.sent[s])), nil
}
func (r *recorder) UpdateMeta(context.Context, string, string, bridge.MetaUpdate) error { return nil }
func (r *recorder) Meta(context.Context, string, string) (bridge.Meta, error) {
	return bridge.Meta{}, nil
}
func (r *recorder) SetState(_ context.Context, _, s, st string) error {
	r.mu.Lock()
	r.state[s] = st
	r.mu.Unlock()
	return nil
}
func (r *recorder) Compose(context.Context, string, string, bool) error { return nil }
func (r *recorder) Availability(context.Context, string) (bridge.Availability, error) {
	return bridge.Availability{Online: true}, nil
}

// echo answers with the visitor's last message, so order is visible in what is posted.
type echo struct{}

func (echo) Reply(_ context.Context, q assistant.Question) (assistant.Answer, error) {
	return assistant.Answer{Text: "re:" + q.History[len(q.History)-1].Text, Offline: true}, nil
}

func open(t *testing.T, p bridge.Platform, tweak ...func(*bridge.Options, *bridge.Website)) (*bridge.Bridge, *bolt.Store) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"}
	opts := bridge.Options{Store: st, Platform: p, Assistant: echo{}, Shards: 4, PluginURN: "urn:test:bridge:0",
		Websites: func(string) *bridge.Website { return site }}
	for _, f := range tweak {
		f(&opts, site)
	}
	b, err := bridge.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, st
}

func visitorMessage(session string, n int) bridge.Event {
	return bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaHooks, WebsiteID: "w", SessionID: session,
		Fingerprint: int64(1000 + n), Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: fmt.Sprint(n)}}
}

// TestOrderPerConversationAndCloseDrains: many conversations fed concurrently; within each one the
// events are processed strictly in order, and Close processes everything it accepted.
func TestOrderPerConversationAndCloseDrains(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, st := open(t, rec)
	const convs, msgs = 40, 25
	var wg sync.WaitGroup
	for c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := fmt.Sprintf("session_%d", c)
			for i := range msgs {
				if err := b.HandleEvent(context.Background(), visitorMessage(s, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.HandleEvent(context.Background(), visitorMessage("late", 0)); err == nil {
		t.Fatal("HandleEvent after Close accepted an event")
	}
	for c := range convs {
		s := fmt.Sprintf("session_%d", c)
		conv, err := st.Load(context.Background(), bridge.Key{WebsiteID: "w", SessionID: s})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		var got []string
		for _, tr := range conv.Transcript {
			if tr.Role == "visitor" {
				got = append(got, tr.Text)
			}
		}
		want := make([]string, msgs)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: visitor turns %v, want %v", s, got, want)
		}
	}
}

// TestDuplicateEventsProcessedOnce: the same message event delivered many times concurrently is
// processed once.
func TestDuplicateEventsProcessedOnce(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, st := open(t, rec)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := visitorMessage("s1", 7)
			ev.Via = bridge.ViaRTM
			_ = b.HandleEvent(context.Background(), ev)
		}()
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	conv, err := st.Load(context.Background(), bridge.Key{WebsiteID: "w", SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	visitor := 0
	for _, tr := range conv.Transcript {
		if tr.Role == "visitor" {
			visitor++
		}
	}
	rec.mu.Lock()
	replies := len(rec.sent["s1"])
	rec.mu.Unlock()
	if visitor != 1 || replies != 1 {
		t.Fatalf("visitor turns %d and replies %d, want 1 and 1", visitor, replies)
	}
}

func TestEventID(t *testing.T) {
	pick := func(v string) bridge.Event {
		return bridge.Event{Name: bridge.EventMessageUpdated, WebsiteID: "w", SessionID: "s", Fingerprint: 9,
			Message: &bridge.Message{Picker: &bridge.Picker{ID: "p", Choices: []bridge.Choice{{Value: "a", Selected: v == "a"}, {Value: "b", Selected: v == "b"}}}}}
	}
	if bridge.EventID(pick("a")) == bridge.EventID(pick("b")) {
		t.Fatal("clicks on different choices share an id")
	}
	if bridge.EventID(pick("a")) != bridge.EventID(pick("a")) {
		t.Fatal("the same click has two ids")
	}
	if id := bridge.EventID(bridge.Event{Name: bridge.EventSessionSetData, WebsiteID: "w", SessionID: "s"}); id != "" {
		t.Fatalf("data events are edge-triggered, got id %q", id)
	}
	a := bridge.EventID(visitorMessage("s", 1))
	b := visitorMessage("s", 1)
	b.Via = bridge.ViaRTM
	if a != bridge.EventID(b) {
		t.Fatal("the same message over two transports has two ids")
	}
}

func TestHandoverSummary(t *testing.T) {
	c := &bridge.Conversation{Language: "es", Email: "a@b.co", Transcript: []bridge.Turn{
		{Role: "visitor", Text: "¿Cuánto tarda el envío?"},
		{Role: "assistant", Text: "De 1 a 2 días.", Sources: []string{"https://help.example/envios"}},
		{Role: "visitor", Text: "Quiero hablar con una persona"},
	}}
	got := bridge.HandoverSummary(c, signals.ReasonHuman)
	for _, want := range []string{"reason: human", "Language: es", "a@b.co", "¿Cuánto tarda el envío?", "Quiero hablar con una persona", "De 1 a 2 días.", "https://help.example/envios"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

// TestResumeAfterNoHumanReply: a handed-over conversation goes back to the assistant once no human
// has written for ResumeAfter, and not before; a human reply restarts the wait.
func TestResumeAfterNoHumanReply(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	var mu sync.Mutex
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	b, st := open(t, rec, func(o *bridge.Options, w *bridge.Website) {
		o.Now = clock
		w.ResumeAfter = 10 * time.Minute
	})
	defer b.Close()
	ctx := context.Background()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	if err := b.HandleEvent(ctx, visitorMessage("s1", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Control(ctx, key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	advance(9 * time.Minute)
	op := bridge.Event{Name: bridge.EventMessageReceived, WebsiteID: "w", SessionID: "s1", Fingerprint: 77,
		Message: &bridge.Message{Type: "text", From: "operator", Origin: "chat", Text: "Hi, Alex here"}}
	if err := b.HandleEvent(ctx, op); err != nil {
		t.Fatal(err)
	}
	// A control call is queued behind the operator message: when it returns, the message is processed.
	if c, err := b.Control(ctx, key, bridge.ControlHandover, "", ""); err != nil || c.Mode != signals.ModeHuman {
		t.Fatalf("after operator reply: %v %v", c.Mode, err)
	}
	advance(5 * time.Minute) // 14 min after the handover, 5 after the human reply
	if n, err := b.SweepResume(ctx); err != nil || n != 0 {
		t.Fatalf("resumed %d (%v) while a human wrote 5 minutes ago", n, err)
	}
	advance(6 * time.Minute)
	if n, err := b.SweepResume(ctx); err != nil || n != 1 {
		t.Fatalf("resumed %d (%v), want 1", n, err)
	}
	c, err := st.Load(ctx, key)
	if err != nil || c.Mode != signals.ModeActive {
		t.Fatalf("mode %s (%v), want active", c.Mode, err)
	}
	audit, _ := st.Audit(ctx, key, 10)
	if last := audit[len(audit)-1]; last.Source != signals.SourceTimer {
		t.Fatalf("last audit %+v, want source timer", last)
	}
}

// stuck never answers until its context ends (a model call cut short by a crash).
type stuck struct{ started chan struct{} }

func (s stuck) Reply(ctx context.Context, _ assistant.Question) (assistant.Answer, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return assistant.Answer{}, ctx.Err()
}

// TestOutboxAnsweredAfterRestart: an answer owed when the bridge stopped (its generation cut short)
// is generated after the restart, exactly once. (An answer is committed before it is posted, so an
// owed answer was never posted; a crash after its post is TestReviewCrashAfterPostPostsTwice's and
// TestDrillKill9WhenCrispStored's.)
func TestOutboxAnsweredAfterRestart(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"}
	open := func(a assistant.Replier) *bridge.Bridge {
		b, err := bridge.Open(bridge.Options{Store: st, Platform: rec, Assistant: a, PluginURN: "urn:test:bridge:0",
			Websites: func(string) *bridge.Website { return site }, DrainTimeout: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()
	s := stuck{started: make(chan struct{}, 1)}
	b := open(s)
	if err := b.HandleEvent(ctx, visitorMessage("owed", 1)); err != nil {
		t.Fatal(err)
	}
	<-s.started // the answer is being generated: the message is committed, the answer owed
	b.Close()   // the drain bound passes: the generation is cut, nothing posted
	if keys, err := st.Outbox(ctx, 10); err != nil || len(keys) != 1 || keys[0].SessionID != "owed" {
		t.Fatalf("outbox after the stop = %v, %v", keys, err)
	}

	b = open(echo{})
	defer b.Close()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond) // polls a store condition, bounded by the deadline
	defer tick.Stop()
	for {
		keys, err := st.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 && b.Generating() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %v", keys)
		}
		<-tick.C
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if got := rec.sent["owed"]; len(got) != 1 || got[0] != "re:1" {
		t.Fatalf("owed conversation got %v, want one answer", got)
	}
}
