package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/redis"
)

// migrateWorkers is how many conversations are written to Redis at once.
const migrateWorkers = 8

// migrateStats counts what a migration copied.
type migrateStats struct {
	conversations, audit, outbox, usage, processed atomic.Int64
}

// cmdMigrate copies a bbolt data file into Redis: every conversation with its audit trail (the
// outbox and mode indexes follow from the conversations), the daily token usage, the processed
// event ids still live, the website owners' settings and their days of insights, then reads everything back and compares. It is idempotent: running it again
// gives the same Redis content.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("migrate", "Copies a bbolt data file to Redis (stop signalbridge first: the file is locked while it runs).\n"+
		"Example: signalbridge migrate --from signalbridge.db --to redis://:password@redis:6379/0", stderr)
	from := fs.String("from", "", "bbolt data file to copy (required)")
	to := fs.String("to", "", "Redis URL, redis://[:password@]host:port/db or rediss://... (default $SIGNALBRIDGE_REDIS_URL)")
	prefix := fs.String("prefix", "", "Redis key prefix (default "+redis.DefaultPrefix+")")
	force := fs.Bool("force", false, "copy even when the prefix already holds conversations (they are overwritten)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *to == "" {
		*to = getenv("SIGNALBRIDGE_REDIS_URL")
	}
	if *from == "" || *to == "" {
		fmt.Fprintln(stderr, "migrate needs --from FILE and --to redis://... (or SIGNALBRIDGE_REDIS_URL)")
		return errUsage
	}
	if errs := (RedisConfig{URL: *to}).validate(); len(errs) > 0 {
		return errors.Join(errs...)
	}
	// bolt.Open would create a missing file: refuse a typo instead of migrating nothing.
	if _, err := os.Stat(*from); err != nil {
		return fmt.Errorf("read %s: %w", *from, err)
	}
	src, err := bolt.Open(*from, bolt.Options{Timeout: 2 * time.Second, PurgeInterval: -1})
	if err != nil {
		return fmt.Errorf("%w (is signalbridge still running on this file?)", err)
	}
	defer src.Close()
	dst, err := redis.Open(*to, redis.Options{Prefix: *prefix, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("open %s: %w", redactURL(*to), err)
	}
	defer dst.Close()
	if n, err := dst.Count(ctx); err != nil {
		return err
	} else if n > 0 && !*force {
		return fmt.Errorf("%s prefix %q already holds %d conversations: use another --prefix, or --force to overwrite them", redactURL(*to), dst.Prefix(), n)
	}

	start := time.Now()
	var st migrateStats
	if err := copyConversations(ctx, src, dst, &st); err != nil {
		return err
	}
	err = src.EachUsage(ctx, func(website, day string, tokens int64) error {
		st.usage.Add(1)
		return dst.SetUsage(ctx, website, day, tokens)
	})
	if err != nil {
		return fmt.Errorf("copy usage: %w", err)
	}
	err = src.EachProcessed(ctx, func(id string, expiry time.Time) error {
		ttl := time.Until(expiry)
		if ttl < time.Millisecond {
			return nil
		}
		st.processed.Add(1)
		return dst.MarkProcessed(ctx, id, ttl)
	})
	if err != nil {
		return fmt.Errorf("copy processed ids: %w", err)
	}
	cursors, inbox, err := copyIntake(ctx, src, dst)
	if err != nil {
		return err
	}
	// The website owners' saved settings and their insights (owners.go, insights.go).
	settings, _, err := src.AllSettings(ctx)
	if err != nil {
		return fmt.Errorf("copy settings: %w", err)
	}
	for id, ws := range settings {
		if _, err := dst.SaveSettings(ctx, id, ws); err != nil {
			return fmt.Errorf("copy settings of %s: %w", id, err)
		}
	}
	var insightDays int
	err = src.EachInsights(ctx, func(website, day string, counters map[string]int64) error {
		insightDays++
		return dst.SetInsights(ctx, website, day, counters)
	})
	if err != nil {
		return fmt.Errorf("copy insights: %w", err)
	}
	if err := verifyMigration(ctx, src, dst); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrated %s to %s (prefix %q) in %s: %d conversations, %d audit entries, %d owing an answer, %d usage days, %d processed event ids, %d catch-up cursors, %d accepted events not yet processed, %d websites' settings, %d days of insights; verified\n",
		*from, redactURL(*to), dst.Prefix(), time.Since(start).Round(time.Millisecond),
		st.conversations.Load(), st.audit.Load(), st.outbox.Load(), st.usage.Load(), st.processed.Load(), cursors, inbox, len(settings), insightDays)
	return nil
}

