package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

func TestEach(t *testing.T) {
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{})
	ctx := context.Background()
	want := map[bridge.Key][]bridge.AuditEntry{}
	var convs []bridge.Conversation
	for i := range 3 {
		c := storetest.Conversation("w1", fmt.Sprintf("s%d", i))
		c.Transitions = i
		var audit []bridge.AuditEntry
		for j := range i {
			audit = append(audit, bridge.AuditEntry{At: int64(j), Detail: fmt.Sprintf("s%d-e%d", i, j)})
		}
		if err := s.Commit(ctx, &c, audit, fmt.Sprintf("ev%d", i)); err != nil {
			t.Fatal(err)
		}
		want[c.Key] = audit
		convs = append(convs, c)
	}
	// A conversation whose key extends s1's must not lend it its trail.
	c := storetest.Conversation("w1", "s10")
	c.Transitions = 1
	if err := s.Commit(ctx, &c, []bridge.AuditEntry{{Detail: "s10"}}, ""); err != nil {
		t.Fatal(err)
	}
	want[c.Key] = []bridge.AuditEntry{{Detail: "s10"}}
	convs = append(convs, c)

	got := map[bridge.Key][]bridge.AuditEntry{}
	n := 0
	err := s.Each(ctx, func(c bridge.Conversation, audit []bridge.AuditEntry) error {
		if !reflect.DeepEqual(c, convs[slicesIndex(convs, c.Key)]) {
			t.Errorf("Each gave %+v", c)
		}
		got[c.Key] = audit
		n++
		return nil
	})
	if err != nil || n != 4 {
		t.Fatalf("Each = %d conversations, %v; want 4", n, err)
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: audit %+v, want %+v", k, got[k], w)
		}
	}
	stop := errors.New("stop")
	if err := s.Each(ctx, func(bridge.Conversation, []bridge.AuditEntry) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Each with a failing fn = %v, want its error", err)
	}

	if _, err := s.AddUsage(ctx, "w1", "2026-12-01", 42); err != nil {
		t.Fatal(err)
	}
	var usage []string
	if err := s.EachUsage(ctx, func(w, d string, tok int64) error {
		usage = append(usage, fmt.Sprintf("%s %s %d", w, d, tok))
		return nil
	}); err != nil || !reflect.DeepEqual(usage, []string{"w1 2026-12-01 42"}) {
		t.Errorf("EachUsage = %v, %v", usage, err)
	}
	ids := map[string]bool{}
	if err := s.EachProcessed(ctx, func(id string, exp time.Time) error {
		if time.Until(exp) < 71*time.Hour {
			t.Errorf("%s expires at %s, want about 72h from now", id, exp)
		}
		ids[id] = true
		return nil
	}); err != nil || len(ids) != 3 || !ids["ev0"] || !ids["ev2"] {
		t.Errorf("EachProcessed = %v, %v; want ev0..ev2", ids, err)
	}
}

func slicesIndex(cs []bridge.Conversation, k bridge.Key) int {
	for i, c := range cs {
		if c.Key == k {
			return i
		}
	}
	return 0
}
