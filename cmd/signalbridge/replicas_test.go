package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/signals"
)

// replicaSet is n copies of the product on one real Redis, one fake Crisp, and a loopback balancer
// that hands each web hook to a random replica that is up.
type replicaSet struct {
	t     *testing.T
	fake  *crisptest.Server
	redis *redistest.Server
	cfg   Config
	mu    sync.Mutex
	apps  []*app // nil: stopped
	lb    *httptest.Server
	sent  atomic.Int64
}

func newReplicaSet(t *testing.T, n int, events string) *replicaSet {
	t.Helper()
	rs := &replicaSet{t: t, redis: redistest.Start(t)}
	secret := "914a657d8cc2efbc20593f1806f9bde2"
	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		HookSecret: secret, HookRetryDelay: 20 * time.Millisecond,
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	rs.fake = fake
	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = filepath.Join(t.TempDir(), "unused.db")
	cfg.AdminToken = "admin-secret-token"
	cfg.Redis = RedisConfig{URL: rs.redis.URL(0), Prefix: "rs:"}
	cfg.Bridge.LeaseTTL = time.Second
	cfg.Crisp = CrispConfig{Identifier: "test-ident", Key: "test-key", Tier: "plugin", APIURL: fake.RESTURL(),
		RTMURL: fake.RTMURL(), Events: events, EIO: 4, HooksSecret: secret, HookMaxAge: time.Minute,
		PluginURN: testURN, Timeout: 5 * time.Second, BotNickname: "Assistant"}
	cfg.Websites = map[string]WebsiteConfig{"default": {StartMode: "auto", Language: "en"}}
	cfg.AllowUnknown = true
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	rs.cfg = cfg
	rs.apps = make([]*app, n)
	for i := range rs.apps {
		rs.start(i)
	}
	rs.lb = httptest.NewServer(http.HandlerFunc(rs.balance))
	t.Cleanup(rs.lb.Close)
	if events != "rtm" {
		fake.SetHookURL(rs.lb.URL + "/webhooks/crisp")
	}
	return rs
}

func (rs *replicaSet) start(i int) {
	rs.t.Helper()
	a, err := openApp(rs.cfg, testLogger(rs.t).With("replica", i), appOptions{kbs: map[string]*assistant.KnowledgeBase{
		"default": assistant.NewKnowledgeBase(demoKBFiles(), assistant.WithBaseURL("https://help.nimbus.example/"))}})
	if err != nil {
		rs.t.Fatalf("open replica %d: %v", i, err)
	}
	rs.mu.Lock()
	rs.apps[i] = a
	rs.mu.Unlock()
	rs.t.Cleanup(func() { rs.stop(i) })
}

func (rs *replicaSet) stop(i int) {
	rs.mu.Lock()
	a := rs.apps[i]
	rs.apps[i] = nil
	rs.mu.Unlock()
	if a != nil {
		a.Close(context.Background())
	}
}

// balance forwards a hook to a random live replica, as a load balancer would.
func (rs *replicaSet) balance(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	var up []*app
	for _, a := range rs.apps {
		if a != nil {
			up = append(up, a)
		}
	}
	rs.mu.Unlock()
	if len(up) == 0 {
		http.Error(w, "no replica", http.StatusBadGateway)
		return
	}
	a := up[rand.N(len(up))]
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, a.web.URL()+r.URL.RequestURI(), r.Body)
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	rs.sent.Add(1)
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
}

func (rs *replicaSet) answers(session string) int {
	c, _ := rs.fake.Conversation(testSite, session)
	n := 0
	for _, m := range c.Messages {
		if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
			n++
		}
	}
	return n
}

func (rs *replicaSet) leaders() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for _, a := range rs.apps {
		if a != nil && a.rtmLeader.Load() {
			n++
		}
	}
	return n
}

