// Package bolt is the embedded bridge.Store on a single bbolt file: conversations, a mode index,
// processed event ids with an expiry index, bounded audit trails and daily token usage. It is the only
// package that imports go.etcd.io/bbolt.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

var (
	_ bridge.Store             = (*Store)(nil)
	_ bridge.UnprocessedLoader = (*Store)(nil)
)

// Bucket names. Key layouts (sep is 0x00, which ids may not contain):
//
//	conversations  website "/" session                -> format, mode, binary conversation (codec.go)
//	modes          mode sep website "/" session       -> empty (List by mode without a scan)
//	processed      event id                           -> expiry, Unix ms, big-endian uint64
//	expiry         expiry (8 bytes BE) event id       -> empty (purge without a scan)
//	audit          website "/" session sep seq (8 BE) -> JSON audit entry
//	usage          website sep day                    -> tokens, big-endian uint64
var (
	bucketConversations = []byte("conversations")
	bucketModes         = []byte("modes")
	bucketProcessed     = []byte("processed")
	bucketExpiry        = []byte("expiry")
	bucketAudit         = []byte("audit")
	bucketUsage         = []byte("usage")
	bucketOutbox        = []byte("outbox")  // conversation key -> nil, while it owes an answer or a Crisp write
	bucketInbox         = []byte("inbox")   // place (sequence, 8 BE) -> JSON entry, until processed
	bucketCursors       = []byte("cursors") // name -> value, big-endian uint64
	allBuckets          = [][]byte{bucketConversations, bucketModes, bucketProcessed, bucketExpiry, bucketAudit, bucketUsage,
		bucketOutbox, bucketInbox, bucketCursors, bucketTouched, bucketIdle, bucketEmbeddings, bucketInboxIDs}
)

const (
	sep = 0x00
	// maxIDLen bounds website, session and event ids so a bad event cannot write huge keys.
	maxIDLen = 1024
	// purgeChunk bounds how many expired ids one purge transaction deletes.
	purgeChunk = 10_000
	// defaultListLimit is used when List is called with limit <= 0.
	defaultListLimit = 100
)

// ErrInvalid wraps every rejected argument (empty or oversized ids, bad day, negative tokens).
var ErrInvalid = errors.New("invalid argument")

// Options configure a Store. The zero value gives the defaults.
type Options struct {
	Timeout         time.Duration // how long Open waits for the file lock (default 1s)
	ProcessedTTL    time.Duration // how long processed event ids are kept (default 72h)
	PurgeInterval   time.Duration // period of the background purge of expired ids (default 10m; < 0 disables)
	AuditLimit      int           // audit entries kept per conversation (default 200)
	TranscriptLimit int           // turns kept per conversation; Commit trims to the last N (default 50)
	MaxBatchSize    int           // most writes in one group commit (default 1000)
	BatchDelay      time.Duration // > 0: group through bbolt's db.Batch with this delay instead (comparison)
	NoSync          bool          // skip fsync: benchmarks only, a crash loses commits
	// NoFreelistSync skips writing bbolt's freelist at every commit (it is rebuilt by a scan of the
	// file at Open instead): fewer pages written per commit, a slower start on a large file.
	NoFreelistSync bool
	Logger         *slog.Logger // default: discard
	Now            func() time.Time
}

func (o *Options) setDefaults() {
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.ProcessedTTL == 0 {
		o.ProcessedTTL = 72 * time.Hour
	}
	if o.PurgeInterval == 0 {
		o.PurgeInterval = 10 * time.Minute
	}
	if o.AuditLimit == 0 {
		o.AuditLimit = 200
	}
	if o.TranscriptLimit == 0 {
		o.TranscriptLimit = 50
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = 1000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", o.Timeout))
	}
	if o.ProcessedTTL < 0 {
		errs = append(errs, fmt.Errorf("processed ttl %s is negative", o.ProcessedTTL))
	}
	if o.AuditLimit < 0 {
		errs = append(errs, fmt.Errorf("audit limit %d is negative", o.AuditLimit))
	}
	if o.TranscriptLimit < 0 {
		errs = append(errs, fmt.Errorf("transcript limit %d is negative", o.TranscriptLimit))
	}
	if o.BatchDelay < 0 || o.MaxBatchSize < 0 {
		errs = append(errs, errors.New("batch delay and size must not be negative"))
	}
	return errors.Join(errs...)
}

