package bridge_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// flaky wraps crispish: calls of a kind fail while the kind is down (a Crisp 5xx storm), and a call
// of a blocked session never returns until released (only its context ends it).
type flaky struct {
	*crispish
	mu      sync.Mutex
	down    map[string]bool // "meta", "state", "send"
	calls   map[string]int
	blocked map[string]chan struct{}
}

var errUnavailable = errors.New("crisp api: 503 service unavailable")

func newFlaky() *flaky {
	return &flaky{crispish: newCrispish(), down: map[string]bool{}, calls: map[string]int{}, blocked: map[string]chan struct{}{}}
}

// block holds every call for session until unblock (which lets the held calls and later ones through).
func (f *flaky) block(session string) (unblock func()) {
	release := make(chan struct{})
	f.mu.Lock()
	f.blocked[session] = release
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.blocked, session)
		f.mu.Unlock()
		close(release)
	}
}

func (f *flaky) gate(ctx context.Context, kind, session string) error {
	f.mu.Lock()
	f.calls[kind]++
	down := f.down[kind]
	block := f.blocked[session]
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if down {
		return errUnavailable
	}
	return nil
}

func (f *flaky) set(kind string, down bool) {
	f.mu.Lock()
	f.down[kind] = down
	f.mu.Unlock()
}

func (f *flaky) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[kind]
}

func (f *flaky) UpdateMeta(ctx context.Context, w, s string, u bridge.MetaUpdate) error {
	if err := f.gate(ctx, "meta", s); err != nil {
		return err
	}
	return f.crispish.UpdateMeta(ctx, w, s, u)
}

func (f *flaky) SetState(ctx context.Context, w, s, st string) error {
	if err := f.gate(ctx, "state", s); err != nil {
		return err
	}
	return f.crispish.SetState(ctx, w, s, st)
}

func (f *flaky) Send(ctx context.Context, w, s string, m bridge.OutMessage) (int64, error) {
	if err := f.gate(ctx, "send", s); err != nil {
		return 0, err
	}
	return f.crispish.Send(ctx, w, s, m)
}

// Posted makes flaky a bridge.PostChecker: it looks the message's fingerprint up in what the fake
// holds.
func (f *flaky) Posted(_ context.Context, _, s string, q bridge.PostCheck) (int64, error) {
	for _, x := range f.sent(s) {
		if q.Message.Fingerprint != 0 && x.Fingerprint == q.Message.Fingerprint {
			return x.Fingerprint, nil
		}
	}
	return 0, nil
}

func openJournal(t *testing.T, p bridge.Platform, path string, tweak func(*bridge.Options)) (*bridge.Bridge, *bolt.Store) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "b.db")
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"}
	opts := bridge.Options{Store: st, Platform: p, Assistant: echo{}, Shards: 1, PluginURN: "urn:test:bridge:0",
		Websites: func(string) *bridge.Website { return site }, CallTimeout: 200 * time.Millisecond}
	if tweak != nil {
		tweak(&opts)
	}
	b, err := bridge.Open(opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return b, st
}

