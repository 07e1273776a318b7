package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/redis"
	"github.com/signalbridge/signalbridge/bridge/redis/redistest"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

// prefixes gives each store of a test run its own key prefix on the shared server.
var prefixes atomic.Int64

func newPrefix() string { return fmt.Sprintf("t%d:", prefixes.Add(1)) }

// mustOpen opens a store on srv and closes it when the test ends.
func mustOpen(tb testing.TB, srv *redistest.Server, opts redis.Options) *redis.Store {
	tb.Helper()
	s, err := redis.Open(srv.URL(0), opts)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", srv.URL(0), err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStoreContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.Run(t,
		func(t *testing.T) bridge.Store { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) },
		// Reopen restarts redis-server itself (same directory): what the test reads back came from the AOF.
		func(t *testing.T, s bridge.Store) bridge.Store {
			rs := s.(*redis.Store)
			if err := rs.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			srv.Restart()
			return mustOpen(t, srv, redis.Options{Prefix: rs.Prefix()})
		})
}

func TestInboxContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunInbox(t,
		func(t *testing.T) bridge.Inbox { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) },
		func(t *testing.T, in bridge.Inbox) bridge.Inbox {
			rs := in.(*redis.Store)
			_ = rs.Close()
			srv.Restart()
			return mustOpen(t, srv, redis.Options{Prefix: rs.Prefix()})
		})
}

func TestCursorsContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunCursors(t, func(t *testing.T) bridge.Cursors { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) })
}

func TestLeasesContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunLeases(t, func(t *testing.T) bridge.Leases { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) })
}

// TestPrefixIsolation: two deployments on one server and database do not see each other.
func TestPrefixIsolation(t *testing.T) {
	srv := redistest.Start(t)
	a := mustOpen(t, srv, redis.Options{Prefix: "deploy-a:"})
	b := mustOpen(t, srv, redis.Options{Prefix: "deploy-b:"})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	if err := a.Commit(ctx, &c, nil, "ev1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, c.Key); !errors.Is(err, bridge.ErrNotFound) {
		t.Errorf("Load from the other prefix = %v, want ErrNotFound", err)
	}
	if ok, err := b.Processed(ctx, "ev1"); err != nil || ok {
		t.Errorf("Processed from the other prefix = %v, %v", ok, err)
	}
	for _, k := range strings.Split(srv.Do("KEYS", "*"), "\n") {
		if !strings.HasPrefix(k, "deploy-a:") && k != "deploy-b:epoch" { // b's only key: its epoch
			t.Errorf("key %q outside the prefix", k)
		}
	}
}

// TestStoreLostItsData: a Redis wiped (or restarted without persistence) under a running store is
// detected: commits write nothing and fail with ErrStoreLost, and Ping (readiness) fails too. A
// store opened afterwards starts a new epoch.
func TestStoreLostItsData(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: newPrefix()})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(ctx, &c, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before the wipe: %v", err)
	}
	srv.Do("FLUSHALL")
	if err := s.Ping(ctx); !errors.Is(err, redis.ErrStoreLost) {
		t.Errorf("ping after the wipe = %v, want ErrStoreLost", err)
	}
	if err := s.Commit(ctx, &c, nil, "ev2"); !errors.Is(err, redis.ErrStoreLost) {
		t.Errorf("commit after the wipe = %v, want ErrStoreLost", err)
	}
	if n := srv.Do("DBSIZE"); n != "0" {
		t.Errorf("keys after a refused commit = %s, want 0", n)
	}
	again := mustOpen(t, srv, redis.Options{Prefix: s.Prefix()})
	if again.Epoch() == s.Epoch() || again.Epoch() == "" {
		t.Errorf("a store opened after the wipe has epoch %q (the lost one %q)", again.Epoch(), s.Epoch())
	}
}

