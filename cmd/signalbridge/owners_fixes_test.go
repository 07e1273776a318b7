package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCheckStartSecretEnv: a website whose start_secret_env names a variable that is unset or
// shorter than 16 bytes fails check with the field and the variable named, as run refuses it; a
// long enough secret passes.
func TestCheckStartSecretEnv(t *testing.T) {
	fake := startFake(t)
	path := writeConfig(t, "websites:\n  default:\n    signals:\n      start_secret_env: SHOP_START_SECRET\n")
	for _, tc := range []struct {
		name, secret string
		want         string // in check's output; "" means check passes
	}{
		{"missing", "", "environment variable SHOP_START_SECRET is not set"},
		{"too short", "0123456789", "SHOP_START_SECRET must hold at least 16 bytes, has 10"},
		{"long enough", "0123456789abcdef", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
				"SHOP_START_SECRET": tc.secret}
			var out, errb strings.Builder
			code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env))
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("check exited %d with a 16-byte secret:\n%s%s", code, out.String(), errb.String())
				}
				return
			}
			if code == 0 {
				t.Fatalf("check passed with start_secret_env %s:\n%s", tc.name, out.String())
			}
			for _, w := range []string{"websites.default.signals.start_secret_env", "line 4", tc.want} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("check output lacks %q:\n%s", w, out.String())
				}
			}
			// run refuses the same config before it opens anything, with the same words.
			var rout, rerr strings.Builder
			env["SIGNALBRIDGE_DATA"] = t.TempDir() + "/sb.db"
			if code := Main(context.Background(), []string{"run", "--config", path}, &rout, &rerr, envFunc(env)); code == 0 ||
				!strings.Contains(rerr.String(), tc.want) {
				t.Errorf("run exited %d, stderr %q; want a failure naming %q", code, rerr.String(), tc.want)
			}
		})
	}
}

// TestCheckEnvironmentValues: a wrong value from CRISP_EVENTS is reported as coming from the
// variable, not from the line of the file it overrides, and alone: no spurious hooks_secret.
func TestCheckEnvironmentValues(t *testing.T) {
	fake := startFake(t)
	path := writeConfig(t, "crisp:\n  events: rtm\n")
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL(),
		"CRISP_EVENTS": "carrier-pigeon"}
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check passed with CRISP_EVENTS=carrier-pigeon:\n%s", out.String())
	}
	got := out.String()
	if !strings.Contains(got, `crisp.events: must be rtm, hooks or both, got "carrier-pigeon" (from CRISP_EVENTS)`) {
		t.Errorf("check does not name CRISP_EVENTS as the source:\n%s", got)
	}
	if strings.Contains(got, "line 2") {
		t.Errorf("check points at the file's line for a value from the environment:\n%s", got)
	}
	if strings.Contains(got, "hooks_secret") {
		t.Errorf("an invalid events value adds a hooks_secret problem:\n%s", got)
	}

	// From the file, the same value keeps its line.
	path = writeConfig(t, "crisp:\n  events: carrier-pigeon\n")
	delete(env, "CRISP_EVENTS")
	out.Reset()
	Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env))
	if !strings.Contains(out.String(), "line 2: crisp.events") || strings.Contains(out.String(), "hooks_secret") {
		t.Errorf("check of events in the file:\n%s", out.String())
	}
}

// TestHelpTexts: run --help lists every variable LoadConfig reads; no help names a source file.
func TestHelpTexts(t *testing.T) {
	var runHelp strings.Builder
	if code := Main(context.Background(), []string{"run", "--help"}, &strings.Builder{}, &runHelp, envFunc(nil)); code != 0 {
		t.Fatalf("run --help exited %d", code)
	}
	for name := range envFields {
		if !strings.Contains(runHelp.String(), name) {
			t.Errorf("run --help does not list %s", name)
		}
	}
	for _, args := range [][]string{{"help"}, {"migrate", "--help"}, {"run", "--help"}, {"check", "--help"}, {"demo", "--help"}} {
		var out, errb strings.Builder
		Main(context.Background(), args, &out, &errb, envFunc(nil))
		if text := out.String() + errb.String(); strings.Contains(text, ".go") {
			t.Errorf("%v names a source file:\n%s", args, text)
		}
	}
}

// TestDemoLogsShutdown: an interrupted demo logs that it is shutting down and then that it stopped.
func TestDemoLogsShutdown(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	stdout := &lineWriter{ch: make(chan string, 64)}
	stderr := &lineWriter{ch: make(chan string, 64)}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--log-level", "info"}, stdout, stderr, envFunc(nil))
	}()
	deadline := time.After(demoWait)
	for started := false; !started; {
		select {
		case line := <-stdout.ch:
			started = strings.Contains(line, "Demo page:")
		case code := <-done:
			t.Fatalf("demo exited %d: %s", code, stderr.String())
		case <-deadline:
			t.Fatal("demo did not start")
		}
	}
	interrupt()
	if code := <-done; code != 0 {
		t.Fatalf("demo exited %d: %s", code, stderr.String())
	}
	logs := stderr.String()
	i, j := strings.Index(logs, "shutting down"), strings.Index(logs, `"stopped"`)
	if i < 0 || j < i {
		t.Fatalf("demo logs lack \"shutting down\" then \"stopped\":\n%s", logs)
	}
}
