package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// BenchmarkOpenLoop prints open-loop latency figures (never asserted): events offered at fixed rates
// on a fixed schedule to a real signalbridge in its own process, measured from each event's
// scheduled send time (docs/figures-method.md).
//
// Two processes share the machine:
//
//   - the server: this test binary re-executed as TestBenchServe (SB_BENCH_SERVE holds its
//     settings): openApp, the product's own wiring, with the bbolt store in a temp dir (fsync on),
//     the offline assistant on the demo knowledge base, and its hooks or RTM intake;
//   - the generator: this benchmark, which also hosts the fake Crisp (crisptest) the server talks
//     to over loopback: REST (every call recorded with its time), RTM (the server is its client).
//
// For each path (hooks: the generator posts signed message:send hooks itself; rtm: the fake emits
// message:send over the server's socket) and each offered rate, the send time of event i is
// start + i/rate, whatever happened to earlier events, and every latency runs from that scheduled
// time, so a slow server is charged for the events it delayed (no coordinated omission). Figures:
// the hook's 2xx (hooks path) and event -> first Crisp REST call of its conversation as recorded by
// the fake (both paths): p50, p99, max per rate, beside the disk floor; the highest rate whose p99
// stays under 5 ms; then throughput at saturation (a window of unanswered events kept full), with
// the CPU time of each process (getrusage of the server, of the generator).
//
// Sizes: SB_BENCH_OPEN_RATES (events/s, "500,1000,2000,4000"), SB_BENCH_OPEN_DURATION (per rate,
// 2s), SB_BENCH_OPEN_CONVS (1000), SB_BENCH_OPEN_PATHS ("hooks,rtm"), SB_BENCH_OPEN_INFLIGHT (the
// generator's cap on requests in flight, 2000), SB_BENCH_SAT_EVENTS (5000), SB_BENCH_SAT_WINDOW
// (256), SB_BENCH_OPEN_GIVEUP (1s: once a rate's event -> first call p99 is above it, the higher
// rates are skipped). SB_BENCH_PPROF=dir writes the server's CPU profile of each path (every rate and the
// saturation run) to dir/server-<path>.pprof.
func BenchmarkOpenLoop(b *testing.B) {
	env := readOpenEnv(b)
	fl := benchFloor()
	tab := &benchTable{}
	for b.Loop() {
		for _, path := range env.paths {
			runOpenPath(b, env, path, fl, tab)
		}
	}
	tab.print(os.Stdout)
}

type openEnv struct {
	rates     []int
	dur       time.Duration
	convs     int
	paths     []string
	inflight  int
	satEvents int
	satWindow int
	giveUp    time.Duration // higher rates are skipped once a rate's p99 is above this
	pprofDir  string
}

