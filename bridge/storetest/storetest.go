// Package storetest is the contract test suite of bridge.Store: every implementation runs Run from its
// own tests, against real storage.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// Opener returns a new, empty store for one test and arranges for it to be closed (t.Cleanup).
type Opener func(t *testing.T) bridge.Store

// Reopener closes s and opens the same storage again, arranging for the new store to be closed.
type Reopener func(t *testing.T, s bridge.Store) bridge.Store

// Run runs the contract suite. reopen may be nil for stores without persistence; the persistence test
// is then skipped. Stores must keep at least 10 audit entries and 10 transcript turns per conversation.
func Run(t *testing.T, open Opener, reopen Reopener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener, reopen Reopener)
	}{
		{"LoadMissing", testLoadMissing},
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Processed", testProcessed},
		{"LoadUnprocessed", testLoadUnprocessed},
		{"AuditOrderAndLimit", testAudit},
		{"Idempotent", testIdempotent},
		{"ListByMode", testList},
		{"Usage", testUsage},
		{"InvalidInput", testInvalid},
		{"ConcurrentCommits", testConcurrent},
		{"Outbox", testOutbox},
		{"Reopen", testReopen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open, reopen) })
	}
}

// Conversation returns a conversation with every field set, for round-trip tests.
func Conversation(website, session string) bridge.Conversation {
	return bridge.Conversation{
		Key: bridge.Key{WebsiteID: website, SessionID: session},
		State: signals.State{
			Mode:        signals.ModePaused,
			Reason:      signals.ReasonOperator,
			Since:       1_700_000_000_001,
			Last:        map[string]string{"enum": "chatbot_paused:operator", "enum_reason": "operator"},
			Written:     map[string]string{"enum": "chatbot_paused:operator"},
			CrispState:  "pending",
			HandoverAt:  1_700_000_000_002,
			Answers:     4,
			Transitions: 7,
		},
		Language:   "ca",
		Country:    "ES",
		Email:      "visitor@example.com",
		Locales:    []string{"ca-ES", "es"},
		MetaLoaded: true,
		Transcript: []bridge.Turn{
			{Role: "visitor", Text: "Hola, «com va?» \u2028 \"quoted\"", At: 1_700_000_000_003, Fingerprint: 163000000001},
			{Role: "assistant", Text: "Bé!", At: 1_700_000_000_004, Sources: []string{"https://example.com/docs/a"}},
		},
		ScenarioIndex: -1,
		TokensUsed:    1234,
		CostUSD:       0.00123,
		Replies:       2,
		CreatedAt:     1_700_000_000_000,
		UpdatedAt:     1_700_000_000_005,
		Data:          map[string]string{"plan": "pro", "enum": "chatbot_paused:operator"},
		Segments:      []string{"customer", "ai-handover"},
		Deliveries:    map[string]int{"rtm\x00start_chatbot": 2, "hooks\x00start_chatbot": 1},
		ReplyDue:      1_700_000_000_006,
		JournalSeq:    7,
		Journal: []bridge.JournalEntry{
			{Seq: 6, Kind: bridge.JournalMeta, Reason: signals.ReasonHuman, Created: 1_700_000_000_007, Deadline: 1_700_003_600_007,
				Meta: &bridge.MetaUpdate{Data: map[string]string{"enum": "chatbot_paused:human"}, Expect: map[string]string{"enum": "start_chatbot"}}},
			{Seq: 7, Kind: bridge.JournalMessage, Created: 1_700_000_000_008, Deadline: 1_700_000_600_008, Attempts: 2,
				NextAt: 1_700_000_002_000, LastError: "crisp api: 503", Epoch: 4, After: 1_700_000_000_001, Fingerprint: 1<<50 + 28,
				Message: &bridge.OutMessage{Type: "text", Text: "We will answer soon.", Fingerprint: 1<<50 + 28}},
		},
		Epoch:   4,
		CrispAt: 1_700_000_000_001,
		Matched: []int64{170000000000112},
	}
}

