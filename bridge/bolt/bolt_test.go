package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/storetest"
	"github.com/signalbridge/signalbridge/signals"
)

// MustOpen opens a store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string, opts bolt.Options) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return s
}

func TestStoreContract(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) bridge.Store {
			return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
		},
		func(t *testing.T, s bridge.Store) bridge.Store {
			bs := s.(*bolt.Store)
			if err := bs.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			return MustOpen(t, bs.Path(), bolt.Options{})
		})
}

// TestStoreContractDBBatch runs the contract through bbolt's db.Batch instead of the committer.
func TestStoreContractDBBatch(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bridge.Store {
		return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{BatchDelay: time.Millisecond})
	}, nil)
}

func TestWriteAfterClose(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(context.Background(), &c, nil, ""); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Commit after Close = %v, want ErrClosed", err)
	}
	if _, err := s.AddUsage(context.Background(), "w1", "2025-01-01", 1); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("AddUsage after Close = %v, want ErrClosed", err)
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestPurgeExpired(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{ProcessedTTL: time.Hour, PurgeInterval: -1, Now: clk.Now})
	c := storetest.Conversation("w1", "s1")
	for i := range 3 {
		if err := s.Commit(ctx, &c, nil, fmt.Sprintf("old%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(30 * time.Minute)
	if err := s.Commit(ctx, &c, nil, "new"); err != nil {
		t.Fatal(err)
	}
	// Re-committing an id keeps its first expiry.
	if err := s.Commit(ctx, &c, nil, "old0"); err != nil {
		t.Fatal(err)
	}

	if n, err := s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge before expiry = %d, %v; want 0", n, err)
	}
	clk.Add(31 * time.Minute) // old ids are 61 minutes old, new is 31
	for _, tt := range []struct {
		id   string
		want bool
	}{{"old0", false}, {"old1", false}, {"new", true}} {
		if got, err := s.Processed(ctx, tt.id); err != nil || got != tt.want {
			t.Errorf("Processed(%s) after expiry, before purge = %v, %v; want %v", tt.id, got, err, tt.want)
		}
	}
	if n, err := s.Purge(ctx); err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3", n, err)
	}
	if n, err := s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
	if got, _ := s.Processed(ctx, "new"); !got {
		t.Error("Processed(new) after purge = false, want true")
	}
	clk.Add(time.Hour)
	if n, err := s.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("last Purge = %d, %v; want 1", n, err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
}

// recordHandler sends the message of every log record to a channel.
type recordHandler struct{ msgs chan string }

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

// TestBackgroundPurge checks the goroutine started by Open purges, and that Close waits for it.
func TestBackgroundPurge(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	msgs := make(chan string, 16)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{ProcessedTTL: time.Minute,
		PurgeInterval: time.Millisecond, Now: clk.Now, Logger: slog.New(recordHandler{msgs})})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(ctx, &c, nil, "ev"); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute)
	deadline := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case m := <-msgs:
			done = m == "purged processed ids"
		case <-deadline:
			t.Fatal("background purge did not report within 10s")
		}
	}
	if n, err := s.Purge(ctx); err != nil || n != 0 {
		t.Errorf("Purge after the background purge = %d, %v; want 0", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

func TestTranscriptTrimmed(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{TranscriptLimit: 3})
	c := storetest.Conversation("w1", "s1")
	c.Transcript = nil
	for i := range 5 {
		c.Transcript = append(c.Transcript, bridge.Turn{Role: "visitor", Text: fmt.Sprint(i), At: int64(i)})
	}
	if err := s.Commit(ctx, &c, nil, ""); err != nil {
		t.Fatal(err)
	}
	if len(c.Transcript) != 3 || c.Transcript[0].Text != "2" {
		t.Errorf("caller's transcript after Commit = %+v, want the last 3", c.Transcript)
	}
	got, err := s.Load(ctx, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, tr := range got.Transcript {
		texts = append(texts, tr.Text)
	}
	if fmt.Sprint(texts) != "[2 3 4]" {
		t.Errorf("stored transcript = %v, want [2 3 4]", texts)
	}
}

func TestAuditBounded(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{AuditLimit: 5})
	c := storetest.Conversation("w1", "s1")
	c.Transitions = 0
	for i := range 12 {
		c.Transitions++
		a := bridge.AuditEntry{At: int64(i), Source: signals.SourceAPI, From: signals.ModeActive, To: signals.ModePaused, Reason: signals.ReasonSignal}
		if err := s.Commit(ctx, &c, []bridge.AuditEntry{a}, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, c.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ats []int64
	for _, a := range got {
		ats = append(ats, a.At)
	}
	if fmt.Sprint(ats) != "[7 8 9 10 11]" {
		t.Errorf("audit kept %v, want the last 5 [7 8 9 10 11]", ats)
	}
}

// TestAuditWithoutCounter covers callers whose Transitions counter does not follow the audit: entries
// are appended, and a retry of a processed event does not duplicate them.
func TestAuditWithoutCounter(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{})
	c := storetest.Conversation("w1", "s1")
	c.Transitions = 0
	a := []bridge.AuditEntry{{At: 1, Detail: "a"}, {At: 2, Detail: "b"}}
	for _, id := range []string{"e1", "e1", "e2"} {
		if err := s.Commit(ctx, &c, a, id); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, c.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("audit has %d entries, want 4 (e1 once, e2 once): %+v", len(got), got)
	}
}

// TestConcurrentBatchIdempotent commits the same conversations from many goroutines at once, so bbolt
// groups them in batches, and checks nothing is duplicated or lost.
func TestConcurrentBatchIdempotent(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{MaxBatchSize: 7})
	const convs, repeats = 10, 5
	var wg sync.WaitGroup
	errs := make(chan error, convs*repeats)
	for i := range convs {
		for range repeats {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := storetest.Conversation("w1", fmt.Sprintf("s%d", i))
				c.Transitions = 3
				audit := []bridge.AuditEntry{{At: 1}, {At: 2}, {At: 3}}
				if err := s.Commit(ctx, &c, audit, fmt.Sprintf("ev%d", i)); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range convs {
		k := bridge.Key{WebsiteID: "w1", SessionID: fmt.Sprintf("s%d", i)}
		got, err := s.Audit(ctx, k, 0)
		if err != nil || len(got) != 3 {
			t.Errorf("%s: %d audit entries, %v; want 3", k, len(got), err)
		}
	}
	all, err := s.List(ctx, "", 1000)
	if err != nil || len(all) != convs {
		t.Errorf("List = %d, %v; want %d", len(all), err, convs)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := bolt.Open(filepath.Join(dir, "missing", "db"), bolt.Options{}); err == nil {
		t.Error("Open(missing dir) = nil, want error")
	}
	if _, err := bolt.Open(filepath.Join(dir, "db"), bolt.Options{AuditLimit: -1}); !errors.Is(err, bolt.ErrInvalid) {
		t.Errorf("Open(bad options) = %v, want ErrInvalid", err)
	}
	// A second Open of the same file waits for the lock and times out.
	path := filepath.Join(dir, "locked")
	MustOpen(t, path, bolt.Options{})
	if _, err := bolt.Open(path, bolt.Options{Timeout: 50 * time.Millisecond}); err == nil {
		t.Error("second Open of a locked file = nil, want timeout error")
	}
	// Close twice is fine.
	s, err := bolt.Open(filepath.Join(dir, "twice"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestInvalidIDs(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, filepath.Join(t.TempDir(), "db"), bolt.Options{})
	bad := []bridge.Key{
		{WebsiteID: "a/b", SessionID: "s"},
		{WebsiteID: "w", SessionID: "s\x00x"},
		{WebsiteID: string(make([]byte, 2000)), SessionID: "s"},
	}
	for _, k := range bad {
		c := storetest.Conversation(k.WebsiteID, k.SessionID)
		if err := s.Commit(ctx, &c, nil, ""); !errors.Is(err, bolt.ErrInvalid) {
			t.Errorf("Commit(%q) = %v, want ErrInvalid", k, err)
		}
	}
	c := storetest.Conversation("w", "s")
	if err := s.Commit(ctx, &c, nil, string(make([]byte, 5000))); !errors.Is(err, bolt.ErrInvalid) {
		t.Errorf("Commit(huge event id) = %v, want ErrInvalid", err)
	}
	if _, err := s.AddUsage(ctx, "w", "2025-01-01", -5); !errors.Is(err, bolt.ErrInvalid) {
		t.Errorf("AddUsage(negative) = %v, want ErrInvalid", err)
	}
}

// The inbox and cursors contracts the Redis store runs too.
func TestInboxContract(t *testing.T) {
	storetest.RunInbox(t,
		func(t *testing.T) bridge.Inbox {
			return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
		},
		func(t *testing.T, in bridge.Inbox) bridge.Inbox {
			bs := in.(*bolt.Store)
			if err := bs.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			return MustOpen(t, bs.Path(), bolt.Options{})
		})
}

func TestCursorsContract(t *testing.T) {
	storetest.RunCursors(t, func(t *testing.T) bridge.Cursors {
		return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
	})
}

func TestEraserContract(t *testing.T) {
	storetest.RunEraser(t, func(t *testing.T) storetest.EraserStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
	})
}
