package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/signals"
)

// The load benchmark: the real product (store on disk, Crisp client, RTM and hooks, bridge, web)
// against the fake Crisp and the fake model on loopback, driven by many concurrent visitors. Run it
// with
//
//	go test -run '^$' -bench . -benchtime 1x ./cmd/signalbridge/ ./bridge/
//
// It prints one table of figures. Sizes and durations come from environment variables (see benchEnv).

// benchEnv is the benchmark's size, read from the environment.
type benchEnv struct {
	convs        int           // SB_BENCH_CONVS: concurrent conversations of the latency phase (1000)
	turns        int           // SB_BENCH_TURNS: visitor messages per conversation in the latency phase (3)
	think        time.Duration // SB_BENCH_THINK: mean visitor think time between messages (2s)
	signals      int           // SB_BENCH_SIGNALS: signal events per signal phase (20000)
	signalConvs  int           // SB_BENCH_SIGNAL_CONVS: conversations the signals go to (1000)
	replyConvs   int           // SB_BENCH_REPLY_CONVS: 6-turn conversations of the reply phase (200)
	modelLatency time.Duration // SB_BENCH_MODEL_LATENCY: fake model latency in the reply phase (0)
	typingDelay  time.Duration // SB_BENCH_TYPING_LATENCY: model latency of the typing phase (1s)
	memConvs     int           // SB_BENCH_MEM_CONVS: stored conversations for the memory figure (100000)
	startupConvs int           // SB_BENCH_STARTUP_CONVS: stored conversations for start-up (100000; the figure of docs/figures.md uses 1000000)
}

func readBenchEnv(tb testing.TB) benchEnv {
	tb.Helper()
	num := func(name string, def int) int {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n <= 0 {
			tb.Fatalf("%s=%q: want a positive integer", name, v)
		}
		return n
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := os.Getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			tb.Fatalf("%s=%q: want a duration such as 500ms", name, v)
		}
		return d
	}
	return benchEnv{
		convs: num("SB_BENCH_CONVS", 1000), turns: num("SB_BENCH_TURNS", 3), think: dur("SB_BENCH_THINK", 2*time.Second),
		signals: num("SB_BENCH_SIGNALS", 20000), signalConvs: num("SB_BENCH_SIGNAL_CONVS", 1000),
		replyConvs: num("SB_BENCH_REPLY_CONVS", 200), modelLatency: dur("SB_BENCH_MODEL_LATENCY", 0),
		typingDelay: dur("SB_BENCH_TYPING_LATENCY", time.Second),
		memConvs:    num("SB_BENCH_MEM_CONVS", 100_000), startupConvs: num("SB_BENCH_STARTUP_CONVS", 100_000),
	}
}

// benchTable collects the figures and prints them as one aligned table.
type benchTable struct {
	mu   sync.Mutex
	rows [][4]string // figure, measured, target, how
}

func (t *benchTable) add(figure, measured, target, how string) {
	t.mu.Lock()
	t.rows = append(t.rows, [4]string{figure, measured, target, how})
	t.mu.Unlock()
	fmt.Printf("  %s: %s (%s)\n", figure, measured, how)
}

func (t *benchTable) print(w io.Writer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "signalbridge load benchmark")
	fl := benchFloor()
	fmt.Fprintln(w, fl.String())
	fmt.Fprintln(w, "latencies: \"= Nx\" is the multiple of the bbolt commit floor at the same percentile (max: of its p99)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tmeasured\ttarget\thow")
	fmt.Fprintln(tw, "------\t--------\t------\t---")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// benchLogHandler drops records below warn and prints the first few warnings and errors, counting
// the rest, so a benchmark under load neither floods the output nor hides trouble.
type benchLogHandler struct{ n *atomic.Int64 }

func (h benchLogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h benchLogHandler) Handle(_ context.Context, r slog.Record) error {
	if h.n.Add(1) <= 5 {
		var sb strings.Builder
		r.Attrs(func(a slog.Attr) bool { sb.WriteString(" " + a.String()); return true })
		fmt.Fprintf(os.Stderr, "bench log: %s %s%s\n", r.Level, r.Message, sb.String())
	}
	return nil
}
func (h benchLogHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h benchLogHandler) WithGroup(string) slog.Handler      { return h }

// benchApp is the product and the fakes of one phase.
type benchApp struct {
	fake *crisptest.Server
	app  *app
	logs *atomic.Int64
}

type benchOptions struct {
	events    string
	startMode string
	completer assistant.Completer
	hooks     crisptest.HookFaults
	// guards keeps what run has by default: the daily Crisp quota and the per-conversation limits.
	// Off, the bench measures the pipeline without throttling it; edgeLimitsOff then turns only the
	// signal edge limit off (to show what the quota's classes do alone).
	guards, edgeLimitsOff bool
	burst                 *BurstConfig // one answer per burst (bench_burst_test.go)
}

