package redis_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

func TestOwnersContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunOwners(t,
		func(t *testing.T) storetest.OwnersStore { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) },
		// Reopen restarts redis-server itself (same directory): what the test reads back came from the AOF.
		func(t *testing.T, s storetest.OwnersStore) storetest.OwnersStore {
			rs := s.(*redis.Store)
			if err := rs.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			srv.Restart()
			return mustOpen(t, srv, redis.Options{Prefix: rs.Prefix()})
		})
}

// TestInsightsExpire: a day of insights expires InsightsTTL after its last change.
func TestInsightsExpire(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: newPrefix()})
	if err := s.AddInsights(context.Background(), "w1", "2026-01-01", map[string]int64{"handled": 1}, 10); err != nil {
		t.Fatal(err)
	}
	keys := srv.Do("KEYS", s.Prefix()+"insights:*")
	if strings.Count(keys, "\n") != 0 || keys == "" {
		t.Fatalf("insights keys = %q, want one", keys)
	}
	ttl, err := strconv.ParseInt(srv.Do("PTTL", keys), 10, 64)
	if err != nil || ttl <= 0 || ttl > redis.InsightsTTL.Milliseconds() || ttl < redis.InsightsTTL.Milliseconds()-60_000 {
		t.Errorf("PTTL = %d (%v), want about %d", ttl, err, redis.InsightsTTL.Milliseconds())
	}
}
