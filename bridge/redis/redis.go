// Package redis is the shared bridge.Store on a Redis server (or any server speaking its protocol,
// such as Valkey), for several signalbridge replicas: conversations with their mode and outbox
// indexes, processed event ids (expiring by Redis TTL instead of a purge sweep), bounded audit
// trails, daily token usage, the durable inbox, cursors and fenced leases. It is the only package
// that imports github.com/redis/go-redis/v9.
//
// Every write that must be atomic is one Lua script, which Redis runs without interleaving other
// commands: a conversation, its audit entries, its index entries and its event's dedupe marker change
// together or not at all. The scripts build some index keys themselves, so Redis Cluster is not
// supported: use one primary (with replicas or Sentinel for failover).
//
// Durability is Redis's: with appendonly yes and appendfsync everysec (the README's recommendation),
// a write acknowledged by the server is in its AOF file before the reply is sent and fsynced within
// about a second, so a crash of the redis-server process loses nothing and a crash of its machine
// loses at most the last second or so. appendfsync always closes that window at a cost in throughput.
package redis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	goredis "github.com/redis/go-redis/v9"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

var (
	_ bridge.Store   = (*Store)(nil)
	_ bridge.Inbox   = (*Store)(nil)
	_ bridge.Cursors = (*Store)(nil)
	_ bridge.Leases  = (*Store)(nil)
)

// Key layout under the prefix P (ck is "website/session"; a website id has no '/'):
//
//	P c:<ck>            string  owes "1"/"0", mode, "\n", JSON of bridge.Conversation
//	P modes             set     the modes that have an index (List without a mode reads them all)
//	P m:<mode>          zset    ck of the conversations in mode, score 0
//	P outbox            zset    ck of the conversations that owe something (owes), score 0
//	P a:<ck>            list    audit trail in sequence order: seq " " JSON entry (a list, not a
//	                            zset: compact listpack encoding whatever the entry size)
//	P p:<event id>      string  "1" with a TTL: the event was processed
//	P u:<day>:<website> string  tokens used that day, with a TTL
//	P i:seq             string  inbox acceptance counter
//	P i:order           zset    inbox entry ids, score = acceptance order
//	P i:data            hash    inbox entry id -> JSON entry
//	P cursors           hash    cursor name -> value
//	P l:<name>          string  lease: token " " holder, with a TTL
//	P lease-token       string  last fencing token (outside l:, so no lease name can clash)
const (
	keyConv    = "c:"
	keyModes   = "modes"
	keyMode    = "m:"
	keyOutbox  = "outbox"
	keyAudit   = "a:"
	keyProc    = "p:"
	keyUsage   = "u:"
	keyInSeq   = "i:seq"
	keyInOrder = "i:order"
	keyInData  = "i:data"
	keyCursors = "cursors"
	keyLease   = "l:"
	keyEpoch   = "epoch" // the store's identity, written once at its first start
	keyToken   = "lease-token"
)

const (
	// maxIDLen bounds website, session, event, cursor and lease ids so bad input cannot write huge keys.
	maxIDLen = 1024
	// maxModeLen bounds a mode, which is stored in the head of the conversation value (GETRANGE 0 63).
	maxModeLen = 32
	// defaultListLimit is used when List or Outbox is called with limit <= 0.
	defaultListLimit = 100
	// maxExact is the largest integer a Lua number (a double) holds exactly: cursor values are bounded by it.
	maxExact = 1 << 53
	// DefaultPrefix is the key prefix when Options.Prefix is empty.
	DefaultPrefix = "signalbridge:"
)

// ErrInvalid wraps every rejected argument (empty or oversized ids, bad day, negative tokens, bad URL).
var ErrInvalid = errors.New("invalid argument")

