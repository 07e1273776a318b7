package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
)

// scaleDir is the compose layout of docs/scale.
var scaleDir = filepath.Join("..", "..", "docs", "scale")

// composeService is the part of a compose service the layout test follows.
type composeService struct {
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
}

// composeFile is docs/scale/compose.yaml (yaml.v3 resolves its `<<: *signalbridge` merges).
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

var composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}`)

// interpolate expands ${VAR}, ${VAR:-default} and ${VAR:?message} as docker compose does; a
// required variable that is empty fails the test.
func interpolate(t *testing.T, s string, env map[string]string) string {
	t.Helper()
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		p := composeVar.FindStringSubmatch(m)
		v := env[p[1]]
		switch {
		case v != "":
			return v
		case p[2] == "-":
			return p[3]
		case p[2] == "?":
			t.Fatalf("compose: %s: %s", p[1], p[3])
		}
		return ""
	})
}

// envExample reads the variable names of docs/scale/env.example, in order.
func envExample(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(scaleDir, "env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env.example: %q is not NAME=value", line)
		}
		names = append(names, name)
	}
	return names
}

// caddyRoutes reads the Caddyfile's public paths and its upstream service names.
func caddyRoutes(t *testing.T) (paths, upstreams []string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(scaleDir, "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 2 && f[0] == "@public" && f[1] == "path":
			paths = f[2:]
		case len(f) > 1 && f[0] == "reverse_proxy":
			for _, u := range f[1:] {
				if u == "{" {
					break
				}
				host, _, _ := strings.Cut(u, ":")
				upstreams = append(upstreams, host)
			}
		}
	}
	if len(paths) == 0 || len(upstreams) == 0 {
		t.Fatalf("Caddyfile: no @public paths (%v) or reverse_proxy upstreams (%v)", paths, upstreams)
	}
	return paths, upstreams
}

// copyTree copies the file or folder src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// replicaProc is one `signalbridge run` process of the layout.
type replicaProc struct {
	name string
	cmd  *exec.Cmd
	url  string
	out  *lineWriter
	done chan error // receives cmd.Wait's result once
	err  error      // that result, once received
	over bool       // received
}

// wait waits up to d for the process to exit and returns its exit error.
func (p *replicaProc) wait(d time.Duration) (error, bool) {
	if p.over {
		return p.err, true
	}
	select {
	case p.err = <-p.done:
		p.over = true
		return p.err, true
	case <-time.After(d):
		return nil, false
	}
}

// TestScaleLayout brings up docs/scale without Docker: the compose file's volumes copied to the
// same paths under a temporary root, its environment filled from env.example's variables, `check`
// with that config and environment, then two `signalbridge run` processes on a real redis-server
// started with the compose file's arguments, and a proxy that forwards exactly the Caddyfile's
// public paths to them. Crisp's signed hooks go through that proxy, RTM to the replica holding its
// lease. A
// conversation is answered once from the layout's knowledge base, and the admin API is reachable
// on a replica but not through the proxy.
func TestScaleLayout(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(scaleDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	publicPaths, upstreams := caddyRoutes(t)

	// Every variable of env.example is passed to the replicas, and every one they get is one that
	// run reads (run --help lists them all, TestHelpTexts).
	names := envExample(t)
	svc, ok := compose.Services[upstreams[0]]
	if !ok {
		t.Fatalf("compose.yaml has no service %s (the Caddyfile's upstream)", upstreams[0])
	}
	for _, n := range names {
		if _, ok := svc.Environment[n]; !ok && n != "REDIS_PASSWORD" && n != "SIGNALBRIDGE_DOMAIN" {
			t.Errorf("env.example lists %s but compose.yaml does not pass it to %s", n, upstreams[0])
		}
	}
	for n := range svc.Environment {
		if _, ok := envFields[n]; !ok {
			t.Errorf("compose.yaml passes %s, which signalbridge does not read", n)
		}
	}
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range envFields {
			if !yield(n) {
				return
			}
		}
	}) {
		// SIGNALBRIDGE_DATA: the store is Redis, no data file is used.
		if _, ok := svc.Environment[n]; !ok && n != "SIGNALBRIDGE_DATA" {
			t.Errorf("compose.yaml does not pass %s (run --help lists it)", n)
		}
	}

	// The .env a user writes from env.example.
	const hookSecret = "5b1c0d3e9f8a7b6c5d4e3f2a1b0c9d8e"
	dotenv := map[string]string{}
	for _, n := range names {
		dotenv[n] = ""
	}
	fake, err := crisptest.Start(crisptest.Options{Identifier: "scale-ident", Key: "scale-key", Websites: []string{testSite},
		HookSecret: hookSecret, HookRetryDelay: 20 * time.Millisecond,
		Operators: []crisptest.Operator{{UserID: testOperator, Nickname: "Alex", Online: true}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	for k, v := range map[string]string{
		"REDIS_PASSWORD": "d41d8cd98f00b204e9800998ecf8427e", "SIGNALBRIDGE_DOMAIN": "bridge.example.com",
		"CRISP_IDENTIFIER": "scale-ident", "CRISP_KEY": "scale-key", "CRISP_PLUGIN_URN": testURN,
		"CRISP_HOOKS_SECRET": hookSecret, "SIGNALBRIDGE_ADMIN_TOKEN": "admin-0123456789abcdef",
		"SIGNALBRIDGE_SCENARIO_TOKEN": "scenario-0123456789abcdef",
		// The sandbox in place of Crisp's own API: the only Crisp difference.
		"CRISP_API_URL": fake.RESTURL(), "CRISP_RTM_URL": fake.RTMURL(),
	} {
		if _, ok := dotenv[k]; !ok {
			t.Fatalf("env.example does not list %s", k)
		}
		dotenv[k] = v
	}

	// Redis with the compose file's arguments.
	redisCmd := compose.Services["redis"].Command
	if len(redisCmd) < 2 || redisCmd[0] != "redis-server" {
		t.Fatalf("compose.yaml redis command = %q", redisCmd)
	}
	var redisArgs []string
	for _, a := range redisCmd[1:] {
		redisArgs = append(redisArgs, interpolate(t, a, dotenv))
	}
	rs := redistest.Start(t, redisArgs...)

	// The replicas' environment, with the two addresses of the compose network replaced by loopback.
	env := map[string]string{}
	for k, v := range svc.Environment {
		env[k] = interpolate(t, v, dotenv)
	}
	if env["SIGNALBRIDGE_ADDR"] != "0.0.0.0:8080" {
		t.Fatalf("compose SIGNALBRIDGE_ADDR = %q, want 0.0.0.0:8080 (the Caddyfile's upstream port)", env["SIGNALBRIDGE_ADDR"])
	}
	env["SIGNALBRIDGE_ADDR"] = "127.0.0.1:0"
	redisURL, err := url.Parse(env["SIGNALBRIDGE_REDIS_URL"])
	if err != nil || redisURL.Host != "redis:6379" {
		t.Fatalf("compose SIGNALBRIDGE_REDIS_URL = %q, want the redis service", env["SIGNALBRIDGE_REDIS_URL"])
	}
	redisURL.Host = rs.Addr()
	env["SIGNALBRIDGE_REDIS_URL"] = redisURL.String()

	// The container's files: each volume of the service copied to its path under root.
	root := t.TempDir()
	mounts := map[string]string{}
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "./") {
			t.Fatalf("compose volume %q is not ./host:/container", v)
		}
		copyTree(t, filepath.Join(scaleDir, parts[0]), filepath.Join(root, parts[1]))
		mounts[parts[1]] = parts[0]
	}
	args := slices.Clone(svc.Command)
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			if _, err := os.Stat(filepath.Join(root, a)); err != nil {
				t.Fatalf("compose command names %s, which no volume provides: %v", a, err)
			}
			args[i] = filepath.Join(root, a)
		}
	}
	if args[0] != "run" {
		t.Fatalf("compose command = %q, want run ...", svc.Command)
	}

	// check, as the compose file's header says, with the same config and environment.
	var out, errb strings.Builder
	checkArgs := append([]string{"check"}, args[1:]...)
	if code := Main(context.Background(), checkArgs, &out, &errb, envFunc(env)); code != 0 {
		t.Fatalf("check in the container layout exited %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ok   config", "ok   crisp", "ok   redis", "knowledge_base: ", "all checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}

	// Two `signalbridge run` processes, one per upstream of the Caddyfile.
	procs := map[string]*replicaProc{}
	for _, name := range upstreams {
		if _, ok := compose.Services[name]; !ok {
			t.Fatalf("the Caddyfile's upstream %s is not a compose service", name)
		}
		procs[name] = startReplicaProc(t, name, args, env)
	}
	if len(procs) != 2 {
		t.Fatalf("the layout has %d replicas, want 2", len(procs))
	}

	// Caddy: the public paths, round robin over the replicas; everything else 404.
	var next atomic.Int64
	var mu sync.Mutex
	hooksTo := map[string]int{}
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.ContainsFunc(publicPaths, func(p string) bool { ok, _ := path.Match(p, r.URL.Path); return ok }) {
			http.NotFound(w, r)
			return
		}
		name := upstreams[int(next.Add(1))%len(upstreams)]
		p := procs[name]
		if r.URL.Path == "/webhooks/crisp" {
			mu.Lock()
			hooksTo[name]++
			mu.Unlock()
		}
		u, _ := url.Parse(p.url)
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway) // Crisp retries
		}
		rp.ServeHTTP(w, r)
	})}
	front := listenLoopback(t, proxy)
	fake.SetHookURL(front + "/webhooks/crisp")

	waitCond(t, "one replica holds the RTM socket", func() bool { return fake.RTMConnections() == 1 })

	// A visitor asks twice; each question is answered once, from the layout's kb/.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v := fake.Visitor(testSite, "session_scale_layout", crisptest.VisitorInfo{})
	answers := func() []crisptest.Message {
		c, _ := fake.Conversation(testSite, v.SessionID())
		var out []crisptest.Message
		for _, m := range c.Messages {
			if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
				out = append(out, m)
			}
		}
		return out
	}
	for i, q := range []string{"How long does delivery take?", "When is support open?"} {
		if _, err := v.Send(q); err != nil {
			t.Fatal(err)
		}
		if _, err := fake.WaitConversation(ctx, testSite, v.SessionID(), func(crisptest.Conversation) bool { return len(answers()) >= i+1 }); err != nil {
			t.Fatalf("question %d not answered: %v", i+1, err)
		}
	}
	if err := fake.WaitHooksIdle(ctx); err != nil {
		t.Fatal(err)
	}
	got := answers()
	if len(got) != 2 {
		t.Fatalf("answers = %d, want 2 (one per question, from two replicas over RTM and hooks): %+v", len(got), got)
	}
	if !strings.Contains(contentText(got[0]), "help.example.com/en/getting-started") {
		t.Errorf("first answer does not cite the layout's kb article: %q", contentText(got[0]))
	}
	mu.Lock()
	for _, name := range upstreams {
		if hooksTo[name] == 0 {
			t.Errorf("no hook reached %s through the proxy (hooks: %v)", name, hooksTo)
		}
	}
	mu.Unlock()
	if st := fake.HookStats(); st.Failed > 0 || st.Delivered == 0 {
		t.Errorf("hook stats %+v: want deliveries and no failures", st)
	}

	// The admin API answers on any replica (the shared store), never through the proxy; the
	// scenario token of the environment works on /v1/control.
	adminGet := func(base string) int {
		req, _ := http.NewRequest("GET", base+"/v1/conversations/"+testSite+"/"+v.SessionID(), nil)
		req.Header.Set("Authorization", "Bearer "+dotenv["SIGNALBRIDGE_ADMIN_TOKEN"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for _, name := range upstreams {
		if code := adminGet(procs[name].url); code != http.StatusOK {
			t.Errorf("admin API on %s = %d, want 200", name, code)
		}
	}
	if code := adminGet(front); code != http.StatusNotFound {
		t.Errorf("admin API through the proxy = %d, want 404", code)
	}
	// The owners' settings page, as Crisp opens it, through the proxy: the website's plugin token
	// opens it, another token does not.
	siteToken := fake.WebsiteToken(testSite)
	for tok, want := range map[string]int{siteToken: http.StatusOK, "not-the-token": http.StatusForbidden} {
		res, err := http.Get(front + ownerURL("/owners/settings", testSite, tok))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("owners' settings page through the proxy = %d, want %d", res.StatusCode, want)
		}
	}
	body, _ := json.Marshal(map[string]string{"website_id": testSite, "session_id": v.SessionID(), "command": "pause"})
	res, err := http.Post(procs[upstreams[1]].url+"/v1/control?token="+dotenv["SIGNALBRIDGE_SCENARIO_TOKEN"], "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("POST /v1/control with SIGNALBRIDGE_SCENARIO_TOKEN = %d, want 200", res.StatusCode)
	}

	if err := fake.WaitHooksIdle(ctx); err != nil {
		t.Fatal(err)
	}

	// SIGTERM, as docker compose stop sends: each process drains and exits 0.
	for _, name := range upstreams {
		p := procs[name]
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		// 40 s: the compose file's stop_grace_period.
		if err, ok := p.wait(40 * time.Second); !ok {
			t.Errorf("%s did not stop within 40 s of SIGTERM", name)
		} else if err != nil {
			t.Errorf("%s exited with %v after SIGTERM:\n%s", name, err, p.out.String())
		}
		if !strings.Contains(p.out.String(), `"stopped"`) {
			t.Errorf("%s did not log that it stopped:\n%s", name, p.out.String())
		}
	}
}

// startReplicaProc starts the test binary as `signalbridge <args>` with exactly env (and PATH) and
// waits for its listening line.
func startReplicaProc(t *testing.T, name string, args []string, env map[string]string) *replicaProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = []string{execMainEnv + "=1", "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &replicaProc{name: name, cmd: cmd, out: &lineWriter{ch: make(chan string, 64)}, done: make(chan error, 1)}
	stdout := &lineWriter{ch: make(chan string, 16)}
	cmd.Stdout, cmd.Stderr = stdout, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if _, ok := p.wait(0); !ok {
			_ = cmd.Process.Kill()
			p.wait(time.Minute)
		}
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, p.out.String())
		}
	})
	deadline := time.After(30 * time.Second)
	for p.url == "" {
		select {
		case line := <-stdout.ch:
			if u, ok := strings.CutPrefix(line, "signalbridge listening on "); ok {
				p.url = strings.TrimSpace(u)
			}
		case p.err = <-p.done:
			p.over = true
			t.Fatalf("%s exited at start-up: %v\n%s", name, p.err, p.out.String())
		case <-deadline:
			t.Fatalf("%s did not start:\n%s", name, p.out.String())
		}
	}
	return p
}

// listenLoopback serves srv on a free loopback port until the test ends and returns its URL.
func listenLoopback(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://%s", ln.Addr())
}