// openBench starts the fake Crisp and the product on a bbolt file in b.TempDir(); both are closed
// when the (sub-)benchmark ends.
func openBench(b *testing.B, o benchOptions) *benchApp {
	b.Helper()
	secret := "914a657d8cc2efbc20593f1806f9bde2"
	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		HookSecret: secret, HookRetryDelay: 5 * time.Millisecond, EventLog: 500_000, // short retry delay: hook delivery takes seconds, not a minute
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fake.Close() })
	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = filepath.Join(b.TempDir(), "signalbridge.db")
	cfg.AdminToken = "admin-secret-token"
	cfg.Crisp = CrispConfig{Identifier: "test-ident", Key: "test-key", Tier: "plugin", APIURL: fake.RESTURL(),
		RTMURL: fake.RTMURL(), Events: o.events, EIO: 4, HooksSecret: secret, HookMaxAge: time.Minute,
		PluginURN: testURN, Timeout: 10 * time.Second, BotNickname: "Assistant"} // no daily quota: measure, don't throttle
	site := WebsiteConfig{StartMode: o.startMode, Language: "en", Model: "gpt-4o-mini", Burst: o.burst,
		// No per-conversation limits either: the figures are the pipeline's, not the guards'.
		Limits: LimitsConfig{SignalEdges: -1, Answers: -1}, Budgets: BudgetsConfig{ConversationAnswers: -1}}
	if o.guards {
		cfg.Crisp.DailyQuota = defaultConfig().Crisp.DailyQuota
		site = WebsiteConfig{StartMode: o.startMode, Language: "en", Model: "gpt-4o-mini", Burst: o.burst}
		if o.edgeLimitsOff {
			site.Limits.SignalEdges = -1
		}
	}
	cfg.Websites = map[string]WebsiteConfig{"default": site}
	cfg.AllowUnknown = true
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	logs := &atomic.Int64{}
	a, err := openApp(cfg, slog.New(benchLogHandler{logs}), appOptions{completer: o.completer, kbs: map[string]*assistant.KnowledgeBase{
		"default": assistant.NewKnowledgeBase(demoKBFiles(), assistant.WithBaseURL("https://help.acme.example/"))}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	if o.events != "rtm" {
		fake.SetHookURL(a.web.URL() + "/webhooks/crisp")
		fake.SetHookFaults(o.hooks)
	}
	if a.rtm != nil {
		benchWait(b, "rtm connected", 10*time.Second, func() bool { return a.rtm.Connected() && fake.RTMConnections() >= 1 })
	}
	return &benchApp{fake: fake, app: a, logs: logs}
}

// benchCond polls cond every 2 ms until it holds or timeout passes.
func benchCond(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
	return nil
}

// benchWait is benchCond for the benchmark's own goroutine.
func benchWait(b *testing.B, what string, timeout time.Duration, cond func() bool) {
	b.Helper()
	if err := benchCond(what, timeout, cond); err != nil {
		b.Fatal(err)
	}
}

func (ba *benchApp) load(session string) (bridge.Conversation, bool) {
	c, err := ba.app.store.Load(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: session})
	return c, err == nil
}

// answerWatch turns the fake's event stream into one notification per answer we post (a text or
// picker message with our origin), per session, stamped with the time it was seen.
type answerWatch struct {
	mu    sync.Mutex
	chans map[string]chan time.Time
	stop  func()
	done  chan struct{}
}

func watchAnswers(fake *crisptest.Server) *answerWatch {
	evs, stop := fake.Subscribe()
	w := &answerWatch{chans: map[string]chan time.Time{}, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ev := range evs {
			if ev.Name != bridge.EventMessageReceived {
				continue
			}
			var m struct {
				Type   string `json:"type"`
				Origin string `json:"origin"`
			}
			if json.Unmarshal(ev.Data, &m) != nil || m.Origin != testURN || (m.Type != "text" && m.Type != "picker") {
				continue
			}
			now := time.Now()
			select {
			case w.ch(ev.SessionID) <- now:
			default: // nobody reads: an unexpected extra answer, counted from the snapshot later
			}
		}
	}()
	return w
}

func (w *answerWatch) ch(session string) chan time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.chans[session]
	if c == nil {
		c = make(chan time.Time, 64)
		w.chans[session] = c
	}
	return c
}

func (w *answerWatch) close() { w.stop(); <-w.done }

