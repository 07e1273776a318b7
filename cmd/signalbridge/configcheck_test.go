package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// TestCheckExampleConfig runs `signalbridge check` on docs/signalbridge.example.yaml with only the
// Crisp token set, from a working directory that is not the repository root: it must pass, its
// relative paths resolved against the file's folder.
func TestCheckExampleConfig(t *testing.T) {
	fake := startFake(t)
	example, err := filepath.Abs(filepath.Join("..", "..", "docs", "signalbridge.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()}
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", example}, &out, &errb, envFunc(env)); code != 0 {
		t.Fatalf("check of the example exited %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"ok   config", "ok   crisp", "ok   model", "knowledge_base: ", "all checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "warn crisp.plugin_urn") {
		t.Errorf("the example sets a plugin URN, yet check warns about the default:\n%s", out.String())
	}

	// Its header's claims: the values it leaves at the default are the defaults.
	cfg, err := LoadConfig(example, envFunc(env))
	if err != nil {
		t.Fatal(err)
	}
	def := defaultConfig()
	if cfg.Crisp.Events != def.Crisp.Events || cfg.Crisp.HookMaxAge != def.Crisp.HookMaxAge || cfg.Crisp.EIO != def.Crisp.EIO ||
		cfg.Crisp.DailyQuota != def.Crisp.DailyQuota || cfg.Crisp.Timeout != def.Crisp.Timeout || cfg.OpenAI.Timeout != def.OpenAI.Timeout {
		t.Errorf("the example claims defaults but sets crisp %+v, openai timeout %v", cfg.Crisp, cfg.OpenAI.Timeout)
	}
	raw, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "gpt-4.1-nano") {
		t.Error("the example's price list lacks a built-in price (gpt-4.1-nano)")
	}
}

// TestCheckReportsEveryProblem: unknown fields and wrong types come with their path, line and a
// suggestion, all at once, together with Validate's problems.
func TestCheckReportsEveryProblem(t *testing.T) {
	fake := startFake(t)
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()}
	path := writeConfig(t, `listen: 127.0.0.1:8080
crisp:
  event: both
  timeout: ten seconds
  eio: four
websites:
  default:
    start_mode: sometimes
    languages: en
    handover:
      ofer_human: never
  8c842203-7ed8-4e29-a608-7cf78a7d2fcc:
    temperature: hot
    budgets:
      conversation_tokens: 1.5
loglevel: debug
`)
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check exited 0:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		"line 3: crisp.event: unknown field; did you mean events?",
		"line 4: crisp.timeout: want a duration such as 30s, 10m or 1h, got \"ten seconds\"",
		"line 5: crisp.eio: want a whole number, got \"four\"",
		"line 8: websites.default.start_mode: must be auto or wait_for_signal, got \"sometimes\"",
		"line 9: websites.default.languages: want a list ([a, b] or - lines), got \"en\"",
		"line 11: websites.default.handover.ofer_human: unknown field; did you mean offer_human?",
		"line 13: websites.8c842203-7ed8-4e29-a608-7cf78a7d2fcc.temperature: want a number, got \"hot\"",
		"line 15: websites.8c842203-7ed8-4e29-a608-7cf78a7d2fcc.budgets.conversation_tokens: want a whole number, got \"1.5\"",
		"line 16: loglevel: unknown field; did you mean log_level?",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "main.") || strings.Contains(got, "!!str") || strings.Contains(got, "cannot unmarshal") {
		t.Errorf("output shows raw parser text")
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}

	// run refuses the same file, listing the same problems.
	errb.Reset()
	if code := Main(context.Background(), []string{"run", "--config", path}, &out, &errb, envFunc(env)); code != 1 ||
		!strings.Contains(errb.String(), "crisp.event: unknown field; did you mean events?") ||
		!strings.Contains(errb.String(), "websites.default.start_mode") {
		t.Fatalf("run exited %d:\n%s", code, errb.String())
	}

	// A YAML syntax error names its line; a file that is not a mapping says so.
	for yaml, want := range map[string]string{
		"crisp:\n  events: [rtm\n": "line",
		"- just\n- a list\n":       "(file): want a mapping",
	} {
		var o, e strings.Builder
		if code := Main(context.Background(), []string{"check", "--config", writeConfig(t, yaml)}, &o, &e, envFunc(env)); code == 0 ||
			!strings.Contains(o.String(), "FAIL config") || !strings.Contains(o.String(), want) {
			t.Errorf("check of %q exited %d, want a FAIL naming %q:\n%s", yaml, code, want, o.String())
		}
	}
}

