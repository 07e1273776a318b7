package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

var (
	_ bridge.Pager   = (*Store)(nil)
	_ bridge.Eraser  = (*Store)(nil)
	_ bridge.Expirer = (*Store)(nil)
)

// Retention index: every conversation is filed under the day (Unix days, 4 bytes BE) of its last
// commit, so the sweep reads only what is due. The index moves at most once per conversation per
// day (the touched bucket says where it is filed), so an ordinary commit pays one Get.
//
//	touched  conversation key       -> day (4 BE)
//	idle     day (4 BE) conv key    -> empty
var (
	bucketTouched = []byte("touched")
	bucketIdle    = []byte("idle")
)

const msPerDay = 86_400_000

func dayOf(ms int64) [4]byte {
	var d [4]byte
	binary.BigEndian.PutUint32(d[:], uint32(max(ms, 0)/msPerDay))
	return d
}

// touch files ck under day in the retention index, moving it from its previous day.
func touch(tx *bolt.Tx, ck []byte, day [4]byte) error {
	touched, idle := tx.Bucket(bucketTouched), tx.Bucket(bucketIdle)
	old := touched.Get(ck)
	if bytes.Equal(old, day[:]) {
		return nil
	}
	if len(old) == 4 {
		if err := idle.Delete(append(append([]byte(nil), old...), ck...)); err != nil {
			return err
		}
	}
	if err := idle.Put(append(day[:], ck...), nil); err != nil {
		return err
	}
	return touched.Put(ck, day[:])
}

// ListAfter returns up to limit conversations in key order after key after (from the start when it
// is zero), only those in mode when mode is not empty: a page of List.
func (s *Store) ListAfter(ctx context.Context, mode signals.Mode, after bridge.Key, limit int) ([]bridge.Conversation, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	var from []byte
	if after != (bridge.Key{}) {
		ck, err := convKey(after)
		if err != nil {
			return nil, fmt.Errorf("list after: %w", err)
		}
		from = ck
	}
	var out []bridge.Conversation
	err := s.db.View(func(tx *bolt.Tx) error {
		convs := tx.Bucket(bucketConversations)
		add := func(k, v []byte) error {
			var c bridge.Conversation
			if err := decodeConversation(v, &c); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			out = append(out, c)
			return nil
		}
		if mode == "" {
			c := convs.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
				if bytes.Equal(k, from) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(out) < limit; k, v = c.Next() {
				if err := add(k, v); err != nil {
					return err
				}
			}
			return ctx.Err()
		}
		prefix := modeKey(mode, nil)
		c := tx.Bucket(bucketModes).Cursor()
		k, _ := c.Seek(modeKey(mode, from))
		if from != nil && bytes.Equal(k, modeKey(mode, from)) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			ck := k[len(prefix):]
			v := convs.Get(ck)
			if v == nil {
				continue
			}
			if err := add(ck, v); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list after: %w", err)
	}
	return out, nil
}

// Delete erases a conversation's stored state: the conversation, its audit trail and its index
// entries (an erasure request). Deleting a conversation that is not stored is not an error.
func (s *Store) Delete(ctx context.Context, key bridge.Key) error {
	ck, err := convKey(key)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err = s.write(ctx, func(tx *bolt.Tx) error { return erase(tx, ck) })
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// erase removes ck and everything filed under it.
func erase(tx *bolt.Tx, ck []byte) error {
	convs := tx.Bucket(bucketConversations)
	if v := convs.Get(ck); v != nil {
		if mode, _, err := splitConversation(v); err == nil {
			if err := tx.Bucket(bucketModes).Delete(modeKey(mode, ck)); err != nil {
				return err
			}
		}
		if err := convs.Delete(ck); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketOutbox).Delete(ck); err != nil {
		return err
	}
	touched := tx.Bucket(bucketTouched)
	if day := touched.Get(ck); len(day) == 4 {
		if err := tx.Bucket(bucketIdle).Delete(append(append([]byte(nil), day...), ck...)); err != nil {
			return err
		}
		if err := touched.Delete(ck); err != nil {
			return err
		}
	}
	audit := tx.Bucket(bucketAudit)
	prefix := auditPrefix(ck)
	var keys [][]byte
	c := audit.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := audit.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Expire erases up to limit conversations whose last commit is on a day before idleBefore (Unix ms)
// and returns their keys. It reads only the retention index entries that are due.
func (s *Store) Expire(ctx context.Context, idleBefore int64, limit int) ([]bridge.Key, error) {
	if limit <= 0 {
		limit = 1000
	}
	cutoff := dayOf(idleBefore)
	var due [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIdle).Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit && bytes.Compare(k[:4], cutoff[:]) < 0; k, _ = c.Next() {
			due = append(due, append([]byte(nil), k[4:]...))
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	err = s.write(ctx, func(tx *bolt.Tx) error {
		for _, ck := range due {
			if err := erase(tx, ck); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire: %w", err)
	}
	keys := make([]bridge.Key, 0, len(due))
	for _, ck := range due {
		if k, err := parseConvKey(ck); err == nil {
			keys = append(keys, k)
		}
	}
	return keys, nil
}
