package redis_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

// benchConversation is the bbolt benchmarks' typical conversation: a few signal values and a
// 10-turn transcript.
func benchConversation(session string) bridge.Conversation {
	c := storetest.Conversation("website_bench", session)
	c.Transcript = nil
	for i := range 10 {
		c.Transcript = append(c.Transcript, bridge.Turn{Role: "visitor", Text: "How do I reset my password on the mobile app?", At: int64(i)})
	}
	return c
}

// BenchmarkCommit measures signal events per second into durable state on a real redis-server on
// loopback (AOF on, appendfsync everysec as the README recommends, and always for comparison), from
// many goroutines committing distinct conversations (the bridge serialises per conversation). Each
// commit carries one audit entry and one processed event id, like a signal event. "event" adds what
// the bridge reads per event: the dedupe check and the Load as two reads (three round trips in all)
// or as one pipelined LoadUnprocessed ("event-1read": two round trips).
func BenchmarkCommit(b *testing.B) {
	for _, fsync := range []string{"everysec", "always"} {
		srv := redistest.Start(b, "--appendfsync", fsync)
		for _, bc := range []struct {
			name  string
			par   int // goroutines per GOMAXPROCS; 0: one goroutine
			reads bool
			one   bool // the reads as one round trip
		}{
			{"commit/serial", 0, false, false},
			{"commit/parallel-256", 0, false, false},
			{"event/parallel-256", 0, true, false},
			{"event-1read/parallel-256", 0, true, true},
		} {
			if bc.name != "commit/serial" {
				bc.par = max(1, 256/runtimeProcs())
			}
			b.Run(fmt.Sprintf("aof-%s/%s", fsync, bc.name), func(b *testing.B) {
				s := mustOpen(b, srv, redis.Options{Prefix: newPrefix(), PoolSize: benchPool, CommitBatch: benchBatch})
				ctx := context.Background()
				var next atomic.Int64
				step := func(c *bridge.Conversation, i int64) {
					id := "ev-" + strconv.FormatInt(i, 10)
					if bc.one {
						if _, _, err := s.LoadUnprocessed(ctx, c.Key, id); err != nil && i > 1_000_000 {
							b.Error(err)
						}
					} else if bc.reads {
						if _, err := s.Processed(ctx, id); err != nil {
							b.Error(err)
						}
						if _, err := s.Load(ctx, c.Key); err != nil && i > 1_000_000 {
							b.Error(err)
						}
					}
					c.Transitions++
					a := []bridge.AuditEntry{{At: i, Source: "data", From: "active", To: "paused", Reason: "signal"}}
					if err := s.Commit(ctx, c, a, id); err != nil {
						b.Error(err)
					}
				}
				start, srvCPU, ownCPU := time.Now(), serverCPU(b, srv), processCPU()
				if bc.par == 0 {
					c := benchConversation("s0")
					for i := 0; b.Loop(); i++ {
						step(&c, int64(i))
					}
				} else {
					b.SetParallelism(bc.par)
					b.RunParallel(func(pb *testing.PB) {
						c := benchConversation(fmt.Sprintf("s%d", next.Add(1)))
						for pb.Next() {
							step(&c, next.Add(1))
						}
					})
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
				// CPU per event, on each side: what the throughput would be on dedicated cores does
				// not depend on what else the machine runs.
				b.ReportMetric((serverCPU(b, srv)-srvCPU).Seconds()*1e6/float64(b.N), "redis-cpu-µs/event")
				b.ReportMetric((processCPU()-ownCPU).Seconds()*1e6/float64(b.N), "client-cpu-µs/event")
			})
		}
	}
}

// BenchmarkLoad measures reading one conversation (one GET and a JSON decode).
func BenchmarkLoad(b *testing.B) {
	srv := redistest.Start(b)
	s := mustOpen(b, srv, redis.Options{Prefix: newPrefix()})
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

// BenchmarkEventRead measures what processing a new event reads before deciding, one caller at a
// time (so the figure is the round trips' latency): its dedupe check and its conversation as two
// round trips (Processed, then Load) and as one (LoadUnprocessed, pipelined).
func BenchmarkEventRead(b *testing.B) {
	srv := redistest.Start(b)
	s := mustOpen(b, srv, redis.Options{Prefix: newPrefix()})
	ctx := context.Background()
	c := benchConversation("s0")
	if err := s.Commit(ctx, &c, nil, "ev-known"); err != nil {
		b.Fatal(err)
	}
	b.Run("two-round-trips", func(b *testing.B) {
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
	b.Run("one-round-trip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := s.LoadUnprocessed(ctx, c.Key, "ev-new"); err != nil || ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkMemory100k stores 100,000 conversations (each with three audit entries and a processed
// event id, as after a few signal events) and reports Redis's used_memory per conversation.
func BenchmarkMemory100k(b *testing.B) {
	const n = 100_000
	srv := redistest.Start(b)
	s := mustOpen(b, srv, redis.Options{Prefix: "sb:", PoolSize: 64})
	ctx := context.Background()
	used := func() int64 {
		v, err := strconv.ParseInt(srv.InfoField("memory", "used_memory"), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	before := used()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				c := benchConversation(fmt.Sprintf("session_%08d-5b9c-4c5e-9a7e-3f2d1c0b%04d", i, i%10000))
				c.Transitions = 3
				audit := []bridge.AuditEntry{
					{At: i, Source: "data", From: "waiting", To: "active", Reason: "signal"},
					{At: i + 1, Source: "data", From: "active", To: "paused", Reason: "signal"},
					{At: i + 2, Source: "button", From: "paused", To: "active", Reason: "signal"},
				}
				if err := s.Commit(ctx, &c, audit, fmt.Sprintf("%d-%d", 1_700_000_000_000+i, i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	after := used()
	count, err := s.Count(ctx)
	if err != nil || count != n {
		b.Fatalf("Count = %d, %v; want %d", count, err, n)
	}
	b.ReportMetric(float64(after-before)/n, "bytes/conversation")
	b.ReportMetric(float64(after-before)/(1<<20), "MiB/100k")
	b.ReportMetric(n/el.Seconds(), "commits/s")
	b.Logf("used_memory %d -> %d bytes for %d conversations (%s, fragmentation %s)", before, after, n,
		srv.InfoField("memory", "used_memory_human"), srv.InfoField("memory", "mem_fragmentation_ratio"))
	// Where it goes, for one conversation and for the shared indexes.
	ck := "website_bench/session_00000001-5b9c-4c5e-9a7e-3f2d1c0b0001"
	b.Logf("MEMORY USAGE: conversation %s (value %s bytes), audit trail %s, processed id %s; mode index per conversation %d",
		srv.Do("MEMORY", "USAGE", "sb:c:"+ck), srv.Do("STRLEN", "sb:c:"+ck), srv.Do("MEMORY", "USAGE", "sb:a:"+ck),
		srv.Do("MEMORY", "USAGE", "sb:p:1700000000001-1"),
		atoi(b, srv.Do("MEMORY", "USAGE", "sb:m:paused", "SAMPLES", "0"))/n)
}

func atoi(tb testing.TB, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// serverCPU returns the CPU time redis-server has used (user and system).
func serverCPU(tb testing.TB, srv *redistest.Server) time.Duration {
	var total float64
	for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(srv.InfoField("cpu", f), 64)
		if err != nil {
			tb.Fatal(err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second))
}

// processCPU returns the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchPool = func() int {
	n, _ := strconv.Atoi(os.Getenv("SB_BENCH_REDIS_POOL"))
	return n
}()

var benchBatch = func() int {
	n, _ := strconv.Atoi(os.Getenv("SB_BENCH_REDIS_BATCH"))
	return n
}()
