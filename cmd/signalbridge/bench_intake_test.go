package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// BenchmarkIntake prints the figures of durable intake and the action journal (never asserted):
//   - signed hooks answered 2xx only once their event is in the bbolt inbox (fsync on), from 1,000
//     concurrent conversations: events/s and the hook response time;
//   - the journal under a Crisp error burst: handovers whose writes first meet 503s, then land.
//
// Sizes: SB_BENCH_HOOKS (hooks in all, 20000), SB_BENCH_HOOK_CONVS (1000), SB_BENCH_BURST_CONVS (200);
// SB_BENCH_HOOK_DUMMY=1 sends values that are not signals (no write-back, no journal entry).
func BenchmarkIntake(b *testing.B) {
	hooks, convs, burst := envInt("SB_BENCH_HOOKS", 20_000), envInt("SB_BENCH_HOOK_CONVS", 1000), envInt("SB_BENCH_BURST_CONVS", 200)
	benchFloor()
	tab := &benchTable{}
	for b.Loop() {
		benchHookIntake(b, hooks, convs, tab)
		benchJournalBurst(b, burst, tab)
	}
	tab.print(os.Stdout)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchHookIntake posts signed session:set_data hooks (nonce starts and pauses: no Crisp call) from
// convs conversations at once, each posting its next hook when the previous one got its answer.
func benchHookIntake(b *testing.B, total, convs int, tab *benchTable) {
	ba := openBench(b, benchOptions{events: "hooks", startMode: "wait_for_signal"})
	const secret = "914a657d8cc2efbc20593f1806f9bde2"
	url := ba.app.web.URL() + "/webhooks/crisp"
	var dials atomic.Int64
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: convs, MaxConnsPerHost: convs,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		}}}
	per := max(total/convs, 1)
	lat := make([][]time.Duration, convs)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for c := range convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session := fmt.Sprintf("session_hook_%d", c)
			lat[c] = make([]time.Duration, 0, per)
			for i := range per {
				value := "start_chatbot#h" + strconv.Itoa(i)
				if i%2 == 1 {
					value = "pause_chatbot#h" + strconv.Itoa(i)
				}
				if os.Getenv("SB_BENCH_HOOK_DUMMY") != "" {
					value = "dummy-" + strconv.Itoa(i) // no edge: no write-back, no journal
				}
				now := time.Now().UnixMilli()
				body, _ := json.Marshal(map[string]any{"website_id": testSite, "event": "session:set_data", "timestamp": now,
					"data": map[string]any{"website_id": testSite, "session_id": session, "data": map[string]any{"enum": value}}})
				ts := strconv.FormatInt(now, 10)
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("X-Crisp-Request-Timestamp", ts)
				req.Header.Set("X-Crisp-Signature", crisptest.Sign(secret, ts, body))
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body) // read to the end: the connection is then reused
				res.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	n := len(all)
	tab.add("durable hook intake, closed loop (2xx once in the inbox, fsync on)",
		fmt.Sprintf("%.0f events/s; response %s; %d not 200", float64(n)/took.Seconds(), benchFloor().latencies(all), failed.Load())+
			fmt.Sprintf("; %d connections", dials.Load()),
		">= 20,000 events/s", fmt.Sprintf("%d hooks from %d concurrent conversations, each posting its next hook on the previous one's answer: the response time measures the queue (BenchmarkOpenLoop measures latency)", n, convs))
}

// benchJournalBurst hands over convs conversations while Crisp answers 503 to their first meta and
// state writes, and measures how long until every write has landed, and the REST calls spent.
func benchJournalBurst(b *testing.B, convs int, tab *benchTable) {
	ba := openBench(b, benchOptions{events: "rtm", startMode: "auto"})
	ctx := context.Background()
	keys := make([]bridge.Key, convs)
	for i := range keys {
		v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
		keys[i] = bridge.Key{WebsiteID: testSite, SessionID: v.SessionID()}
		if err := v.SetData(map[string]any{"plan": "pro"}); err != nil {
			b.Fatal(err)
		}
	}
	benchWait(b, "conversations stored", 30*time.Second, func() bool {
		for _, k := range keys {
			if _, ok := ba.load(k.SessionID); !ok {
				return false
			}
		}
		return true
	})
	calls0 := len(ba.fake.Calls())
	ba.fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: 2 * convs, Method: http.MethodPatch, Path: "/meta"})
	ba.fake.FailNext(crisptest.RESTFault{Status: http.StatusServiceUnavailable, Count: convs, Method: http.MethodPatch, Path: "/state"})
	start := time.Now()
	for _, k := range keys {
		if _, err := ba.app.bridge.Control(ctx, k, bridge.ControlHandover, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	benchWait(b, "every journal empty", 2*time.Minute, func() bool {
		for _, k := range keys {
			c, ok := ba.load(k.SessionID)
			if !ok || len(c.Journal) > 0 {
				return false
			}
		}
		return true
	})
	took := time.Since(start)
	landed := 0
	for _, k := range keys {
		fc, _ := ba.fake.Conversation(testSite, k.SessionID)
		if fc.Data["enum"] == "chatbot_paused:human" && fc.State == "pending" {
			landed++
		}
	}
	calls := len(ba.fake.Calls()) - calls0
	tab.add("journal under a Crisp 503 burst",
		fmt.Sprintf("%d of %d handovers fully written in %s (%.0f handovers/s); %d REST calls (%.1f per handover, failures included)",
			landed, convs, benchMS(took), float64(convs)/took.Seconds(), calls, float64(calls)/float64(convs)),
		"every write lands, once", fmt.Sprintf("the first %d meta and %d state PATCHes answer 503", 2*convs, convs))
}
