package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
)

// Each calls fn for every stored conversation, in key order, with its whole kept audit trail (oldest
// first), in one read transaction: a consistent snapshot (the migration to Redis reads it). It stops
// at the first error of fn, or when ctx is done.
func (s *Store) Each(ctx context.Context, fn func(bridge.Conversation, []bridge.AuditEntry) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		audit := tx.Bucket(bucketAudit)
		c := tx.Bucket(bucketConversations).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key, err := parseConvKey(k)
			if err != nil {
				return err
			}
			var conv bridge.Conversation
			if err := decodeConversation(v, &conv); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			conv.Key = key
			var trail []bridge.AuditEntry
			prefix := auditPrefix(k)
			ac := audit.Cursor()
			for ak, av := ac.Seek(prefix); ak != nil && bytes.HasPrefix(ak, prefix); ak, av = ac.Next() {
				var e bridge.AuditEntry
				if err := json.Unmarshal(av, &e); err != nil {
					return fmt.Errorf("%s: decode audit entry: %w", k, err)
				}
				trail = append(trail, e)
			}
			if err := fn(conv, trail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("each conversation: %w", err)
	}
	return nil
}

// EachUsage calls fn for every stored daily token usage, in website then day order.
func (s *Store) EachUsage(ctx context.Context, fn func(websiteID, day string, tokens int64) error) error {
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUsage).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			website, day, ok := strings.Cut(string(k), "\x00")
			if !ok || len(v) != 8 {
				return fmt.Errorf("bad usage entry %q", k)
			}
			if err := fn(website, day, int64(binary.BigEndian.Uint64(v))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("each usage: %w", err)
	}
	return nil
}

// EachProcessed calls fn for every processed event id whose time to live has not passed, with its
// expiry.
func (s *Store) EachProcessed(ctx context.Context, fn func(eventID string, expiry time.Time) error) error {
	now := uint64(s.opts.Now().UnixMilli())
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketProcessed).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(v) != 8 {
				continue
			}
			exp := binary.BigEndian.Uint64(v)
			if exp <= now {
				continue
			}
			if err := fn(string(k), time.UnixMilli(int64(exp))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("each processed id: %w", err)
	}
	return nil
}
