package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
)

// OwnersStore is a store of the owners' pages: settings and insights.
type OwnersStore interface {
	bridge.SettingsStore
	bridge.InsightsStore
}

// RunOwners runs the contract suite of bridge.SettingsStore and bridge.InsightsStore. open returns
// a new, empty store; reopen (nil: no persistence test) closes it and opens its storage again.
func RunOwners(t *testing.T, open func(t *testing.T) OwnersStore, reopen func(t *testing.T, s OwnersStore) OwnersStore) {
	ctx := context.Background()
	t.Run("SettingsRoundTrip", func(t *testing.T) {
		s := open(t)
		all, v, err := s.AllSettings(ctx)
		if err != nil || len(all) != 0 || v != 0 {
			t.Fatalf("empty store: AllSettings = %v, %d, %v; want nothing at version 0", all, v, err)
		}
		a := bridge.WebsiteSettings{StartMode: "wait_for_signal", Prompt: "Be «brief».", Language: "fr", Languages: []string{"fr", "en"},
			Knowledge: bridge.KnowledgeMarkdown, KnowledgeMarkdown: "# Hours\n\nOpen 9-18.", HandoverMessage: "Un instant.",
			ClosedMessage: "Fermé.", ConversationTokens: 4000, DailyTokens: 100000, UpdatedAt: 1_800_000_000_000}
		b := bridge.WebsiteSettings{AssistantOff: true}
		v1, err := s.SaveSettings(ctx, "w1", a)
		if err != nil {
			t.Fatalf("SaveSettings = %v", err)
		}
		v2, err := s.SaveSettings(ctx, "w2", b)
		if err != nil || v2 <= v1 || v1 <= 0 {
			t.Fatalf("versions %d then %d (%v); want positive and growing", v1, v2, err)
		}
		all, v, err = s.AllSettings(ctx)
		if err != nil || v != v2 || !reflect.DeepEqual(all, map[string]bridge.WebsiteSettings{"w1": a, "w2": b}) {
			t.Fatalf("AllSettings = %+v at %d (%v); want w1 and w2 at %d", all, v, err, v2)
		}
		// A save replaces the whole record of one website and nothing else.
		a2 := bridge.WebsiteSettings{Prompt: "Shorter."}
		v3, err := s.SaveSettings(ctx, "w1", a2)
		if err != nil || v3 <= v2 {
			t.Fatalf("overwrite: version %d (%v), want > %d", v3, err, v2)
		}
		if got, err := s.SettingsVersion(ctx); err != nil || got != v3 {
			t.Fatalf("SettingsVersion = %d, %v; want %d", got, err, v3)
		}
		all, _, _ = s.AllSettings(ctx)
		if !reflect.DeepEqual(all, map[string]bridge.WebsiteSettings{"w1": a2, "w2": b}) {
			t.Fatalf("after overwrite: %+v", all)
		}
		if reopen != nil {
			s = reopen(t, s)
			all, v, err = s.AllSettings(ctx)
			if err != nil || v != v3 || !reflect.DeepEqual(all, map[string]bridge.WebsiteSettings{"w1": a2, "w2": b}) {
				t.Fatalf("after reopen: %+v at %d (%v)", all, v, err)
			}
		}
	})
	t.Run("SettingsInvalid", func(t *testing.T) {
		s := open(t)
		for _, bad := range []bridge.WebsiteSettings{{StartMode: "sometimes"}, {Language: "English"},
			{Knowledge: bridge.KnowledgeMarkdown}, {Knowledge: "ftp"}, {DailyTokens: -1}} {
			if _, err := s.SaveSettings(ctx, "w1", bad); err == nil {
				t.Errorf("SaveSettings(%+v) = nil, want an error", bad)
			}
		}
		if _, err := s.SaveSettings(ctx, "", bridge.WebsiteSettings{}); err == nil {
			t.Error(`SaveSettings("") = nil, want an error`)
		}
		if v, _ := s.SettingsVersion(ctx); v != 0 {
			t.Errorf("refused saves moved the version to %d", v)
		}
	})
	t.Run("SettingsConcurrent", func(t *testing.T) {
		s := open(t)
		const n = 16
		var wg sync.WaitGroup
		seen := make(chan int64, n)
		for i := range n {
			wg.Go(func() {
				v, err := s.SaveSettings(ctx, fmt.Sprintf("w%d", i%4), bridge.WebsiteSettings{Prompt: fmt.Sprint(i)})
				if err != nil {
					t.Error(err)
				}
				seen <- v
			})
		}
		wg.Wait()
		close(seen)
		got := map[int64]bool{}
		for v := range seen {
			if got[v] {
				t.Errorf("version %d handed out twice", v)
			}
			got[v] = true
		}
		if v, _ := s.SettingsVersion(ctx); v != n {
			t.Errorf("version after %d saves = %d", n, v)
		}
	})
	t.Run("InsightsCounters", func(t *testing.T) {
		s := open(t)
		days := []string{"2026-03-01", "2026-03-02"}
		got, err := s.Insights(ctx, "w1", days)
		if err != nil || len(got) != 2 || len(got[days[0]]) != 0 {
			t.Fatalf("empty: Insights = %v, %v", got, err)
		}
		must := func(website, day string, d map[string]int64, max int) {
			t.Helper()
			if err := s.AddInsights(ctx, website, day, d, max); err != nil {
				t.Fatalf("AddInsights = %v", err)
			}
		}
		must("w1", days[0], map[string]int64{"handled": 1, "cost_micro_usd": 250}, 4)
		must("w1", days[0], map[string]int64{"handled": 1, "gap:how tall": 1}, 4)
		must("w1", days[1], map[string]int64{"handled": 5}, 4)
		must("w2", days[0], map[string]int64{"handled": 7}, 4)
		// Bounded: a fifth counter is not created, the existing ones still count.
		must("w1", days[0], map[string]int64{"gap:a": 1, "gap:b": 1, "handled": 1}, 4)
		got, err = s.Insights(ctx, "w1", days)
		want := map[string]map[string]int64{
			days[0]: {"handled": 3, "cost_micro_usd": 250, "gap:how tall": 1, "gap:a": 1},
			days[1]: {"handled": 5},
		}
		// Which of gap:a and gap:b took the last place is the store's choice; exactly one did.
		if b, ok := got[days[0]]["gap:b"]; ok {
			delete(got[days[0]], "gap:b")
			got[days[0]]["gap:a"] = b
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Insights = %v, %v; want %v", got, err, want)
		}
		if err := s.AddInsights(ctx, "w1", "March 1st", map[string]int64{"x": 1}, 4); err == nil {
			t.Error("AddInsights with a bad day = nil, want an error")
		}
		if reopen != nil {
			s = reopen(t, s)
			if again, err := s.Insights(ctx, "w2", days[:1]); err != nil || again[days[0]]["handled"] != 7 {
				t.Fatalf("after reopen: %v, %v", again, err)
			}
		}
	})
	t.Run("InsightsConcurrent", func(t *testing.T) {
		s := open(t)
		const workers, each = 8, 25
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					if err := s.AddInsights(ctx, "w1", "2026-03-01", map[string]int64{"handled": 1, "ttfa_ms_le_1000": 1}, 100); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		got, err := s.Insights(ctx, "w1", []string{"2026-03-01"})
		if err != nil || got["2026-03-01"]["handled"] != workers*each || got["2026-03-01"]["ttfa_ms_le_1000"] != workers*each {
			t.Fatalf("after %d concurrent adds: %v, %v", workers*each, got, err)
		}
	})
}