// Store is a bridge.Store on one bbolt file. It is safe for concurrent use. Open it with Open and
// close it with Close, which stops the background purge and waits for it.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
	log  *slog.Logger

	committer committer
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the store file at path, creates its buckets and starts the
// background purge of expired processed ids. It never scans the stored conversations, so it is fast
// whatever their number.
func Open(path string, opts Options) (*Store, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("open store: %w: %w", ErrInvalid, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        opts.Timeout,
		NoSync:         opts.NoSync,
		NoFreelistSync: opts.NoFreelistSync,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.MaxBatchDelay = opts.BatchDelay
	db.MaxBatchSize = opts.MaxBatchSize
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: create buckets: %w", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{db: db, path: path, opts: opts, log: opts.Logger, cancel: cancel,
		committer: committer{db: db, maxSize: opts.MaxBatchSize, calls: make(chan *call), done: ctx.Done()}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.committer.run()
	}()
	if opts.PurgeInterval > 0 {
		s.wg.Add(1)
		go s.purgeLoop(ctx)
	}
	return s, nil
}

// Close stops the group committer (writes after Close fail with ErrClosed) and the background purge,
// waits for them and closes the file. It is safe to call twice.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("close store: %w", err)
		}
	})
	return s.closeErr
}

// Path returns the path of the store file, also after Close.
func (s *Store) Path() string { return s.path }

// Check runs bbolt's consistency check over the whole file and returns every problem found.
func (s *Store) Check() error {
	var errs []error
	err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("check store: %w", err)
	}
	return nil
}

func (s *Store) purgeLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Purge(ctx)
			if err != nil {
				s.log.Error("purge processed ids", "err", err)
				continue
			}
			if n > 0 {
				s.log.Debug("purged processed ids", "count", n)
			}
		}
	}
}

// Purge deletes the processed event ids whose time to live has passed and returns how many. It walks
// the expiry index from its oldest entry and stops at the first live one, in short transactions.
func (s *Store) Purge(ctx context.Context) (int, error) {
	now := uint64(s.opts.Now().UnixMilli())
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			exp, proc := tx.Bucket(bucketExpiry), tx.Bucket(bucketProcessed)
			var dead [][]byte
			c := exp.Cursor()
			for k, _ := c.First(); k != nil && len(dead) < purgeChunk; k, _ = c.Next() {
				if len(k) < 8 || binary.BigEndian.Uint64(k) > now {
					break
				}
				dead = append(dead, bytes.Clone(k))
			}
			for _, k := range dead {
				if err := exp.Delete(k); err != nil {
					return err
				}
				id := k[8:]
				// Only drop the id when this index entry is its current expiry.
				if v := proc.Get(id); len(v) == 8 && bytes.Equal(v, k[:8]) {
					if err := proc.Delete(id); err != nil {
						return err
					}
				}
			}
			n = len(dead)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("purge: %w", err)
		}
		total += n
		if n < purgeChunk {
			return total, nil
		}
	}
}

// convKey returns the conversations key of k after validating it.
func convKey(k bridge.Key) ([]byte, error) {
	switch {
	case k.WebsiteID == "" || k.SessionID == "":
		return nil, fmt.Errorf("%w: empty website or session id", ErrInvalid)
	case len(k.WebsiteID) > maxIDLen || len(k.SessionID) > maxIDLen:
		return nil, fmt.Errorf("%w: website or session id longer than %d bytes", ErrInvalid, maxIDLen)
	case strings.IndexByte(k.WebsiteID, '/') >= 0:
		return nil, fmt.Errorf("%w: website id contains '/'", ErrInvalid)
	case strings.IndexByte(k.WebsiteID, sep) >= 0 || strings.IndexByte(k.SessionID, sep) >= 0:
		return nil, fmt.Errorf("%w: id contains a NUL byte", ErrInvalid)
	}
	return []byte(k.String()), nil
}