// Options configure a Store. The zero value gives the defaults.
type Options struct {
	// Prefix is put before every key, so several deployments can share one server or database
	// (default DefaultPrefix).
	Prefix string
	// Timeout bounds connecting and each read and write on the connection (default 1s), so every
	// method fails promptly when Redis is down or stalled. A context deadline, when shorter, wins.
	Timeout time.Duration
	// MaxRetries is how many times a command failing on the network is retried (default 1; < 0: none).
	// Every write is idempotent, so a retried one is harmless.
	MaxRetries int
	// PoolSize is the most connections kept to the server (default: go-redis's, 10 per CPU).
	PoolSize int
	// ProcessedTTL is how long processed event ids are kept (default 72h).
	ProcessedTTL time.Duration
	// AuditLimit is how many audit entries are kept per conversation (default 200).
	AuditLimit int
	// TranscriptLimit is how many turns are kept per conversation; Commit trims to the last N (default 50).
	TranscriptLimit int
	// UsageTTL is how long a day's token usage is kept after its last change (default 400 days).
	UsageTTL time.Duration
	// CommitBatch is the most commits sent in one pipeline by the group committer (default 64);
	// < 0 sends each commit on its own round trip.
	CommitBatch int
	// CommitRunners is how many pipelines may be in flight at once (default 4).
	CommitRunners int
	// TLSConfig, when set, replaces the TLS settings of a rediss:// URL (for example a private CA).
	TLSConfig *tls.Config
	// Logger gets the store's warnings (default: discard). Secrets are never logged.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout == 0 {
		o.Timeout = time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.ProcessedTTL == 0 {
		o.ProcessedTTL = 72 * time.Hour
	}
	if o.AuditLimit == 0 {
		o.AuditLimit = 200
	}
	if o.TranscriptLimit == 0 {
		o.TranscriptLimit = 50
	}
	if o.UsageTTL == 0 {
		o.UsageTTL = 400 * 24 * time.Hour
	}
	if o.CommitBatch == 0 {
		o.CommitBatch = 64
	}
	if o.CommitRunners <= 0 {
		o.CommitRunners = 4
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", o.Timeout))
	}
	if o.ProcessedTTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("processed ttl %s is below 1ms", o.ProcessedTTL))
	}
	if o.UsageTTL < time.Second {
		errs = append(errs, fmt.Errorf("usage ttl %s is below 1s", o.UsageTTL))
	}
	if o.AuditLimit < 0 {
		errs = append(errs, fmt.Errorf("audit limit %d is negative", o.AuditLimit))
	}
	if o.TranscriptLimit < 0 {
		errs = append(errs, fmt.Errorf("transcript limit %d is negative", o.TranscriptLimit))
	}
	if o.PoolSize < 0 {
		errs = append(errs, fmt.Errorf("pool size %d is negative", o.PoolSize))
	}
	return errors.Join(errs...)
}

// Store is a bridge.Store (and Inbox, Cursors, Leases) on one Redis server. It is safe for concurrent
// use, by any number of processes sharing the server and prefix. Open it with Open, close it with Close.
type Store struct {
	rdb   *goredis.Client
	opts  Options
	p     string   // key prefix
	group *grouper // nil when CommitBatch < 0
	epoch string   // the store's epoch read (or written) at Open
	lost  atomic.Bool
}

// ErrStoreLost is returned by every commit, and by Ping, once the server no longer holds the epoch
// key read at Open: Redis was wiped, or restarted without persistence, and the state the bridge
// relies on (conversations, leases, processed ids) is gone. Nothing is written then: acting on such
// a store would answer conversations it cannot place and repeat what was already done.
var ErrStoreLost = errors.New("redis lost its data (the store's epoch key is gone or changed): refusing to write; restore it or restart every replica deliberately")

