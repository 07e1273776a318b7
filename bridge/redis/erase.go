package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/signalbridge/signalbridge/bridge"
)

var (
	_ bridge.Eraser            = (*Store)(nil)
	_ bridge.UnprocessedLoader = (*Store)(nil)
)

// eraseScript deletes a conversation KEYS[1], its audit trail KEYS[2] and its index entries: the
// mode index (prefix ARGV[2] plus the mode read from the value's header) and the outbox KEYS[3].
var eraseScript = goredis.NewScript(`
local head = redis.call('GETRANGE', KEYS[1], 0, 63)
if head ~= '' then
  local nl = string.find(head, '\n', 1, true)
  if nl then redis.call('ZREM', ARGV[2] .. string.sub(head, 2, nl - 1), ARGV[1]) end
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`)

// Delete erases a conversation's stored state in one script (an erasure request); a conversation
// that is not stored is not an error.
func (s *Store) Delete(ctx context.Context, key bridge.Key) error {
	ck, err := convKey(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	keys := []string{s.p + keyConv + ck, s.p + keyAudit + ck, s.p + keyOutbox}
	if err := eraseScript.Run(ctx, s.rdb, keys, ck, s.p+keyMode).Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
