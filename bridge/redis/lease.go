package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// setCursorScript stores ARGV[2] under field ARGV[1] of hash KEYS[1] when it is greater.
var setCursorScript = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
`)

// Cursor returns the stored value of name, 0 when none.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	if err := checkID("cursor name", name); err != nil {
		return 0, fmt.Errorf("cursor: %w", err)
	}
	v, err := s.rdb.HGet(ctx, s.p+keyCursors, name).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cursor %s: %w", name, err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cursor %s: bad value %q: %w", name, v, err)
	}
	return n, nil
}

// SetCursor stores v for name when it is greater than the stored value (compared inside a script,
// so concurrent replicas never move a cursor back). |v| must not exceed 2^53.
func (s *Store) SetCursor(ctx context.Context, name string, v int64) error {
	if err := checkID("cursor name", name); err != nil {
		return fmt.Errorf("set cursor: %w", err)
	}
	if v > maxExact || v < -maxExact {
		return fmt.Errorf("set cursor %s: %w: value %d beyond 2^53", name, ErrInvalid, v)
	}
	if err := setCursorScript.Run(ctx, s.rdb, []string{s.p + keyCursors}, name, v).Err(); err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

// acquireScript takes (SET NX PX, with a new token) or renews (same holder: PEXPIRE, same token) a
// lease. KEYS 1 lease 2 token counter; ARGV 1 holder 2 ttl ms. Returns {token, 1} or {"0", 0}.
//
// A new token is max(counter + 1, the server's clock in microseconds): like INCR, but still greater
// than every token handed out before when Redis lost its last second of writes (appendfsync
// everysec and a crash of its machine), as long as the server's clock does not go back. A plain
// counter would then hand the same token out twice.
var acquireScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local sp = string.find(v, ' ', 1, true)
  if sp and string.sub(v, sp + 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {string.sub(v, 1, sp - 1), 1}
  end
  return {'0', 0}
end
local t = redis.call('TIME')
local tok = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, tonumber(t[1]) * 1000000 + tonumber(t[2]))
local ts = string.format('%.0f', tok)
redis.call('SET', KEYS[2], ts)
redis.call('SET', KEYS[1], ts .. ' ' .. ARGV[1], 'NX', 'PX', ARGV[2])
return {ts, 1}
`)

// releaseScript deletes the lease KEYS[1] only when holder ARGV[1] has it.
var releaseScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local sp = string.find(v, ' ', 1, true)
  if sp and string.sub(v, sp + 1) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return 1
  end
end
return 0
`)

// Acquire takes or renews the lease of name for holder, for ttl (at least 1ms), timed by the Redis
// server's clock (replicas' clocks do not matter). A new lease gets a token greater than every token
// handed out before (see acquireScript); a renewal keeps its token. When another holder has the
// lease, ok is false and token 0.
func (s *Store) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (int64, bool, error) {
	if err := checkID("lease name", name); err != nil {
		return 0, false, fmt.Errorf("acquire: %w", err)
	}
	if err := checkID("lease holder", holder); err != nil {
		return 0, false, fmt.Errorf("acquire %s: %w", name, err)
	}
	if ttl < time.Millisecond {
		return 0, false, fmt.Errorf("acquire %s: %w: ttl %s below 1ms", name, ErrInvalid, ttl)
	}
	res, err := acquireScript.Run(ctx, s.rdb, []string{s.p + keyLease + name, s.p + keyToken}, holder, ttl.Milliseconds()).Slice()
	if err != nil {
		return 0, false, fmt.Errorf("acquire %s: %w", name, err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("acquire %s: unexpected reply %v", name, res)
	}
	tokStr, _ := res[0].(string)
	ok, _ := res[1].(int64)
	if ok != 1 {
		return 0, false, nil
	}
	tok, err := strconv.ParseInt(tokStr, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("acquire %s: bad token %q: %w", name, tokStr, err)
	}
	return tok, true, nil
}

// Release gives the lease of name up if holder still has it (compare and delete in one script).
func (s *Store) Release(ctx context.Context, name, holder string) error {
	if err := checkID("lease name", name); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := checkID("lease holder", holder); err != nil {
		return fmt.Errorf("release %s: %w", name, err)
	}
	if err := releaseScript.Run(ctx, s.rdb, []string{s.p + keyLease + name}, holder).Err(); err != nil {
		return fmt.Errorf("release %s: %w", name, err)
	}
	return nil
}
