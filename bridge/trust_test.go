package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// refusals counts SignalRefused by source.
type refusals struct {
	bridge.NopMetrics
	mu  sync.Mutex
	got map[signals.Source]int
}

func (r *refusals) SignalRefused(s signals.Source) {
	r.mu.Lock()
	r.got[s]++
	r.mu.Unlock()
}

// TestRefusedStartIsAudited: while handed over, a start written as session data (visitor console)
// and one from a picker button are refused: the mode stays human, the audit trail records each
// refusal with its source and the metric counts them; an operator's /ai on note gives the
// conversation back.
func TestRefusedStartIsAudited(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	m := &refusals{got: map[signals.Source]int{}}
	b, st := open(t, rec, func(o *bridge.Options, w *bridge.Website) {
		o.Metrics = m
		w.NoteCommands = true
	})
	ctx := context.Background()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	send := func(ev bridge.Event) {
		t.Helper()
		ev.WebsiteID, ev.SessionID = key.WebsiteID, key.SessionID
		if err := b.HandleEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	send(visitorMessage("s1", 1))
	if _, err := b.Control(ctx, key, bridge.ControlHandover, "", "test"); err != nil {
		t.Fatal(err)
	}
	send(bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, Data: map[string]string{"enum": "start_chatbot#console"}})
	picker := &bridge.Picker{ID: "menu", Choices: []bridge.Choice{{Value: "enum:start_chatbot", Selected: true}}}
	send(bridge.Event{Name: bridge.EventMessageUpdated, Via: bridge.ViaRTM, Fingerprint: 77, Message: &bridge.Message{Type: "picker", Picker: picker}})
	conv, err := b.Control(ctx, key, bridge.ControlPause, "", "load") // in order after the events
	if err != nil {
		t.Fatal(err)
	}
	if conv.Mode != signals.ModeHuman {
		t.Fatalf("mode after the refused starts = %s, want human", conv.Mode)
	}
	_, audit, err := b.Conversation(ctx, key, 50)
	if err != nil {
		t.Fatal(err)
	}
	var refused []signals.Source
	for _, e := range audit {
		if e.Refused {
			if e.From != signals.ModeHuman || e.To != signals.ModeHuman || e.Detail == "" {
				t.Errorf("refusal entry %+v, want human -> human with a detail", e)
			}
			refused = append(refused, e.Source)
		}
	}
	if len(refused) != 2 || refused[0] != signals.SourcePage || refused[1] != signals.SourceButton {
		t.Errorf("refused sources in the audit = %v, want [page button] (audit %+v)", refused, audit)
	}
	m.mu.Lock()
	if m.got[signals.SourcePage] != 1 || m.got[signals.SourceButton] != 1 {
		t.Errorf("refusal metric = %v, want page 1 button 1", m.got)
	}
	m.mu.Unlock()

	send(bridge.Event{Name: bridge.EventMessageReceived, Via: bridge.ViaRTM, Fingerprint: 88,
		Message: &bridge.Message{Type: "note", From: "operator", Origin: "chat", Text: "/ai on"}})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := st.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != signals.ModeActive {
		t.Errorf("mode after /ai on = %s, want active", c.Mode)
	}
}

// TestSignedStartThroughTheBridge: on a wait_for_signal website with a start secret, an unsigned
// page start is refused (audited), a start signed for this conversation starts the assistant, and
// the same signed value replayed after a pause is refused.
func TestSignedStartThroughTheBridge(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	m := &refusals{got: map[signals.Source]int{}}
	b, _ := open(t, rec, func(o *bridge.Options, w *bridge.Website) {
		o.Metrics = m
		w.Signals.StartMode = signals.StartWaitForSignal
		w.Signals.StartSecret = secret
	})
	ctx := context.Background()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	data := func(v string) {
		t.Helper()
		ev := bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s1",
			Data: map[string]string{"enum": v}}
		if err := b.HandleEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	load := func() bridge.Conversation {
		t.Helper()
		c, _, err := b.Conversation(ctx, key, 0)
		if err != nil && !errors.Is(err, bridge.ErrNotFound) {
			t.Fatal(err)
		}
		return c
	}
	wait := func(want signals.Mode) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if c := load(); c.Mode == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("mode %s, want %s", c.Mode, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	send(t, b, visitorMessage("s1", 1))
	data("start_chatbot#console")
	exp := time.Now().Add(5 * time.Minute).UnixMilli()
	signed := "start_chatbot#" + signals.SignStart(secret, "w", "s1", "abc", exp)
	data(signed)
	wait(signals.ModeActive)
	data("pause_chatbot#p")
	wait(signals.ModePaused)
	data(signed) // replayed
	data("pause_chatbot#p2")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := load()
	if c.Mode != signals.ModePaused {
		t.Fatalf("mode after the replay = %s, want paused", c.Mode)
	}
	_, audit, err := b.Conversation(ctx, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range audit {
		got = append(got, fmt.Sprintf("%s:%s>%s:%v", e.Source, e.From, e.To, e.Refused))
	}
	want := "page:waiting>waiting:true page:waiting>active:false page:active>paused:false page:paused>paused:true"
	if strings.Join(got, " ") != want {
		t.Errorf("audit = %v, want %s", got, want)
	}
	if m.got[signals.SourcePage] != 2 {
		t.Errorf("refusals counted %v, want page 2", m.got)
	}
}

func send(t *testing.T, b *bridge.Bridge, ev bridge.Event) {
	t.Helper()
	if err := b.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}
