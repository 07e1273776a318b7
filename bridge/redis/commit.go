package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/signalbridge/signalbridge/bridge"
)

// commitScript saves a conversation with everything that must change with it, atomically.
//
//	KEYS  1 conversation  2 set of mode names  3 new mode index  4 outbox  5 audit trail
//	      6 processed marker  7 lease (fenced commits)  8 the store's epoch
//	ARGV  1 value  2 mode  3 ck  4 owes "1"/"0"  5 has event id "1"/"0"  6 processed ttl ms
//	      7 transitions  8 audit limit  9 fencing token ("" when not fenced)  10 mode index prefix
//	      11 the epoch read at Open  12.. audit entries (JSON)
//
// It returns 0 when fenced (nothing written), -1 when the store's epoch is not the one read at Open
// (Redis lost its data: nothing written), 1 when committed. The audit trail is a list in
// sequence order, each element "seq JSON". Audit entry i of n gets sequence number
// transitions-n+1+i, so a repeated commit replaces the same entries (idempotent, like the bbolt
// store); when the entries do not follow the transitions counter they are appended after the last
// one, and skipped when the event id was already processed. The trail keeps the newest AuditLimit.
var commitScript = goredis.NewScript(`
if redis.call('GET', KEYS[8]) ~= ARGV[11] then return -1 end
if ARGV[9] ~= '' then
  local l = redis.call('GET', KEYS[7])
  if not l then return 0 end
  local sp = string.find(l, ' ', 1, true)
  if not sp or string.sub(l, 1, sp - 1) ~= ARGV[9] then return 0 end
end
local ck, mode, owes = ARGV[3], ARGV[2], ARGV[4]
local oldOwes, oldMode = nil, nil
local head = redis.call('GETRANGE', KEYS[1], 0, 63)
if head ~= '' then
  local nl = string.find(head, '\n', 1, true)
  if nl then
    oldOwes, oldMode = string.sub(head, 1, 1), string.sub(head, 2, nl - 1)
  end
end
-- Indexes change only when what they index changes: an unchanged conversation costs no index write.
if oldMode ~= mode then
  if oldMode then redis.call('ZREM', ARGV[10] .. oldMode, ck) end
  redis.call('ZADD', KEYS[3], 0, ck)
  redis.call('SADD', KEYS[2], mode)
end
if owes ~= oldOwes then
  if owes == '1' then
    redis.call('ZADD', KEYS[4], 0, ck)
  elseif oldOwes then
    redis.call('ZREM', KEYS[4], ck)
  end
end
redis.call('SET', KEYS[1], ARGV[1])
local already = false
if ARGV[5] == '1' then already = redis.call('EXISTS', KEYS[6]) == 1 end
local n = #ARGV - 11
if n > 0 then
  local function seqOf(e) return tonumber(string.match(e, '^(%d+) ')) end
  local t = tonumber(ARGV[7])
  local lastSeq = 0
  local tail = redis.call('LINDEX', KEYS[5], -1)
  if tail then lastSeq = seqOf(tail) end
  local first = nil
  if t >= n then
    first = t - n + 1
  elseif not already then
    first = lastSeq + 1
  end
  if first then
    local newest = first + n - 1
    -- A repeated (or replayed) commit: take the entries numbered from first off the tail, and put
    -- back those after newest once the new ones are in.
    local kept = {}
    while lastSeq >= first do
      local e = redis.call('RPOP', KEYS[5])
      if lastSeq > newest then table.insert(kept, 1, e) end
      local nt = redis.call('LINDEX', KEYS[5], -1)
      if not nt then break end
      lastSeq = seqOf(nt)
    end
    local vals = {}
    for i = 1, n do
      vals[i] = string.format('%.0f', first + i - 1) .. ' ' .. ARGV[11 + i]
    end
    for _, e in ipairs(kept) do vals[#vals + 1] = e end
    local len = redis.call('RPUSH', KEYS[5], unpack(vals))
    local limit = tonumber(ARGV[8])
    if limit > 0 and len > limit then
      redis.call('LTRIM', KEYS[5], -limit, -1)
    end
  end
end
if ARGV[5] == '1' and not already then
  redis.call('SET', KEYS[6], '1', 'PX', ARGV[6])
end
return 1
`)