func mustCommit(t *testing.T, s bridge.Store, c bridge.Conversation, audit []bridge.AuditEntry, eventID string) {
	t.Helper()
	if err := s.Commit(context.Background(), &c, audit, eventID); err != nil {
		t.Fatalf("Commit(%s, %d audit, %q) = %v", c.Key, len(audit), eventID, err)
	}
}

func mustLoad(t *testing.T, s bridge.Store, k bridge.Key) bridge.Conversation {
	t.Helper()
	c, err := s.Load(context.Background(), k)
	if err != nil {
		t.Fatalf("Load(%s) = %v", k, err)
	}
	return c
}

func mustAudit(t *testing.T, s bridge.Store, k bridge.Key, limit int) []bridge.AuditEntry {
	t.Helper()
	a, err := s.Audit(context.Background(), k, limit)
	if err != nil {
		t.Fatalf("Audit(%s, %d) = %v", k, limit, err)
	}
	return a
}

func mustProcessed(t *testing.T, s bridge.Store, id string) bool {
	t.Helper()
	ok, err := s.Processed(context.Background(), id)
	if err != nil {
		t.Fatalf("Processed(%q) = %v", id, err)
	}
	return ok
}

func entry(i int) bridge.AuditEntry {
	return bridge.AuditEntry{At: int64(1000 + i), Source: signals.SourceData, From: signals.ModeActive,
		To: signals.ModePaused, Reason: signals.ReasonSignal, Detail: fmt.Sprintf("entry %d", i)}
}

func testLoadMissing(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	_, err := s.Load(context.Background(), bridge.Key{WebsiteID: "w1", SessionID: "session_missing"})
	if !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("Load(missing) = %v, want ErrNotFound", err)
	}
	a, err := s.Audit(context.Background(), bridge.Key{WebsiteID: "w1", SessionID: "session_missing"}, 10)
	if err != nil || len(a) != 0 {
		t.Errorf("Audit(missing) = %v, %v; want empty, nil", a, err)
	}
}

func testRoundTrip(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	want := Conversation("w1", "session_a")
	mustCommit(t, s, want, nil, "")
	if got := mustLoad(t, s, want.Key); !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %+v\nwant   %+v", got, want)
	}
	// A near key is a different conversation.
	if _, err := s.Load(context.Background(), bridge.Key{WebsiteID: "w1", SessionID: "session_"}); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("Load(prefix key) = %v, want ErrNotFound", err)
	}
}

func testOverwrite(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	c := Conversation("w1", "session_a")
	mustCommit(t, s, c, nil, "")
	c.Mode, c.Reason, c.Replies = signals.ModeActive, signals.ReasonSignal, 9
	c.Last = map[string]string{"enum": "start_chatbot"}
	mustCommit(t, s, c, nil, "")
	if got := mustLoad(t, s, c.Key); !reflect.DeepEqual(got, c) {
		t.Errorf("Load after overwrite = %+v\nwant %+v", got, c)
	}
}

func testProcessed(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	if mustProcessed(t, s, "ev1") {
		t.Error("Processed(ev1) before commit = true")
	}
	if mustProcessed(t, s, "") {
		t.Error(`Processed("") = true`)
	}
	c := Conversation("w1", "session_a")
	mustCommit(t, s, c, nil, "ev1")
	mustCommit(t, s, c, nil, "")
	if !mustProcessed(t, s, "ev1") {
		t.Error("Processed(ev1) after commit = false")
	}
	if mustProcessed(t, s, "ev2") || mustProcessed(t, s, "ev") {
		t.Error("Processed(other id) = true")
	}
	if mustProcessed(t, s, "") {
		t.Error(`Processed("") after a commit without id = true`)
	}
}

