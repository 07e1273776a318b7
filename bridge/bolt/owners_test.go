package bolt_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

func TestOwnersContract(t *testing.T) {
	storetest.RunOwners(t, func(t *testing.T) storetest.OwnersStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
	}, func(t *testing.T, s storetest.OwnersStore) storetest.OwnersStore {
		bs := s.(*bolt.Store)
		if err := bs.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		return MustOpen(t, bs.Path(), bolt.Options{})
	})
}

// TestInsightsPruned: writing a day deletes the website's days older than the retention, and no
// other website's.
func TestInsightsPruned(t *testing.T) {
	s := MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
	ctx := context.Background()
	for _, w := range []struct{ website, day string }{{"w1", "2026-01-01"}, {"w1", "2026-02-01"}, {"w2", "2026-01-01"}, {"w1", "2026-04-30"}} {
		if err := s.AddInsights(ctx, w.website, w.day, map[string]int64{"handled": 1}, 10); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Insights(ctx, "w1", []string{"2026-01-01", "2026-02-01", "2026-04-30"})
	if err != nil || len(got["2026-01-01"]) != 0 || got["2026-02-01"]["handled"] != 1 || got["2026-04-30"]["handled"] != 1 {
		t.Errorf("w1 after writing 2026-04-30 (retention %s): %v, %v; want 2026-01-01 pruned, 2026-02-01 kept", bridge.InsightsRetention, got, err)
	}
	if other, _ := s.Insights(ctx, "w2", []string{"2026-01-01"}); other["2026-01-01"]["handled"] != 1 {
		t.Errorf("pruning w1 removed w2's day: %v", other)
	}
}
