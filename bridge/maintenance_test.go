package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Conversations idle for longer than the retention are erased by the sweep; recent ones stay.
func TestRetentionErasesIdleConversations(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, st := open(t, rec, func(o *bridge.Options, _ *bridge.Website) {
		o.Now = clock.Now
		o.Retention = 90 * 24 * time.Hour
	})
	defer b.Close()
	ctx := context.Background()
	for i := range 3 {
		mustHandle(t, b, visitorMessage(fmt.Sprintf("old%d", i), i))
	}
	idle(t, b)
	clock.advance(60 * 24 * time.Hour)
	mustHandle(t, b, visitorMessage("recent", 9))
	idle(t, b)
	if n, err := b.SweepRetention(ctx); err != nil || n != 0 {
		t.Fatalf("sweep after 60 days = %d, %v; want nothing erased", n, err)
	}
	clock.advance(40 * 24 * time.Hour) // the old ones are 100 days idle, the recent one 40
	if n, err := b.SweepRetention(ctx); err != nil || n != 3 {
		t.Fatalf("sweep after 100 days = %d, %v; want the 3 idle conversations", n, err)
	}
	for i := range 3 {
		if _, err := st.Load(ctx, bridge.Key{WebsiteID: "w", SessionID: fmt.Sprintf("old%d", i)}); !errors.Is(err, bridge.ErrNotFound) {
			t.Errorf("old%d after retention: %v, want not found", i, err)
		}
	}
	if _, err := st.Load(ctx, bridge.Key{WebsiteID: "w", SessionID: "recent"}); err != nil {
		t.Errorf("recent conversation erased: %v", err)
	}
}

// Erase deletes a conversation's state in order with its events; a later event starts it afresh.
func TestEraseConversation(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, st := open(t, rec)
	defer b.Close()
	ctx := context.Background()
	key := bridge.Key{WebsiteID: "w", SessionID: "s1"}
	mustHandle(t, b, visitorMessage("s1", 1))
	if _, err := b.Control(ctx, key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := b.Erase(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, key); !errors.Is(err, bridge.ErrNotFound) {
		t.Fatalf("Load after Erase = %v, want not found", err)
	}
	if a, _ := st.Audit(ctx, key, 10); len(a) != 0 {
		t.Fatalf("audit after Erase = %v", a)
	}
	if err := b.Erase(ctx, key); err != nil {
		t.Fatalf("Erase of an erased conversation = %v, want nil", err)
	}
	mustHandle(t, b, visitorMessage("s1", 2))
	settle(t, b, "")
	if c, err := st.Load(ctx, key); err != nil || c.Mode != signals.ModeActive || len(c.Transcript) != 1 {
		t.Fatalf("after a new message: %+v, %v; want a fresh active conversation", c.Mode, err)
	}
}

// A turn's text is clipped before it is stored.
func TestTurnTextIsClipped(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, st := open(t, rec, func(o *bridge.Options, _ *bridge.Website) { o.MaxTurnText = 100 })
	defer b.Close()
	ev := visitorMessage("s1", 1)
	ev.Message.Text = strings.Repeat("é", 5000)
	mustHandle(t, b, ev)
	settle(t, b, "")
	c := load(t, st, "s1")
	if got := len([]rune(c.Transcript[0].Text)); got != 100 {
		t.Fatalf("stored turn has %d characters, want 100", got)
	}
}

// The resume sweep reads every due conversation, page by page (more than one page here).
func TestResumeSweepCoversEveryConversation(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)}
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, _ := open(t, rec, func(o *bridge.Options, w *bridge.Website) {
		o.Now = clock.Now
		w.ResumeAfter = 10 * time.Minute
	})
	defer b.Close()
	ctx := context.Background()
	const n = 1200 // the sweep reads pages of 1,000
	for i := range n {
		key := bridge.Key{WebsiteID: "w", SessionID: fmt.Sprintf("s%04d", i)}
		mustHandle(t, b, visitorMessage(key.SessionID, i))
		if _, err := b.Control(ctx, key, bridge.ControlHandover, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(11 * time.Minute)
	if got, err := b.SweepResume(ctx); err != nil || got != n {
		t.Fatalf("resumed %d, %v; want all %d", got, err, n)
	}
}

// idle waits until the answers being written are posted and everything they caused is processed,
// so nothing commits later with a clock the test has moved since.
func idle(t *testing.T, b *bridge.Bridge) {
	t.Helper()
	settle(t, b, "") // the events are processed: their answers have started
	waitFor(t, "answers posted", func() bool { return b.Generating() == 0 })
	settle(t, b, "")
}