// testLoadUnprocessed checks the one-read form of Processed and Load, for stores that have it.
func testLoadUnprocessed(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ul, ok := s.(bridge.UnprocessedLoader)
	if !ok {
		t.Skip("the store has no LoadUnprocessed")
	}
	ctx := context.Background()
	c := Conversation("w1", "session_a")
	if _, dup, err := ul.LoadUnprocessed(ctx, c.Key, "ev1"); !errors.Is(err, bridge.ErrNotFound) || dup {
		t.Errorf("LoadUnprocessed of a new conversation = %v, %v, want ErrNotFound, false", dup, err)
	}
	mustCommit(t, s, c, nil, "ev1")
	for _, id := range []string{"ev2", ""} {
		got, dup, err := ul.LoadUnprocessed(ctx, c.Key, id)
		if err != nil || dup {
			t.Fatalf("LoadUnprocessed(%q) = %v, %v, want false, nil", id, dup, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("LoadUnprocessed(%q) = %+v\nwant %+v", id, got, c)
		}
	}
	got, dup, err := ul.LoadUnprocessed(ctx, c.Key, "ev1")
	if err != nil || !dup {
		t.Errorf("LoadUnprocessed(processed ev1) = %v, %v, want true, nil", dup, err)
	}
	if !reflect.DeepEqual(got, bridge.Conversation{}) {
		t.Errorf("LoadUnprocessed(processed ev1) loaded %+v, want nothing", got)
	}
}

func testAudit(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	c := Conversation("w1", "session_a")
	c.Transitions = 0
	var want []bridge.AuditEntry
	// One transition per commit, then two in one commit, as the bridge does.
	for i := range 5 {
		c.Transitions++
		mustCommit(t, s, c, []bridge.AuditEntry{entry(i)}, fmt.Sprintf("ev%d", i))
		want = append(want, entry(i))
	}
	c.Transitions += 2
	mustCommit(t, s, c, []bridge.AuditEntry{entry(5), entry(6)}, "ev5")
	want = append(want, entry(5), entry(6))
	// Another conversation whose key extends this one's.
	other := Conversation("w1", "session_a2")
	other.Transitions = 1
	mustCommit(t, s, other, []bridge.AuditEntry{entry(99)}, "")
	// A commit without audit leaves the trail alone.
	mustCommit(t, s, c, nil, "")

	if got := mustAudit(t, s, c.Key, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("Audit(all) = %+v\nwant %+v", got, want)
	}
	if got := mustAudit(t, s, c.Key, 3); !reflect.DeepEqual(got, want[4:]) {
		t.Errorf("Audit(3) = %+v\nwant %+v", got, want[4:])
	}
	if got := mustAudit(t, s, other.Key, 10); !reflect.DeepEqual(got, []bridge.AuditEntry{entry(99)}) {
		t.Errorf("Audit(other) = %+v, want entry 99 only", got)
	}
}

func testIdempotent(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	c := Conversation("w1", "session_a")
	c.Transitions = 2
	audit := []bridge.AuditEntry{entry(1), entry(2)}
	for range 3 {
		mustCommit(t, s, c, audit, "ev-dup")
	}
	if got := mustAudit(t, s, c.Key, 0); !reflect.DeepEqual(got, audit) {
		t.Errorf("Audit after the same commit 3 times = %+v\nwant %+v", got, audit)
	}
	if !mustProcessed(t, s, "ev-dup") {
		t.Error("Processed(ev-dup) = false")
	}
}

func keysOf(cs []bridge.Conversation) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Key.String())
	}
	slices.Sort(out)
	return out
}

