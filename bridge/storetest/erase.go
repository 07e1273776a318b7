package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// EraserStore is a store that can erase a conversation.
type EraserStore interface {
	bridge.Store
	bridge.Eraser
}

// RunEraser checks Delete: the conversation, its audit trail and its index entries are gone, the
// others are untouched, and deleting what is not stored is not an error.
func RunEraser(t *testing.T, open func(t *testing.T) EraserStore) {
	s := open(t)
	ctx := context.Background()
	gone, kept := Conversation("w1", "session_gone"), Conversation("w1", "session_kept")
	for _, c := range []*bridge.Conversation{&gone, &kept} {
		if err := s.Commit(ctx, c, []bridge.AuditEntry{entry(1)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, gone.Key); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := s.Load(ctx, gone.Key); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("Load after Delete = %v, want ErrNotFound", err)
	}
	if a := mustAudit(t, s, gone.Key, 10); len(a) != 0 {
		t.Errorf("Audit after Delete = %v, want none", a)
	}
	owed, err := s.Outbox(ctx, 10)
	if err != nil || len(owed) != 1 || owed[0] != kept.Key {
		t.Errorf("Outbox after Delete = %v, %v; want [%v]", owed, err, kept.Key)
	}
	listed, err := s.List(ctx, signals.ModePaused, 10)
	if err != nil || len(listed) != 1 || listed[0].Key != kept.Key {
		t.Errorf("List after Delete = %v, %v; want only %v", keysOf(listed), err, kept.Key)
	}
	if got := mustLoad(t, s, kept.Key); got.SessionID != kept.SessionID || len(mustAudit(t, s, kept.Key, 10)) != 1 {
		t.Errorf("the other conversation changed: %+v", got)
	}
	if err := s.Delete(ctx, gone.Key); err != nil {
		t.Errorf("Delete of a conversation not stored = %v, want nil", err)
	}
}