// TestConfigRelativePaths: paths in the file are relative to its folder; the environment's are not.
func TestConfigRelativePaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "kb"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sb.yaml")
	if err := os.WriteFile(path, []byte("data: state/sb.db\nwebsites:\n  default:\n    knowledge_base: kb\n    scenario: default\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(path, envFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.Websites["default"]
	if cfg.Data != filepath.Join(dir, "state", "sb.db") || w.KnowledgeBase != filepath.Join(dir, "kb") || w.Scenario != "default" {
		t.Fatalf("data %q, knowledge_base %q, scenario %q: want them under %s (scenario default kept)", cfg.Data, w.KnowledgeBase, w.Scenario, dir)
	}
	cfg, err = LoadConfig(path, envFunc(map[string]string{"SIGNALBRIDGE_DATA": "here.db"}))
	if err != nil || cfg.Data != "here.db" {
		t.Fatalf("SIGNALBRIDGE_DATA=here.db gave %q, %v", cfg.Data, err)
	}
}

// startFake starts a fake Crisp for the checks, closed at the end of the test.
func startFake(t *testing.T) *crisptest.Server {
	t.Helper()
	fake, err := crisptest.Start(crisptest.Options{Identifier: "ident", Key: "key", Websites: []string{testSite}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	return fake
}

func TestSuggest(t *testing.T) {
	known := []string{"events", "eio", "hooks_secret", "hook_max_age", "timeout", "tier"}
	for name, want := range map[string]string{"event": "events", "Events": "events", "hook_secret": "hooks_secret",
		"timout": "timeout", "hook_max": "hook_max_age", "zzzzzz": ""} {
		if got := suggest(name, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestVersionString(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/signalbridge/signalbridge", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T09:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"v1.2.3", bi, "v1.2.3"},
		{"dev", bi, "dev (0123456789ab+dirty, 2026-12-01T09:00:00Z)"},
		{"dev", nil, "dev"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201090000-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}}}, "v0.0.0-20261201090000-0123456789ab"},
	} {
		if got := versionString(tc.linked, tc.bi); got != tc.want {
			t.Errorf("versionString(%q, %+v) = %q, want %q", tc.linked, tc.bi, got, tc.want)
		}
	}
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"version", "--help"}, &out, &errb, envFunc(nil)); code != 0 || !strings.Contains(errb.String(), "Usage: signalbridge version") {
		t.Fatalf("version --help: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"run", "--help"}, &out, &errb, envFunc(nil)); code != 0 ||
		!strings.Contains(errb.String(), "CRISP_IDENTIFIER") || !strings.Contains(errb.String(), "SIGNALBRIDGE_ADMIN_TOKEN") {
		t.Fatalf("run --help lists no environment: %q", errb.String())
	}
}

// TestDefaultPluginURNWarns: run and check accept the default plugin URN but warn about it.
func TestDefaultPluginURNWarns(t *testing.T) {
	fake := startFake(t)
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
		"CRISP_RTM_URL": fake.RTMURL(), "SIGNALBRIDGE_DATA": filepath.Join(t.TempDir(), "sb.db")}
	path := writeConfig(t, "listen: 127.0.0.1:0\n")
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code != 0 ||
		!strings.Contains(out.String(), "warn crisp.plugin_urn: the default urn:signalbridge:assistant:0") {
		t.Fatalf("check exited %d without the URN warning:\n%s", code, out.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lineWriter{ch: make(chan string, 16)}
	stderr := &lineWriter{ch: make(chan string, 16)}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"run", "--config", path}, stdout, stderr, envFunc(env)) }()
	select {
	case <-stdout.ch: // listening: the warning was logged before
	case code := <-done:
		t.Fatalf("run exited %d: %s", code, stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not start: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"level":"WARN","msg":"crisp.plugin_urn is the default urn:signalbridge:assistant:0`) {
		t.Errorf("run logged no warning about the default plugin URN:\n%s", stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr.String())
	}
}

// TestCheckSortsProblemsByLine: check lists the problems of the file in the order of its lines,
// whichever pass found them (the file's shape or Validate), with those no line of the file sets
// last; an invalid website id is reported on the line of the id itself, not on the line below.
func TestCheckSortsProblemsByLine(t *testing.T) {
	env := map[string]string{"CRISP_IDENTIFIER": "ident"} // no CRISP_KEY: a problem without a line
	path := writeConfig(t, `listen: 127.0.0.1:8080
crisp:
  events: sometimes
websites:
  Not-A-Website:
    start_mode: auto
  default:
    languages: en
    start_mode: sometimes
loglevel: debug
`)
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check exited 0:\n%s", out.String())
	}
	var got []string
	for _, l := range strings.Split(out.String(), "\n") {
		if p, ok := strings.CutPrefix(l, "  - "); ok {
			got = append(got, p)
		}
	}
	want := []string{
		`line 3: crisp.events: must be rtm, hooks or both, got "sometimes"`,
		`line 5: websites.Not-A-Website: website id must be a lowercase UUID`,
		`line 8: websites.default.languages: want a list ([a, b] or - lines), got "en"`,
		`line 9: websites.default.start_mode: must be auto or wait_for_signal, got "sometimes"`,
		`line 10: loglevel: unknown field; did you mean log_level?`,
		`crisp.key: is required (CRISP_KEY)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("check listed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