func readOpenEnv(b *testing.B) openEnv {
	b.Helper()
	e := openEnv{rates: []int{500, 1000, 2000, 4000}, dur: 2 * time.Second, convs: envInt("SB_BENCH_OPEN_CONVS", 1000),
		paths: []string{"hooks", "rtm"}, inflight: envInt("SB_BENCH_OPEN_INFLIGHT", 2000),
		satEvents: envInt("SB_BENCH_SAT_EVENTS", 5000), satWindow: envInt("SB_BENCH_SAT_WINDOW", 256),
		giveUp: time.Second, pprofDir: os.Getenv("SB_BENCH_PPROF")}
	if v := os.Getenv("SB_BENCH_OPEN_GIVEUP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			b.Fatalf("SB_BENCH_OPEN_GIVEUP=%q: want a duration such as 1s", v)
		}
		e.giveUp = d
	}
	if v := os.Getenv("SB_BENCH_OPEN_RATES"); v != "" {
		e.rates = nil
		for _, f := range strings.Split(v, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
			if err != nil || r <= 0 || r > 100_000 {
				b.Fatalf("SB_BENCH_OPEN_RATES=%q: want events per second from 1 to 100000, comma-separated", v)
			}
			e.rates = append(e.rates, r)
		}
	}
	if v := os.Getenv("SB_BENCH_OPEN_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			b.Fatalf("SB_BENCH_OPEN_DURATION=%q: want a duration up to 5m", v)
		}
		e.dur = d
	}
	if v := os.Getenv("SB_BENCH_OPEN_PATHS"); v != "" {
		e.paths = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "hooks" && p != "rtm" {
				b.Fatalf("SB_BENCH_OPEN_PATHS=%q: want hooks and/or rtm", v)
			}
			e.paths = append(e.paths, strings.TrimSpace(p))
		}
	}
	if e.pprofDir != "" {
		if err := os.MkdirAll(e.pprofDir, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// --- the server process ---

// serveSpec is what the generator tells the server process (SB_BENCH_SERVE, JSON).
type serveSpec struct {
	Events string `json:"events"` // "hooks" or "rtm"
	REST   string `json:"rest"`
	RTM    string `json:"rtm"`
	Secret string `json:"secret"`
	Data   string `json:"data"` // bbolt file
}

// serveReady is the server's "SBSERVE {json}" line.
type serveReady struct {
	Web string `json:"web"` // signalbridge's base URL
	Ctl string `json:"ctl"` // the benchmark's control listener: /rusage, /pprof/start, /pprof/stop
	Err string `json:"err,omitempty"`
}

// cpuTimes is a process's CPU time from getrusage(2).
type cpuTimes struct {
	User time.Duration `json:"user"`
	Sys  time.Duration `json:"sys"`
}

func (c cpuTimes) total() time.Duration { return c.User + c.Sys }

func selfCPU() cpuTimes {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}
	}
	return cpuTimes{User: time.Duration(ru.Utime.Nano()), Sys: time.Duration(ru.Stime.Nano())}
}

// TestBenchServe is the server process of BenchmarkOpenLoop; it skips unless SB_BENCH_SERVE is set.
// It runs the product until its standard input closes (the generator ended or died).
func TestBenchServe(t *testing.T) {
	raw := os.Getenv("SB_BENCH_SERVE")
	if raw == "" {
		t.Skip("server process of BenchmarkOpenLoop")
	}
	ready, stop := benchServe(raw)
	out, _ := json.Marshal(ready)
	fmt.Printf("SBSERVE %s\n", out)
	if ready.Err != "" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
	stop()
}

func benchServe(raw string) (serveReady, func()) {
	var spec serveSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return serveReady{Err: err.Error()}, nil
	}
	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Data = spec.Data
	cfg.Crisp = CrispConfig{Identifier: "test-ident", Key: "test-key", Tier: "plugin", APIURL: spec.REST, RTMURL: spec.RTM,
		Events: spec.Events, EIO: 4, HooksSecret: spec.Secret, HookMaxAge: time.Minute, PluginURN: testURN,
		Timeout: 10 * time.Second, BotNickname: "Assistant"}
	// No per-conversation limits: the figures are the pipeline's, not the guards' (as in bench_test.go).
	cfg.Websites = map[string]WebsiteConfig{"default": {StartMode: "auto", Language: "en", Model: "gpt-4o-mini",
		Limits: LimitsConfig{SignalEdges: -1, Answers: -1}, Budgets: BudgetsConfig{ConversationAnswers: -1}}}
	cfg.AllowUnknown = true // the generator's website is not listed by id
	if err := cfg.Validate(); err != nil {
		return serveReady{Err: err.Error()}, nil
	}
	a, err := openApp(cfg, slog.New(benchLogHandler{&atomic.Int64{}}), appOptions{kbs: map[string]*assistant.KnowledgeBase{
		"default": assistant.NewKnowledgeBase(demoKBFiles(), assistant.WithBaseURL("https://help.acme.example/"))}})
	if err != nil {
		return serveReady{Err: err.Error()}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close(context.Background())
		return serveReady{Err: err.Error()}, nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rusage", func(w http.ResponseWriter, _ *http.Request) { json.NewEncoder(w).Encode(selfCPU()) })
	var prof *os.File
	mux.HandleFunc("POST /pprof/start", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Create(r.URL.Query().Get("path"))
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		prof = f
	})
	mux.HandleFunc("POST /pprof/stop", func(w http.ResponseWriter, _ *http.Request) {
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
			prof = nil
		}
	})
	ctl := &http.Server{Handler: mux}
	go ctl.Serve(ln)
	return serveReady{Web: a.web.URL(), Ctl: "http://" + ln.Addr().String()}, func() {
		ctl.Close()
		a.Close(context.Background())
	}
}