// next waits for the session's next answer.
func (w *answerWatch) next(session string, timeout time.Duration) (time.Time, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case at := <-w.ch(session):
		return at, nil
	case <-t.C:
		return time.Time{}, fmt.Errorf("%s: no answer within %s", session, timeout)
	}
}

func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func benchMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}

// BenchmarkLoad runs every phase once and prints the table of figures.
func BenchmarkLoad(b *testing.B) {
	env := readBenchEnv(b)
	benchFloor() // measured first, on an idle machine
	tab := &benchTable{}
	b.Run("signals-rtm", func(b *testing.B) { benchSignals(b, env, tab) })
	b.Run("latency", func(b *testing.B) { benchLatency(b, env, tab) })
	b.Run("replies", func(b *testing.B) { benchReplies(b, env, tab) })
	b.Run("typing", func(b *testing.B) { benchTyping(b, env, tab) })
	b.Run("burst", func(b *testing.B) { benchBurst(b, env, tab) })
	b.Run("memory", func(b *testing.B) { benchMemory(b, env, tab) })
	b.Run("startup", func(b *testing.B) { benchStartup(b, env, tab) })
	tab.print(os.Stdout)
}

// benchSignals: visitors flip session data (start/pause, nonce form so every write is an edge the
// fake delivers) over the real RTM socket; the clock runs from the first write until the store
// holds every conversation's last value.
func benchSignals(b *testing.B, env benchEnv, tab *benchTable) {
	for _, kind := range []string{"flip", "start"} {
		ba := openBench(b, benchOptions{events: "rtm", startMode: "wait_for_signal"})
		visitors := make([]*crisptest.Visitor, env.signalConvs)
		for i := range visitors {
			visitors[i] = ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			if err := visitors[i].SetData(map[string]any{"plan": "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		benchWait(b, "conversations created", time.Minute, func() bool {
			_, ok := ba.load(visitors[len(visitors)-1].SessionID())
			return ok
		})
		calls0 := len(ba.fake.Calls())
		// Signals go out in batches of signalBatch, each made durable before the next: the fake, like
		// Crisp, drops an RTM socket whose send queue (4096 frames) is full, and events sent while it
		// is down are lost, so an unbounded burst would measure the drop rather than the bridge.
		const signalBatch = 1000
		final := make([]string, len(visitors))
		count := make([]int, len(visitors))
		total := env.signals
		var emitted time.Duration
		start := time.Now()
		for sent, round := 0, 0; sent < total; round++ {
			batchStart := time.Now()
			var batch []int
			for i := 0; i < len(visitors) && sent < total && len(batch) < signalBatch; i++ {
				value := "start_chatbot#" + strconv.Itoa(round)
				if kind == "flip" && count[i]%2 == 1 {
					value = "pause_chatbot#" + strconv.Itoa(round)
				}
				if err := visitors[i].SetData(map[string]any{"enum": value}); err != nil {
					b.Fatal(err)
				}
				final[i] = value
				count[i]++
				sent++
				batch = append(batch, i)
			}
			emitted += time.Since(batchStart)
			benchWait(b, "every signal durable", 2*time.Minute, func() bool {
				batch = slices.DeleteFunc(batch, func(i int) bool {
					c, ok := ba.load(visitors[i].SessionID())
					if kind == "flip" { // every flip is a transition; a pause's write-back echo replaces the value
						return ok && c.Transitions >= count[i]
					}
					return ok && c.Last["enum"] == final[i]
				})
				return len(batch) == 0
			})
		}
		took := time.Since(start)
		calls := len(ba.fake.Calls()) - calls0
		what := "start/pause flips; each pause writes back (GET+PATCH meta)"
		if kind == "start" {
			what = "start_chatbot#n edges, no Crisp call"
		}
		tab.add("signal events/s, real RTM path -> bbolt ("+kind+")", fmt.Sprintf("%.0f events/s", float64(total)/took.Seconds()), ">= 20,000",
			fmt.Sprintf("%d events, %d convs, batches of %d made durable in turn, %s; fake emitted them in %s (%.0f/s); %d REST calls", total, len(visitors), signalBatch, what,
				emitted.Round(time.Millisecond), float64(total)/emitted.Seconds(), calls))
		if n := ba.logs.Load(); n > 0 {
			tab.add("warnings logged ("+kind+")", strconv.FormatInt(n, 10), "0", "see stderr")
		}
		ba.app.Close(context.Background())
		ba.fake.Close()
	}
}

// benchLatency: env.convs conversations at once, each sending env.turns messages with a random think
// time, answered by the offline assistant (no model). For each message: from the visitor's send to
// the first REST call the fake recorded for that conversation after it.
func benchLatency(b *testing.B, env benchEnv, tab *benchTable) {
	ba := openBench(b, benchOptions{events: "rtm", startMode: "auto"})
	w := watchAnswers(ba.fake)
	defer w.close()
	type sent struct {
		session       string
		before, after time.Time
	}
	var mu sync.Mutex
	var msgs []sent
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for range env.convs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			s := v.SessionID()
			w.ch(s)
			time.Sleep(time.Duration(rand.Int64N(int64(env.think) + 1))) // visitors arrive spread out
			for k := range env.turns {
				if k > 0 {
					time.Sleep(env.think/2 + time.Duration(rand.Int64N(int64(env.think)+1))) // think time
				}
				before := time.Now()
				if _, err := v.Send(drillQuestions[k%len(drillQuestions)]); err != nil {
					b.Error(err)
					return
				}
				after := time.Now()
				mu.Lock()
				msgs = append(msgs, sent{s, before, after})
				mu.Unlock()
				if _, err := w.next(s, time.Minute); err != nil {
					failed.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d conversations got no answer", n)
	}
	bySession := map[string][]time.Time{}
	var gets, all int
	for _, c := range ba.fake.Calls() {
		i := strings.Index(c.Path, "/conversation/")
		if i < 0 {
			continue
		}
		s, _, _ := strings.Cut(c.Path[i+len("/conversation/"):], "/")
		bySession[s] = append(bySession[s], c.At)
		all++
		if c.Method == http.MethodGet {
			gets++
		}
	}
	for _, ts := range bySession {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	var fromCall, fromReturn []time.Duration
	for _, m := range msgs {
		ts := bySession[m.session]
		i, _ := slices.BinarySearchFunc(ts, m.before, func(a, b time.Time) int { return a.Compare(b) })
		if i == len(ts) {
			b.Fatalf("%s: no Crisp call after a message", m.session)
		}
		fromCall = append(fromCall, ts[i].Sub(m.before))
		fromReturn = append(fromReturn, max(0, ts[i].Sub(m.after)))
	}
	slices.Sort(fromCall)
	slices.Sort(fromReturn)
	fl := benchFloor()
	tab.add("bridge-added latency, event -> first Crisp call (paced visitors)", fl.latencies(fromReturn),
		"p99 <= 5 ms (the open-loop figures are the target's)",
		fmt.Sprintf("%d convs x %d msgs over RTM, think %s, offline assistant, fsync on; from the fake's publish (Send returned) to Call.At; from Send called: p50 %s p99 %s",
			env.convs, env.turns, env.think, fl.times(benchPercentile(fromCall, 0.5), 0.5), fl.times(benchPercentile(fromCall, 0.99), 0.99)))
	tab.add("replies/s (offline, paced visitors)", fmt.Sprintf("%.0f replies/s", float64(len(msgs))/took.Seconds()), "-",
		fmt.Sprintf("%d answers in %s; %d REST calls (%d GET: one meta read per new conversation)", len(msgs), took.Round(time.Millisecond), all, gets))
}

// typicalTurns is a typical 6-turn support conversation on the demo knowledge base.
var typicalTurns = []string{
	"Hi! How long does delivery take to France?",
	"And is shipping free for subscriptions?",
	"Can I pause my subscription in August while I'm on holiday?",
	"How do I skip just one delivery?",
	"Do you accept PayPal?",
	"Great, thanks, that's all!",
}

// duplicateAnswers counts, in a conversation, the answers beyond the first one following each visitor
// message (every visitor message is answered at most once).
func duplicateAnswers(c crisptest.Conversation) (answers, dups int) {
	run := -1 // answers since the last visitor message; -1 before any
	for _, m := range c.Messages {
		switch {
		case m.From == "user":
			run = 0
		case m.Origin == testURN && (m.Type == "text" || m.Type == "picker"):
			answers++
			if run >= 1 {
				dups++
			}
			if run >= 0 {
				run++
			}
		}
	}
	return answers, dups
}

// steadyCalls counts the REST calls of a session recorded in (from, to].
func steadyCalls(calls []crisptest.Call, session string, from, to time.Time) (n, gets int) {
	for _, c := range calls {
		if strings.Contains(c.Path, "/conversation/"+session+"/") && c.At.After(from) && !c.At.After(to) {
			n++
			if c.Method == http.MethodGet {
				gets++
			}
		}
	}
	return n, gets
}

func benchModel(b *testing.B, latency time.Duration) assistant.Completer {
	srv := openaitest.New()
	if err := srv.Start(""); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	srv.SetLatency(latency)
	oc, err := openai.New(openai.Config{BaseURL: srv.URL(), APIKey: "sk-bench", Model: "gpt-4o-mini",
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}})
	if err != nil {
		b.Fatal(err)
	}
	return oc
}

// benchReplies: env.replyConvs visitors each hold the typical 6-turn conversation with the fake
// model, every event delivered over RTM and hooks, hooks duplicated, failed once and reordered;
// then a pause signal, an unanswered message, a start signal, an operator reply (which pauses the
// assistant), a resolution (which hands it back) and one more question.
func benchReplies(b *testing.B, env benchEnv, tab *benchTable) {
	ba := openBench(b, benchOptions{events: "both", startMode: "auto", completer: benchModel(b, env.modelLatency),
		hooks: crisptest.HookFaults{Duplicate: true, FailFirstAttempt: true, ReorderWindow: 8}})
	w := watchAnswers(ba.fake)
	defer w.close()
	type result struct {
		session        string
		first, fifth   time.Time
		sixth          time.Time
		tokens         int64
		cost           float64
		err            error
		answeredTurns  int
		visitorUnanswd int
	}
	results := make([]result, env.replyConvs)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			s := v.SessionID()
			r.session = s
			w.ch(s)
			ask := func(text string) (time.Time, error) {
				if _, err := v.Send(text); err != nil {
					return time.Time{}, err
				}
				r.answeredTurns++
				return w.next(s, 15*time.Second)
			}
			for k, text := range typicalTurns {
				at, err := ask(text)
				if err != nil {
					r.err = err
					return
				}
				switch k {
				case 0:
					r.first = at
				case 4:
					r.fifth = at
				case 5:
					r.sixth = at
				}
			}
			var c bridge.Conversation
			if r.err = benchCond("6 replies stored", 15*time.Second, func() bool {
				var ok bool
				c, ok = ba.load(s)
				return ok && c.Replies >= len(typicalTurns)
			}); r.err != nil {
				return
			}
			r.tokens, r.cost = c.TokensUsed, c.CostUSD
			// The last turn ("thanks, that's all") resolves the conversation: its resolution comes back
			// as an event that returns the conversation to the bot. Wait for it, or it would undo the
			// pause below.
			if r.err = benchCond("resolved by the assistant", 15*time.Second, func() bool {
				c, _ := ba.load(s)
				return c.CrispState == "resolved"
			}); r.err != nil {
				return
			}
			// Signals and operators: pause, an unanswered message, an operator reply, resolution.
			if err := v.SetData(map[string]any{"enum": "pause_chatbot#" + strconv.Itoa(i)}); err != nil {
				r.err = err
				return
			}
			if r.err = benchCond("paused", 15*time.Second, func() bool { c, _ := ba.load(s); return c.Mode == signals.ModePaused }); r.err != nil {
				return
			}
			if _, err := v.Send("Hello? Anyone there?"); err != nil {
				r.err = err
				return
			}
			r.visitorUnanswd++
			if err := v.SetData(map[string]any{"enum": "start_chatbot#" + strconv.Itoa(i)}); err != nil {
				r.err = err
				return
			}
			if r.err = benchCond("resumed", 15*time.Second, func() bool { c, _ := ba.load(s); return c.Mode == signals.ModeActive }); r.err != nil {
				return
			}
			if _, err := ba.fake.OperatorReply(testSite, s, testOperator, "Hi, Alex here, looking into it."); err != nil {
				r.err = err
				return
			}
			if r.err = benchCond("operator turn", 15*time.Second, func() bool { c, _ := ba.load(s); return c.Reason == signals.ReasonOperator }); r.err != nil {
				return
			}
			if err := ba.fake.Resolve(testSite, s); err != nil {
				r.err = err
				return
			}
			if r.err = benchCond("back to the bot", 15*time.Second, func() bool { c, _ := ba.load(s); return c.Mode == signals.ModeActive }); r.err != nil {
				return
			}
			if _, err := ask("One more thing: what does the warranty cover?"); err != nil {
				r.err = err
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	broken, firstErr := 0, ""
	for _, r := range results {
		if r.err != nil {
			if broken == 0 {
				firstErr = r.err.Error()
			}
			broken++
		}
	}
	var sixTurns time.Duration // until the last conversation's sixth answer
	for _, r := range results {
		sixTurns = max(sixTurns, r.sixth.Sub(start))
	}
	// Every duplicate copy is delivered, then one more answered message per conversation proves the
	// bridge processed everything delivered before it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := ba.fake.WaitHooksIdle(ctx); err != nil {
		b.Fatal(err)
	}
	// All the last questions at once, then their answers (one by one they cost ~0.4 s each).
	for _, r := range results {
		v := ba.fake.Visitor(testSite, r.session, crisptest.VisitorInfo{})
		if _, err := v.Send("Last question: do you ship to Portugal?"); err != nil {
			b.Fatal(err)
		}
	}
	lost, firstLost := 0, ""
	for _, r := range results {
		if _, err := w.next(r.session, 15*time.Second); err != nil {
			lost++
			if firstLost == "" {
				c, _ := ba.fake.Conversation(testSite, r.session)
				var sb strings.Builder
				for _, m := range c.Messages {
					fmt.Fprintf(&sb, " | %s %s %.40q", m.From, m.Type, m.Text())
				}
				st, _ := ba.load(r.session)
				firstLost = fmt.Sprintf("%v; stored mode %s reason %s; messages%s", err, st.Mode, st.Reason, sb.String())
			}
		}
	}
	if err := ba.fake.WaitHooksIdle(ctx); err != nil {
		b.Fatal(err)
	}
	calls := ba.fake.Calls()
	var dups, answers, steady, steadyGets int
	var tokens int64
	var cost float64
	for _, r := range results {
		c, _ := ba.fake.Conversation(testSite, r.session)
		a, d := duplicateAnswers(c)
		answers += a
		dups += d
		n, g := steadyCalls(calls, r.session, r.first, r.fifth)
		steady += n
		steadyGets += g
		tokens += r.tokens
		cost += r.cost
	}
	n := len(results)
	st := ba.fake.HookStats()
	tab.add("replies/s (model, saturated)", fmt.Sprintf("%.0f replies/s", float64(6*n)/sixTurns.Seconds()), "-",
		fmt.Sprintf("%d convs x 6 turns at once, no think time, model latency %s, events over RTM + hooks (dup, retried, reordered); whole flow with signals and operators took %s",
			n, env.modelLatency, took.Round(time.Millisecond)))
	tab.add("Crisp REST calls per reply, steady state", fmt.Sprintf("%.2f (%.2f GET)", float64(steady)/float64(4*n), float64(steadyGets)/float64(4*n)),
		"<= 2, no reads", "turns 2-5 of each conversation; answer faster than the 400 ms typing delay")
	tab.add("duplicate replies", fmt.Sprintf("%d of %d answers", dups, answers), "0",
		fmt.Sprintf("every event on RTM and hooks, hooks duplicated + first attempt failed + reordered by 8: %d hook requests for %d events", st.Attempts, st.Queued))
	tab.add("model tokens per 6-turn conversation", fmt.Sprintf("%d", tokens/int64(n)), "-", "fake model usage (4 chars/token), stored per conversation")
	tab.add("model cost per 6-turn conversation", fmt.Sprintf("$%.5f", cost/float64(n)), "<= $0.01", "gpt-4o-mini $0.15/$0.60 per 1M tokens")
	tab.add("conversations whose flow broke / final question unanswered", fmt.Sprintf("%d / %d of %d", broken, lost, n), "0",
		"a wait timed out (15 s) or an answer never came; "+orNone(firstErr)+"; "+orNone(firstLost))
	if l := ba.logs.Load(); l > 0 {
		tab.add("warnings logged (replies)", strconv.FormatInt(l, 10), "0", "see stderr")
	}
}

// benchTyping: REST calls per reply when the model is slower than the typing delay (the typing
// indicator is started and stopped around each answer).
func benchTyping(b *testing.B, env benchEnv, tab *benchTable) {
	ba := openBench(b, benchOptions{events: "rtm", startMode: "auto", completer: benchModel(b, env.typingDelay)})
	w := watchAnswers(ba.fake)
	defer w.close()
	const convs = 20
	type span struct {
		session     string
		first, last time.Time
	}
	spans := make([]span, convs)
	var wg sync.WaitGroup
	for i := range spans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			s := v.SessionID()
			spans[i].session = s
			w.ch(s)
			for k := range 3 {
				if _, err := v.Send(typicalTurns[k]); err != nil {
					b.Error(err)
					return
				}
				at, err := w.next(s, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if k == 0 {
					spans[i].first = at
				}
				spans[i].last = at
			}
		}()
	}
	wg.Wait()
	calls := ba.fake.Calls()
	var n, gets int
	for _, sp := range spans {
		c, g := steadyCalls(calls, sp.session, sp.first, sp.last)
		n += c
		gets += g
	}
	tab.add("Crisp REST calls per reply, slow model", fmt.Sprintf("%.2f (%.2f GET)", float64(n)/float64(2*convs), float64(gets)/float64(2*convs)),
		"<= 2", fmt.Sprintf("model latency %s > typing delay 400 ms: compose start + stop + answer", env.typingDelay))
}

// --- memory and start-up: measured in a fresh child process on a pre-filled file ---

// populate writes n conversations (a signal value, a 4-turn transcript, one audit entry each) through
// the store's own Commit, with fsync off and big group commits, from several goroutines.
func populate(tb testing.TB, path string, n int) time.Duration {
	tb.Helper()
	start := time.Now()
	st, err := bolt.Open(path, bolt.Options{NoSync: true, PurgeInterval: -1, MaxBatchSize: 20_000})
	if err != nil {
		tb.Fatal(err)
	}
	modes := []signals.Mode{signals.ModeActive, signals.ModePaused, signals.ModeHuman, signals.ModeWaiting}
	const workers = 64
	var wg sync.WaitGroup
	ctx := context.Background()
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += workers {
				at := int64(1_700_000_000_000 + i)
				c := bridge.Conversation{
					Key:      bridge.Key{WebsiteID: testSite, SessionID: fmt.Sprintf("session_%09d", i)},
					State:    signals.State{Mode: modes[i%len(modes)], Reason: signals.ReasonSignal, Since: at, Last: map[string]string{"enum": "start_chatbot"}, Transitions: 1},
					Language: "en", MetaLoaded: true, Replies: 2, CreatedAt: at, UpdatedAt: at,
					Transcript: []bridge.Turn{
						{Role: "visitor", Text: "How long does shipping take?", At: at},
						{Role: "assistant", Text: "Orders are dispatched the same day; delivery takes 1 to 2 working days.", At: at},
						{Role: "visitor", Text: "And returns?", At: at},
						{Role: "assistant", Text: "Open the order in your account and choose Return items.", At: at},
					},
				}
				audit := []bridge.AuditEntry{{At: at, Source: signals.SourceData, From: signals.ModeWaiting, To: c.Mode, Reason: signals.ReasonSignal}}
				if err := st.Commit(ctx, &c, audit, ""); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

// childResult is what TestBenchChild prints for the parent.
type childResult struct {
	OpenMS       float64 `json:"open_ms"`        // bolt.Open + bridge.Open
	FirstEventMS float64 `json:"first_event_ms"` // from the start to the first event durable
	RSSOpenMB    float64 `json:"rss_open_mb"`
	RSSMB        float64 `json:"rss_mb"`
	AnonMB       float64 `json:"anon_mb"` // RssAnon: heap, stacks, runtime
	FileMB       float64 `json:"file_mb"` // RssFile: pages of the mapped bbolt file (and the binary)
	HWMMB        float64 `json:"hwm_mb"`
	HeapMB       float64 `json:"heap_mb"`
	Events       int     `json:"events"`
	Err          string  `json:"err,omitempty"`
}

func runChild(b *testing.B, mode, path string, n int) childResult {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "SB_BENCH_CHILD="+mode, "SB_BENCH_CHILD_DB="+path, "SB_BENCH_CHILD_N="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	var res childResult
	for _, line := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(strings.TrimSpace(line), "SBCHILD "); ok {
			if err := json.Unmarshal([]byte(j), &res); err != nil {
				b.Fatal(err)
			}
			if res.Err != "" {
				b.Fatalf("child %s: %s", mode, res.Err)
			}
			return res
		}
	}
	b.Fatalf("child %s printed no result (%v):\n%s", mode, err, out)
	return res
}

func benchMemory(b *testing.B, env benchEnv, tab *benchTable) {
	path := filepath.Join(b.TempDir(), "mem.db")
	fill := populate(b, path, env.memConvs)
	fi, _ := os.Stat(path)
	r := runChild(b, "memory", path, env.memConvs)
	tab.add(fmt.Sprintf("resident memory, %d stored conversations", env.memConvs), fmt.Sprintf("%.1f MB RSS", r.RSSMB), "<= 64 MB",
		fmt.Sprintf("fresh process: store + bridge + offline assistant opened (RSS %.1f MB), then %d signal events on random stored conversations: RssAnon %.1f MB (Go heap in use %.1f MB) + RssFile %.1f MB (mapped bbolt pages, reclaimable page cache); peak %.1f MB; file %.0f MB (filled in %s)",
			r.RSSOpenMB, r.Events, r.AnonMB, r.HeapMB, r.FileMB, r.HWMMB, float64(fi.Size())/1e6, fill.Round(time.Millisecond)))
}

func benchStartup(b *testing.B, env benchEnv, tab *benchTable) {
	path := filepath.Join(b.TempDir(), "startup.db")
	fill := populate(b, path, env.startupConvs)
	fi, _ := os.Stat(path)
	r := runChild(b, "startup", path, env.startupConvs)
	tab.add(fmt.Sprintf("start-up, %d stored conversations", env.startupConvs), fmt.Sprintf("%.1f ms", r.OpenMS), "<= 1 s",
		fmt.Sprintf("fresh process: bolt.Open + bridge.Open; first event durable after %.1f ms; file %.0f MB in the page cache (filled in %s)",
			r.FirstEventMS, float64(fi.Size())/1e6, fill.Round(time.Millisecond)))
}

// readStatus returns VmRSS and VmHWM of this process in MB.
func readStatus() (rss, hwm float64) {
	st := procStatus()
	return st["VmRSS:"], st["VmHWM:"]
}

// procStatus returns the kB fields of /proc/self/status in MB, by field name with its colon.
func procStatus() map[string]float64 {
	out := map[string]float64{}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb / 1024
		}
	}
	return out
}