// A Crisp outage of the meta and state routes during a handover: the write-back and pending land
// once Crisp is back, exactly once, and the note is not held back by them.
func TestJournalRetriesThroughAnOutage(t *testing.T) {
	f := newFlaky()
	b, st := openJournal(t, f, "", nil)
	defer st.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	mustHandle(t, b, visitorMessage("s1", 1))
	settle(t, b, "s1")
	f.set("meta", true)
	f.set("state", true)
	if _, err := b.Control(context.Background(), key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt of the write-back", func() bool { return f.count("meta") >= 2 })
	pending, err := b.Pending(context.Background(), key)
	if err != nil || len(pending) == 0 {
		t.Fatalf("Pending = %v, %v; want the write-back waiting", pending, err)
	}
	var notes int
	for _, m := range f.sent("s1") {
		if m.Type == "note" {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("handover note posted %d times during the outage, want 1 (messages are not held back by meta)", notes)
	}
	if f.value("s1", "enum") != "" {
		t.Fatal("write-back landed during the outage")
	}
	f.set("meta", false)
	f.set("state", false)
	waitFor(t, "every write performed after the outage", func() bool {
		p, err := b.Pending(context.Background(), key)
		return err == nil && len(p) == 0
	})
	if f.value("s1", "enum") != "chatbot_paused:human" || f.crispState("s1") != "pending" {
		t.Fatalf("after the outage enum=%q state=%q, want the write-back and pending", f.value("s1", "enum"), f.crispState("s1"))
	}
	settle(t, b, "s1")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c := load(t, st, "s1"); len(c.Journal) != 0 || c.Owes() {
		t.Fatalf("journal after the outage = %+v, want empty", c.Journal)
	}
	notes = 0
	for _, m := range f.sent("s1") {
		if m.Type == "note" {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("handover note posted %d times in all, want 1", notes)
	}
}

// A write decided before a crash (committed, never performed) is performed after the restart, once.
func TestJournalSurvivesARestart(t *testing.T) {
	f := newFlaky()
	b, st := openJournal(t, f, "", nil)
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	mustHandle(t, b, visitorMessage("s1", 1))
	settle(t, b, "s1")
	f.set("meta", true)
	if _, err := b.Control(context.Background(), key, bridge.ControlPause, "", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed attempt", func() bool { return f.count("meta") >= 1 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c := load(t, st, "s1"); len(c.Journal) != 1 || c.Journal[0].Kind != bridge.JournalMeta {
		t.Fatalf("journal at the stop = %+v, want the write-back", c.Journal)
	}
	f.set("meta", false)
	path := st.Path()
	st.Close()
	b, st = openJournal(t, f, path, nil)
	defer st.Close()
	waitFor(t, "write-back after the restart", func() bool { return f.value("s1", "enum") == "chatbot_paused:signal" })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c := load(t, st, "s1"); len(c.Journal) != 0 {
		t.Fatalf("journal = %+v, want empty", c.Journal)
	}
}

// A write that keeps failing is abandoned at its deadline, logged and counted, and the journal does
// not grow for ever.
func TestJournalAbandonsAtTheDeadline(t *testing.T) {
	f := newFlaky()
	// Two attempts fit in the deadline (the first retry waits at most 500 ms); the deadline is
	// checked before every attempt, so the write is dropped once it has passed.
	b, st := openJournal(t, f, "", func(o *bridge.Options) { o.JournalDeadline = 1500 * time.Millisecond })
	defer st.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	mustHandle(t, b, visitorMessage("s1", 1))
	settle(t, b, "s1")
	f.set("meta", true)
	if _, err := b.Control(context.Background(), key, bridge.ControlPause, "", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the write-back abandoned", func() bool {
		p, err := b.Pending(context.Background(), key)
		return err == nil && len(p) == 0 && f.count("meta") >= 2
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// A shard blocked by a Crisp call that never returns: with one shard only, the other conversations
// are still answered (the call has a deadline and journal work runs off the shard).
func TestBlockedCallDoesNotStopOtherConversations(t *testing.T) {
	f := newFlaky()
	release := make(chan struct{})
	f.blocked["stuck"] = release
	defer close(release)
	b, st := openJournal(t, f, "", nil)
	defer st.Close()
	mustHandle(t, b, visitorMessage("stuck", 1))
	for i := range 5 {
		mustHandle(t, b, visitorMessage("free", i))
	}
	waitFor(t, "the free conversation answered", func() bool {
		n := 0
		for _, m := range f.sent("free") {
			if strings.HasPrefix(m.Text, "re:") {
				n++
			}
		}
		return n >= 1
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// Write-backs decided while the first is still waiting are coalesced into one write.
func TestJournalCoalescesWriteBacks(t *testing.T) {
	f := newFlaky()
	b, st := openJournal(t, f, "", nil)
	defer st.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	unblock := f.block("s1")                           // the first write is in flight and stuck
	mustHandle(t, b, f.dataEvent("s1", "plan", "pro")) // the conversation exists; nothing to write
	if _, err := b.Control(context.Background(), key, bridge.ControlPause, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Control(context.Background(), key, bridge.ControlStart, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Control(context.Background(), key, bridge.ControlPause, "", ""); err != nil {
		t.Fatal(err)
	}
	p, err := b.Pending(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	var metas int
	for _, e := range p {
		if e.Kind == bridge.JournalMeta {
			metas++
		}
	}
	// The write in flight was replaced by one carrying all three decisions (it still lands first;
	// the merged one follows it in the lane).
	if metas != 1 {
		t.Fatalf("waiting meta writes = %d (%+v), want 1: the three write-backs coalesced", metas, p)
	}
	unblock()
	settle(t, b, "s1")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.value("s1", "enum_state"); got != "paused" {
		t.Fatalf("enum_state = %q, want paused (the last decision)", got)
	}
}

// permanentErr is a platform error no retry can fix (a 4xx).
type permanentErr struct{}

func (permanentErr) Error() string   { return "crisp api: 400 invalid_data" }
func (permanentErr) Permanent() bool { return true }

// refusing fails every Send with a permanent error.
type refusing struct{ *flaky }

func (r refusing) Send(context.Context, string, string, bridge.OutMessage) (int64, error) {
	return 0, permanentErr{}
}

// A guided step that can never be posted is abandoned at once (no retries for a 4xx) and the
// conversation fails towards a human instead of waiting for an answer to a question never asked.
func TestLostStepFailsTowardsAHuman(t *testing.T) {
	f := newFlaky()
	p := refusing{f}
	st, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en", Steps: askEmail{}}
	site.Signals.StartMode = signals.StartWaitForSignal
	b, err := bridge.Open(bridge.Options{Store: st, Platform: p, Assistant: echo{}, Shards: 1, PluginURN: "urn:test:bridge:0",
		Websites: func(string) *bridge.Website { return site }})
	if err != nil {
		t.Fatal(err)
	}
	mustHandle(t, b, f.dataEvent("s1", "enum", "start_chatbot"))
	waitFor(t, "handed over", func() bool {
		c, err := st.Load(context.Background(), bridge.Key{WebsiteID: "w", SessionID: "s1"})
		return err == nil && c.Mode == signals.ModeHuman
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := load(t, st, "s1")
	if c.Reason != signals.ReasonError {
		t.Fatalf("reason = %s, want error", c.Reason)
	}
	if len(c.Journal) != 0 {
		t.Fatalf("journal = %+v, want the refused step abandoned, not kept for retries", c.Journal)
	}
}