func testList(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ctx := context.Background()
	modes := map[string]signals.Mode{
		"s1": signals.ModeActive, "s2": signals.ModeActive, "s3": signals.ModePaused,
		"s4": signals.ModeHuman, "s5": signals.ModePaused,
	}
	for sess, m := range modes {
		c := Conversation("w1", sess)
		c.Mode = m
		mustCommit(t, s, c, nil, "")
	}
	// s2 moves from active to human: the old mode must not list it any more.
	c := Conversation("w1", "s2")
	c.Mode = signals.ModeHuman
	mustCommit(t, s, c, nil, "")

	tests := []struct {
		mode  signals.Mode
		limit int
		want  []string
	}{
		{signals.ModeActive, 10, []string{"w1/s1"}},
		{signals.ModePaused, 10, []string{"w1/s3", "w1/s5"}},
		{signals.ModeHuman, 10, []string{"w1/s2", "w1/s4"}},
		{signals.ModeWaiting, 10, nil},
		{"", 10, []string{"w1/s1", "w1/s2", "w1/s3", "w1/s4", "w1/s5"}},
	}
	for _, tt := range tests {
		got, err := s.List(ctx, tt.mode, tt.limit)
		if err != nil {
			t.Fatalf("List(%q) = %v", tt.mode, err)
		}
		if !slices.Equal(keysOf(got), tt.want) {
			t.Errorf("List(%q, %d) = %v, want %v", tt.mode, tt.limit, keysOf(got), tt.want)
		}
		for _, c := range got {
			if tt.mode != "" && c.Mode != tt.mode {
				t.Errorf("List(%q) returned %s in mode %s", tt.mode, c.Key, c.Mode)
			}
			if c.WebsiteID != "w1" || c.Email != "visitor@example.com" {
				t.Errorf("List returned a partial conversation: %+v", c)
			}
		}
	}
	for _, lim := range []int{1, 2} {
		got, err := s.List(ctx, "", lim)
		if err != nil || len(got) != lim {
			t.Errorf("List(all, %d) = %d conversations, %v; want %d", lim, len(got), err, lim)
		}
	}
}

func testUsage(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ctx := context.Background()
	steps := []struct {
		website, day string
		add, want    int64
	}{
		{"w1", "2025-01-01", 100, 100},
		{"w1", "2025-01-01", 50, 150},
		{"w1", "2025-01-02", 7, 7},
		{"w2", "2025-01-01", 1, 1},
		{"w1", "2025-01-01", 0, 150},
	}
	for _, st := range steps {
		got, err := s.AddUsage(ctx, st.website, st.day, st.add)
		if err != nil || got != st.want {
			t.Errorf("AddUsage(%s, %s, %d) = %d, %v; want %d", st.website, st.day, st.add, got, err, st.want)
		}
	}
	for _, st := range []struct {
		website, day string
		want         int64
	}{{"w1", "2025-01-01", 150}, {"w1", "2025-01-02", 7}, {"w2", "2025-01-01", 1}, {"w3", "2025-01-01", 0}} {
		if got, err := s.Usage(ctx, st.website, st.day); err != nil || got != st.want {
			t.Errorf("Usage(%s, %s) = %d, %v; want %d", st.website, st.day, got, err, st.want)
		}
	}
}

func testInvalid(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ctx := context.Background()
	if err := s.Commit(ctx, nil, nil, ""); err == nil {
		t.Error("Commit(nil) = nil, want error")
	}
	bad := []bridge.Key{{}, {WebsiteID: "w1"}, {SessionID: "s1"}}
	for _, k := range bad {
		c := Conversation(k.WebsiteID, k.SessionID)
		if err := s.Commit(ctx, &c, nil, ""); err == nil {
			t.Errorf("Commit(key %q) = nil, want error", k)
		}
		if _, err := s.Load(ctx, k); err == nil || errors.Is(err, bridge.ErrNotFound) {
			t.Errorf("Load(key %q) = %v, want an invalid-key error", k, err)
		}
	}
	if _, err := s.AddUsage(ctx, "w1", "yesterday", 1); err == nil {
		t.Error("AddUsage(bad day) = nil, want error")
	}
	if _, err := s.AddUsage(ctx, "", "2025-01-01", 1); err == nil {
		t.Error("AddUsage(no website) = nil, want error")
	}
	// The store keeps working after bad input.
	c := Conversation("w1", "s1")
	mustCommit(t, s, c, nil, "")
	mustLoad(t, s, c.Key)
}