// TestBenchChild is the child process of the memory and start-up figures; it does nothing (skips)
// unless SB_BENCH_CHILD names a mode. It prints one "SBCHILD {json}" line.
func TestBenchChild(t *testing.T) {
	mode := os.Getenv("SB_BENCH_CHILD")
	if mode == "" {
		t.Skip("child process of BenchmarkLoad")
	}
	res, err := benchChild(mode, os.Getenv("SB_BENCH_CHILD_DB"), os.Getenv("SB_BENCH_CHILD_N"))
	if err != nil {
		res.Err = err.Error()
	}
	out, _ := json.Marshal(res)
	fmt.Printf("SBCHILD %s\n", out)
}

// childStore counts durable commits.
type childStore struct {
	bridge.Store
	n atomic.Int64
}

func (s *childStore) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, id string) error {
	err := s.Store.Commit(ctx, c, audit, id)
	if err == nil {
		s.n.Add(1)
	}
	return err
}

// benchPlatform answers every Platform call at once (the child measures the store and the bridge).
type benchPlatform struct{}

func (benchPlatform) Send(context.Context, string, string, bridge.OutMessage) (int64, error) {
	return 1, nil
}
func (benchPlatform) UpdateMeta(context.Context, string, string, bridge.MetaUpdate) error { return nil }
func (benchPlatform) Meta(context.Context, string, string) (bridge.Meta, error) {
	return bridge.Meta{}, nil
}
func (benchPlatform) SetState(context.Context, string, string, string) error { return nil }
func (benchPlatform) Compose(context.Context, string, string, bool) error    { return nil }
func (benchPlatform) Availability(context.Context, string) (bridge.Availability, error) {
	return bridge.Availability{Online: true}, nil
}

