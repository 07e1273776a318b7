package bridge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// nopPlatform answers every Platform call at once, so the benchmark measures the bridge and the store.
type nopPlatform struct{ calls atomic.Int64 }

func (p *nopPlatform) Send(context.Context, string, string, bridge.OutMessage) (int64, error) {
	return p.calls.Add(1), nil
}
func (p *nopPlatform) UpdateMeta(context.Context, string, string, bridge.MetaUpdate) error {
	p.calls.Add(1)
	return nil
}
func (p *nopPlatform) Meta(context.Context, string, string) (bridge.Meta, error) {
	p.calls.Add(1)
	return bridge.Meta{}, nil
}
func (p *nopPlatform) SetState(context.Context, string, string, string) error {
	p.calls.Add(1)
	return nil
}
func (p *nopPlatform) Compose(context.Context, string, string, bool) error {
	p.calls.Add(1)
	return nil
}
func (p *nopPlatform) Availability(context.Context, string) (bridge.Availability, error) {
	p.calls.Add(1)
	return bridge.Availability{Online: true}, nil
}

// countingStore counts durable commits and closes done when want of them have returned.
type countingStore struct {
	bridge.Store
	n    atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
}

func (s *countingStore) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, id string) error {
	err := s.Store.Commit(ctx, c, audit, id)
	if err == nil && s.n.Add(1) == s.want {
		s.once.Do(func() { close(s.done) })
	}
	return err
}

func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// BenchmarkHandleEvent measures signal events per second through bridge.HandleEvent alone into
// durable state: a bbolt file on disk with fsync, a Platform that answers at once, the offline
// assistant. Each event is a session:set_data flip (start/pause, nonce form so every one is an edge)
// of one of SB_BENCH_CONVS conversations (default 1000); SB_BENCH_BRIDGE_EVENTS events per round
// (default 50000); SB_BENCH_SHARDS ordered workers (default 256, the bridge's default). The clock stops when the last commit has returned.
func BenchmarkHandleEvent(b *testing.B) {
	convs := envInt(b, "SB_BENCH_CONVS", 1000)
	events := envInt(b, "SB_BENCH_BRIDGE_EVENTS", 50000)
	shards := envInt(b, "SB_BENCH_SHARDS", 256) // the bridge's default
	const site = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"
	asst, err := assistant.New(assistant.Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	sc := signals.DefaultConfig()
	sc.StartMode = signals.StartWaitForSignal
	website := &bridge.Website{ID: site, Signals: sc, Language: "en"}
	var rate float64
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		st, err := bolt.Open(filepath.Join(b.TempDir(), fmt.Sprintf("bench-%d.db", round)), bolt.Options{PurgeInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		store := &countingStore{Store: st, want: int64(events), done: make(chan struct{})}
		plat := &nopPlatform{}
		br, err := bridge.Open(bridge.Options{Store: store, Platform: plat, Assistant: asst, PluginURN: "urn:signalbridge:bench:0",
			Websites: func(string) *bridge.Website { return website }, Shards: shards})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		evs := make([]bridge.Event, events)
		now := time.Now().UnixMilli()
		for i := range evs {
			value := "start_chatbot#" + strconv.Itoa(i)
			if (i/convs)%2 == 1 {
				value = "pause_chatbot#" + strconv.Itoa(i)
			}
			evs[i] = bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: site,
				SessionID: "session_" + strconv.Itoa(i%convs), Timestamp: now, Data: map[string]string{"enum": value}}
		}
		b.StartTimer()
		start := time.Now()
		for i := range evs {
			if err := br.HandleEvent(ctx, evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-store.done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("only %d of %d events committed in 2 minutes", store.n.Load(), events)
		}
		took := time.Since(start)
		b.StopTimer()
		rate = float64(events) / took.Seconds()
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("bridge.HandleEvent: %d signal events over %d conversations, %d shards, into bbolt (fsync) in %s = %.0f events/s (%d platform calls)\n",
			events, convs, shards, took.Round(time.Millisecond), rate, plat.calls.Load())
		b.StartTimer()
	}
	b.ReportMetric(rate, "events/s")
}