// Open connects to the server of rawURL: redis://[user:password@]host:port/db, or rediss:// for
// TLS. The password and database come from the URL. It pings the server once and fails when it does
// not answer within the timeout; afterwards the client reconnects by itself whenever needed.
func Open(rawURL string, opts Options) (*Store, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("open redis store: %w: %w", ErrInvalid, err)
	}
	ro, err := goredis.ParseURL(rawURL)
	if err != nil {
		// The URL may hold a password: name the problem, not the URL.
		return nil, fmt.Errorf("open redis store: %w: bad redis url: %w", ErrInvalid, redactErr(err, rawURL))
	}
	if opts.TLSConfig != nil {
		if ro.TLSConfig == nil {
			return nil, fmt.Errorf("open redis store: %w: a TLS config needs a rediss:// url", ErrInvalid)
		}
		ro.TLSConfig = opts.TLSConfig
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = opts.Timeout, opts.Timeout, opts.Timeout
	ro.PoolTimeout = 2 * opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = opts.MaxRetries
	ro.MaxRetryBackoff = 100 * time.Millisecond
	// One dial attempt per command attempt: with the server down, a call fails in milliseconds
	// instead of go-redis's default five dials 100ms apart.
	ro.DialerRetries, ro.DialerRetryTimeout = 1, 10*time.Millisecond
	if opts.PoolSize > 0 {
		ro.PoolSize = opts.PoolSize
	}
	ro.DisableIdentity = true // no CLIENT SETINFO: older servers and Valkey forks may refuse it
	s := &Store{rdb: goredis.NewClient(ro), opts: opts, p: opts.Prefix}
	ctx, cancel := context.WithTimeout(context.Background(), 2*opts.Timeout)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("open redis store %s: %w", ro.Addr, err)
	}
	if err := s.openEpoch(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("open redis store %s: %w", ro.Addr, err)
	}
	s.checkPersistence(ctx)
	if opts.CommitBatch > 0 {
		s.group = newGrouper(s.rdb, opts.CommitRunners, opts.CommitBatch, func() (context.Context, context.CancelFunc) {
			// A pipeline's budget: one timeout to write, one per read of the replies is go-redis's own.
			return context.WithTimeout(context.Background(), 4*opts.Timeout)
		})
	}
	return s, nil
}

// redactErr removes the URL (and so any password in it) from a parse error's text.
func redactErr(err error, rawURL string) error {
	msg := err.Error()
	if rawURL != "" && strings.Contains(msg, rawURL) {
		msg = strings.ReplaceAll(msg, rawURL, "[url]")
	}
	return errors.New(msg)
}

// Close stops the group committer and closes the connections. Calls after Close fail.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("close redis store: %w", err)
	}
	return nil
}

// Ping checks that the server answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	if s.epoch == "" {
		return nil // before openEpoch
	}
	cur, err := s.rdb.Get(ctx, s.p+keyEpoch).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("ping redis: %w", err)
	}
	if cur != s.epoch {
		if !s.lost.Swap(true) {
			s.opts.Logger.Error("REDIS LOST ITS DATA: the store's epoch key is gone or changed since this process started; nothing is written until it is restored or every replica is restarted deliberately",
				"prefix", s.p)
		}
		return fmt.Errorf("ping redis: %w", ErrStoreLost)
	}
	return nil
}

// openEpoch reads the store's epoch, or writes one if there is none (a first start).
func (s *Store) openEpoch(ctx context.Context) error {
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	mine := hex.EncodeToString(raw[:])
	set, err := s.rdb.SetNX(ctx, s.p+keyEpoch, mine, 0).Result()
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	if set {
		s.epoch = mine
		s.opts.Logger.Info("redis store epoch written (first start of this store, or a store that lost its data while no replica ran)", "prefix", s.p)
		return nil
	}
	cur, err := s.rdb.Get(ctx, s.p+keyEpoch).Result()
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	s.epoch = cur
	return nil
}

// Epoch returns the store's epoch read at Open.
func (s *Store) Epoch() string { return s.epoch }

// checkPersistence warns when the server may lose or evict what the bridge keeps: no append-only
// file, or an eviction policy other than noeviction. A server that refuses CONFIG (many managed
// services) is not checked.
func (s *Store) checkPersistence(ctx context.Context) {
	if v, err := s.rdb.ConfigGet(ctx, "appendonly").Result(); err == nil {
		if v["appendonly"] == "no" {
			s.opts.Logger.Warn("redis runs without appendonly: a restart of the server loses what was written since its last snapshot (turn on appendonly yes, appendfsync everysec or always)")
		}
	}
	if v, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result(); err == nil {
		if p := v["maxmemory-policy"]; p != "" && p != "noeviction" {
			s.opts.Logger.Warn("redis may evict keys under memory pressure: set maxmemory-policy noeviction (conversations, leases and processed ids must not be evicted)", "policy", p)
		}
	}
}

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.p }

