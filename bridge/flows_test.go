package bridge_test

import (
	"context"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// crispish is a Platform that keeps what Crisp would hold per conversation: the messages we
// posted, the session data (with conditional writes), the state and the typing indicator.
type crispish struct {
	mu     sync.Mutex
	posts  map[string][]bridge.OutMessage
	data   map[string]map[string]string
	state  map[string]string
	typing map[string]bool
	online bool
	posted chan struct{} // receives after every Send (buffered, never blocks)
}

func newCrispish() *crispish {
	return &crispish{posts: map[string][]bridge.OutMessage{}, data: map[string]map[string]string{},
		state: map[string]string{}, typing: map[string]bool{}, online: true, posted: make(chan struct{}, 1024)}
}

func (p *crispish) Send(_ context.Context, _, s string, m bridge.OutMessage) (int64, error) {
	p.mu.Lock()
	p.posts[s] = append(p.posts[s], m)
	n := len(p.posts[s])
	if m.Type != "note" && p.state[s] == "pending" {
		p.state[s] = "unresolved" // Crisp: an operator-side message takes a pending conversation out of pending
	}
	p.mu.Unlock()
	select {
	case p.posted <- struct{}{}:
	default:
	}
	return int64(n), nil
}

func (p *crispish) UpdateMeta(_ context.Context, _, s string, u bridge.MetaUpdate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.data[s]
	if d == nil {
		d = map[string]string{}
		p.data[s] = d
	}
	for k, v := range u.Expect {
		if !bridge.ExpectMatches(v, d[k]) {
			return nil
		}
	}
	maps.Copy(d, u.Data)
	return nil
}

func (p *crispish) Meta(context.Context, string, string) (bridge.Meta, error) {
	return bridge.Meta{}, nil
}

func (p *crispish) SetState(_ context.Context, _, s, st string) error {
	p.mu.Lock()
	p.state[s] = st
	p.mu.Unlock()
	return nil
}

func (p *crispish) Compose(_ context.Context, _, s string, on bool) error {
	p.mu.Lock()
	p.typing[s] = on
	p.mu.Unlock()
	return nil
}

func (p *crispish) Availability(context.Context, string) (bridge.Availability, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bridge.Availability{Online: p.online}, nil
}

func (p *crispish) sent(s string) []bridge.OutMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]bridge.OutMessage(nil), p.posts[s]...)
}

func (p *crispish) value(s, k string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.data[s][k]
}

func (p *crispish) crispState(s string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state[s]
}

// askEmail is guided steps with one step: a field asking the email. Enter posts the field each
// time it is called while the step is unanswered, as a real scenario does when resumed.
type askEmail struct{}

func (askEmail) Enter(_ context.Context, c *bridge.Conversation) (bridge.StepResult, error) {
	return bridge.StepResult{Messages: []bridge.OutMessage{{Type: "field",
		Field: &bridge.Field{ID: "step-email", Text: "Your email?"}}}}, nil
}

func (askEmail) Input(_ context.Context, c *bridge.Conversation, in bridge.StepInput) (bridge.StepResult, bool, error) {
	if in.FieldID != "step-email" {
		return bridge.StepResult{}, false, nil
	}
	c.ScenarioIndex = -1
	return bridge.StepResult{Assistant: true, Meta: bridge.MetaUpdate{Email: in.Value}}, true, nil
}

// gated answers only when the test releases it (or its context ends), so an answer can be kept
// in flight while other inputs arrive.
type gated struct {
	started chan struct{}
	release chan struct{}
}

func (g gated) Reply(ctx context.Context, q assistant.Question) (assistant.Answer, error) {
	g.started <- struct{}{}
	select {
	case <-g.release:
		return assistant.Answer{Text: "re:" + q.History[len(q.History)-1].Text, Offline: true}, nil
	case <-ctx.Done():
		return assistant.Answer{}, ctx.Err()
	}
}

func openFlows(t *testing.T, p bridge.Platform, a assistant.Replier, path string, tweak func(*bridge.Website)) (*bridge.Bridge, *bolt.Store) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "b.db")
	}
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"}
	if tweak != nil {
		tweak(site)
	}
	b, err := bridge.Open(bridge.Options{Store: st, Platform: p, Assistant: a, Shards: 2, PluginURN: "urn:test:bridge:0",
		Websites: func(string) *bridge.Website { return site }, ReplyTimeout: 10 * time.Second})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return b, st
}

func load(t *testing.T, st bridge.Store, session string) bridge.Conversation {
	t.Helper()
	c, err := st.Load(context.Background(), bridge.Key{WebsiteID: "w", SessionID: session})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dataEvent writes session data into the fake Crisp, as a scenario or the page would, and returns
// the event Crisp emits for it.
func (p *crispish) dataEvent(session string, kv ...string) bridge.Event {
	d := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		d[kv[i]] = kv[i+1]
	}
	p.mu.Lock()
	if p.data[session] == nil {
		p.data[session] = map[string]string{}
	}
	maps.Copy(p.data[session], d)
	p.mu.Unlock()
	return bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: session, Data: d}
}