// Three replicas on one Redis, events over RTM (to the replica holding the socket) and over hooks
// (to any replica, duplicated and retried): every visitor message is answered exactly once, every
// signal applied once; Redis restarts mid-stream; the replica holding the RTM socket stops and
// another takes the socket over; any replica reads any conversation.
func TestReplicasAnswerOnce(t *testing.T) {
	rs := newReplicaSet(t, 3, "both")
	rs.fake.SetHookFaults(crisptest.HookFaults{Duplicate: true, FailFirstAttempt: true})
	poll(t, "one replica holds the rtm socket", func() bool { return rs.leaders() == 1 && rs.fake.RTMConnections() == 1 })

	const convs, turns = 12, 3
	visitors := make([]*crisptest.Visitor, convs)
	for i := range visitors {
		visitors[i] = rs.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
	}
	ask := func(turn int) {
		var wg sync.WaitGroup
		for i, v := range visitors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mustSend(t, v, drillQuestions[(i+turn)%len(drillQuestions)])
			}()
		}
		wg.Wait()
		poll(t, fmt.Sprintf("turn %d answered everywhere", turn), func() bool {
			for _, v := range visitors {
				if rs.answers(v.SessionID()) < turn+1 {
					return false
				}
			}
			return true
		})
	}
	ask(0)
	// Redis restarts between two turns (AOF on, as recommended): nothing is lost, nothing doubled.
	rs.redis.Restart()
	ask(1)

	// The socket's replica stops: another takes the socket within a few lease times.
	leader := -1
	rs.mu.Lock()
	for i, a := range rs.apps {
		if a != nil && a.rtmLeader.Load() {
			leader = i
		}
	}
	rs.mu.Unlock()
	rs.stop(leader)
	start := time.Now()
	poll(t, "another replica holds the rtm socket", func() bool { return rs.leaders() == 1 && rs.fake.RTMConnections() == 1 })
	failover := time.Since(start)
	ask(2)

	// A pause signal from the page, over both transports: applied once, answered by none.
	v := visitors[0]
	mustSetData(t, v, map[string]any{"enum": "pause_chatbot#rs1"})
	var one *app
	rs.mu.Lock()
	for _, a := range rs.apps {
		if a != nil {
			one = a
		}
	}
	rs.mu.Unlock()
	poll(t, "paused, read from any replica", func() bool {
		c, err := one.store.Load(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: v.SessionID()})
		return err == nil && c.Mode == signals.ModePaused
	})
	for i, v := range visitors {
		if got := rs.answers(v.SessionID()); got != turns {
			t.Errorf("conversation %d: %d answers, want %d (exactly once per message)", i, got, turns)
		}
	}
	_, trail, err := one.bridge.Conversation(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: v.SessionID()}, 100)
	if err != nil {
		t.Fatal(err)
	}
	pauses := 0
	for _, e := range trail {
		if e.To == signals.ModePaused {
			pauses++
		}
	}
	if pauses != 1 {
		t.Errorf("pause applied %d times, want 1: %+v", pauses, trail)
	}
	t.Logf("replicas: %d conversations x %d turns answered once each over RTM and %d balanced hook requests; rtm failover %v",
		convs, turns, rs.sent.Load(), failover.Round(time.Millisecond))
}