// Count returns how many conversations are stored under the prefix.
func (s *Store) Count(ctx context.Context) (int64, error) {
	modes, err := s.modes(ctx)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, m := range modes {
			p.ZCard(ctx, s.p+keyMode+m)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	var n int64
	for _, c := range cmds {
		n += c.(*goredis.IntCmd).Val()
	}
	return n, nil
}

// modes returns the names of the modes that have an index, sorted.
func (s *Store) modes(ctx context.Context) ([]string, error) {
	modes, err := s.rdb.SMembers(ctx, s.p+keyModes).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(modes)
	return modes, nil
}

// owes reports whether c goes in the outbox index: it owes the visitor something that a restart (of
// any replica) must finish.
func owes(c *bridge.Conversation) bool {
	return c.Owes()
}

// convKey returns the "website/session" key of k after validating it.
func convKey(k bridge.Key) (string, error) {
	switch {
	case k.WebsiteID == "" || k.SessionID == "":
		return "", fmt.Errorf("%w: empty website or session id", ErrInvalid)
	case len(k.WebsiteID) > maxIDLen || len(k.SessionID) > maxIDLen:
		return "", fmt.Errorf("%w: website or session id longer than %d bytes", ErrInvalid, maxIDLen)
	case strings.IndexByte(k.WebsiteID, '/') >= 0:
		return "", fmt.Errorf("%w: website id contains '/'", ErrInvalid)
	}
	return k.String(), nil
}

// parseConvKey is the inverse of convKey.
func parseConvKey(ck string) (bridge.Key, error) {
	w, sess, ok := strings.Cut(ck, "/")
	if !ok || w == "" || sess == "" {
		return bridge.Key{}, fmt.Errorf("bad conversation key %q", ck)
	}
	return bridge.Key{WebsiteID: w, SessionID: sess}, nil
}

func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(id) > maxIDLen:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, maxIDLen)
	}
	return nil
}

func checkMode(m signals.Mode) error {
	if len(m) > maxModeLen || strings.ContainsAny(string(m), "\n") {
		return fmt.Errorf("%w: mode %q", ErrInvalid, m)
	}
	return nil
}

// encodeConversation returns the head, owes ("1" or "0") then mode then "\n", followed by the JSON
// of the whole conversation. The head lets the commit script see which index entries the stored
// version has with one GETRANGE, without decoding the JSON.
func encodeConversation(c *bridge.Conversation) (string, error) {
	j, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode conversation: %w", err)
	}
	var b strings.Builder
	b.Grow(2 + len(c.Mode) + len(j))
	if owes(c) {
		b.WriteByte('1')
	} else {
		b.WriteByte('0')
	}
	b.WriteString(string(c.Mode))
	b.WriteByte('\n')
	b.Write(j)
	return b.String(), nil
}

func decodeConversation(v string, c *bridge.Conversation) error {
	_, j, ok := strings.Cut(v, "\n")
	if !ok {
		return errors.New("decode conversation: no mode head")
	}
	// Decoded with the reference implementation of encoding/json/v2, about 3.5 times faster than
	// encoding/json here (Load runs on every event); it reads what encoding/json wrote, nil and
	// empty collections included (the contract's round-trip test holds both to that).
	if err := jsonv2.Unmarshal([]byte(j), c); err != nil {
		return fmt.Errorf("decode conversation: %w", err)
	}
	return nil
}

