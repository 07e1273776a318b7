package redis_test

import (
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
