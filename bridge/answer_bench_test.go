package bridge_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// commitCounter is the bbolt store counting its commits (both forms).
type commitCounter struct {
	*bolt.Store
	n atomic.Int64
}

func (s *commitCounter) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, id string) error {
	s.n.Add(1)
	return s.Store.Commit(ctx, c, audit, id)
}

func (s *commitCounter) CommitRemoving(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, id, inboxID string) error {
	s.n.Add(1)
	return s.Store.CommitRemoving(ctx, c, audit, id, inboxID)
}

// answerPlatform answers every call at once and hands each posted answer's conversation to posted.
type answerPlatform struct {
	nopPlatform
	posted chan string
}

func (p *answerPlatform) Send(ctx context.Context, w, s string, m bridge.OutMessage) (int64, error) {
	p.posted <- s
	return p.nopPlatform.Send(ctx, w, s, m)
}

// BenchmarkAnswerCommits prints the durable commits each answered visitor message costs, and
// answers per second, in a closed loop: SB_BENCH_CONVS conversations (default 256) each send their
// next message once their previous one was answered, SB_BENCH_ANSWERS answers in all (default
// 5000), into bbolt with fsync, the echo assistant, a Platform that answers at once.
func BenchmarkAnswerCommits(b *testing.B) {
	convs := envInt(b, "SB_BENCH_CONVS", 256)
	answers := envInt(b, "SB_BENCH_ANSWERS", 5000)
	const site = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"
	website := &bridge.Website{ID: site, Signals: signals.DefaultConfig(), Language: "en"}
	for round := 0; b.Loop(); round++ {
		b.StopTimer()
		bs, err := bolt.Open(filepath.Join(b.TempDir(), fmt.Sprintf("answers-%d.db", round)), bolt.Options{PurgeInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		st := &commitCounter{Store: bs}
		plat := &answerPlatform{posted: make(chan string, convs)}
		br, err := bridge.Open(bridge.Options{Store: st, Platform: plat, Assistant: echo{}, PluginURN: "urn:signalbridge:bench:0",
			Websites: func(string) *bridge.Website { return website }, TypingDelay: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		var fp atomic.Int64
		send := func(session string) {
			n := fp.Add(1)
			ev := bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaRTM, WebsiteID: site, SessionID: session,
				Fingerprint: n, Timestamp: time.Now().UnixMilli(),
				Message: &bridge.Message{Type: "text", From: "user", Text: "question " + strconv.FormatInt(n, 10), Origin: "chat"}}
			if err := br.HandleEvent(ctx, ev); err != nil {
				b.Error(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		for i := range convs {
			send("session_" + strconv.Itoa(i))
		}
		sent := convs
		for got := 0; got < answers; got++ {
			select {
			case s := <-plat.posted:
				if sent < answers {
					sent++
					send(s)
				}
			case <-time.After(time.Minute):
				b.Fatalf("only %d of %d answers posted in a minute", got, answers)
			}
		}
		took := time.Since(start)
		b.StopTimer()
		if err := br.Settle(ctx); err != nil {
			b.Fatal(err)
		}
		commits := st.n.Load()
		if err := br.Close(); err != nil {
			b.Fatal(err)
		}
		if err := bs.Close(); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("answers: %d over %d conversations in %s = %.0f answers/s; %.2f commits per answer (%d)\n",
			answers, convs, took.Round(time.Millisecond), float64(answers)/took.Seconds(), float64(commits)/float64(answers), commits)
		b.ReportMetric(float64(commits)/float64(answers), "commits/answer")
		b.StartTimer()
	}
}
