package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/signalbridge/signalbridge/bridge"
)

// acceptScript adds inbox entries that are not there yet, each under the next acceptance number, so
// Unprocessed returns them in the order they were accepted. KEYS 1 counter 2 order 3 data; ARGV
// pairs of id, JSON entry.
var acceptScript = goredis.NewScript(`
for i = 1, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[3], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[1]), ARGV[i])
  end
end
return 1
`)

// Accept stores the entries in one script call: all of them or none. An id already waiting keeps
// its first entry. Durability is the server's: with appendfsync everysec the entries are in the AOF
// file when Accept returns (a crash of redis-server loses nothing) and fsynced within about a second
// (a crash of its machine may lose that last second); appendfsync always fsyncs before the reply,
// one fsync for all the clients served in the same event-loop turn (the group commit).
func (s *Store) Accept(ctx context.Context, entries []bridge.InboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(entries))
	for i := range entries {
		if err := checkID("inbox entry id", entries[i].ID); err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		j, err := json.Marshal(&entries[i])
		if err != nil {
			return fmt.Errorf("accept %s: encode: %w", entries[i].ID, err)
		}
		args = append(args, entries[i].ID, string(j))
	}
	keys := []string{s.p + keyInSeq, s.p + keyInOrder, s.p + keyInData}
	if err := acceptScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("accept %d entries: %w", len(entries), err)
	}
	return nil
}

// Unprocessed returns up to limit (100 when limit <= 0) accepted entries not yet removed, in the
// order they were accepted.
func (s *Store) Unprocessed(ctx context.Context, limit int) ([]bridge.InboxEntry, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	ids, err := s.rdb.ZRange(ctx, s.p+keyInOrder, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("unprocessed: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.p+keyInData, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("unprocessed: %w", err)
	}
	out := make([]bridge.InboxEntry, 0, len(vals))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // removed between the two reads
		}
		var e bridge.InboxEntry
		if err := json.Unmarshal([]byte(str), &e); err != nil {
			return nil, fmt.Errorf("unprocessed %s: decode: %w", ids[i], err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Remove forgets processed entries (unknown ids are ignored), in one MULTI transaction.
func (s *Store) Remove(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		if id == "" {
			return fmt.Errorf("remove: %w", errors.Join(ErrInvalid, errors.New("empty inbox entry id")))
		}
		members[i] = id
	}
	_, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRem(ctx, s.p+keyInOrder, members...)
		p.HDel(ctx, s.p+keyInData, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove %d entries: %w", len(ids), err)
	}
	return nil
}
