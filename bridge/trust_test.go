package bridge_test

import (
	"context"
	"sync"
	"testing"

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
	conv, err := b.Control(ctx, key, bridge.ControlPause, "", "barrier") // in order after the events
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
