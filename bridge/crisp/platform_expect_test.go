package crisp_test

import (
	"context"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestConditionalWriteBack: a write-back that expects the value the bridge decided on is skipped when
// a newer signal is already in Crisp, and applied when the value is still the expected one.
func TestConditionalWriteBack(t *testing.T) {
	fake, p, _ := startFake(t, crisptest.Options{})
	ws := fake.Websites()[0]
	v := fake.Visitor(ws, "", crisptest.VisitorInfo{})
	if err := v.SetData(map[string]any{"enum": "pause_chatbot", "plan": "pro"}); err != nil {
		t.Fatal(err)
	}
	if err := v.SetData(map[string]any{"enum": "start_chatbot"}); err != nil { // newer, written meanwhile
		t.Fatal(err)
	}
	ctx := context.Background()
	s := v.SessionID()
	stale := bridge.MetaUpdate{Data: map[string]string{"enum": "chatbot_paused:signal"}, Expect: map[string]string{"enum": "pause_chatbot"},
		Segments: []string{"ai-paused"}}
	if err := p.UpdateMeta(ctx, ws, s, stale); err != nil {
		t.Fatal(err)
	}
	c, _ := fake.Conversation(ws, s)
	if c.Data["enum"] != "start_chatbot" || c.Data["plan"] != "pro" || len(c.Segments) != 1 {
		t.Fatalf("after a stale write-back: data %v segments %v; want the newer signal kept, the segment added", c.Data, c.Segments)
	}
	fresh := bridge.MetaUpdate{Data: map[string]string{"enum": "chatbot_paused:human"}, Expect: map[string]string{"enum": "start_chatbot"}}
	if err := p.UpdateMeta(ctx, ws, s, fresh); err != nil {
		t.Fatal(err)
	}
	if c, _ := fake.Conversation(ws, s); c.Data["enum"] != "chatbot_paused:human" || c.Data["plan"] != "pro" {
		t.Fatalf("after a current write-back: data %v", c.Data)
	}
	empty := bridge.MetaUpdate{Data: map[string]string{"enum_reason": "human"}, Expect: map[string]string{"never_set": ""}}
	if err := p.UpdateMeta(ctx, ws, s, empty); err != nil {
		t.Fatal(err)
	}
	if c, _ := fake.Conversation(ws, s); c.Data["enum_reason"] != "human" {
		t.Fatalf("an absent key did not count as empty: %v", c.Data)
	}
}