// benchServer is the generator's handle on the server process.
type benchServer struct {
	serveReady
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
}

func startBenchServer(b *testing.B, spec serveSpec) *benchServer {
	b.Helper()
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServe$", "-test.count=1", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), "SB_BENCH_SERVE="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &benchServer{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if j, ok := strings.CutPrefix(sc.Text(), "SBSERVE "); ok && !sent {
				lines <- j
				sent = true
			}
		}
		if !sent {
			close(lines)
		}
		cmd.Wait()
		close(s.done)
	}()
	b.Cleanup(s.stop)
	select {
	case j, ok := <-lines:
		if !ok {
			b.Fatal("server process ended without starting")
		}
		if err := json.Unmarshal([]byte(j), &s.serveReady); err != nil {
			b.Fatal(err)
		}
		if s.Err != "" {
			b.Fatalf("server process: %s", s.Err)
		}
	case <-time.After(time.Minute):
		b.Fatal("server process did not start within a minute")
	}
	return s
}

// stop closes the server's standard input (it shuts down gracefully) and waits for it to exit.
func (s *benchServer) stop() {
	s.stdin.Close()
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *benchServer) cpu(b *testing.B) cpuTimes {
	b.Helper()
	var c cpuTimes
	res, err := http.Get(s.Ctl + "/rusage")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		b.Fatal(err)
	}
	return c
}

func (s *benchServer) post(b *testing.B, path string) {
	b.Helper()
	res, err := http.Post(s.Ctl+path, "text/plain", nil)
	if err != nil {
		b.Fatal(err)
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("server %s: %s %s", path, res.Status, msg)
	}
}

// --- the generator ---

// openEvent is one offered event and what became of it.
type openEvent struct {
	session int           // index into the conversations
	at      time.Duration // scheduled send time, from the run's start
	sched   time.Time     // scheduled send time: latencies run from here
	sent    time.Time     // when the generator actually sent it
	done    time.Time     // hooks: when the response arrived
	status  int           // hooks: HTTP status; -1: transport error
	body    []byte        // hooks: the signed body
	ts      string        // hooks: X-Crisp-Request-Timestamp
	sig     string        // hooks: X-Crisp-Signature
}

// openPath is one path's fake Crisp, server process and conversations.
type openPath struct {
	b        *testing.B
	env      openEnv
	name     string
	fake     *crisptest.Server
	srv      *benchServer
	visitors []*crisptest.Visitor
	client   *http.Client
	hookURL  string
	fp       atomic.Int64
	index    map[string]int // session id -> index in visitors
	answers  atomic.Int64   // our answers seen by the fake (message:received with our origin)
	answered []atomic.Int64 // per conversation, when the fake last emitted one of our answers (unix ns)
	free     chan int       // saturation: conversations with no unanswered message
	waiting  []atomic.Bool  // saturation: the conversation's message is not answered yet
}

const benchHookSecret = "914a657d8cc2efbc20593f1806f9bde2"