// maxMigrateInbox bounds the accepted, unprocessed events migrate copies; past it, it refuses (let
// the bridge process them first).
const maxMigrateInbox = 100_000

// copyIntake copies the catch-up cursors (without them the first catch-up after the switch would
// take every website for new and never read back what Crisp sent during the downtime) and the
// events accepted but not processed (acknowledged to Crisp: they must not be lost), and verifies
// both.
func copyIntake(ctx context.Context, src *bolt.Store, dst *redis.Store) (cursors, inbox int, err error) {
	want := map[string]int64{}
	err = src.EachCursor(ctx, func(name string, v int64) error {
		want[name] = v
		return dst.SetCursor(ctx, name, v)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("copy catch-up cursors: %w", err)
	}
	entries, err := src.Unprocessed(ctx, maxMigrateInbox+1)
	if err != nil {
		return 0, 0, fmt.Errorf("copy inbox: %w", err)
	}
	if len(entries) > maxMigrateInbox {
		return 0, 0, fmt.Errorf("copy inbox: more than %d accepted events are not processed yet: run the bridge on the file until they are, then migrate", maxMigrateInbox)
	}
	if len(entries) > 0 {
		if err := dst.Accept(ctx, entries); err != nil {
			return 0, 0, fmt.Errorf("copy inbox: %w", err)
		}
	}
	for name, v := range want {
		got, err := dst.Cursor(ctx, name)
		if err != nil {
			return 0, 0, fmt.Errorf("verify cursor %s: %w", name, err)
		}
		if got < v {
			return 0, 0, fmt.Errorf("verify: cursor %s is %d after the copy, want %d", name, got, v)
		}
	}
	left, err := dst.Unprocessed(ctx, maxMigrateInbox+len(entries)+1)
	if err != nil {
		return 0, 0, fmt.Errorf("verify inbox: %w", err)
	}
	have := map[string]bool{}
	for _, e := range left {
		have[e.ID] = true
	}
	for _, e := range entries {
		if !have[e.ID] {
			return 0, 0, fmt.Errorf("verify: accepted event %s missing after the copy", e.ID)
		}
	}
	return len(want), len(entries), nil
}

type migrateJob struct {
	c     bridge.Conversation
	audit []bridge.AuditEntry
}

// copyConversations commits every conversation of src to dst with a few workers. Each commit carries
// a marker event id, so a second run does not append an audit trail that does not follow the
// transitions counter twice.
func copyConversations(ctx context.Context, src *bolt.Store, dst *redis.Store, st *migrateStats) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan migrateJob)
	var wg sync.WaitGroup
	for range migrateWorkers {
		wg.Go(func() {
			for j := range jobs {
				if err := dst.Commit(ctx, &j.c, j.audit, "migrate:"+j.c.Key.String()); err != nil {
					cancel(err)
					continue
				}
				st.conversations.Add(1)
				st.audit.Add(int64(len(j.audit)))
				if j.c.ReplyDue != 0 {
					st.outbox.Add(1)
				}
			}
		})
	}
	err := src.Each(ctx, func(c bridge.Conversation, audit []bridge.AuditEntry) error {
		select {
		case jobs <- migrateJob{c, audit}:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(jobs)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("copy conversations: %w", cause)
	}
	if err != nil {
		return fmt.Errorf("copy conversations: %w", err)
	}
	return nil
}

// verifyMigration reads every conversation and trail back from dst and compares them with src.
func verifyMigration(ctx context.Context, src *bolt.Store, dst *redis.Store) error {
	err := src.Each(ctx, func(c bridge.Conversation, audit []bridge.AuditEntry) error {
		got, err := dst.Load(ctx, c.Key)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, c) {
			return fmt.Errorf("%s differs after the copy", c.Key)
		}
		trail, err := dst.Audit(ctx, c.Key, 0)
		if err != nil {
			return err
		}
		if len(trail) != len(audit) || (len(audit) > 0 && !reflect.DeepEqual(trail, audit)) {
			return fmt.Errorf("%s: audit trail differs after the copy (%d entries, want %d)", c.Key, len(trail), len(audit))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}
