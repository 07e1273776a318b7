package bolt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

// benchConversation is a typical stored conversation: a few signal values and a 10-turn transcript.
func benchConversation(session string) bridge.Conversation {
	c := storetest.Conversation("website_bench", session)
	c.Transcript = nil
	for i := range 10 {
		c.Transcript = append(c.Transcript, bridge.Turn{Role: "visitor", Text: "How do I reset my password on the mobile app?", At: int64(i)})
	}
	return c
}

// BenchmarkCommit measures commits per second of distinct conversations from many goroutines (the
// bridge serialises per conversation and runs conversations in parallel), with and without fsync.
// Each commit carries one audit entry and one processed event id, like a signal event.
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name   string
		noSync bool
		par    int           // goroutines per GOMAXPROCS
		delay  time.Duration // > 0: bbolt's db.Batch with this delay instead of the committer
		noFree bool          // bbolt's NoFreelistSync
	}{
		{"fsync/serial", false, 0, 0, false},
		{"fsync/serial/no-freelist-sync", false, 0, 0, true},
		{"fsync/parallel-128", false, 64, 0, false},
		{"fsync/parallel-128/no-freelist-sync", false, 64, 0, true},
		{"fsync/parallel-1024", false, 512, 0, false},
		{"nosync/serial", true, 0, 0, false},
		{"nosync/parallel-128", true, 64, 0, false},
		{"dbbatch-1ms/fsync/serial", false, 0, time.Millisecond, false},
		{"dbbatch-1ms/fsync/parallel-128", false, 64, time.Millisecond, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := MustOpen(b, filepath.Join(b.TempDir(), "db"), bolt.Options{NoSync: bc.noSync, PurgeInterval: -1, BatchDelay: bc.delay, NoFreelistSync: bc.noFree})
			ctx := context.Background()
			var next atomic.Int64
			b.ReportAllocs()
			start := time.Now()
			commit := func(c *bridge.Conversation, i int64) {
				c.Transitions++
				a := []bridge.AuditEntry{{At: i, Source: "data", From: "active", To: "paused", Reason: "signal"}}
				if err := s.Commit(ctx, c, a, fmt.Sprintf("ev-%d", i)); err != nil {
					b.Error(err)
				}
			}
			if bc.par == 0 {
				c := benchConversation("s0")
				for i := 0; b.Loop(); i++ {
					commit(&c, int64(i))
				}
			} else {
				b.SetParallelism(bc.par)
				b.RunParallel(func(pb *testing.PB) {
					c := benchConversation(fmt.Sprintf("s%d", next.Add(1)))
					for pb.Next() {
						commit(&c, next.Add(1))
					}
				})
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
		})
	}
}

// BenchmarkLoad measures reading one conversation (read transaction and decode).
func BenchmarkLoad(b *testing.B) {
	s := MustOpen(b, filepath.Join(b.TempDir(), "db"), bolt.Options{NoSync: true, PurgeInterval: -1})
	ctx := context.Background()
	c := benchConversation("s0")
	if err := s.Commit(ctx, &c, nil, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Load(ctx, c.Key); err != nil {
				b.Error(err)
			}
		}
	})
}

// BenchmarkProcessed measures the dedupe check of an event id.
func BenchmarkProcessed(b *testing.B) {
	s := MustOpen(b, filepath.Join(b.TempDir(), "db"), bolt.Options{NoSync: true, PurgeInterval: -1})
	ctx := context.Background()
	c := benchConversation("s0")
	if err := s.Commit(ctx, &c, nil, "ev-known"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := s.Processed(ctx, "ev-known"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkEventRead measures what processing a new event reads before deciding: its dedupe check
// and its conversation, as two read transactions (Processed, then Load) and as one
// (LoadUnprocessed).
func BenchmarkEventRead(b *testing.B) {
	s := MustOpen(b, filepath.Join(b.TempDir(), "db"), bolt.Options{NoSync: true, PurgeInterval: -1})
	ctx := context.Background()
	c := benchConversation("s0")
	if err := s.Commit(ctx, &c, nil, "ev-known"); err != nil {
		b.Fatal(err)
	}
	b.Run("two-reads", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := s.Processed(ctx, "ev-new"); err != nil || ok {
				b.Fatal(ok, err)
			}
			if _, err := s.Load(ctx, c.Key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one-read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.LoadUnprocessed(ctx, c.Key, "ev-new"); err != nil || ok {
				b.Fatal(ok, err)
			}
		}
	})
}
