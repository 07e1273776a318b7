package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

func TestMigrate(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "signalbridge.db")
	src, err := bolt.Open(file, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want []bridge.Conversation
	for i := range 25 {
		c := storetest.Conversation("w1", fmt.Sprintf("s%02d", i))
		c.Transitions = i % 4
		c.Journal, c.JournalSeq = nil, 0 // owing an answer only: the count below
		if i%2 == 0 {
			c.ReplyDue = 0
		}
		var audit []bridge.AuditEntry
		for j := range c.Transitions {
			audit = append(audit, bridge.AuditEntry{At: int64(j), Detail: fmt.Sprintf("%d-%d", i, j)})
		}
		if err := src.Commit(ctx, &c, audit, fmt.Sprintf("ev%d", i)); err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	if _, err := src.AddUsage(ctx, "w1", "2026-11-30", 1234); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := Main(ctx, append([]string{"migrate"}, args...), &out, &errOut, func(string) string { return "" })
		return code, out.String() + errOut.String()
	}
	if code, out := run("--from", file, "--to", srv.URL(0)); code != 0 {
		t.Fatalf("migrate = %d: %s", code, out)
	} else if !strings.Contains(out, "25 conversations") || !strings.Contains(out, "12 owing an answer") || !strings.Contains(out, "verified") {
		t.Errorf("migrate output = %q", out)
	}

	dst, err := redis.Open(srv.URL(0), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	check := func() {
		t.Helper()
		for _, c := range want {
			got, err := dst.Load(ctx, c.Key)
			if err != nil || !reflect.DeepEqual(got, c) {
				t.Fatalf("Load(%s) after migrate = %+v, %v", c.Key, got, err)
			}
			a, err := dst.Audit(ctx, c.Key, 0)
			if err != nil || len(a) != c.Transitions {
				t.Errorf("%s: %d audit entries, %v; want %d", c.Key, len(a), err, c.Transitions)
			}
		}
		if ok, err := dst.Processed(ctx, "ev7"); err != nil || !ok {
			t.Errorf("Processed(ev7) after migrate = %v, %v", ok, err)
		}
		if n, err := dst.Usage(ctx, "w1", "2026-11-30"); err != nil || n != 1234 {
			t.Errorf("Usage after migrate = %d, %v; want 1234", n, err)
		}
		if out, err := dst.Outbox(ctx, 100); err != nil || len(out) != 12 {
			t.Errorf("Outbox after migrate = %d, %v; want 12", len(out), err)
		}
	}
	check()

	// A second run refuses to overwrite, unless forced; forced, it is idempotent.
	if code, out := run("--from", file, "--to", srv.URL(0)); code != 1 || !strings.Contains(out, "--force") {
		t.Errorf("second migrate = %d: %s; want a refusal naming --force", code, out)
	}
	if code, out := run("--from", file, "--to", srv.URL(0), "--force"); code != 0 {
		t.Fatalf("forced migrate = %d: %s", code, out)
	}
	check()

	// Another prefix is another deployment.
	if code, out := run("--from", file, "--to", srv.URL(0), "--prefix", "other:"); code != 0 {
		t.Fatalf("migrate to another prefix = %d: %s", code, out)
	}
}

func TestMigrateBadInput(t *testing.T) {
	ctx := context.Background()
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "--from"},
		{[]string{"--from", missing}, 2, "--to"},
		{[]string{"--from", missing, "--to", "http://localhost:6379"}, 1, "scheme"},
		{[]string{"--from", missing, "--to", "redis://:pw@127.0.0.1:1/0"}, 1, "no such file"},
	} {
		var out bytes.Buffer
		code := Main(ctx, append([]string{"migrate"}, tt.args...), &out, &out, func(string) string { return "" })
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("migrate %v = %d: %q; want %d mentioning %q", tt.args, code, out.String(), tt.code, tt.want)
		}
		if strings.Contains(out.String(), ":pw@") {
			t.Errorf("migrate %v printed the password: %q", tt.args, out.String())
		}
	}
}

// TestRedisSelectsStore: redis.url (or SIGNALBRIDGE_REDIS_URL) selects the Redis store, and the
// password never shows in the config dump.
func TestRedisSelectsStore(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "pw-123")
	u := "redis://:pw-123@" + srv.Addr() + "/0"
	cfg, err := LoadConfig("", func(k string) string {
		if k == "SIGNALBRIDGE_REDIS_URL" {
			return u
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cfg.String(), "pw-123") {
		t.Errorf("config dump shows the Redis password:\n%s", cfg)
	}
	cfg.Redis.Prefix = "sel:"
	s, name, err := openStore(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*redis.Store); !ok || strings.Contains(name, "pw-123") {
		t.Errorf("openStore = %T %q, want *redis.Store without the password", s, name)
	}
	if err := pingStore(context.Background(), s); err != nil {
		t.Errorf("pingStore = %v", err)
	}
	line, ok, err := checkRedis(cfg)
	if err != nil || !ok || !strings.Contains(line, "answers") || strings.Contains(line, "pw-123") {
		t.Errorf("checkRedis = %q, %v, %v; want an ok line without the password", line, ok, err)
	}
	srv.Stop()
	if _, _, err := checkRedis(cfg); err == nil || strings.Contains(err.Error(), "pw-123") {
		t.Errorf("checkRedis with Redis down = %v; want an error without the password", err)
	}
	bad := cfg
	bad.Redis.URL = "http://x"
	if err := bad.Redis.validate(); len(err) == 0 {
		t.Error("validate(http://x) = no error")
	}
}
