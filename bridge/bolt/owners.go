package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
)

var (
	_ bridge.SettingsStore = (*Store)(nil)
	_ bridge.InsightsStore = (*Store)(nil)
)

// Buckets of the owners' pages, created on first write:
//
//	settings  website id                  -> JSON bridge.WebsiteSettings; the bucket's sequence is the version
//	insights  website sep day (YYYY-MM-DD) -> JSON map of counters, pruned past bridge.InsightsRetention
var (
	bucketSettings = []byte("settings")
	bucketInsights = []byte("insights")
)

// SaveSettings replaces a website's settings and returns the new store-wide version.
func (s *Store) SaveSettings(ctx context.Context, websiteID string, ws bridge.WebsiteSettings) (int64, error) {
	if websiteID == "" || len(websiteID) > maxIDLen {
		return 0, fmt.Errorf("save settings: %w: website id %q", ErrInvalid, websiteID)
	}
	if err := ws.Validate(); err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	var v uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSettings)
		if err != nil {
			return err
		}
		if v, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put([]byte(websiteID), raw)
	})
	if err != nil {
		return 0, fmt.Errorf("save settings: %w", err)
	}
	return int64(v), nil
}

// AllSettings returns every website's settings and the version they are at.
func (s *Store) AllSettings(ctx context.Context) (map[string]bridge.WebsiteSettings, int64, error) {
	out := map[string]bridge.WebsiteSettings{}
	var v uint64
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("all settings: %w", err)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		if b == nil {
			return nil
		}
		v = b.Sequence()
		return b.ForEach(func(k, raw []byte) error {
			var ws bridge.WebsiteSettings
			if err := json.Unmarshal(raw, &ws); err != nil {
				return fmt.Errorf("website %s: %w", k, err)
			}
			out[string(k)] = ws
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("all settings: %w", err)
	}
	return out, int64(v), nil
}

// SettingsVersion returns the store-wide settings version.
func (s *Store) SettingsVersion(ctx context.Context) (int64, error) {
	var v uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketSettings); b != nil {
			v = b.Sequence()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("settings version: %w", err)
	}
	return int64(v), nil
}

// AddInsights adds deltas to a website's counters of one day, creating at most maxKeys counters.
func (s *Store) AddInsights(ctx context.Context, websiteID, day string, deltas map[string]int64, maxKeys int) error {
	k, err := usageKey(websiteID, day)
	if err != nil {
		return fmt.Errorf("add insights: %w", err)
	}
	if len(deltas) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("add insights: %w", err)
	}
	dayOf, _ := time.Parse(time.DateOnly, day) // usageKey checked it
	// Re-running the function after a failed batch starts from the rolled-back record, so it adds once.
	err = s.write(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketInsights)
		if err != nil {
			return err
		}
		day := map[string]int64{}
		if raw := b.Get(k); raw != nil {
			if err := json.Unmarshal(raw, &day); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
		}
		for name, d := range deltas {
			if _, ok := day[name]; !ok && len(day) >= maxKeys {
				continue
			}
			day[name] += d
		}
		raw, err := json.Marshal(day)
		if err != nil {
			return err
		}
		if err := b.Put(k, raw); err != nil {
			return err
		}
		return pruneInsights(b, websiteID, dayOf)
	})
	if err != nil {
		return fmt.Errorf("add insights: %w", err)
	}
	return nil
}

// Insights returns a website's counters of each day asked.
func (s *Store) Insights(ctx context.Context, websiteID string, days []string) (map[string]map[string]int64, error) {
	keys := make([][]byte, len(days))
	for i, d := range days {
		k, err := usageKey(websiteID, d)
		if err != nil {
			return nil, fmt.Errorf("insights: %w", err)
		}
		keys[i] = k
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("insights: %w", err)
	}
	out := make(map[string]map[string]int64, len(days))
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInsights)
		for i, d := range days {
			day := map[string]int64{}
			if b != nil {
				if raw := b.Get(keys[i]); raw != nil {
					if err := json.Unmarshal(raw, &day); err != nil {
						return fmt.Errorf("decode %q: %w", keys[i], err)
					}
				}
			}
			out[d] = day
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insights: %w", err)
	}
	return out, nil
}

// pruneInsights deletes the website's days older than bridge.InsightsRetention before day: the
// keys sort by day within a website, so it reads only what it deletes and one more key.
func pruneInsights(b *bolt.Bucket, websiteID string, day time.Time) error {
	cutoff := websiteID + "\x00" + day.Add(-bridge.InsightsRetention).Format(time.DateOnly)
	prefix := []byte(websiteID + "\x00")
	var dead [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && string(k) < cutoff; k, _ = c.Next() {
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// EachInsights calls fn with every website's day of insights, in key order (for migrate).
func (s *Store) EachInsights(ctx context.Context, fn func(websiteID, day string, counters map[string]int64) error) error {
	type rec struct {
		website, day string
		counters     map[string]int64
	}
	var all []rec
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInsights)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, raw []byte) error {
			website, day, ok := strings.Cut(string(k), "\x00")
			if !ok {
				return fmt.Errorf("bad insights key %q", k)
			}
			r := rec{website: website, day: day}
			if err := json.Unmarshal(raw, &r.counters); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			all = append(all, r)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("each insights: %w", err)
	}
	for _, r := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.website, r.day, r.counters); err != nil {
			return err
		}
	}
	return nil
}