// TestDrillKill9Replica: two replica processes on one real Redis, hooks balanced between them, a
// slow model. One replica is SIGKILLed while answers it started are being written: the other
// finishes its conversations (the owed answers, the events it had accepted), none is answered twice,
// and the failover time is printed.
func TestDrillKill9Replica(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	srv := redistest.Start(t)
	const secret = "drill-hook-secret"
	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		HookSecret: secret, HookRetryDelay: 20 * time.Millisecond,
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	model := openaitest.MustStart(t)
	cfgPath := filepath.Join(dir, "signalbridge.yaml")
	cfg := `log_level: warn
log_format: text
crisp:
  tier: plugin
  events: hooks
openai:
  model: gpt-4o-mini
  timeout: 1m
  embedding_model: "off"
bridge:
  lease_ttl: 1s
websites:
  allow_unknown: true
  default:
    start_mode: auto
    language: en
    model: gpt-4o-mini
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"SIGNALBRIDGE_ADDR=127.0.0.1:0", "SIGNALBRIDGE_REDIS_URL=" + srv.URL(0), "SIGNALBRIDGE_ADMIN_TOKEN=admin-secret-token",
		"CRISP_IDENTIFIER=test-ident", "CRISP_KEY=test-key", "CRISP_API_URL=" + fake.RESTURL(),
		"CRISP_RTM_URL=" + fake.RTMURL(), "CRISP_PLUGIN_URN=" + testURN, "CRISP_HOOKS_SECRET=" + secret,
		"OPENAI_API_KEY=sk-test", "OPENAI_BASE_URL=" + model.URL(),
	}
	procs := []*proc{startProc(t, bin, cfgPath, env), startProc(t, bin, cfgPath, env)}
	for _, p := range procs {
		poll(t, "readyz", func() bool { return p.get("/readyz", nil) })
	}
	var mu sync.Mutex
	alive := []bool{true, true}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		var up []*proc
		for i, p := range procs {
			if alive[i] {
				up = append(up, p)
			}
		}
		mu.Unlock()
		p := up[rand.N(len(up))]
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.url+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	t.Cleanup(lb.Close)
	fake.SetHookURL(lb.URL + "/webhooks/crisp")
	answers := func(session string) int {
		c, _ := fake.Conversation(testSite, session)
		n := 0
		for _, m := range c.Messages {
			if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
				n++
			}
		}
		return n
	}

	model.SetLatency(2 * time.Second) // answers are being written when the replica dies
	const n = 20
	visitors := make([]*crisptest.Visitor, n)
	for i := range visitors {
		visitors[i] = fake.Visitor(testSite, "", crisptest.VisitorInfo{})
		mustSend(t, visitors[i], drillQuestions[i%len(drillQuestions)])
	}
	poll(t, "answers being written", func() bool { return len(model.Requests()) >= n/2 })
	mu.Lock()
	alive[0] = false
	mu.Unlock()
	if err := procs[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-procs[0].done
	killed := time.Now()
	model.SetLatency(0)
	deadline := time.Now().Add(30 * time.Second)
	for _, v := range visitors {
		for answers(v.SessionID()) < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("conversation %s not answered 30 s after the kill", v.SessionID())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	failover := time.Since(killed)
	// A barrier per conversation: one more message each through the survivor.
	for i, v := range visitors {
		mustSend(t, v, drillQuestions[(i+1)%len(drillQuestions)])
	}
	poll(t, "barrier answers", func() bool {
		for _, v := range visitors {
			if answers(v.SessionID()) < 2 {
				return false
			}
		}
		return true
	})
	for i, v := range visitors {
		if got := answers(v.SessionID()); got != 2 {
			t.Errorf("conversation %d: %d answers, want 2 (exactly once per message)", i, got)
		}
	}
	t.Logf("drill: replica killed with answers in flight; every conversation answered %v after the kill (lease 1s), none twice",
		failover.Round(time.Millisecond))
}

// TestRedisDownHooksRetried: while Redis is down a hook gets 503 (so Crisp retries it) and /readyz
// answers 503; once Redis is back, the retried hook is accepted and answered, once.
func TestRedisDownHooksRetried(t *testing.T) {
	rs := newReplicaSet(t, 1, "hooks")
	a := rs.apps[0]
	const secret = "914a657d8cc2efbc20593f1806f9bde2"
	v := rs.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
	post := func() int {
		now := time.Now().UnixMilli()
		body := fmt.Appendf(nil, `{"website_id":%q,"event":"message:send","timestamp":%d,"data":{"website_id":%q,"session_id":%q,`+
			`"type":"text","from":"user","origin":"chat","content":"How long does shipping take?","fingerprint":4242,"timestamp":%d,`+
			`"user":{"user_id":%q,"nickname":"Ana"}}}`, testSite, now, testSite, v.SessionID(), now, v.SessionID())
		ts := strconv.FormatInt(now, 10)
		req, _ := http.NewRequest(http.MethodPost, a.web.URL()+"/webhooks/crisp", bytes.NewReader(body))
		req.Header.Set("X-Crisp-Request-Timestamp", ts)
		req.Header.Set("X-Crisp-Signature", crisptest.Sign(secret, ts, body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	ready := func() int {
		res, err := http.Get(a.web.URL() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	mustSetData(t, v, map[string]any{"plan": "pro"}) // the conversation exists in Crisp
	rs.redis.Stop()
	if got := post(); got != http.StatusServiceUnavailable {
		t.Fatalf("hook while Redis is down = %d, want 503 (Crisp retries)", got)
	}
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Fatalf("readyz while Redis is down = %d, want 503", got)
	}
	rs.redis.StartAgain()
	poll(t, "ready again", func() bool { return ready() == http.StatusOK })
	if got := post(); got != http.StatusOK {
		t.Fatalf("retried hook = %d, want 200", got)
	}
	poll(t, "answered", func() bool { return rs.answers(v.SessionID()) == 1 })
	if got := post(); got != http.StatusOK { // a late duplicate of the retry
		t.Fatalf("duplicate hook = %d, want 200", got)
	}
	mustSend(t, v, "Do you ship to Portugal?") // barrier: answered after anything earlier
	poll(t, "barrier answered", func() bool { return rs.answers(v.SessionID()) >= 2 })
	if got := rs.answers(v.SessionID()); got != 2 {
		t.Fatalf("answers = %d, want 2 (the retried hook answered once)", got)
	}
}

// TestReplicasSlowCrispHandoversOnce is the review's operator drill as a test: two replicas on one
// Redis (events over RTM and hooks), Crisp answering every REST call in about a second, eight
// conversations handed over through whichever replica the call reaches while Crisp's echoes of
// our notes reach both. Every handover note and "passing you" notice is posted once.
func TestReplicasSlowCrispHandoversOnce(t *testing.T) {
	rs := newReplicaSet(t, 2, "both")
	poll(t, "one replica holds the rtm socket", func() bool { return rs.leaders() == 1 && rs.fake.RTMConnections() == 1 })
	const convs = 8
	var sessions []string
	for range convs {
		v := rs.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
		mustSend(t, v, "How much is shipping?")
		sessions = append(sessions, v.SessionID())
	}
	for _, s := range sessions {
		poll(t, "the first answer", func() bool { return rs.answers(s) >= 1 })
	}
	rs.fake.SetLatency(time.Second) // Crisp is slow from now on: longer than a lease renewal period
	defer rs.fake.SetLatency(0)
	var wg sync.WaitGroup
	for i, s := range sessions {
		rs.mu.Lock()
		a := rs.apps[i%len(rs.apps)]
		rs.mu.Unlock()
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := a.bridge.Control(ctx, bridge.Key{WebsiteID: testSite, SessionID: s}, bridge.ControlHandover, "", ""); err != nil {
				t.Errorf("handover %s: %v", s, err)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range sessions {
		for {
			c, err := rs.apps[0].store.Load(context.Background(), bridge.Key{WebsiteID: testSite, SessionID: s})
			if err == nil && len(c.Journal) == 0 && c.Mode == signals.ModeHuman {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: handover not written within 60 s (journal %d)", s, len(c.Journal))
			}
			time.Sleep(50 * time.Millisecond) // polls the shared store, bounded by the deadline
		}
	}
	rs.fake.SetLatency(0)
	for _, s := range sessions {
		c, _ := rs.fake.Conversation(testSite, s)
		notes, notices := 0, 0
		for _, m := range c.Messages {
			if m.Origin != testURN {
				continue
			}
			switch {
			case m.Type == "note" && strings.Contains(m.Text(), "AI handover"):
				notes++
			case m.Type == "text" && strings.Contains(m.Text(), "passing you"):
				notices++
			}
		}
		if notes != 1 || notices != 1 {
			t.Errorf("%s: %d handover notes and %d notices, want 1 and 1", s, notes, notices)
		}
	}
}