// Load returns the stored conversation, or an error wrapping bridge.ErrNotFound.
func (s *Store) Load(ctx context.Context, key bridge.Key) (bridge.Conversation, error) {
	var c bridge.Conversation
	ck, err := convKey(key)
	if err != nil {
		return c, fmt.Errorf("load: %w", err)
	}
	v, err := s.rdb.Get(ctx, s.p+keyConv+ck).Result()
	if errors.Is(err, goredis.Nil) {
		return c, fmt.Errorf("load %s: %w", key, bridge.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("load %s: %w", key, err)
	}
	if err := decodeConversation(v, &c); err != nil {
		return bridge.Conversation{}, fmt.Errorf("load %s: %w", key, err)
	}
	c.Key = key
	return c, nil
}

// LoadUnprocessed is Processed and Load in one round trip (a pipeline of the two reads): when
// eventID ("" none) was processed it reports so and decodes nothing.
func (s *Store) LoadUnprocessed(ctx context.Context, key bridge.Key, eventID string) (bridge.Conversation, bool, error) {
	if eventID == "" {
		c, err := s.Load(ctx, key)
		return c, false, err
	}
	var c bridge.Conversation
	ck, err := convKey(key)
	if err != nil {
		return c, false, fmt.Errorf("load: %w", err)
	}
	if len(eventID) > maxIDLen {
		return c, false, fmt.Errorf("load %s: %w: event id longer than %d bytes", key, ErrInvalid, maxIDLen)
	}
	var exists *goredis.IntCmd
	var get *goredis.StringCmd
	_, err = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.p+keyProc+eventID)
		get = p.Get(ctx, s.p+keyConv+ck)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return c, false, fmt.Errorf("load %s: %w", key, err)
	}
	if exists.Val() == 1 {
		return c, true, nil
	}
	v, err := get.Result()
	if errors.Is(err, goredis.Nil) {
		return c, false, fmt.Errorf("load %s: %w", key, bridge.ErrNotFound)
	}
	if err != nil {
		return c, false, fmt.Errorf("load %s: %w", key, err)
	}
	if err := decodeConversation(v, &c); err != nil {
		return bridge.Conversation{}, false, fmt.Errorf("load %s: %w", key, err)
	}
	c.Key = key
	return c, false, nil
}

// Processed reports whether eventID was committed and its time to live has not passed.
func (s *Store) Processed(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, nil
	}
	if len(eventID) > maxIDLen {
		return false, fmt.Errorf("processed: %w: event id longer than %d bytes", ErrInvalid, maxIDLen)
	}
	n, err := s.rdb.Exists(ctx, s.p+keyProc+eventID).Result()
	if err != nil {
		return false, fmt.Errorf("processed: %w", err)
	}
	return n == 1, nil
}

// MarkProcessed marks eventID processed for ttl (ProcessedTTL when ttl <= 0) without a conversation:
// the migration from a bbolt file copies the ids still live there.
func (s *Store) MarkProcessed(ctx context.Context, eventID string, ttl time.Duration) error {
	if err := checkID("event id", eventID); err != nil {
		return fmt.Errorf("mark processed: %w", err)
	}
	if ttl <= 0 {
		ttl = s.opts.ProcessedTTL
	}
	if err := s.rdb.SetNX(ctx, s.p+keyProc+eventID, "1", ttl).Err(); err != nil {
		return fmt.Errorf("mark processed: %w", err)
	}
	return nil
}