func checkEventID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: event id longer than %d bytes", ErrInvalid, maxIDLen)
	}
	return nil
}

// parseConvKey is the inverse of convKey ("website/session"; a website id has no '/').
func parseConvKey(ck []byte) (bridge.Key, error) {
	w, sess, ok := strings.Cut(string(ck), "/")
	if !ok || w == "" || sess == "" {
		return bridge.Key{}, fmt.Errorf("bad conversation key %q", ck)
	}
	return bridge.Key{WebsiteID: w, SessionID: sess}, nil
}

func modeKey(mode signals.Mode, ck []byte) []byte {
	k := make([]byte, 0, len(mode)+1+len(ck))
	k = append(k, mode...)
	k = append(k, sep)
	return append(k, ck...)
}

func auditPrefix(ck []byte) []byte {
	p := make([]byte, 0, len(ck)+1)
	p = append(p, ck...)
	return append(p, sep)
}

func auditKey(prefix []byte, seq uint64) []byte {
	k := make([]byte, len(prefix)+8)
	copy(k, prefix)
	binary.BigEndian.PutUint64(k[len(prefix):], seq)
	return k
}

// Load returns the stored conversation, or an error wrapping bridge.ErrNotFound.
func (s *Store) Load(ctx context.Context, key bridge.Key) (bridge.Conversation, error) {
	var c bridge.Conversation
	ck, err := convKey(key)
	if err != nil {
		return c, fmt.Errorf("load: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return c, fmt.Errorf("load %s: %w", key, err)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketConversations).Get(ck)
		if v == nil {
			return bridge.ErrNotFound
		}
		return decodeConversation(v, &c)
	})
	if err != nil {
		return bridge.Conversation{}, fmt.Errorf("load %s: %w", key, err)
	}
	c.Key = key
	return c, nil
}

// LoadUnprocessed is Processed and Load in one read transaction: when eventID ("" none) was
// processed it reports so and loads nothing.
func (s *Store) LoadUnprocessed(ctx context.Context, key bridge.Key, eventID string) (bridge.Conversation, bool, error) {
	var c bridge.Conversation
	ck, err := convKey(key)
	if err != nil {
		return c, false, fmt.Errorf("load: %w", err)
	}
	if err := checkEventID(eventID); err != nil {
		return c, false, fmt.Errorf("load %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return c, false, fmt.Errorf("load %s: %w", key, err)
	}
	now := uint64(s.opts.Now().UnixMilli())
	dup := false
	err = s.db.View(func(tx *bolt.Tx) error {
		if eventID != "" {
			v := tx.Bucket(bucketProcessed).Get([]byte(eventID))
			if dup = len(v) == 8 && binary.BigEndian.Uint64(v) > now; dup {
				return nil
			}
		}
		v := tx.Bucket(bucketConversations).Get(ck)
		if v == nil {
			return bridge.ErrNotFound
		}
		return decodeConversation(v, &c)
	})
	if err != nil {
		return bridge.Conversation{}, false, fmt.Errorf("load %s: %w", key, err)
	}
	if dup {
		return bridge.Conversation{}, true, nil
	}
	c.Key = key
	return c, false, nil
}

// Processed reports whether eventID was committed and its time to live has not passed.
func (s *Store) Processed(ctx context.Context, eventID string) (bool, error) {
	if err := checkEventID(eventID); err != nil {
		return false, fmt.Errorf("processed: %w", err)
	}
	if eventID == "" {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("processed: %w", err)
	}
	now := uint64(s.opts.Now().UnixMilli())
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketProcessed).Get([]byte(eventID))
		ok = len(v) == 8 && binary.BigEndian.Uint64(v) > now
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("processed: %w", err)
	}
	return ok, nil
}

// Commit trims c.Transcript to the last TranscriptLimit turns (in place), then atomically saves c,
// appends audit to its trail (bounded to AuditLimit) and marks eventID processed, in a group commit
// shared with concurrent writers. It is durable when it returns (unless NoSync).
//
// Commit is idempotent: audit entry i of n gets sequence number c.Transitions-n+1+i (the machine
// counts one transition per entry), so committing the same conversation and audit twice writes the
// same keys; a processed id already present keeps its first expiry. When the caller's audit does not
// follow the Transitions counter (more entries than transitions) entries are appended after the last
// one instead, and skipped when eventID was already processed.
func (s *Store) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, eventID string) error {
	return s.CommitRemoving(ctx, c, audit, eventID, "")
}