func testConcurrent(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ctx := context.Background()
	const workers, commits = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Conversation("w1", fmt.Sprintf("session_%d", w))
			c.Transitions = 0
			for i := range commits {
				c.Transitions++
				c.Replies = i
				id := fmt.Sprintf("ev-%d-%d", w, i)
				if err := s.Commit(ctx, &c, []bridge.AuditEntry{entry(i)}, id); err != nil {
					errs <- err
					return
				}
				if ok, err := s.Processed(ctx, id); err != nil || !ok {
					errs <- fmt.Errorf("processed(%s) = %v, %v after its commit", id, ok, err)
					return
				}
				if got, err := s.Load(ctx, c.Key); err != nil || got.Replies != i {
					errs <- fmt.Errorf("load %s = replies %d, %v; want %d", c.Key, got.Replies, err, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range workers {
		k := bridge.Key{WebsiteID: "w1", SessionID: fmt.Sprintf("session_%d", w)}
		if got := mustLoad(t, s, k); got.Replies != commits-1 || got.Transitions != commits {
			t.Errorf("%s: replies %d transitions %d, want %d %d", k, got.Replies, got.Transitions, commits-1, commits)
		}
		if got := mustAudit(t, s, k, 0); len(got) < 10 {
			t.Errorf("%s: %d audit entries, want at least 10", k, len(got))
		}
	}
}

func testReopen(t *testing.T, open Opener, reopen Reopener) {
	if reopen == nil {
		t.Skip("store without persistence")
	}
	s := open(t)
	ctx := context.Background()
	c := Conversation("w1", "session_a")
	c.Transitions = 1
	mustCommit(t, s, c, []bridge.AuditEntry{entry(1)}, "ev1")
	if _, err := s.AddUsage(ctx, "w1", "2025-01-01", 42); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s)
	if got := mustLoad(t, s, c.Key); !reflect.DeepEqual(got, c) {
		t.Errorf("Load after reopen = %+v\nwant %+v", got, c)
	}
	if !mustProcessed(t, s, "ev1") {
		t.Error("Processed(ev1) after reopen = false")
	}
	if got := mustAudit(t, s, c.Key, 0); !reflect.DeepEqual(got, []bridge.AuditEntry{entry(1)}) {
		t.Errorf("Audit after reopen = %+v", got)
	}
	if got, err := s.Usage(ctx, "w1", "2025-01-01"); err != nil || got != 42 {
		t.Errorf("Usage after reopen = %d, %v; want 42", got, err)
	}
	if got, err := s.List(ctx, c.Mode, 10); err != nil || len(got) != 1 {
		t.Errorf("List after reopen = %d, %v; want 1", len(got), err)
	}
}

// testOutbox: a conversation is in the outbox exactly while it owes an answer.
func testOutbox(t *testing.T, open Opener, _ Reopener) {
	s := open(t)
	ctx := context.Background()
	owes := Conversation("w1", "session_owes")
	owes.Journal = nil
	paid := Conversation("w1", "session_paid")
	paid.ReplyDue, paid.Journal = 0, nil
	writes := Conversation("w1", "session_writes") // owes a Crisp write, no answer
	writes.ReplyDue = 0
	for _, c := range []*bridge.Conversation{&owes, &paid, &writes} {
		if err := s.Commit(ctx, c, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Outbox(ctx, 10)
	slices.SortFunc(got, func(a, b bridge.Key) int { return strings.Compare(a.String(), b.String()) })
	if err != nil || len(got) != 2 || got[0] != owes.Key || got[1] != writes.Key {
		t.Fatalf("Outbox = %v, %v; want [%v %v]", got, err, owes.Key, writes.Key)
	}
	owes.ReplyDue = 0
	writes.Journal = nil
	for _, c := range []*bridge.Conversation{&owes, &writes} {
		if err := s.Commit(ctx, c, nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Outbox(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("Outbox after the answer and the writes = %v, %v; want none", got, err)
	}
}