func runOpenPath(b *testing.B, env openEnv, name string, fl diskFloor, tab *benchTable) {
	fake, err := crisptest.Start(crisptest.Options{Identifier: "test-ident", Key: "test-key", Websites: []string{testSite},
		HookSecret: benchHookSecret, HookRetryDelay: 5 * time.Millisecond, EventLog: 50_000,
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	srv := startBenchServer(b, serveSpec{Events: name, REST: fake.RESTURL(), RTM: fake.RTMURL(), Secret: benchHookSecret,
		Data: filepath.Join(b.TempDir(), "signalbridge.db")})
	defer srv.stop()
	p := &openPath{b: b, env: env, name: name, fake: fake, srv: srv, hookURL: srv.Web + "/webhooks/crisp",
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConns: env.inflight, MaxIdleConnsPerHost: env.inflight}}}
	p.fp.Store(time.Now().UnixMilli() * 1000)
	defer p.client.CloseIdleConnections()
	benchWait(b, "server ready", 30*time.Second, func() bool {
		res, err := http.Get(srv.Web + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	p.visitors = make([]*crisptest.Visitor, env.convs)
	p.index = make(map[string]int, env.convs)
	p.answered = make([]atomic.Int64, env.convs)
	p.waiting = make([]atomic.Bool, env.convs)
	for i := range p.visitors {
		p.visitors[i] = fake.Visitor(testSite, "", crisptest.VisitorInfo{})
		p.index[p.visitors[i].SessionID()] = i
	}
	evs, unsubscribe := fake.Subscribe()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		urn := []byte(`"origin":"` + testURN + `"`)
		for ev := range evs {
			if ev.Name != bridge.EventMessageReceived || !bytes.Contains(ev.Data, urn) || bytes.Contains(ev.Data, []byte(`"type":"note"`)) {
				continue
			}
			p.answers.Add(1)
			if k, ok := p.index[ev.SessionID]; ok {
				p.answered[k].Store(time.Now().UnixNano())
				if p.waiting[k].CompareAndSwap(true, false) {
					p.free <- k
				}
			}
		}
	}()
	defer func() { unsubscribe(); <-watched }()
	p.warmUp()
	if env.pprofDir != "" {
		srv.post(b, "/pprof/start?path="+filepath.Join(env.pprofDir, "server-"+name+".pprof"))
	}
	type rateResult struct {
		rate              int
		hook, first, late []time.Duration
		lost, bad         int
		srvCPU, genCPU    time.Duration
		wall              time.Duration
	}
	var results []rateResult
	for _, rate := range env.rates {
		r := rateResult{rate: rate}
		events, wall, srvCPU, genCPU, lost := p.offer(rate)
		r.wall, r.srvCPU, r.genCPU, r.lost = wall, srvCPU, genCPU, lost
		calls := fake.Calls()
		fake.ResetCalls()
		var merged int
		r.first, merged = firstCalls(events, p.visitors, calls)
		for _, ev := range events {
			r.late = append(r.late, ev.sent.Sub(ev.sched))
			if name == "hooks" {
				if ev.status != http.StatusOK {
					r.bad++
					continue
				}
				r.hook = append(r.hook, ev.done.Sub(ev.sched))
			}
		}
		slices.Sort(r.hook)
		slices.Sort(r.first)
		slices.Sort(r.late)
		results = append(results, r)
		how := fmt.Sprintf("%d events over %d convs in %s; generator late p99 %s; CPU server %.2f cores, generator+fake Crisp %.2f cores over %s",
			len(events), len(p.visitors), env.dur, benchMS(benchPercentile(r.late, 0.99)),
			r.srvCPU.Seconds()/r.wall.Seconds(), r.genCPU.Seconds()/r.wall.Seconds(), r.wall.Round(time.Millisecond))
		if r.lost > 0 {
			how += fmt.Sprintf("; %d conversations UNANSWERED after the drain", r.lost)
		}
		if merged > 0 {
			how += fmt.Sprintf("; %d events in conversations whose answers were merged", merged)
		}
		if miss := len(events) - len(r.first); miss > 0 {
			how += fmt.Sprintf("; %d events with no Crisp call after them", miss)
		}
		if name == "hooks" {
			tab.add(fmt.Sprintf("open loop, hooks, %d/s: hook 2xx", rate), fl.latencies(r.hook), "p99 <= 3 ms at 2,000/s",
				how+fmt.Sprintf("; %d not 200", r.bad))
		}
		tab.add(fmt.Sprintf("open loop, %s, %d/s: event -> first Crisp call", name, rate), fl.latencies(r.first),
			"p99 <= 5 ms at 1,000/s, <= 10 ms at 2,000/s", how)
		if p99 := benchPercentile(r.first, 0.99); r.lost > 0 || p99 > env.giveUp {
			if rate != env.rates[len(env.rates)-1] {
				tab.add(fmt.Sprintf("open loop, %s: rates above %d/s", name, rate), "skipped", "-",
					fmt.Sprintf("past saturation at %d/s (%d unanswered, p99 %s > SB_BENCH_OPEN_GIVEUP %s): a higher rate only measures a longer queue", rate, r.lost, benchMS(p99), env.giveUp))
			}
			break
		}
	}
	best := func(pick func(rateResult) []time.Duration) string {
		hi := "none"
		for _, r := range results {
			if l := pick(r); r.lost == 0 && len(l) > 0 && benchPercentile(l, 0.99) < 5*time.Millisecond {
				hi = strconv.Itoa(r.rate) + "/s"
			}
		}
		return hi
	}
	if name == "hooks" {
		tab.add("open loop, hooks: highest rate with hook 2xx p99 < 5 ms", best(func(r rateResult) []time.Duration { return r.hook }), ">= 2,000/s", "of the rates offered")
	}
	tab.add("open loop, "+name+": highest rate with event -> first call p99 < 5 ms", best(func(r rateResult) []time.Duration { return r.first }), ">= 1,000/s", "of the rates offered")
	p.saturate(tab)
	if env.pprofDir != "" {
		srv.post(b, "/pprof/stop")
		fmt.Printf("  server CPU profile of the %s path: go tool pprof -top %s\n", name, filepath.Join(env.pprofDir, "server-"+name+".pprof"))
	}
}

// warmUp opens every conversation with one answered message (the first event of a conversation
// reads its meta once; the figures are of conversations already under way).
func (p *openPath) warmUp() {
	b := p.b
	if p.name == "hooks" {
		p.fake.SetHookURL(p.hookURL)
	}
	for i := range p.visitors {
		if _, err := p.visitors[i].Send(drillQuestions[i%len(drillQuestions)]); err != nil {
			b.Fatal(err)
		}
	}
	benchWait(b, "warm-up answers", 2*time.Minute, func() bool {
		for i := range p.answered {
			if p.answered[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	if p.name == "hooks" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.fake.WaitHooksIdle(ctx); err != nil {
			b.Fatal(err)
		}
		p.fake.SetHookURL("") // from now on the generator posts the hooks itself
	}
	p.fake.ResetCalls()
}

// prepare builds the events of one run: conversation i%convs in turn, and for hooks the signed body.
func (p *openPath) prepare(n int, at func(i int) time.Duration) []openEvent {
	events := make([]openEvent, n)
	now := time.Now()
	for i := range events {
		ev := &events[i]
		ev.session, ev.at = i%len(p.visitors), at(i)
		if p.name != "hooks" {
			continue
		}
		ev.body, ev.ts, ev.sig = p.hook(ev.session, drillQuestions[i%len(drillQuestions)], now.Add(ev.at).UnixMilli())
	}
	return events
}

// hook returns the signed body of a visitor's message:send hook, its timestamp and signature.
func (p *openPath) hook(conv int, text string, ms int64) (body []byte, ts, sig string) {
	s := p.visitors[conv].SessionID()
	body, _ = json.Marshal(map[string]any{"website_id": testSite, "event": bridge.EventMessageSend, "timestamp": ms,
		"data": map[string]any{"website_id": testSite, "session_id": s, "type": "text", "from": "user", "origin": "chat",
			"content": text, "fingerprint": p.fp.Add(1), "timestamp": ms, "stamped": true,
			"user": map[string]any{"user_id": s, "nickname": "visitor"}}})
	ts = strconv.FormatInt(ms, 10)
	return body, ts, crisptest.Sign(benchHookSecret, ts, body)
}

// send offers one event: a signed hook (to its response) or a visitor message over the fake's RTM.
func (p *openPath) send(ev *openEvent, text string) {
	ev.sent = time.Now()
	if p.name != "hooks" {
		ev.status = http.StatusOK
		if _, err := p.visitors[ev.session].Send(text); err != nil {
			ev.status = -1
		}
		ev.done = time.Now()
		return
	}
	req, _ := http.NewRequest(http.MethodPost, p.hookURL, bytes.NewReader(ev.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Crisp-Request-Timestamp", ev.ts)
	req.Header.Set("X-Crisp-Signature", ev.sig)
	res, err := p.client.Do(req)
	ev.done = time.Now()
	if err != nil {
		ev.status = -1
		return
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	ev.status = res.StatusCode
}

// offer sends rate events a second for env.dur on a fixed schedule, then waits (bounded) until every
// one is answered. It returns the events, the wall time from the first scheduled send to the last
// answer, the CPU time each process spent over it, and how many went unanswered.
func (p *openPath) offer(rate int) (events []openEvent, wall, srvCPU, genCPU time.Duration, lost int) {
	b := p.b
	n := max(1, int(float64(rate)*p.env.dur.Seconds()))
	events = p.prepare(n, func(i int) time.Duration { return time.Duration(int64(i) * int64(time.Second) / int64(rate)) })
	srv0, gen0 := p.srv.cpu(b), selfCPU()
	sem := make(chan struct{}, p.env.inflight)
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for i := range events {
		ev := &events[i]
		ev.sched = start.Add(ev.at)
		if d := time.Until(ev.sched); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{} // at the cap the send is late, and its lateness is counted
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.send(ev, drillQuestions[i%len(drillQuestions)])
			<-sem
		}()
	}
	wg.Wait()
	// Done when every conversation's last message is answered: a newer visitor message supersedes an
	// answer being written (both are answered at once), so answers are not counted.
	last := make([]int64, len(p.visitors))
	for _, ev := range events {
		last[ev.session] = max(last[ev.session], ev.sent.UnixNano())
	}
	behind := func() int {
		n := 0
		for k, t := range last {
			if t > 0 && p.answered[k].Load() < t {
				n++
			}
		}
		return n
	}
	benchCond("answers", 30*time.Second+time.Duration(n)*time.Millisecond, func() bool { return behind() == 0 })
	wall = time.Since(start)
	// An answer to an earlier message can come after the last one was sent: wait for the calls to
	// stop (100 ms without one, 5 s at most) so that none of this run's is left for the next.
	calls, quiet := -1, time.Now()
	benchCond("quiet", 5*time.Second, func() bool {
		if c := p.fake.CallCount("", ""); c != calls {
			calls, quiet = c, time.Now()
		}
		return time.Since(quiet) >= 100*time.Millisecond
	})
	srv1, gen1 := p.srv.cpu(b), selfCPU()
	return events, wall, srv1.total() - srv0.total(), gen1.total() - gen0.total(), behind()
}

// firstCalls returns, for every event, the time from its scheduled send to the first REST call of
// its conversation that the fake recorded after the event was sent (events no call followed are left
// out). Events of one conversation are processed in order, and each visitor message is answered
// once (one POST message) unless a newer message supersedes the answer being written, when both are
// answered at once. So when a conversation has as many answers as events, its calls are split
// between its events in order: an event's first call is the first one after it was sent and after
// the previous event's answer. When it has fewer (answers were merged), each event is charged up to
// the first call after it was sent, which may be shared with an earlier event; merged counts those.
func firstCalls(events []openEvent, visitors []*crisptest.Visitor, calls []crisptest.Call) (lat []time.Duration, merged int) {
	index := make(map[string]int, len(visitors))
	for i, v := range visitors {
		index[v.SessionID()] = i
	}
	bySession := make([][]crisptest.Call, len(visitors))
	answers := make([]int, len(visitors))
	for _, c := range calls {
		i := strings.Index(c.Path, "/conversation/")
		if i < 0 {
			continue
		}
		s, _, _ := strings.Cut(c.Path[i+len("/conversation/"):], "/")
		if k, ok := index[s]; ok {
			bySession[k] = append(bySession[k], c)
			if isAnswer(c) {
				answers[k]++
			}
		}
	}
	for _, cs := range bySession {
		slices.SortFunc(cs, func(a, b crisptest.Call) int { return a.At.Compare(b.At) })
	}
	count := make([]int, len(visitors))
	for _, ev := range events {
		count[ev.session]++
	}
	next := make([]int, len(visitors)) // per conversation, the first call not yet given to an event
	out := make([]time.Duration, 0, len(events))
	for _, ev := range events { // in schedule order, so in order within each conversation
		cs := bySession[ev.session]
		if answers[ev.session] != count[ev.session] {
			merged++
			j, _ := slices.BinarySearchFunc(cs, ev.sent, func(c crisptest.Call, t time.Time) int { return c.At.Compare(t) })
			if j < len(cs) {
				out = append(out, cs[j].At.Sub(ev.sched))
			}
			continue
		}
		i := next[ev.session]
		for i < len(cs) && cs[i].At.Before(ev.sent) {
			i++
		}
		if i < len(cs) {
			out = append(out, cs[i].At.Sub(ev.sched))
		}
		for i < len(cs) && !isAnswer(cs[i]) {
			i++
		}
		next[ev.session] = i + 1
	}
	return out, merged
}

// isAnswer reports whether c posts a message (our answer), as opposed to a typing indicator, a
// meta or state write.
func isAnswer(c crisptest.Call) bool {
	return c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/message")
}

// saturate keeps env.satWindow conversations busy, each with one unanswered message at a time
// (a new message goes to a conversation as soon as its previous one is answered), for
// env.satEvents messages, and reports the answered messages per second with the CPU time of both
// processes.
func (p *openPath) saturate(tab *benchTable) {
	b := p.b
	n, w := p.env.satEvents, min(p.env.satWindow, len(p.visitors))
	p.free = make(chan int, len(p.visitors))
	for k := range w {
		p.free <- k
	}
	events := p.prepare(n, func(int) time.Duration { return 0 })
	srv0, gen0 := p.srv.cpu(b), selfCPU()
	var wg sync.WaitGroup
	var bad atomic.Int64
	start := time.Now()
	timeout := time.After(2 * time.Minute)
	sent := 0
send:
	for i := range events {
		var k int
		select {
		case k = <-p.free:
		case <-timeout:
			break send
		}
		ev := &events[i]
		ev.session = k
		if p.name == "hooks" {
			ev.body, ev.ts, ev.sig = p.hook(k, drillQuestions[i%len(drillQuestions)], time.Now().UnixMilli())
		}
		p.waiting[k].Store(true)
		ev.sched = time.Now()
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.send(ev, drillQuestions[i%len(drillQuestions)])
			if ev.status != http.StatusOK {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	err := benchCond("answers", time.Minute, func() bool {
		for k := range p.waiting {
			if p.waiting[k].Load() {
				return false
			}
		}
		return true
	})
	wall := time.Since(start)
	srv1, gen1 := p.srv.cpu(b), selfCPU()
	p.fake.ResetCalls()
	unanswered := 0
	for k := range p.waiting {
		if p.waiting[k].Load() {
			unanswered++
		}
	}
	answered := sent - unanswered
	srv, gen := srv1.total()-srv0.total(), gen1.total()-gen0.total()
	how := fmt.Sprintf("%d conversations busy at once (each message sent when its conversation's previous one is answered); %d answered in %s; CPU server %.2f s (%.2f cores: user %.2f s, sys %.2f s), generator+fake Crisp %.2f s (%.2f cores)",
		w, answered, wall.Round(time.Millisecond), srv.Seconds(), srv.Seconds()/wall.Seconds(),
		(srv1.User - srv0.User).Seconds(), (srv1.Sys - srv0.Sys).Seconds(), gen.Seconds(), gen.Seconds()/wall.Seconds())
	if err != nil || bad.Load() > 0 || sent < n {
		how += fmt.Sprintf("; %d of %d sent, %d unanswered, %d sends failed", sent, n, unanswered, bad.Load())
	}
	tab.add("saturation, "+p.name+": messages answered/s", fmt.Sprintf("%.0f/s", float64(answered)/wall.Seconds()), "-", how)
}