// CommitRemoving is Commit that also removes the processed inbox entry inboxID ("" none) in the
// same transaction: the event's decision and the end of its intake are one write.
func (s *Store) CommitRemoving(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, eventID, inboxID string) error {
	if c == nil {
		return fmt.Errorf("commit: %w: nil conversation", ErrInvalid)
	}
	ck, err := convKey(c.Key)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := checkEventID(eventID); err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	if n := len(c.Transcript) - s.opts.TranscriptLimit; n > 0 {
		c.Transcript = append([]bridge.Turn(nil), c.Transcript[n:]...)
	}
	// Encode everything before the transaction: the write lock is held only for puts.
	val, err := encodeConversation(c)
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	entries := make([][]byte, len(audit))
	for i := range audit {
		if entries[i], err = json.Marshal(&audit[i]); err != nil {
			return fmt.Errorf("commit %s: encode audit: %w", c.Key, err)
		}
	}
	var expiry [8]byte
	binary.BigEndian.PutUint64(expiry[:], uint64(s.opts.Now().Add(s.opts.ProcessedTTL).UnixMilli()))
	mode := c.Mode
	transitions := c.Transitions
	owed := c.Owes()
	day := dayOf(c.UpdatedAt)

	// The function may run more than once (bbolt retries a failed batch one by one): it only touches
	// the transaction and the values computed above.
	err = s.write(ctx, func(tx *bolt.Tx) error {
		convs, modes := tx.Bucket(bucketConversations), tx.Bucket(bucketModes)
		// Touch the mode index only when the mode changes: an unchanged page is not rewritten.
		indexed := false
		if old := convs.Get(ck); old != nil {
			if oldMode, _, err := splitConversation(old); err == nil {
				indexed = oldMode == mode
				if !indexed {
					if err := modes.Delete(modeKey(oldMode, ck)); err != nil {
						return err
					}
				}
			}
		}
		if !indexed {
			if err := modes.Put(modeKey(mode, ck), nil); err != nil {
				return err
			}
		}
		if err := convs.Put(ck, val); err != nil {
			return err
		}
		if err := touch(tx, ck, day); err != nil {
			return err
		}
		if outbox := tx.Bucket(bucketOutbox); owed {
			if err := outbox.Put(ck, nil); err != nil {
				return err
			}
		} else if outbox.Get(ck) != nil {
			if err := outbox.Delete(ck); err != nil {
				return err
			}
		}
		proc := tx.Bucket(bucketProcessed)
		already := eventID != "" && proc.Get([]byte(eventID)) != nil
		if len(entries) > 0 {
			if err := s.appendAudit(tx.Bucket(bucketAudit), ck, entries, transitions, already); err != nil {
				return err
			}
		}
		if inboxID != "" {
			if err := removeInboxEntry(tx, inboxID); err != nil {
				return err
			}
		}
		if eventID != "" && !already {
			if err := proc.Put([]byte(eventID), expiry[:]); err != nil {
				return err
			}
			ek := make([]byte, 0, 8+len(eventID))
			ek = append(append(ek, expiry[:]...), eventID...)
			if err := tx.Bucket(bucketExpiry).Put(ek, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit %s: %w", c.Key, err)
	}
	return nil
}

// write runs fn in a group commit (see committer), or in bbolt's db.Batch when BatchDelay is set.
func (s *Store) write(ctx context.Context, fn func(*bolt.Tx) error) error {
	if s.opts.BatchDelay > 0 {
		return s.db.Batch(fn)
	}
	return s.committer.write(ctx, fn)
}

// appendAudit writes the entries under deterministic sequence numbers and drops the oldest ones
// beyond AuditLimit.
func (s *Store) appendAudit(b *bolt.Bucket, ck []byte, entries [][]byte, transitions int, already bool) error {
	prefix := auditPrefix(ck)
	var first uint64
	if transitions >= len(entries) {
		first = uint64(transitions-len(entries)) + 1
	} else {
		if already {
			return nil
		}
		first = lastAuditSeq(b, prefix) + 1
	}
	for i, e := range entries {
		if err := b.Put(auditKey(prefix, first+uint64(i)), e); err != nil {
			return err
		}
	}
	newest := first + uint64(len(entries)) - 1
	if s.opts.AuditLimit <= 0 || newest <= uint64(s.opts.AuditLimit) {
		return nil
	}
	cut := newest - uint64(s.opts.AuditLimit) // keep seq > cut
	var dead [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, _ = c.Next() {
		if binary.BigEndian.Uint64(k[len(prefix):]) > cut {
			break
		}
		dead = append(dead, bytes.Clone(k))
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// lastAuditSeq returns the highest sequence number stored under prefix, 0 when none.
func lastAuditSeq(b *bolt.Bucket, prefix []byte) uint64 {
	c := b.Cursor()
	k, _ := c.Seek(upperBound(prefix))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(prefix):])
}

// upperBound returns the smallest key greater than every key starting with prefix (prefix ends in
// sep, so incrementing its last byte is enough).
func upperBound(prefix []byte) []byte {
	u := bytes.Clone(prefix)
	u[len(u)-1]++
	return u
}

// Audit returns the most recent limit audit entries of a conversation (all kept ones when limit <= 0),
// oldest first.
func (s *Store) Audit(ctx context.Context, key bridge.Key, limit int) ([]bridge.AuditEntry, error) {
	ck, err := convKey(key)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("audit %s: %w", key, err)
	}
	prefix := auditPrefix(ck)
	var out []bridge.AuditEntry
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		k, v := c.Seek(upperBound(prefix))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e bridge.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode audit entry: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", key, err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// List returns up to limit conversations (100 when limit <= 0) in key order, only those in mode when
// mode is not empty (read through the mode index, without a scan).
func (s *Store) List(ctx context.Context, mode signals.Mode, limit int) ([]bridge.Conversation, error) {
	out, err := s.ListAfter(ctx, mode, bridge.Key{}, limit)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return out, nil
}

func usageKey(websiteID, day string) ([]byte, error) {
	if websiteID == "" || len(websiteID) > maxIDLen || strings.IndexByte(websiteID, sep) >= 0 {
		return nil, fmt.Errorf("%w: website id %q", ErrInvalid, websiteID)
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, day)
	}
	return []byte(websiteID + "\x00" + day), nil
}

// AddUsage adds tokens (>= 0) to a website's usage of one day ("2006-01-02") and returns the new total.
func (s *Store) AddUsage(ctx context.Context, websiteID, day string, tokens int64) (int64, error) {
	k, err := usageKey(websiteID, day)
	if err != nil {
		return 0, fmt.Errorf("add usage: %w", err)
	}
	if tokens < 0 {
		return 0, fmt.Errorf("add usage: %w: negative tokens %d", ErrInvalid, tokens)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("add usage: %w", err)
	}
	var total int64
	// Re-running the function after a failed batch starts from the rolled-back value, so it adds once.
	err = s.write(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsage)
		var cur uint64
		if v := b.Get(k); len(v) == 8 {
			cur = binary.BigEndian.Uint64(v)
		}
		cur += uint64(tokens)
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], cur)
		total = int64(cur)
		return b.Put(k, buf[:])
	})
	if err != nil {
		return 0, fmt.Errorf("add usage: %w", err)
	}
	return total, nil
}

// Usage returns a website's token usage of one day.
func (s *Store) Usage(ctx context.Context, websiteID, day string) (int64, error) {
	k, err := usageKey(websiteID, day)
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	var total int64
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketUsage).Get(k); len(v) == 8 {
			total = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	return total, nil
}

// Outbox returns up to limit conversations that owe the visitor an answer, from their index.
func (s *Store) Outbox(ctx context.Context, limit int) ([]bridge.Key, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []bridge.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			key, err := parseConvKey(k)
			if err != nil {
				return err
			}
			out = append(out, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}
