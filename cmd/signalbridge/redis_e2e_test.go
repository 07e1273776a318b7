package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestRedisStoreEndToEnd runs the product on the Redis store (one replica): signals and answers go
// through it, and after the product and redis-server both restart, the state, the trail and the
// processed ids are still there (a late retry is not answered twice).
func TestRedisStoreEndToEnd(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, harnessOptions{events: "hooks", startMode: "wait_for_signal", edit: func(c *Config) {
		c.Redis = RedisConfig{URL: srv.URL(0), Prefix: "e2e:"}
		c.Data = "/nonexistent/dir/unused.db" // the bbolt file must not be opened
	}})
	if _, ok := h.app.store.(*redis.Store); !ok {
		t.Fatalf("store = %T, want *redis.Store", h.app.store)
	}
	v := h.visitor(crisptest.VisitorInfo{})
	s := v.SessionID()
	mustSetData(t, v, map[string]any{"enum": "start_chatbot"})
	h.waitMode(s, signals.ModeActive)
	fp := mustSend(t, v, "How long does shipping take?")
	h.waitAnswers(s, 1)
	before, beforeAudit := h.conv(s)

	h.close()
	srv.Restart()
	h.open()
	after, afterAudit := h.conv(s)
	if after.Mode != signals.ModeActive || after.Last["enum"] != before.Last["enum"] || len(afterAudit) != len(beforeAudit) {
		t.Fatalf("after restart mode=%s last=%q audit=%d, want active %q %d", after.Mode, after.Last["enum"], len(afterAudit), before.Last["enum"], len(beforeAudit))
	}
	h.postHook(t, "message:send", map[string]any{"website_id": testSite, "session_id": s, "type": "text",
		"from": "user", "origin": "chat", "content": "How long does shipping take?", "fingerprint": fp,
		"timestamp": time.Now().UnixMilli(), "user": map[string]any{"user_id": s, "nickname": "visitor"}}, http.StatusOK)
	mustSend(t, v, "And returns?")
	h.waitAnswers(s, 2)
	if n := len(h.answers(s)); n != 2 {
		t.Fatalf("answers = %d, want 2", n)
	}
}