// Audit returns the most recent limit audit entries of a conversation (all kept ones when limit <= 0),
// oldest first.
func (s *Store) Audit(ctx context.Context, key bridge.Key, limit int) ([]bridge.AuditEntry, error) {
	ck, err := convKey(key)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	start := int64(0)
	if limit > 0 {
		start = -int64(limit)
	}
	members, err := s.rdb.LRange(ctx, s.p+keyAudit+ck, start, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", key, err)
	}
	out := make([]bridge.AuditEntry, 0, len(members))
	for _, m := range members {
		_, j, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("audit %s: bad entry %q", key, m)
		}
		var e bridge.AuditEntry
		if err := json.Unmarshal([]byte(j), &e); err != nil {
			return nil, fmt.Errorf("audit %s: decode entry: %w", key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// List returns up to limit conversations (100 when limit <= 0), only those in mode when mode is not
// empty, read through the mode indexes without a scan: in key order within a mode, and modes in name
// order when mode is empty.
func (s *Store) List(ctx context.Context, mode signals.Mode, limit int) ([]bridge.Conversation, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	if err := checkMode(mode); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	modes := []string{string(mode)}
	if mode == "" {
		var err error
		if modes, err = s.modes(ctx); err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
	}
	var cks []string
	for _, m := range modes {
		got, err := s.rdb.ZRange(ctx, s.p+keyMode+m, 0, int64(limit-len(cks))-1).Result()
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		cks = append(cks, got...)
		if len(cks) >= limit {
			break
		}
	}
	return s.loadMany(ctx, cks)
}

// loadMany reads the conversations of cks in one MGET, skipping keys that vanished in between.
func (s *Store) loadMany(ctx context.Context, cks []string) ([]bridge.Conversation, error) {
	if len(cks) == 0 {
		return nil, nil
	}
	keys := make([]string, len(cks))
	for i, ck := range cks {
		keys[i] = s.p + keyConv + ck
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := make([]bridge.Conversation, 0, len(vals))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // index entry without a conversation: never left by Commit
		}
		var c bridge.Conversation
		if err := decodeConversation(str, &c); err != nil {
			return nil, fmt.Errorf("list %s: %w", cks[i], err)
		}
		if k, err := parseConvKey(cks[i]); err == nil {
			c.Key = k
		}
		out = append(out, c)
	}
	return out, nil
}

// Outbox returns up to limit conversations that owe the visitor an answer, from their index.
func (s *Store) Outbox(ctx context.Context, limit int) ([]bridge.Key, error) {
	if limit <= 0 {
		limit = defaultListLimit
	}
	cks, err := s.rdb.ZRange(ctx, s.p+keyOutbox, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	out := make([]bridge.Key, 0, len(cks))
	for _, ck := range cks {
		k, err := parseConvKey(ck)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

func (s *Store) usageKey(websiteID, day string) (string, error) {
	if err := checkID("website id", websiteID); err != nil {
		return "", err
	}
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return "", fmt.Errorf("%w: day %q is not YYYY-MM-DD", ErrInvalid, day)
	}
	// The day has a fixed length, so the key is unambiguous whatever the website id holds.
	return s.p + keyUsage + day + ":" + websiteID, nil
}

// AddUsage adds tokens (>= 0) to a website's usage of one day ("2006-01-02") and returns the new
// total. The day's counter expires UsageTTL after its last change.
func (s *Store) AddUsage(ctx context.Context, websiteID, day string, tokens int64) (int64, error) {
	k, err := s.usageKey(websiteID, day)
	if err != nil {
		return 0, fmt.Errorf("add usage: %w", err)
	}
	if tokens < 0 {
		return 0, fmt.Errorf("add usage: %w: negative tokens %d", ErrInvalid, tokens)
	}
	var incr *goredis.IntCmd
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		incr = p.IncrBy(ctx, k, tokens)
		p.Expire(ctx, k, s.opts.UsageTTL)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add usage: %w", err)
	}
	return incr.Val(), nil
}

// SetUsage sets a website's usage of one day (the migration from a bbolt file; running it twice
// gives the same result, unlike AddUsage).
func (s *Store) SetUsage(ctx context.Context, websiteID, day string, tokens int64) error {
	k, err := s.usageKey(websiteID, day)
	if err != nil {
		return fmt.Errorf("set usage: %w", err)
	}
	if tokens < 0 {
		return fmt.Errorf("set usage: %w: negative tokens %d", ErrInvalid, tokens)
	}
	if err := s.rdb.Set(ctx, k, tokens, s.opts.UsageTTL).Err(); err != nil {
		return fmt.Errorf("set usage: %w", err)
	}
	return nil
}

// Usage returns a website's token usage of one day.
func (s *Store) Usage(ctx context.Context, websiteID, day string) (int64, error) {
	k, err := s.usageKey(websiteID, day)
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("usage: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("usage: bad counter %q: %w", v, err)
	}
	return n, nil
}
