package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// InboxOpener returns a new, empty inbox for one test and arranges for it to be closed.
type InboxOpener func(t *testing.T) bridge.Inbox

// InboxReopener closes the inbox's storage and opens it again (nil: no persistence test).
type InboxReopener func(t *testing.T, in bridge.Inbox) bridge.Inbox

// RunInbox runs the contract suite of bridge.Inbox.
func RunInbox(t *testing.T, open InboxOpener, reopen InboxReopener) {
	t.Run("Empty", func(t *testing.T) { testInboxEmpty(t, open) })
	t.Run("OrderAndRoundTrip", func(t *testing.T) { testInboxOrder(t, open) })
	t.Run("Remove", func(t *testing.T) { testInboxRemove(t, open) })
	t.Run("Duplicate", func(t *testing.T) { testInboxDuplicate(t, open) })
	t.Run("AllOrNone", func(t *testing.T) { testInboxAllOrNone(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testInboxConcurrent(t, open) })
	t.Run("Reopen", func(t *testing.T) {
		if reopen == nil {
			t.Skip("inbox without persistence")
		}
		testInboxReopen(t, open, reopen)
	})
}

// InboxEntry returns an entry with most event fields set, for round-trip tests.
func InboxEntry(id string, at int64) bridge.InboxEntry {
	yes := true
	return bridge.InboxEntry{ID: id, AcceptedAt: at, Event: bridge.Event{
		Name: bridge.EventMessageUpdated, Via: bridge.ViaHooks, WebsiteID: "w1", SessionID: "session_" + id,
		Fingerprint: 1630000000 + at, Timestamp: at,
		Message: &bridge.Message{Type: "picker", From: "user", Origin: "chat", Text: "Pick «one» \u2028",
			Picker: &bridge.Picker{ID: "p1", Text: "Pick", Choices: []bridge.Choice{{Value: "a", Label: "A", Selected: true}}}},
		Data:      map[string]string{"plan": "pro"},
		Segments:  []string{"customer"},
		Available: &yes,
	}}
}

func mustUnprocessed(t *testing.T, in bridge.Inbox, limit int) []bridge.InboxEntry {
	t.Helper()
	got, err := in.Unprocessed(context.Background(), limit)
	if err != nil {
		t.Fatalf("Unprocessed(%d) = %v", limit, err)
	}
	return got
}

func mustAccept(t *testing.T, in bridge.Inbox, entries ...bridge.InboxEntry) {
	t.Helper()
	if err := in.Accept(context.Background(), entries); err != nil {
		t.Fatalf("Accept(%d entries) = %v", len(entries), err)
	}
}

func idsOf(es []bridge.InboxEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testInboxEmpty(t *testing.T, open InboxOpener) {
	in := open(t)
	ctx := context.Background()
	if got := mustUnprocessed(t, in, 10); len(got) != 0 {
		t.Errorf("Unprocessed on an empty inbox = %v", idsOf(got))
	}
	if err := in.Accept(ctx, nil); err != nil {
		t.Errorf("Accept(nil) = %v", err)
	}
	if err := in.Remove(ctx, nil); err != nil {
		t.Errorf("Remove(nil) = %v", err)
	}
}

// testInboxOrder: entries come back whole, oldest first; ids are chosen in the reverse of their
// order so that sorting by id would fail.
func testInboxOrder(t *testing.T, open InboxOpener) {
	in := open(t)
	var want []bridge.InboxEntry
	for i := range 5 {
		want = append(want, InboxEntry(fmt.Sprintf("z%d", 9-i), int64(1_700_000_000_000+i)))
	}
	mustAccept(t, in, want[:3]...)
	mustAccept(t, in, want[3:]...)
	if got := mustUnprocessed(t, in, 10); !reflect.DeepEqual(got, want) {
		t.Errorf("Unprocessed = %+v\nwant %+v", got, want)
	}
	if got := mustUnprocessed(t, in, 2); !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("Unprocessed(2) = %v, want %v", idsOf(got), idsOf(want[:2]))
	}
}

func testInboxRemove(t *testing.T, open InboxOpener) {
	in := open(t)
	ctx := context.Background()
	var all []bridge.InboxEntry
	for i := range 5 {
		all = append(all, InboxEntry(fmt.Sprintf("e%d", i), int64(1000+i)))
	}
	mustAccept(t, in, all...)
	if err := in.Remove(ctx, []string{"e1", "e3", "unknown"}); err != nil {
		t.Fatalf("Remove = %v", err)
	}
	want := []string{"e0", "e2", "e4"}
	if got := idsOf(mustUnprocessed(t, in, 10)); !reflect.DeepEqual(got, want) {
		t.Errorf("Unprocessed after Remove = %v, want %v", got, want)
	}
	if err := in.Remove(ctx, want); err != nil {
		t.Fatalf("Remove = %v", err)
	}
	if got := mustUnprocessed(t, in, 10); len(got) != 0 {
		t.Errorf("Unprocessed after removing everything = %v", idsOf(got))
	}
}

func testInboxDuplicate(t *testing.T, open InboxOpener) {
	in := open(t)
	e := InboxEntry("dup", 1000)
	mustAccept(t, in, e)
	mustAccept(t, in, e)
	mustAccept(t, in, InboxEntry("other", 1001))
	if got := idsOf(mustUnprocessed(t, in, 10)); !reflect.DeepEqual(got, []string{"dup", "other"}) {
		t.Errorf("Unprocessed after accepting dup twice = %v, want [dup other]", got)
	}
}

// testInboxAllOrNone: a batch with a bad entry is refused whole.
func testInboxAllOrNone(t *testing.T, open InboxOpener) {
	in := open(t)
	err := in.Accept(context.Background(), []bridge.InboxEntry{InboxEntry("good", 1000), InboxEntry("", 1001)})
	if err == nil {
		t.Fatal("Accept(entry without id) = nil, want error")
	}
	if got := mustUnprocessed(t, in, 10); len(got) != 0 {
		t.Errorf("Unprocessed after a refused batch = %v, want none", idsOf(got))
	}
	mustAccept(t, in, InboxEntry("good", 1000))
	if got := mustUnprocessed(t, in, 10); len(got) != 1 {
		t.Errorf("Unprocessed after a good batch = %v, want [good]", idsOf(got))
	}
}

func testInboxConcurrent(t *testing.T, open InboxOpener) {
	in := open(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := InboxEntry(fmt.Sprintf("w%d-%d", w, i), int64(1000+i))
				if err := in.Accept(context.Background(), []bridge.InboxEntry{e}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustUnprocessed(t, in, 10*workers*each)
	seen := map[string]int{}
	for _, e := range got {
		seen[e.ID]++
	}
	if len(got) != workers*each || len(seen) != workers*each {
		t.Errorf("Unprocessed = %d entries (%d distinct), want %d", len(got), len(seen), workers*each)
	}
	// Each worker's entries keep their order.
	last := map[int]int{}
	for _, e := range got {
		var w, i int
		if _, err := fmt.Sscanf(e.ID, "w%d-%d", &w, &i); err != nil {
			t.Fatalf("bad id %q", e.ID)
		}
		if prev, ok := last[w]; ok && i < prev {
			t.Errorf("worker %d: entry %d listed after %d", w, i, prev)
		}
		last[w] = i
	}
}

func testInboxReopen(t *testing.T, open InboxOpener, reopen InboxReopener) {
	in := open(t)
	want := []bridge.InboxEntry{InboxEntry("a", 1000), InboxEntry("b", 1001)}
	mustAccept(t, in, want...)
	in = reopen(t, in)
	if got := mustUnprocessed(t, in, 10); !reflect.DeepEqual(got, want) {
		t.Errorf("Unprocessed after reopen = %+v\nwant %+v", got, want)
	}
}

// CursorsOpener returns new, empty cursors for one test and arranges for them to be closed.
type CursorsOpener func(t *testing.T) bridge.Cursors

// RunCursors runs the contract suite of bridge.Cursors.
func RunCursors(t *testing.T, open CursorsOpener) {
	t.Run("ForwardOnly", func(t *testing.T) {
		c := open(t)
		ctx := context.Background()
		steps := []struct{ set, want int64 }{{5, 5}, {3, 5}, {5, 5}, {1_800_000_000_000, 1_800_000_000_000}, {0, 1_800_000_000_000}}
		if v, err := c.Cursor(ctx, "rtm:w1"); err != nil || v != 0 {
			t.Errorf("Cursor(unset) = %d, %v; want 0", v, err)
		}
		for _, st := range steps {
			if err := c.SetCursor(ctx, "rtm:w1", st.set); err != nil {
				t.Fatalf("SetCursor(%d) = %v", st.set, err)
			}
			if v, err := c.Cursor(ctx, "rtm:w1"); err != nil || v != st.want {
				t.Errorf("after SetCursor(%d): Cursor = %d, %v; want %d", st.set, v, err, st.want)
			}
		}
		if v, err := c.Cursor(ctx, "rtm:w2"); err != nil || v != 0 {
			t.Errorf("Cursor(other name) = %d, %v; want 0", v, err)
		}
		if err := c.SetCursor(ctx, "", 1); err == nil {
			t.Error(`SetCursor("") = nil, want error`)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		c := open(t)
		const workers, each = 8, 50
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					// Interleaved values: the maximum, workers*each, is set by the last worker's last call.
					if err := c.SetCursor(context.Background(), "c", int64(i*workers+w+1)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if v, err := c.Cursor(context.Background(), "c"); err != nil || v != workers*each {
			t.Errorf("Cursor after concurrent sets = %d, %v; want %d", v, err, workers*each)
		}
	})
}

// LeasesOpener returns new, empty leases for one test and arranges for them to be closed. When the
// value is also a bridge.Store and a bridge.FencedCommitter, fenced commits are tested too.
type LeasesOpener func(t *testing.T) bridge.Leases

// RunLeases runs the contract suite of bridge.Leases. Lease expiry is real time: the tests use
// leases of a few hundred milliseconds and poll for their expiry with a deadline.
func RunLeases(t *testing.T, open LeasesOpener) {
	t.Run("AcquireRenewRelease", func(t *testing.T) { testLeaseBasic(t, open) })
	t.Run("Expiry", func(t *testing.T) { testLeaseExpiry(t, open) })
	t.Run("OneHolder", func(t *testing.T) { testLeaseOneHolder(t, open) })
	t.Run("Fenced", func(t *testing.T) { testLeaseFenced(t, open) })
	t.Run("InvalidInput", func(t *testing.T) {
		l := open(t)
		ctx := context.Background()
		if _, _, err := l.Acquire(ctx, "", "a", time.Second); err == nil {
			t.Error(`Acquire(name "") = nil error`)
		}
		if _, _, err := l.Acquire(ctx, "n", "", time.Second); err == nil {
			t.Error(`Acquire(holder "") = nil error`)
		}
		if _, _, err := l.Acquire(ctx, "n", "a", 0); err == nil {
			t.Error("Acquire(ttl 0) = nil error")
		}
	})
}

func mustAcquire(t *testing.T, l bridge.Leases, name, holder string, ttl time.Duration) (int64, bool) {
	t.Helper()
	tok, ok, err := l.Acquire(context.Background(), name, holder, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s, %s) = %v", name, holder, err)
	}
	if ok && tok <= 0 {
		t.Fatalf("Acquire(%s, %s) = token %d, want > 0", name, holder, tok)
	}
	return tok, ok
}

func testLeaseBasic(t *testing.T, open LeasesOpener) {
	l := open(t)
	ctx := context.Background()
	const name = "conv:w1/s1"
	tokA, ok := mustAcquire(t, l, name, "replica-a", 10*time.Second)
	if !ok {
		t.Fatal("first Acquire: not ok")
	}
	if _, ok := mustAcquire(t, l, name, "replica-b", 10*time.Second); ok {
		t.Fatal("Acquire by a second holder while the first has it: ok")
	}
	renewed, ok := mustAcquire(t, l, name, "replica-a", 10*time.Second)
	if !ok || renewed < tokA {
		t.Fatalf("renewal by the holder = %d, %v; want ok with token >= %d", renewed, ok, tokA)
	}
	if _, ok := mustAcquire(t, l, "sweep:resume", "replica-b", 10*time.Second); !ok {
		t.Error("Acquire of another name: not ok")
	}
	if err := l.Release(ctx, name, "replica-b"); err != nil {
		t.Fatalf("Release by a non-holder = %v", err)
	}
	if _, ok := mustAcquire(t, l, name, "replica-b", 10*time.Second); ok {
		t.Fatal("Release by a non-holder freed the lease")
	}
	if err := l.Release(ctx, name, "replica-a"); err != nil {
		t.Fatalf("Release = %v", err)
	}
	tokB, ok := mustAcquire(t, l, name, "replica-b", 10*time.Second)
	if !ok || tokB <= renewed {
		t.Fatalf("Acquire after Release = %d, %v; want ok with token > %d", tokB, ok, renewed)
	}
}

// waitAcquire polls Acquire until holder gets the lease, within deadline.
func waitAcquire(t *testing.T, l bridge.Leases, name, holder string, ttl, deadline time.Duration) int64 {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		if tok, ok := mustAcquire(t, l, name, holder, ttl); ok {
			return tok
		}
		if time.Now().After(end) {
			t.Fatalf("%s did not get lease %s within %s", holder, name, deadline)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func testLeaseExpiry(t *testing.T, open LeasesOpener) {
	l := open(t)
	const name = "conv:w1/s2"
	start := time.Now()
	tokA, ok := mustAcquire(t, l, name, "replica-a", 200*time.Millisecond)
	if !ok {
		t.Fatal("Acquire: not ok")
	}
	tokB := waitAcquire(t, l, name, "replica-b", 10*time.Second, 5*time.Second)
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Errorf("second holder got the lease after %s, before its 200ms ttl", el)
	}
	if tokB <= tokA {
		t.Errorf("token after expiry = %d, want > %d", tokB, tokA)
	}
	if _, ok := mustAcquire(t, l, name, "replica-a", time.Second); ok {
		t.Error("the expired holder renewed a lease another holder has")
	}
}

func testLeaseOneHolder(t *testing.T, open LeasesOpener) {
	l := open(t)
	const holders = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for h := range holders {
		wg.Go(func() {
			_, ok, err := l.Acquire(context.Background(), "sweep:outbox", fmt.Sprintf("replica-%d", h), 10*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d holders got the same lease at once, want 1", won)
	}
}

// testLeaseFenced: a holder that pauses past its lease cannot write any more.
func testLeaseFenced(t *testing.T, open LeasesOpener) {
	l := open(t)
	fc, ok1 := l.(bridge.FencedCommitter)
	st, ok2 := l.(bridge.Store)
	if !ok1 || !ok2 {
		t.Skip("leases without fenced commits")
	}
	ctx := context.Background()
	c := Conversation("w1", "session_fenced")
	const name = "conv:w1/session_fenced"
	tokA, ok := mustAcquire(t, l, name, "replica-a", 300*time.Millisecond)
	if !ok {
		t.Fatal("Acquire: not ok")
	}
	c.Replies = 1
	if err := fc.CommitFenced(ctx, name, tokA, &c, nil, "ev-a1"); err != nil {
		t.Fatalf("CommitFenced by the holder = %v", err)
	}
	// replica-a stalls; replica-b takes over once the lease has expired.
	tokB := waitAcquire(t, l, name, "replica-b", 10*time.Second, 5*time.Second)
	stale := c
	stale.Replies = 99
	err := fc.CommitFenced(ctx, name, tokA, &stale, []bridge.AuditEntry{entry(1)}, "ev-a2")
	if !errors.Is(err, bridge.ErrFenced) {
		t.Fatalf("CommitFenced by the stalled holder = %v, want ErrFenced", err)
	}
	if got := mustLoad(t, st, c.Key); got.Replies != 1 {
		t.Errorf("a fenced commit wrote: replies %d, want 1", got.Replies)
	}
	if mustProcessed(t, st, "ev-a2") {
		t.Error("a fenced commit marked its event processed")
	}
	if a := mustAudit(t, st, c.Key, 0); len(a) != 0 {
		t.Errorf("a fenced commit wrote audit entries: %v", a)
	}
	c.Replies = 2
	if err := fc.CommitFenced(ctx, name, tokB, &c, nil, "ev-b1"); err != nil {
		t.Fatalf("CommitFenced by the new holder = %v", err)
	}
	if got := mustLoad(t, st, c.Key); got.Replies != 2 {
		t.Errorf("after the new holder's commit: replies %d, want 2", got.Replies)
	}
	// Without the lease at all, a fenced commit fails too.
	if err := l.Release(ctx, name, "replica-b"); err != nil {
		t.Fatal(err)
	}
	if err := fc.CommitFenced(ctx, name, tokB, &c, nil, ""); !errors.Is(err, bridge.ErrFenced) {
		t.Errorf("CommitFenced after Release = %v, want ErrFenced", err)
	}
}
