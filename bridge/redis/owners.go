package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/signalbridge/signalbridge/bridge"
)

var (
	_ bridge.SettingsStore = (*Store)(nil)
	_ bridge.InsightsStore = (*Store)(nil)
)

// Keys of the owners' pages:
//
//	settings                     hash: website id -> JSON bridge.WebsiteSettings
//	settings:version             counter, incremented with every save (replicas poll it)
//	insights:<day>:<website id>  hash: counter name -> value; expires InsightsTTL after its last change
const (
	keySettings        = "settings"
	keySettingsVersion = "settings:version"
	keyInsights        = "insights:"
)

// InsightsTTL is how long a day of insights is kept after its last change.
const InsightsTTL = bridge.InsightsRetention

// saveSettingsScript writes the settings and bumps the version in one step, so a replica that
// reads the new version also reads the new settings.
var saveSettingsScript = goredis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('INCR', KEYS[2])
`)

// addInsightsScript adds each ARGV pair (name, delta) from ARGV[3] on to hash KEYS[1]; a field the
// hash lacks is created only while it holds fewer than ARGV[1] fields. ARGV[2] is the TTL in ms.
var addInsightsScript = goredis.NewScript(`
local max = tonumber(ARGV[1])
local n = redis.call('HLEN', KEYS[1])
for i = 3, #ARGV, 2 do
  local present = redis.call('HEXISTS', KEYS[1], ARGV[i])
  if present == 1 or n < max then
    if present == 0 then n = n + 1 end
    redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i+1])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`)

// SaveSettings replaces a website's settings and returns the new store-wide version.
func (s *Store) SaveSettings(ctx context.Context, websiteID string, ws bridge.WebsiteSettings) (int64, error) {
	if err := checkID("website id", websiteID); err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	if err := ws.Validate(); err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	v, err := saveSettingsScript.Run(ctx, s.rdb, []string{s.p + keySettings, s.p + keySettingsVersion}, websiteID, raw).Int64()
	if err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	return v, nil
}

// AllSettings returns every website's settings and the version they are at (read together).
func (s *Store) AllSettings(ctx context.Context) (map[string]bridge.WebsiteSettings, int64, error) {
	var all *goredis.MapStringStringCmd
	var ver *goredis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		all = p.HGetAll(ctx, s.p+keySettings)
		ver = p.Get(ctx, s.p+keySettingsVersion)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, 0, fmt.Errorf("all settings: %w", err)
	}
	v, err := parseVersion(ver)
	if err != nil {
		return nil, 0, fmt.Errorf("all settings: %w", err)
	}
	out := map[string]bridge.WebsiteSettings{}
	for id, raw := range all.Val() {
		var ws bridge.WebsiteSettings
		if err := json.Unmarshal([]byte(raw), &ws); err != nil {
			return nil, 0, fmt.Errorf("all settings: website %s: %w", id, err)
		}
		out[id] = ws
	}
	return out, v, nil
}

// SettingsVersion returns the store-wide settings version.
func (s *Store) SettingsVersion(ctx context.Context) (int64, error) {
	v, err := parseVersion(s.rdb.Get(ctx, s.p+keySettingsVersion))
	if err != nil {
		return 0, fmt.Errorf("settings version: %w", err)
	}
	return v, nil
}

func parseVersion(c *goredis.StringCmd) (int64, error) {
	v, err := c.Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad version %q: %w", v, err)
	}
	return n, nil
}

func (s *Store) insightsKey(websiteID, day string) (string, error) {
	k, err := s.usageKey(websiteID, day) // validates both; the layout differs only by its prefix
	if err != nil {
		return "", err
	}
	return s.p + keyInsights + k[len(s.p+keyUsage):], nil
}

// AddInsights adds deltas to a website's counters of one day, creating at most maxKeys counters.
func (s *Store) AddInsights(ctx context.Context, websiteID, day string, deltas map[string]int64, maxKeys int) error {
	k, err := s.insightsKey(websiteID, day)
	if err != nil {
		return fmt.Errorf("add insights: %w", err)
	}
	if len(deltas) == 0 {
		return nil
	}
	args := []any{maxKeys, InsightsTTL.Milliseconds()}
	for name, d := range deltas {
		args = append(args, name, d)
	}
	if err := addInsightsScript.Run(ctx, s.rdb, []string{k}, args...).Err(); err != nil {
		return fmt.Errorf("add insights: %w", err)
	}
	return nil
}

// Insights returns a website's counters of each day asked, in one round trip.
func (s *Store) Insights(ctx context.Context, websiteID string, days []string) (map[string]map[string]int64, error) {
	keys := make([]string, len(days))
	for i, d := range days {
		k, err := s.insightsKey(websiteID, d)
		if err != nil {
			return nil, fmt.Errorf("insights: %w", err)
		}
		keys[i] = k
	}
	cmds := make([]*goredis.MapStringStringCmd, len(days))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGetAll(ctx, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insights: %w", err)
	}
	out := make(map[string]map[string]int64, len(days))
	for i, d := range days {
		day := map[string]int64{}
		for name, v := range cmds[i].Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("insights: %s %s: bad counter %q", d, name, v)
			}
			day[name] = n
		}
		out[d] = day
	}
	return out, nil
}

// SetInsights replaces a website's day of insights with counters (for migrate: running it again
// gives the same record).
func (s *Store) SetInsights(ctx context.Context, websiteID, day string, counters map[string]int64) error {
	k, err := s.insightsKey(websiteID, day)
	if err != nil {
		return fmt.Errorf("set insights: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, k)
		if len(counters) > 0 {
			fields := make([]any, 0, 2*len(counters))
			for name, v := range counters {
				fields = append(fields, name, v)
			}
			p.HSet(ctx, k, fields...)
			p.PExpire(ctx, k, InsightsTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set insights: %w", err)
	}
	return nil
}
