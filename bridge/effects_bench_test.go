package bridge_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/signals"
)

// BenchmarkEffectCalls prints the Crisp REST calls the effect pipeline spends: per answer with a
// fast model (the posted-check costs nothing on a first attempt) and per handover, through the real
// client against the fake Crisp; then the same answers when every answer's POST fails once after
// Crisp stored it (each retry costs one look-up, none is posted twice).
func BenchmarkEffectCalls(b *testing.B) {
	const convs = 200
	for _, tc := range []struct {
		name   string
		faults bool
	}{{"clean", false}, {"answer POST fails after commit", true}} {
		fake, err := crisptest.Start(crisptest.Options{Identifier: "id", Key: "key", Websites: []string{rvSite},
			Operators: []crisptest.Operator{{UserID: "op-1", Nickname: "Alex", Online: true}}})
		if err != nil {
			b.Fatal(err)
		}
		c, err := crisp.NewClient(crisp.ClientConfig{BaseURL: fake.RESTURL(), Identifier: "id", Key: "key",
			Tier: "plugin", PluginURN: rvURN, MaxRetries: -1, Timeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		plat := crisp.NewPlatform(c, crisp.PlatformOptions{})
		st, err := bolt.Open(filepath.Join(b.TempDir(), "b.db"), bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		site := &bridge.Website{ID: rvSite, Signals: signals.DefaultConfig(), Language: "en"}
		br, err := bridge.Open(bridge.Options{Store: st, Platform: plat, Assistant: echo{}, PluginURN: rvURN,
			Websites: func(string) *bridge.Website { return site }, TypingDelay: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if tc.faults {
			fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: convs, Method: http.MethodPost,
				Path: "/message", AfterCommit: true})
		}
		before := len(fake.Calls())
		var keys []bridge.Key
		for i := range convs {
			s := "session_bench_" + strconv.Itoa(i)
			fp, err := fake.Visitor(rvSite, s, crisptest.VisitorInfo{}).Send("hello " + strconv.Itoa(i))
			if err != nil {
				b.Fatal(err)
			}
			keys = append(keys, bridge.Key{WebsiteID: rvSite, SessionID: s})
			if err := br.HandleEvent(ctx, bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaRTM, WebsiteID: rvSite,
				SessionID: s, Fingerprint: fp, Timestamp: time.Now().UnixMilli(),
				Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: "hello " + strconv.Itoa(i)}}); err != nil {
				b.Fatal(err)
			}
		}
		waitEmpty(b, br, st, keys)
		answerCalls := callsSince(fake, before)
		before = len(fake.Calls())
		if !tc.faults {
			for _, k := range keys {
				if _, err := br.Control(ctx, k, bridge.ControlHandover, "", ""); err != nil {
					b.Fatal(err)
				}
			}
			waitEmpty(b, br, st, keys)
		}
		handoverCalls := callsSince(fake, before)
		_ = br.Close()
		_ = st.Close()
		fake.Close()
		fmt.Printf("  effect pipeline, %s: REST calls per answer %.2f (%s; the GET meta is the one read of a new conversation)", tc.name, float64(answerCalls.total)/convs, answerCalls)
		if !tc.faults {
			fmt.Printf("; per handover %.2f (%s)", float64(handoverCalls.total)/convs, handoverCalls)
		}
		fmt.Println()
	}
}

type callCount struct {
	total int
	by    map[string]int
}

func (c callCount) String() string {
	var parts []string
	for _, k := range []string{"POST message", "GET messages", "GET meta", "PATCH meta", "PATCH state", "other"} {
		if n := c.by[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

func callsSince(fake *crisptest.Server, from int) callCount {
	out := callCount{by: map[string]int{}}
	for _, c := range fake.Calls()[from:] {
		out.total++
		switch {
		case c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/message"):
			out.by["POST message"]++
		case c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/messages"):
			out.by["GET messages"]++
		case c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/meta"):
			out.by["GET meta"]++
		case c.Method == http.MethodPatch && strings.HasSuffix(c.Path, "/meta"):
			out.by["PATCH meta"]++
		case c.Method == http.MethodPatch && strings.HasSuffix(c.Path, "/state"):
			out.by["PATCH state"]++
		default:
			out.by["other"]++
		}
	}
	return out
}

// waitEmpty waits, bounded, until no conversation owes an answer or a Crisp write.
func waitEmpty(tb testing.TB, br *bridge.Bridge, st bridge.Store, keys []bridge.Key) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := br.Settle(ctx)
		cancel()
		if err != nil {
			tb.Fatal(err)
		}
		busy := br.Generating() > 0
		for _, k := range keys {
			if busy {
				break
			}
			c, err := st.Load(context.Background(), k)
			busy = err != nil || c.ReplyDue != 0 || len(c.Journal) > 0
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("work left after 60 s")
		}
		time.Sleep(5 * time.Millisecond) // polls the store, bounded by the deadline
	}
}

// BenchmarkEffectsRedis prints what claiming costs per effect on Redis: 256 conversations, each
// paused by the admin API (one write-back, an effect of the meta lane) on one replica, with Crisp
// answering at once. Effects per second from the first control call until every journal is empty,
// and the Redis commands per effect (INFO commandstats before and after).
func BenchmarkEffectsRedis(b *testing.B) {
	srv := redistest.Start(b)
	const convs = 256
	for _, shared := range []bool{false, true} {
		prefix := fmt.Sprintf("fxb%v:", shared)
		st, err := redis.Open(srv.URL(0), redis.Options{Prefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		plat := &nopPlatform{}
		site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en"}
		br, err := bridge.Open(bridge.Options{Store: st, Platform: plat, Assistant: echo{}, PluginURN: "urn:test:bridge:0",
			Websites: func(string) *bridge.Website { return site }, Shared: shared, Replica: "bench", TypingDelay: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		var keys []bridge.Key
		for i := range convs {
			k := bridge.Key{WebsiteID: "w", SessionID: "s" + strconv.Itoa(i)}
			keys = append(keys, k)
			c := bridge.Conversation{Key: k, State: site.Signals.Initial(1), Language: "en", ScenarioIndex: -1, CreatedAt: 1}
			c.Mode = signals.ModeActive
			if err := st.Commit(ctx, &c, nil, ""); err != nil {
				b.Fatal(err)
			}
		}
		cmds0 := redisCommands(b, srv)
		start := time.Now()
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Go(func() {
				if _, err := br.Control(ctx, k, bridge.ControlPause, "", "bench"); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		waitEmpty(b, br, st, keys)
		took := time.Since(start)
		cmds := redisCommands(b, srv) - cmds0
		_ = br.Close()
		_ = st.Close()
		mode := "one process (no claims)"
		if shared {
			mode = "replica mode (conversation lease + effects claim under a heartbeat)"
		}
		fmt.Printf("  effects on Redis, %s: %d pauses and their write-backs in %s (%.0f/s), %.1f Redis commands per pause\n",
			mode, convs, took.Round(time.Millisecond), float64(convs)/took.Seconds(), float64(cmds)/convs)
	}
}

// redisCommands returns the server's total processed commands.
func redisCommands(tb testing.TB, srv *redistest.Server) int64 {
	tb.Helper()
	info := srv.Do("INFO", "stats")
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("no total_commands_processed in INFO stats")
	return 0
}