// Commit trims c.Transcript to the last TranscriptLimit turns (in place), then atomically saves c,
// appends audit to its trail (bounded to AuditLimit), updates the mode and outbox indexes and marks
// eventID processed (for ProcessedTTL; a processed id already present keeps its first expiry), in one
// Lua script. It is as durable when it returns as the server's appendfsync setting makes it.
//
// Commit is idempotent like the bbolt store's: committing the same conversation and audit twice
// leaves one copy of each entry (see commitScript). A Commit that failed on a timeout may still be
// applied by the server afterwards; the caller should reload the conversation before committing it
// again.
func (s *Store) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, eventID string) error {
	return s.commit(ctx, "", 0, c, audit, eventID)
}

// CommitFenced is Commit under the lease name taken with Acquire: it writes nothing and fails with
// bridge.ErrFenced unless the lease is still held with token (checked inside the same script, so a
// holder that stalled past its lease cannot overwrite its successor's state).
func (s *Store) CommitFenced(ctx context.Context, name string, token int64, c *bridge.Conversation, audit []bridge.AuditEntry, eventID string) error {
	if err := checkID("lease name", name); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if token <= 0 {
		return fmt.Errorf("commit: %w: fencing token %d", ErrInvalid, token)
	}
	return s.commit(ctx, name, token, c, audit, eventID)
}

func (s *Store) commit(ctx context.Context, lease string, token int64, c *bridge.Conversation, audit []bridge.AuditEntry, eventID string) error {
	if c == nil {
		return fmt.Errorf("commit: %w: nil conversation", ErrInvalid)
	}
	ck, err := convKey(c.Key)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if len(eventID) > maxIDLen {
		return fmt.Errorf("commit %s: %w: event id longer than %d bytes", c.Key, ErrInvalid, maxIDLen)
	}
	if err := checkMode(c.Mode); err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	if n := len(c.Transcript) - s.opts.TranscriptLimit; n > 0 {
		c.Transcript = append([]bridge.Turn(nil), c.Transcript[n:]...)
	}
	val, err := encodeConversation(c)
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	args := make([]any, 11, 11+len(audit))
	args[0], args[1], args[2] = val, string(c.Mode), ck
	args[3], args[4] = "0", "0"
	if owes(c) {
		args[3] = "1"
	}
	if eventID != "" {
		args[4] = "1"
	}
	args[5] = s.opts.ProcessedTTL.Milliseconds()
	args[6], args[7] = c.Transitions, s.opts.AuditLimit
	args[8] = ""
	if lease != "" {
		args[8] = strconv.FormatInt(token, 10)
	}
	args[9] = s.p + keyMode
	args[10] = s.epoch
	for i := range audit {
		j, err := json.Marshal(&audit[i])
		if err != nil {
			return fmt.Errorf("commit %s: encode audit: %w", c.Key, err)
		}
		args = append(args, string(j))
	}
	keys := []string{s.p + keyConv + ck, s.p + keyModes, s.p + keyMode + string(c.Mode), s.p + keyOutbox,
		s.p + keyAudit + ck, s.p + keyProc + eventID, s.p + keyLease + lease, s.p + keyEpoch}
	var n int64
	if s.group != nil {
		n, err = s.group.call(ctx, ck, keys, args)
	} else {
		n, err = commitScript.Run(ctx, s.rdb, keys, args...).Int64()
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	switch n {
	case 0:
		return fmt.Errorf("commit %s under %s: %w", c.Key, lease, bridge.ErrFenced)
	case -1:
		s.lost.Store(true)
		return fmt.Errorf("commit %s: %w", c.Key, ErrStoreLost)
	}
	return nil
}