// TestDatabaseFromURL: the database number comes from the URL.
func TestDatabaseFromURL(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redis.Open(srv.URL(3), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(context.Background(), &c, nil, ""); err != nil {
		t.Fatal(err)
	}
	if got := srv.Do("DBSIZE"); got != "0" {
		t.Errorf("DBSIZE of db 0 = %s, want 0", got)
	}
	if got := srv.Do("EXISTS", "signalbridge:c:w1/s1"); got != "0" {
		t.Errorf("conversation in db 0")
	}
}

// TestPassword: a server with requirepass accepts the password of the URL and refuses a wrong one,
// without the password appearing in the error.
func TestPassword(t *testing.T) {
	srv := redistest.Start(t, "--requirepass", "s3cret-pass")
	host := srv.Addr()
	s, err := redis.Open("redis://:s3cret-pass@"+host+"/0", redis.Options{})
	if err != nil {
		t.Fatalf("Open with the password = %v", err)
	}
	_ = s.Close()
	_, err = redis.Open("redis://:wrong-pass@"+host+"/0", redis.Options{})
	if err == nil {
		t.Fatal("Open with a wrong password = nil error")
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "http://localhost:6379", "redis://:pw@host:6379/notadb", "redis://h:1/0?bogus_option=1"} {
		_, err := redis.Open(u, redis.Options{})
		if !errors.Is(err, redis.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want ErrInvalid", u, err)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// TestProcessedTTL: processed ids expire by Redis TTL (no purge sweep), and a repeated commit keeps
// the first expiry.
func TestProcessedTTL(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "ttl:", ProcessedTTL: 72 * time.Hour})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	if err := s.Commit(ctx, &c, nil, "ev1"); err != nil {
		t.Fatal(err)
	}
	ttl := srv.Do("PTTL", "ttl:p:ev1")
	var ms int64
	fmt.Sscan(ttl, &ms)
	if ms <= (72*time.Hour-time.Minute).Milliseconds() || ms > (72*time.Hour).Milliseconds() {
		t.Errorf("PTTL of the processed id = %s ms, want about 72h", ttl)
	}
	srv.Do("PEXPIRE", "ttl:p:ev1", "1000000")
	if err := s.Commit(ctx, &c, nil, "ev1"); err != nil {
		t.Fatal(err)
	}
	fmt.Sscan(srv.Do("PTTL", "ttl:p:ev1"), &ms)
	if ms > 1_000_000 {
		t.Errorf("a repeated commit reset the expiry: PTTL %d", ms)
	}
	short := mustOpen(t, srv, redis.Options{Prefix: "short:", ProcessedTTL: 50 * time.Millisecond})
	if err := short.Commit(ctx, &c, nil, "ev2"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := short.Processed(ctx, "ev2")
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("processed id still there 5s after its 50ms ttl")
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// TestAuditLimit: the trail keeps the newest AuditLimit entries.
func TestAuditLimit(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "al:", AuditLimit: 3})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	c.Transitions = 0
	for i := range 6 {
		c.Transitions++
		a := []bridge.AuditEntry{{At: int64(i), Detail: fmt.Sprintf("e%d", i)}}
		if err := s.Commit(ctx, &c, a, fmt.Sprintf("ev%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, c.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range got {
		details = append(details, e.Detail)
	}
	if strings.Join(details, ",") != "e3,e4,e5" {
		t.Errorf("Audit = %v, want e3,e4,e5", details)
	}
	// Entries beyond the transitions counter are appended, once.
	c.Transitions = 1
	extra := []bridge.AuditEntry{{Detail: "x1"}, {Detail: "x2"}}
	for range 2 {
		if err := s.Commit(ctx, &c, extra, "ev-extra"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = s.Audit(ctx, c.Key, 0)
	details = details[:0]
	for _, e := range got {
		details = append(details, e.Detail)
	}
	if strings.Join(details, ",") != "e5,x1,x2" {
		t.Errorf("Audit after an appended commit twice = %v, want e5,x1,x2", details)
	}
}

// TestUsageExpires: a day's usage has a TTL.
func TestUsageExpires(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "u:", UsageTTL: 48 * time.Hour})
	if _, err := s.AddUsage(context.Background(), "w1", "2026-12-01", 5); err != nil {
		t.Fatal(err)
	}
	var sec int64
	fmt.Sscan(srv.Do("TTL", "u:u:2026-12-01:w1"), &sec)
	if sec <= 47*3600 || sec > 48*3600 {
		t.Errorf("TTL of the usage counter = %d s, want about 48h", sec)
	}
}

// TestAuditReplay: an older commit replayed (transitions 4 of a trail at 5) replaces entries 3 and
// 4 in place and keeps 5, as the bbolt store does.
func TestAuditReplay(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "replay:"})
	ctx := context.Background()
	c := storetest.Conversation("w1", "s1")
	c.Transitions = 5
	var five []bridge.AuditEntry
	for i := 1; i <= 5; i++ {
		five = append(five, bridge.AuditEntry{Detail: fmt.Sprintf("e%d", i)})
	}
	if err := s.Commit(ctx, &c, five, ""); err != nil {
		t.Fatal(err)
	}
	c.Transitions = 4
	if err := s.Commit(ctx, &c, []bridge.AuditEntry{{Detail: "r3"}, {Detail: "r4"}}, ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Audit(ctx, c.Key, 0)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range got {
		details = append(details, e.Detail)
	}
	if strings.Join(details, ",") != "e1,e2,r3,r4,e5" {
		t.Errorf("Audit after the replay = %v, want e1,e2,r3,r4,e5", details)
	}
	if got, _ := s.Audit(ctx, c.Key, 2); len(got) != 2 || got[1].Detail != "e5" {
		t.Errorf("Audit(2) = %+v, want r4, e5", got)
	}
}

// TestLeasesAcrossReplicas: two replicas (two clients) share leases through the server; a replica
// that stalls past its lease is fenced, and fencing tokens keep growing across a restart of Redis
// (the counter is in the AOF), so a token handed out before the restart never passes for a newer one.
func TestLeasesAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a := mustOpen(t, srv, redis.Options{Prefix: "rep:"})
	b := mustOpen(t, srv, redis.Options{Prefix: "rep:"})
	ctx := context.Background()
	const name = "conv:w1/s1"
	tokA, ok, err := a.Acquire(ctx, name, "replica-a", 300*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("a.Acquire = %d, %v, %v", tokA, ok, err)
	}
	c := storetest.Conversation("w1", "s1")
	if err := a.CommitFenced(ctx, name, tokA, &c, nil, "ev1"); err != nil {
		t.Fatal(err)
	}
	// replica-a stops renewing; replica-b polls until the lease is free.
	var tokB int64
	deadline := time.Now().Add(5 * time.Second)
	for {
		tokB, ok, err = b.Acquire(ctx, name, "replica-b", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica-b never got the lease")
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
	c.Replies = 42
	if err := a.CommitFenced(ctx, name, tokA, &c, nil, "ev2"); !errors.Is(err, bridge.ErrFenced) {
		t.Fatalf("stalled replica's commit = %v, want ErrFenced", err)
	}
	if ok, _ := b.Processed(ctx, "ev2"); ok {
		t.Error("the fenced commit's event is marked processed")
	}
	srv.Restart()
	waitUp(t, a)
	waitUp(t, b)
	// The lease survived the restart (AOF), and new tokens are still greater.
	if _, ok, err := a.Acquire(ctx, name, "replica-a", time.Minute); err != nil || ok {
		t.Errorf("a.Acquire after the Redis restart = %v, %v; want refused (b holds it)", ok, err)
	}
	tokC, ok, err := a.Acquire(ctx, "sweep:outbox", "replica-a", time.Minute)
	if err != nil || !ok || tokC <= tokB {
		t.Errorf("token after the Redis restart = %d, %v, %v; want > %d", tokC, ok, err, tokB)
	}
	if err := b.CommitFenced(ctx, name, tokB, &c, nil, "ev3"); err != nil {
		t.Errorf("holder's commit after the Redis restart = %v", err)
	}
}

// TestTokenSurvivesLostWrites: when Redis loses its last writes (here: the token counter is set
// back, as a crash of its machine under appendfsync everysec could), new tokens are still greater
// than the ones handed out before.
func TestTokenSurvivesLostWrites(t *testing.T) {
	srv := redistest.Start(t)
	s := mustOpen(t, srv, redis.Options{Prefix: "lost:"})
	ctx := context.Background()
	before := srv.Do("GET", "lost:lease-token")
	t1, ok, err := s.Acquire(ctx, "conv:w1/s1", "a", time.Minute)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// The write of t1 is "lost": the counter goes back, and so does the lease.
	if before == "" {
		srv.Do("DEL", "lost:lease-token")
	} else {
		srv.Do("SET", "lost:lease-token", before)
	}
	srv.Do("DEL", "lost:l:conv:w1/s1")
	t2, ok, err := s.Acquire(ctx, "conv:w1/s1", "b", time.Minute)
	if err != nil || !ok || t2 <= t1 {
		t.Fatalf("token after lost writes = %d, %v, %v; want > %d", t2, ok, err, t1)
	}
	c := storetest.Conversation("w1", "s1")
	if err := s.CommitFenced(ctx, "conv:w1/s1", t1, &c, nil, ""); !errors.Is(err, bridge.ErrFenced) {
		t.Errorf("commit with the token from before the loss = %v, want ErrFenced", err)
	}
}

func TestEraserContract(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunEraser(t, func(t *testing.T) storetest.EraserStore { return mustOpen(t, srv, redis.Options{Prefix: newPrefix()}) })
}