func benchChild(mode, path, count string) (childResult, error) {
	var res childResult
	n, err := strconv.Atoi(count)
	if err != nil || n <= 0 || path == "" {
		return res, fmt.Errorf("bad child arguments %q %q", path, count)
	}
	start := time.Now()
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return res, err
	}
	defer st.Close()
	store := &childStore{Store: st}
	asst, err := assistant.New(assistant.Config{}, nil, assistant.NewKnowledgeBase(demoKBFiles()))
	if err != nil {
		return res, err
	}
	sc := signals.DefaultConfig()
	site := &bridge.Website{ID: testSite, Signals: sc, Language: "en"}
	br, err := bridge.Open(bridge.Options{Store: store, Platform: benchPlatform{}, Assistant: asst, PluginURN: testURN,
		Websites: func(string) *bridge.Website { return site }})
	if err != nil {
		return res, err
	}
	defer br.Close()
	res.OpenMS = float64(time.Since(start).Microseconds()) / 1000
	ctx := context.Background()
	send := func(i, seq int) error {
		return br.HandleEvent(ctx, bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: testSite,
			SessionID: fmt.Sprintf("session_%09d", i), Timestamp: time.Now().UnixMilli(),
			Data: map[string]string{"enum": "pause_chatbot#" + strconv.Itoa(seq)}})
	}
	if err := send(n/2, 0); err != nil {
		return res, err
	}
	if err := benchCond("first event", time.Minute, func() bool { return store.n.Load() >= 1 }); err != nil {
		return res, err
	}
	res.FirstEventMS = float64(time.Since(start).Microseconds()) / 1000
	runtime.GC()
	res.RSSOpenMB, _ = readStatus()
	if mode == "memory" {
		res.Events = min(n, 20_000)
		for k := range res.Events {
			if err := send(rand.IntN(n), k+1); err != nil {
				return res, err
			}
		}
		if err := benchCond("events durable", 5*time.Minute, func() bool { return store.n.Load() >= int64(res.Events)+1 }); err != nil {
			return res, err
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.RSSMB, res.HWMMB = readStatus()
	status := procStatus()
	res.AnonMB, res.FileMB = status["RssAnon:"], status["RssFile:"]
	res.HeapMB = float64(ms.HeapInuse) / (1 << 20)
	return res, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
