package main

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
)

// TestMigrateOwners: migrate copies the website owners' settings and every day of insights, and a
// second run leaves the same records.
func TestMigrateOwners(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "signalbridge.db")
	src, err := bolt.Open(file, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ws := bridge.WebsiteSettings{StartMode: "wait_for_signal", Prompt: "Be brief.", Knowledge: bridge.KnowledgeMarkdown, KnowledgeMarkdown: "# A\n\nB."}
	if _, err := src.SaveSettings(ctx, testSite, ws); err != nil {
		t.Fatal(err)
	}
	days := map[string]map[string]int64{
		"2026-11-29": {bridge.InsightHandled: 4, bridge.InsightGapPfx + "llamas": 2},
		"2026-11-30": {bridge.InsightHandled: 1, bridge.InsightHandoverPfx + "human": 1},
	}
	for day, c := range days {
		if err := src.AddInsights(ctx, testSite, day, c, 300); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		var out bytes.Buffer
		if code := Main(ctx, []string{"migrate", "--from", file, "--to", srv.URL(0), "--force"}, &out, &out, func(string) string { return "" }); code != 0 ||
			!strings.Contains(out.String(), "1 websites' settings, 2 days of insights; verified") {
			t.Fatalf("run %d: migrate = %d: %s", run, code, out.String())
		}
		dst, err := redis.Open(srv.URL(0), redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		all, _, err := dst.AllSettings(ctx)
		if err != nil || !reflect.DeepEqual(all, map[string]bridge.WebsiteSettings{testSite: ws}) {
			t.Errorf("run %d: settings in Redis = %+v, %v", run, all, err)
		}
		got, err := dst.Insights(ctx, testSite, []string{"2026-11-29", "2026-11-30"})
		if err != nil || !reflect.DeepEqual(got, days) {
			t.Errorf("run %d: insights in Redis = %v, %v; want %v", run, got, err, days)
		}
		dst.Close()
	}
}
