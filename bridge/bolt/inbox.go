package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
)

var (
	_ bridge.Inbox   = (*Store)(nil)
	_ bridge.Cursors = (*Store)(nil)
)

// bucketInboxIDs maps an inbox entry id to its place in the inbox (the bucket's sequence number,
// 8 bytes BE), so the inbox lists in acceptance order and Remove finds an entry by id.
var bucketInboxIDs = []byte("inbox-ids")

// Accept makes the entries durable in one group commit shared with concurrent writers: a hook is
// acknowledged only after it returns. Entries are listed in the order they were accepted; an entry
// accepted twice is stored once, at its first place.
func (s *Store) Accept(ctx context.Context, entries []bridge.InboxEntry) error {
	if len(entries) == 0 {
		return nil
	}
	keys := make([][]byte, len(entries))
	vals := make([][]byte, len(entries))
	for i := range entries {
		if entries[i].ID == "" || len(entries[i].ID) > maxIDLen {
			return fmt.Errorf("accept: %w: inbox id %q", ErrInvalid, entries[i].ID)
		}
		v, err := json.Marshal(&entries[i])
		if err != nil {
			return fmt.Errorf("accept: encode: %w", err)
		}
		keys[i], vals[i] = []byte(entries[i].ID), v
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b, ids := tx.Bucket(bucketInbox), tx.Bucket(bucketInboxIDs)
		for i := range keys {
			if ids.Get(keys[i]) != nil {
				continue
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			var place [8]byte
			binary.BigEndian.PutUint64(place[:], seq)
			if err := b.Put(place[:], vals[i]); err != nil {
				return err
			}
			if err := ids.Put(keys[i], place[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	return nil
}

// Unprocessed returns up to limit entries not yet removed, oldest first.
func (s *Store) Unprocessed(ctx context.Context, limit int) ([]bridge.InboxEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	var out []bridge.InboxEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			var e bridge.InboxEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode inbox entry %q: %w", k, err)
			}
			out = append(out, e)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("unprocessed: %w", err)
	}
	return out, nil
}

// Remove forgets processed entries (an absent id is not an error).
func (s *Store) Remove(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *bolt.Tx) error {
		for _, id := range ids {
			if err := removeInboxEntry(tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove inbox entries: %w", err)
	}
	return nil
}

// Cursor returns the stored value of name, 0 when none.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCursors).Get([]byte(name)); len(b) == 8 {
			v = int64(binary.BigEndian.Uint64(b))
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("cursor %s: %w", name, err)
	}
	return v, nil
}

// SetCursor stores v for name when it is greater than the stored value.
func (s *Store) SetCursor(ctx context.Context, name string, v int64) error {
	if name == "" || len(name) > maxIDLen {
		return fmt.Errorf("set cursor: %w: name %q", ErrInvalid, name)
	}
	var val [8]byte
	binary.BigEndian.PutUint64(val[:], uint64(v))
	err := s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		if old := b.Get([]byte(name)); len(old) == 8 && int64(binary.BigEndian.Uint64(old)) >= v {
			return nil
		}
		return b.Put([]byte(name), val[:])
	})
	if err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

// removeInboxEntry deletes one accepted entry, if it is still there.
func removeInboxEntry(tx *bolt.Tx, id string) error {
	b, places := tx.Bucket(bucketInbox), tx.Bucket(bucketInboxIDs)
	place := places.Get([]byte(id))
	if place == nil {
		return nil
	}
	if err := b.Delete(place); err != nil {
		return err
	}
	return places.Delete([]byte(id))
}

// EachCursor calls fn with every stored cursor, in name order (migrate copies them).
func (s *Store) EachCursor(ctx context.Context, fn func(name string, v int64) error) error {
	type kv struct {
		name string
		v    int64
	}
	var all []kv
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCursors).ForEach(func(k, b []byte) error {
			if len(b) == 8 {
				all = append(all, kv{string(k), int64(binary.BigEndian.Uint64(b))})
			}
			return ctx.Err()
		})
	})
	if err != nil {
		return fmt.Errorf("each cursor: %w", err)
	}
	for _, c := range all {
		if err := fn(c.name, c.v); err != nil {
			return err
		}
	}
	return nil
}
