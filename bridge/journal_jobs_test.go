package bridge_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
)

// waitNoJobs waits until the bridge holds no journal job: every conversation is idle once its
// writes are performed and their removal committed.
func waitNoJobs(t *testing.T, b *bridge.Bridge, what string) {
	t.Helper()
	settle(t, b, "")
	var left map[bridge.Key]bridge.JobState
	waitForOr(t, func() bool { left = bridge.JournalJobs(b); return len(left) == 0 }, func() string {
		return fmt.Sprintf("%s: journal jobs left %+v", what, left)
	})
}

// waitForOr is waitFor with a report of what is left.
func waitForOr(t *testing.T, cond func() bool, report func() string) {
	t.Helper()
	done := false
	func() {
		defer func() {
			if !done {
				t.Log(report())
			}
		}()
		waitFor(t, "the condition", cond)
		done = true
	}()
}

// A conversation's journal job is removed once nothing in it is set: after answers, after write-backs
// merged while the first was in flight (the merged-away entry was never attempted: its fresh mark
// used to stay for ever), and after a handover whose messages were dropped as stale before any
// attempt (likewise).
func TestJournalJobsGoWhenIdle(t *testing.T) {
	f := newFlaky()
	b, st := openJournal(t, f, "", nil)
	defer st.Close()
	defer b.Close()
	ctx := context.Background()

	for i := range 5 {
		mustHandle(t, b, visitorMessage(fmt.Sprint("a", i), 1), visitorMessage(fmt.Sprint("a", i), 2))
	}
	waitNoJobs(t, b, "answers")

	// A handover whose writes fail (calls time out) while its mode ends: the notices are dropped,
	// stale, without being attempted.
	key := bridge.Key{WebsiteID: "w", SessionID: "h"}
	mustHandle(t, b, visitorMessage("h", 1))
	settle(t, b, "h")
	unblock := f.block("h")
	if _, err := b.Control(ctx, key, bridge.ControlHandover, "", ""); err != nil {
		t.Fatal(err)
	}
	n := f.count("send")
	waitFor(t, "a message of the handover attempted", func() bool { return f.count("send") > n })
	if _, err := b.Control(ctx, key, bridge.ControlStart, "", ""); err != nil {
		t.Fatal(err)
	}
	unblock()
	waitFor(t, "the writes performed after the failures", func() bool {
		p, err := b.Pending(ctx, key)
		return err == nil && len(p) == 0
	})
	waitNoJobs(t, b, "handover dropped")

	// Write-backs merged while the first is in flight.
	key = bridge.Key{WebsiteID: "w", SessionID: "m"}
	unblock = f.block("m")
	mustHandle(t, b, f.dataEvent("m", "plan", "pro"))
	for _, c := range []string{bridge.ControlPause, bridge.ControlStart, bridge.ControlPause} {
		if _, err := b.Control(ctx, key, c, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	unblock()
	waitFor(t, "the writes performed", func() bool {
		p, err := b.Pending(ctx, key)
		return err == nil && len(p) == 0
	})
	waitNoJobs(t, b, "merged write-backs")
	if got := f.value("m", "enum_state"); got != "paused" {
		t.Fatalf("enum_state = %q, want paused", got)
	}
}
