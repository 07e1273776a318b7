package bolt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// benchConversationsEnv sets how many conversations BenchmarkOpen stores (make bench uses 1000000).
const benchConversationsEnv = "SIGNALBRIDGE_BENCH_CONVERSATIONS"

func benchConversations(tb testing.TB) int {
	n := 10_000
	if v := os.Getenv(benchConversationsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive integer", benchConversationsEnv, v)
		}
	}
	return n
}

// fill writes n conversations (with a mode index entry and one audit entry each) straight into the
// file, in large transactions, as a long-running store would have accumulated them.
func fill(tb testing.TB, path string, n int) {
	tb.Helper()
	s, err := Open(path, Options{NoSync: true, PurgeInterval: -1})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	modes := []signals.Mode{signals.ModeActive, signals.ModePaused, signals.ModeHuman, signals.ModeWaiting}
	const chunk = 50_000
	for lo := 0; lo < n; lo += chunk {
		err := s.db.Update(func(tx *bolt.Tx) error {
			convs, idx, audit := tx.Bucket(bucketConversations), tx.Bucket(bucketModes), tx.Bucket(bucketAudit)
			convs.FillPercent, idx.FillPercent, audit.FillPercent = 0.9, 0.9, 0.9
			for i := lo; i < min(lo+chunk, n); i++ {
				c := bridge.Conversation{
					Key:      bridge.Key{WebsiteID: "website_bench", SessionID: fmt.Sprintf("session_%09d", i)},
					State:    signals.State{Mode: modes[i%len(modes)], Reason: signals.ReasonStart, Last: map[string]string{"enum": "start_chatbot"}, Transitions: 1},
					Language: "en",
					Transcript: []bridge.Turn{
						{Role: "visitor", Text: "How do I reset my password?", At: int64(i)},
						{Role: "assistant", Text: "Open Settings, then Security, then Reset password.", At: int64(i + 1)},
					},
				}
				ck, _ := convKey(c.Key)
				v, err := encodeConversation(&c)
				if err != nil {
					return err
				}
				if err := convs.Put(ck, v); err != nil {
					return err
				}
				if err := idx.Put(modeKey(c.Mode, ck), nil); err != nil {
					return err
				}
				if err := audit.Put(auditKey(auditPrefix(ck), 1), []byte(`{"at":1,"source":"data","from":"waiting","to":"active","reason":"signal"}`)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.db.Sync(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOpen measures start-up (Open, one Load, one Commit, Close) of a file holding many
// conversations; the count comes from SIGNALBRIDGE_BENCH_CONVERSATIONS (default 10000). It also prints
// the live heap after opening (the file itself is mapped, not on the heap).
func BenchmarkOpen(b *testing.B) {
	n := benchConversations(b)
	path := filepath.Join(b.TempDir(), "big.db")
	start := time.Now()
	fill(b, path, n)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d conversations in %s, file %.1f MB", n, time.Since(start).Round(time.Millisecond), float64(fi.Size())/1e6)
	ctx := context.Background()
	var heap uint64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		k := bridge.Key{WebsiteID: "website_bench", SessionID: fmt.Sprintf("session_%09d", n/2)}
		c, err := s.Load(ctx, k)
		if err != nil {
			b.Fatal(err)
		}
		c.Transitions++
		if err := s.Commit(ctx, &c, nil, fmt.Sprintf("open-%d", i)); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = ms.HeapAlloc
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(n), "conversations")
	b.ReportMetric(float64(heap)/1e6, "heapMB")
}