func stateEvent(session, state string) bridge.Event {
	return bridge.Event{Name: bridge.EventSessionSetState, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: session, State: state}
}

func mustHandle(t *testing.T, b *bridge.Bridge, evs ...bridge.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := b.HandleEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// settle waits until every event queued so far is processed.
func settle(t *testing.T, b *bridge.Bridge, _ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Settle(ctx); err != nil {
		t.Fatal(err)
	}
}

// Defect 1: a start signal with unfinished guided steps posted the step again and again (perform
// re-ran the scenario action while the action list still held it). One start posts the step once.
func TestStartWithUnfinishedStepsPostsTheStepOnce(t *testing.T) {
	p := newCrispish()
	b, st := openFlows(t, p, echo{}, "", func(w *bridge.Website) {
		w.Signals.StartMode = signals.StartWaitForSignal
		w.Steps = askEmail{}
	})
	defer st.Close()
	mustHandle(t, b, visitorMessage("s1", 1), p.dataEvent("s1", "enum", "start_chatbot"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var fields int
	for _, m := range p.sent("s1") {
		if m.Type == "field" {
			fields++
		}
	}
	if fields != 1 {
		t.Fatalf("a start with unfinished steps posted %d step fields, want 1 (posts: %d)", fields, len(p.sent("s1")))
	}
	// Admin resume, an operator's /ai on, the timer: every start path runs the steps once too.
	b, st2 := reopen(t, p, st, echo{}, func(w *bridge.Website) {
		w.Signals.StartMode = signals.StartWaitForSignal
		w.Steps = askEmail{}
		w.NoteCommands = true
	})
	defer st2.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	if _, err := b.Control(context.Background(), key, bridge.ControlPause, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Control(context.Background(), key, bridge.ControlResume, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	fields = 0
	for _, m := range p.sent("s1") {
		if m.Type == "field" {
			fields++
		}
	}
	if fields != 2 {
		t.Fatalf("after pause and resume: %d step fields in all, want 2", fields)
	}
}

// reopen closes the store old and opens a new bridge on its file: a restart.
func reopen(t *testing.T, p bridge.Platform, old *bolt.Store, a assistant.Replier, tweak func(*bridge.Website)) (*bridge.Bridge, *bolt.Store) {
	t.Helper()
	path := old.Path()
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	return openFlows(t, p, a, path, tweak)
}

// Defect 2: in auto mode a resolution leaves the mode active; it must still start a fresh window, or
// a later handover note says the visitor wants the resolved question.
func TestResolutionWithoutModeChangeStartsAFreshWindow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resolve bridge.Event
	}{
		{"operator resolves", stateEvent("s1", "resolved")},
		{"visitor clicks resolved", bridge.Event{Name: bridge.EventMessageUpdated, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s1",
			Fingerprint: 77, Message: &bridge.Message{Type: "picker", From: "operator", Origin: "urn:test:bridge:0",
				Picker: &bridge.Picker{ID: bridge.PickerAnswer, Choices: []bridge.Choice{{Value: bridge.ChoiceResolve, Selected: true}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newCrispish()
			b, st := openFlows(t, p, echo{}, "", nil)
			defer st.Close()
			old := visitorMessage("s1", 1)
			old.Message.Text = "where is my old order"
			mustHandle(t, b, old, tc.resolve)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			c := load(t, st, "s1")
			if c.Mode != signals.ModeActive {
				t.Fatalf("mode after resolution = %s, want active (auto)", c.Mode)
			}
			if len(c.Transcript) != 0 {
				t.Fatalf("transcript after resolution = %+v, want a fresh window", c.Transcript)
			}
			if note := bridge.HandoverSummary(&c, signals.ReasonHuman); strings.Contains(note, "old order") {
				t.Fatalf("handover note after resolution still cites the resolved question:\n%s", note)
			}
		})
	}
}

// Defect 3: a resolve while an answer is being written left the answer owed, and a restart posted
// the old answer into the resolved conversation.
func TestResolveDuringAnswerLeavesNothingOwed(t *testing.T) {
	p := newCrispish()
	g := gated{started: make(chan struct{}, 4), release: make(chan struct{})}
	b, st := openFlows(t, p, g, "", nil)
	mustHandle(t, b, visitorMessage("s1", 1))
	<-g.started
	mustHandle(t, b, stateEvent("s1", "resolved"))
	settle(t, b, "s1")
	close(g.release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if c := load(t, st, "s1"); c.ReplyDue != 0 {
		t.Fatalf("ReplyDue after a resolve during the answer = %d, want 0 (nothing owed)", c.ReplyDue)
	}
	b, st2 := reopen(t, p, st, echo{}, nil)
	defer st2.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, m := range p.sent("s1") {
		if m.Type == "text" || m.Type == "picker" {
			t.Fatalf("an answer was posted into the resolved conversation: %+v", m)
		}
	}
}

// Defect 4: after pause then start, enum_reason still said "signal" and enum_at was the pause's:
// the written keys must tell the current truth.
func TestStartAfterPauseClearsTheStaleWriteBack(t *testing.T) {
	p := newCrispish()
	b, st := openFlows(t, p, echo{}, "", nil)
	defer st.Close()
	mustHandle(t, b, visitorMessage("s1", 1), p.dataEvent("s1", "enum", "pause_chatbot"))
	settle(t, b, "s1")
	if got := p.value("s1", "enum_reason"); got != "signal" {
		t.Fatalf("enum_reason after pause = %q, want signal", got)
	}
	pausedAt := p.value("s1", "enum_at")
	// The snippet's nonce form replaces our write-back in Crisp; the event carries the whole map.
	mustHandle(t, b, p.dataEvent("s1", "enum", "start_chatbot#n1", "enum_reason", "signal", "enum_at", pausedAt))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := p.value("s1", "enum_reason"); got != "" {
		t.Errorf("enum_reason while active = %q, want empty", got)
	}
	if got := p.value("s1", "enum_state"); got != "active" {
		t.Errorf("enum_state while active = %q, want active", got)
	}
	if got := p.value("s1", "enum"); got != "start_chatbot#n1" {
		t.Errorf("enum = %q: the scenario's own value must be left alone", got)
	}
	// After /ai on from a handover, our own value is cleared too.
	b, st2 := reopen(t, p, st, echo{}, func(w *bridge.Website) { w.NoteCommands = true })
	defer st2.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	if _, err := b.Control(context.Background(), key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	settle(t, b, "s1")
	if got := p.value("s1", "enum"); got != "chatbot_paused:human" {
		t.Fatalf("enum after handover = %q", got)
	}
	if _, err := b.Control(context.Background(), key, bridge.ControlResume, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"enum": "", "enum_reason": "", "enum_state": "active"} {
		if got := p.value("s1", k); got != want {
			t.Errorf("after resume: %s = %q, want %q", k, got, want)
		}
	}
}

// Defect 5: at a handover with nobody online, the visitor's email answer was thanked with a message
// that took the conversation out of pending; it must stay on top of the human inbox.
func TestEmailAfterHandoverKeepsPending(t *testing.T) {
	p := newCrispish()
	p.online = false
	b, st := openFlows(t, p, echo{}, "", func(w *bridge.Website) { w.AskEmailOffline = true })
	defer st.Close()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	mustHandle(t, b, visitorMessage("s1", 1))
	settle(t, b, "s1")
	if _, err := b.Control(context.Background(), key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	settle(t, b, "s1")
	if got := p.crispState("s1"); got != "pending" {
		t.Fatalf("state after handover = %q, want pending", got)
	}
	mustHandle(t, b, bridge.Event{Name: bridge.EventMessageUpdated, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s1",
		Fingerprint: 99, Message: &bridge.Message{Type: "field", From: "operator", Origin: "urn:test:bridge:0",
			Field: &bridge.Field{ID: bridge.FieldEmail, Value: "ana@example.com"}}})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := p.crispState("s1"); got != "pending" {
		t.Fatalf("state after the email was thanked = %q, want pending", got)
	}
	if c := load(t, st, "s1"); c.Email != "ana@example.com" {
		t.Fatalf("email = %q", c.Email)
	}
}

// Events offered by a reader (HandleEventAsync, the RTM socket) are made durable in batches and
// processed in the order offered, per conversation; done reports each outcome.
func TestAsyncIntakeKeepsOrder(t *testing.T) {
	p := newCrispish()
	b, st := openFlows(t, p, echo{}, "", nil)
	defer st.Close()
	const convs, per = 5, 40
	var mu sync.Mutex
	accepted := 0
	for i := range per {
		for c := range convs {
			ev := visitorMessage("s"+strconv.Itoa(c), i)
			if err := b.HandleEventAsync(context.Background(), ev, func(err error) {
				if err == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	settle(t, b, "")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if accepted != convs*per {
		t.Fatalf("accepted %d, want %d", accepted, convs*per)
	}
	for c := range convs {
		conv := load(t, st, "s"+strconv.Itoa(c))
		var got []string
		for _, tr := range conv.Transcript {
			if tr.Role == "visitor" {
				got = append(got, tr.Text)
			}
		}
		if len(got) != per {
			t.Fatalf("s%d: %d visitor turns, want %d", c, len(got), per)
		}
		for i, text := range got {
			if text != strconv.Itoa(i) {
				t.Fatalf("s%d: turn %d is %q: out of order", c, i, text)
			}
		}
	}
	if n, err := st.Unprocessed(context.Background(), 10); err != nil || len(n) != 0 {
		t.Fatalf("inbox after Close = %d entries, %v; want empty", len(n), err)
	}
}
