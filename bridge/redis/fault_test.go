package redis_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

// bound is how long a call may take before the test calls it hung: far above the 200ms timeout the
// fault tests configure, it only catches a call that does not give up.
const bound = 5 * time.Second

// within runs fn and fails the test when it has not returned after bound.
func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		t.Fatalf("%s still running after %s", what, bound)
		return nil
	}
}

// waitUp polls Ping until the store answers again, within bound.
func waitUp(t *testing.T, s *redis.Store) {
	t.Helper()
	end := time.Now().Add(bound)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.Ping(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("store did not reconnect within %s: %v", bound, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// allFail calls every method of the store and checks that each returns an error, promptly.
func allFail(t *testing.T, s *redis.Store, state string) {
	t.Helper()
	ctx := context.Background()
	c := storetest.Conversation("w1", "s-down")
	k := c.Key
	calls := map[string]func() error{
		"Ping":   func() error { return s.Ping(ctx) },
		"Commit": func() error { return s.Commit(ctx, &c, nil, "ev-down") },
		"Load":   func() error { _, err := s.Load(ctx, k); return err },
		"Processed": func() error {
			_, err := s.Processed(ctx, "ev1")
			return err
		},
		"List":     func() error { _, err := s.List(ctx, "", 10); return err },
		"Outbox":   func() error { _, err := s.Outbox(ctx, 10); return err },
		"Audit":    func() error { _, err := s.Audit(ctx, k, 10); return err },
		"AddUsage": func() error { _, err := s.AddUsage(ctx, "w1", "2026-12-01", 1); return err },
		"Accept": func() error {
			return s.Accept(ctx, []bridge.InboxEntry{storetest.InboxEntry("down", 1)})
		},
		"Unprocessed": func() error { _, err := s.Unprocessed(ctx, 10); return err },
		"SetCursor":   func() error { return s.SetCursor(ctx, "c", 5) },
		"Acquire": func() error {
			_, _, err := s.Acquire(ctx, "conv:w1/s1", "a", time.Second)
			return err
		},
	}
	for name, fn := range calls {
		if err := within(t, name, fn); err == nil {
			t.Errorf("%s with Redis %s = nil error", name, state)
		} else if errors.Is(err, bridge.ErrNotFound) {
			t.Errorf("%s with Redis %s = %v: an outage must not look like a missing conversation", name, state, err)
		}
	}
}

// TestServerDown: with redis-server stopped every call fails promptly; once it is back on the same
// port the same Store works again without being reopened, and nothing committed before is lost.
func TestServerDown(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "down:", Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	want := storetest.Conversation("w1", "s1")
	if err := s.Commit(ctx, &want, nil, "ev1"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	t0 := time.Now()
	allFail(t, s, "stopped")
	t.Logf("all calls failed in %s", time.Since(t0))
	srv.StartAgain()
	t0 = time.Now()
	waitUp(t, s)
	t.Logf("reconnected %s after the server answered", time.Since(t0))
	got, err := s.Load(ctx, want.Key)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load after the restart = %+v, %v; want the committed conversation", got, err)
	}
	c := storetest.Conversation("w1", "s2")
	if err := s.Commit(ctx, &c, nil, "ev2"); err != nil {
		t.Errorf("Commit after the restart = %v", err)
	}
}

// TestServerStalled: a frozen server (SIGSTOP: connections open, nothing answered) makes every call
// fail within the timeout instead of hanging; the store recovers when the server continues.
func TestServerStalled(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "stall:", Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(ctx, &c, nil, ""); err != nil {
		t.Fatal(err)
	}
	srv.Pause()
	t0 := time.Now()
	allFail(t, s, "stalled")
	t.Logf("all calls failed in %s", time.Since(t0))
	srv.Resume()
	waitUp(t, s)
	if _, err := s.Load(ctx, c.Key); err != nil {
		t.Errorf("Load after the stall = %v", err)
	}
}

// TestContextDeadline: a context deadline shorter than the timeout wins.
func TestContextDeadline(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "ctx:", Timeout: time.Hour})
	srv.Pause()
	defer srv.Resume()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := storetest.Conversation("w1", "s1")
	if err := within(t, "Commit", func() error { return s.Commit(ctx, &c, nil, "") }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Commit past the context deadline = %v, want DeadlineExceeded", err)
	}
}

// TestSurvivesKill9: what Commit acknowledged survives a SIGKILL of redis-server (appendfsync
// everysec: the AOF write happens before the reply; only a crash of the machine can lose the last
// second).
func TestSurvivesKill9(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "k9:"})
	ctx := context.Background()
	want := storetest.Conversation("w1", "s1")
	want.Transitions = 1
	if err := s.Commit(ctx, &want, []bridge.AuditEntry{{Detail: "a"}}, "ev1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Accept(ctx, []bridge.InboxEntry{storetest.InboxEntry("in1", 1)}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.StartAgain()
	waitUp(t, s)
	if got, err := s.Load(ctx, want.Key); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Load after kill -9 = %+v, %v", got, err)
	}
	if ok, err := s.Processed(ctx, "ev1"); err != nil || !ok {
		t.Errorf("Processed after kill -9 = %v, %v", ok, err)
	}
	if in, err := s.Unprocessed(ctx, 10); err != nil || len(in) != 1 {
		t.Errorf("Unprocessed after kill -9 = %d entries, %v", len(in), err)
	}
}

// TestCommitAfterClose: the group committer refuses commits once the store is closed.
func TestCommitAfterClose(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redis.Open(srv.URL(0), redis.Options{Prefix: "closed:"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c := storetest.Conversation("w1", "s1")
	if err := within(t, "Commit", func() error { return s.Commit(context.Background(), &c, nil, "") }); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("Commit after Close = %v, want ErrClosed", err)
	}
}

// TestUngroupedCommits runs the store contract with every commit on its own round trip.
func TestUngroupedCommits(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t, func(t *testing.T) bridge.Store {
		return mustOpen(t, srv, redis.Options{Prefix: newPrefix(), CommitBatch: -1})
	}, nil)
}
