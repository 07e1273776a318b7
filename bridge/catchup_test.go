package bridge_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// memCursors is an in-memory bridge.Cursors (the bbolt one lives in bridge/bolt).
type memCursors struct {
	mu sync.Mutex
	m  map[string]int64
}

func newMemCursors() *memCursors { return &memCursors{m: map[string]int64{}} }

func (c *memCursors) Cursor(_ context.Context, name string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[name], nil
}

func (c *memCursors) SetCursor(_ context.Context, name string, v int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v > c.m[name] {
		c.m[name] = v
	}
	return nil
}

func (c *memCursors) get(name string) int64 {
	v, _ := c.Cursor(context.Background(), name)
	return v
}

// missed is a CatchupSource that returns fixed events and records what it was asked.
type missed struct {
	mu     sync.Mutex
	events map[string][]bridge.Event // by website
	asked  []ask
	during func() // called inside Missed (live events arriving meanwhile)
	err    error
	forgot []string // websites passed to Forget
}

type ask struct {
	website string
	since   int64
}

func (m *missed) Missed(_ context.Context, websiteID string, since int64) ([]bridge.Event, error) {
	m.mu.Lock()
	m.asked = append(m.asked, ask{websiteID, since})
	evs := slices.Clone(m.events[websiteID])
	during, err := m.during, m.err
	m.mu.Unlock()
	if during != nil {
		during()
	}
	return evs, err
}

func (m *missed) Forget(websiteID string) {
	m.mu.Lock()
	m.forgot = append(m.forgot, websiteID)
	m.mu.Unlock()
}

func (m *missed) asks() []ask {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.asked)
}

// fed records the events handed to it, and passes them on when next is set.
type fed struct {
	mu   sync.Mutex
	evs  []bridge.Event
	next bridge.EventHandler
}

func (f *fed) HandleEvent(ctx context.Context, ev bridge.Event) error {
	f.mu.Lock()
	f.evs = append(f.evs, ev)
	f.mu.Unlock()
	if f.next != nil {
		return f.next.HandleEvent(ctx, ev)
	}
	return nil
}

func (f *fed) events() []bridge.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.evs)
}

func openReconciler(t *testing.T, o bridge.ReconcilerOptions) *bridge.Reconciler {
	t.Helper()
	r, err := bridge.OpenReconciler(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func visitorMsg(session string, fp, at int64, text string) bridge.Event {
	return bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaCatchup, WebsiteID: "w", SessionID: session,
		Fingerprint: fp, Timestamp: at, Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: text}}
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReconcilerAnswersMissedOnce runs the real bridge (bbolt store): a visitor message missed in an
// existing conversation and one in a new conversation are answered once each after a catch-up, and
// a second catch-up replaying them changes nothing.
func TestReconcilerAnswersMissedOnce(t *testing.T) {
	rec := &recorder{sent: map[string][]string{}, state: map[string]string{}}
	b, _ := open(t, rec)
	t.Cleanup(func() { b.Close() })
	ctx := ctx10(t)
	now := time.Now().UnixMilli()
	// The existing conversation: one message seen live before the gap.
	live := visitorMsg("old", 100, now-60_000, "first")
	live.Via = bridge.ViaRTM
	if err := b.HandleEvent(ctx, live); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the live answer", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.sent["old"]) == 1 })

	cursors := newMemCursors()
	cursors.SetCursor(ctx, "catchup:w", now-60_000)
	src := &missed{events: map[string][]bridge.Event{"w": {
		visitorMsg("old", 100, now-60_000, "first"), // in the overlap: already processed
		{Name: bridge.EventSessionSetState, Via: bridge.ViaCatchup, WebsiteID: "w", SessionID: "old", State: "unresolved", Timestamp: now - 30_000},
		visitorMsg("old", 200, now-20_000, "during the gap"),
		visitorMsg("new", 300, now-10_000, "a new conversation"),
	}}}
	h := &fed{next: b}
	r := openReconciler(t, bridge.ReconcilerOptions{Handler: h, Source: src, Cursors: cursors,
		Websites: func(context.Context) ([]string, error) { return []string{"w"}, nil }})
	rep, err := r.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Websites != 1 || rep.Read != 4 || rep.Fed != 4 || rep.First != 0 || len(rep.Truncated) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if a := src.asks(); len(a) != 1 || a[0].since != now-60_000-bridge.DefaultCatchupOverlap.Milliseconds() {
		t.Fatalf("asked %+v, want since = cursor - overlap", a)
	}
	answered := func() (int, int) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.sent["old"]), len(rec.sent["new"])
	}
	waitFor(t, "both answers", func() bool { o, n := answered(); return o == 2 && n == 1 })

	// A replay of the same events (another reconnect) is de-duplicated.
	if _, err := r.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	// Barrier: a fresh message in each conversation; once both are answered, the replays before them
	// were processed.
	for i, s := range []string{"old", "new"} {
		ev := visitorMsg(s, int64(900+i), time.Now().UnixMilli(), "barrier")
		ev.Via = bridge.ViaRTM
		if err := b.HandleEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the barrier answers", func() bool { o, n := answered(); return o == 3 && n == 2 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Equal(rec.sent["old"], []string{"re:first", "re:during the gap", "re:barrier"}) ||
		!slices.Equal(rec.sent["new"], []string{"re:a new conversation", "re:barrier"}) {
		t.Fatalf("answers %q, %q: want each message answered once", rec.sent["old"], rec.sent["new"])
	}
	if got := cursors.get("catchup:w"); got < now {
		t.Errorf("cursor %d not moved to the catch-up time (>= %d)", got, now)
	}
}

// TestReconcilerBounds: a website seen for the first time is not caught up (nothing was missed); a
// gap longer than the look-back is read from the look-back only; events are fed oldest first.
func TestReconcilerBounds(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cursors := newMemCursors()
	ctx := ctx10(t)
	cursors.SetCursor(ctx, "catchup:old", now.Add(-72*time.Hour).UnixMilli())
	src := &missed{events: map[string][]bridge.Event{"old": {
		{Name: bridge.EventMessageSend, WebsiteID: "old", SessionID: "b", Timestamp: 30},
		{Name: bridge.EventMessageSend, WebsiteID: "old", SessionID: "a", Timestamp: 10},
		{Name: bridge.EventSessionSetState, WebsiteID: "old", SessionID: "a", Timestamp: 10, State: "resolved"},
		{Name: bridge.EventMessageSend, WebsiteID: "other", SessionID: "x", Timestamp: 20}, // not this website's
	}}}
	h := &fed{}
	r := openReconciler(t, bridge.ReconcilerOptions{Handler: h, Source: src, Cursors: cursors, Now: clock,
		LookBack: 6 * time.Hour, Websites: func(context.Context) ([]string, error) { return []string{"old", "fresh"}, nil }})
	rep, err := r.CatchUp(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Websites != 2 || rep.First != 1 || !slices.Equal(rep.Truncated, []string{"old"}) {
		t.Fatalf("report %+v: want 2 websites, fresh first seen, old truncated", rep)
	}
	if a := src.asks(); len(a) != 1 || a[0] != (ask{"old", now.Add(-6 * time.Hour).UnixMilli()}) {
		t.Fatalf("asked %+v, want only old, since the look-back", a)
	}
	if got := cursors.get("catchup:fresh"); got != now.UnixMilli() {
		t.Errorf("fresh cursor %d, want now", got)
	}
	var order []string
	for _, ev := range h.events() {
		order = append(order, ev.SessionID+":"+ev.Name)
	}
	if want := []string{"a:message:send", "a:session:set_state", "b:message:send"}; !slices.Equal(order, want) {
		t.Fatalf("fed %v, want %v (timestamp order, stable, this website only)", order, want)
	}
}

// TestReconcilerGap: the listening cursor advances (Flush) only while no gap is open; a gap opens at
// start-up, on Disconnected and on Trigger, and closes when a catch-up succeeds; a state or data
// event read back for a conversation that got a live one during the catch-up is dropped; a failed
// catch-up keeps the gap open; the next one starts from the listening cursor.
func TestReconcilerGap(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := ctx10(t)
	cursors := newMemCursors()
	cursors.SetCursor(ctx, "catchup:w", clock().Add(-time.Hour).UnixMilli())
	src := &missed{}
	h := &fed{}
	r := openReconciler(t, bridge.ReconcilerOptions{Handler: h, Source: src, Cursors: cursors, Now: clock,
		FlushEvery: time.Hour, RetryAfter: time.Hour})

	if !r.GapOpen() {
		t.Fatal("no gap at start-up")
	}
	r.Observe(bridge.Event{Name: bridge.EventMessageSend, WebsiteID: "w", SessionID: "s", Timestamp: clock().UnixMilli()})
	r.Flush(ctx)
	if got := cursors.get("catchup-listening"); got != 0 {
		t.Fatalf("listening cursor written (%d) during the start-up gap", got)
	}

	// The start-up catch-up of w (known from the event); a live data event for s arrives while it reads.
	src.events = map[string][]bridge.Event{"w": {
		{Name: bridge.EventSessionSetData, Via: bridge.ViaCatchup, WebsiteID: "w", SessionID: "s", Data: map[string]string{"enum": "start_chatbot"}},
		{Name: bridge.EventSessionSetData, Via: bridge.ViaCatchup, WebsiteID: "w", SessionID: "t", Data: map[string]string{"enum": "start_chatbot"}},
	}}
	src.during = func() {
		r.Observe(bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s", Data: map[string]string{"enum": "pause_chatbot"}})
	}
	r.Trigger()
	waitFor(t, "the catch-up", func() bool { rep, _ := r.Last(); return rep.Websites == 1 })
	rep, err := r.Last()
	if err != nil || rep.SkippedLive != 1 || rep.Fed != 1 || h.events()[0].SessionID != "t" {
		t.Fatalf("report %+v, %v, fed %+v: want s's read-back data dropped, t's fed", rep, err, h.events())
	}
	if a := src.asks(); len(a) != 1 || a[0].since != clock().Add(-time.Hour-bridge.DefaultCatchupOverlap).UnixMilli() {
		t.Fatalf("asked %+v, want since the website cursor less the overlap", a)
	}
	if r.GapOpen() {
		t.Fatal("gap still open after a successful catch-up")
	}
	if got := cursors.get("catchup:w"); got != clock().UnixMilli() {
		t.Fatalf("website cursor %d, want the catch-up time %d", got, clock().UnixMilli())
	}

	// No gap: Flush records that intake is up.
	advance(time.Minute)
	up := clock().UnixMilli()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := cursors.get("catchup-listening"); got != up {
		t.Fatalf("listening cursor %d, want %d", got, up)
	}

	// The socket is lost: the listening cursor stops.
	r.Disconnected()
	advance(time.Minute)
	r.Flush(ctx)
	if !r.GapOpen() || cursors.get("catchup-listening") != up {
		t.Fatalf("after Disconnected: gap open %v, listening cursor %d (want %d)", r.GapOpen(), cursors.get("catchup-listening"), up)
	}

	// A catch-up while intake is still down (a retry) reads from where intake was last known up, and
	// does not close the gap.
	src.mu.Lock()
	src.during, src.asked = nil, nil
	src.mu.Unlock()
	if _, err := r.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if a := src.asks(); len(a) != 1 || a[0].since != up-bridge.DefaultCatchupOverlap.Milliseconds() {
		t.Fatalf("asked %+v, want since %d (the listening cursor less the overlap)", a, up-bridge.DefaultCatchupOverlap.Milliseconds())
	}
	covered := clock().UnixMilli()
	r.Flush(ctx)
	if !r.GapOpen() || cursors.get("catchup-listening") != up || cursors.get("catchup:w") != covered {
		t.Fatalf("catch-up while down: gap open %v, listening cursor %d, website cursor %d (want %d)",
			r.GapOpen(), cursors.get("catchup-listening"), cursors.get("catchup:w"), covered)
	}

	// A failing catch-up moves nothing.
	advance(time.Minute)
	src.mu.Lock()
	src.err = errors.New("crisp down")
	src.mu.Unlock()
	if _, err := r.CatchUp(ctx); err == nil {
		t.Fatal("catch-up did not fail")
	}
	if !r.GapOpen() || cursors.get("catchup:w") != covered {
		t.Fatalf("after a failed catch-up: gap open %v, website cursor %d", r.GapOpen(), cursors.get("catchup:w"))
	}

	// The reconnection: the loop's catch-up starts where the last successful one did, and closes the gap.
	src.mu.Lock()
	src.err, src.asked = nil, nil
	src.mu.Unlock()
	r.Trigger()
	waitFor(t, "the gap to close", func() bool { return !r.GapOpen() })
	if a := src.asks(); len(a) != 1 || a[0].since != covered-bridge.DefaultCatchupOverlap.Milliseconds() {
		t.Fatalf("asked %+v, want since %d", a, covered-bridge.DefaultCatchupOverlap.Milliseconds())
	}
}

// refuse is an EventHandler that fails, as a closed bridge does.
type refuse struct{}

func (refuse) HandleEvent(context.Context, bridge.Event) error { return bridge.ErrClosed }

// TestReconcilerFeedFailure: when the bridge refuses an event, the catch-up fails, the cursor stays
// and the source is told to forget what it returned (so the next catch-up reads it again).
func TestReconcilerFeedFailure(t *testing.T) {
	ctx := ctx10(t)
	cursors := newMemCursors()
	cursors.SetCursor(ctx, "catchup:w", 1000)
	src := &missed{events: map[string][]bridge.Event{"w": {visitorMsg("s", 1, 2000, "hi")}}}
	r := openReconciler(t, bridge.ReconcilerOptions{Handler: refuse{}, Source: src, Cursors: cursors,
		Websites: func(context.Context) ([]string, error) { return []string{"w"}, nil }})
	if _, err := r.CatchUp(ctx); !errors.Is(err, bridge.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if !slices.Equal(src.forgot, []string{"w"}) || cursors.get("catchup:w") != 1000 || !r.GapOpen() {
		t.Fatalf("forgot %v, cursor %d, gap open %v: want w forgotten, the cursor kept, the gap open",
			src.forgot, cursors.get("catchup:w"), r.GapOpen())
	}
}

func TestOpenReconcilerValidation(t *testing.T) {
	ok := bridge.ReconcilerOptions{Handler: &fed{}, Source: &missed{}, Cursors: newMemCursors()}
	for name, o := range map[string]bridge.ReconcilerOptions{
		"no handler":        {Source: ok.Source, Cursors: ok.Cursors},
		"no source":         {Handler: ok.Handler, Cursors: ok.Cursors},
		"no cursors":        {Handler: ok.Handler, Source: ok.Source},
		"negative lookback": {Handler: ok.Handler, Source: ok.Source, Cursors: ok.Cursors, LookBack: -time.Hour},
	} {
		if r, err := bridge.OpenReconciler(o); err == nil {
			r.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReconcilerRestartBeforeFirstCatchup: a website is served live, but its first catch-up never
// completes in this run (the websites cannot be listed, or the process stops while it runs). After
// a restart it must not be taken for a website never served: the time it was first seen live is
// its cursor, and what it missed while the process was down is read back and fed.
func TestReconcilerRestartBeforeFirstCatchup(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cursors := newMemCursors()
	failing := func(context.Context) ([]string, error) { return nil, errors.New("listing refused") }
	r1, err := bridge.OpenReconciler(bridge.ReconcilerOptions{Handler: &fed{}, Source: &missed{err: errors.New("down")},
		Cursors: cursors, Now: clock, FlushEvery: time.Hour, RetryAfter: time.Hour, Websites: failing})
	if err != nil {
		t.Fatal(err)
	}
	seen := clock().UnixMilli()
	r1.Observe(bridge.Event{Name: bridge.EventMessageSend, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s", Timestamp: seen})
	advance(time.Minute)
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cursors.get("catchup:w"); got != seen {
		t.Fatalf("cursor of w after a run without a completed catch-up = %d, want the time it was first seen live %d", got, seen)
	}

	// Down for ten minutes; a visitor wrote meanwhile. The restarted reconciler reads it back.
	advance(10 * time.Minute)
	missedMsg := visitorMsg("s", 77, clock().Add(-5*time.Minute).UnixMilli(), "still there?")
	src := &missed{events: map[string][]bridge.Event{"w": {missedMsg}}}
	h := &fed{}
	r2 := openReconciler(t, bridge.ReconcilerOptions{Handler: h, Source: src, Cursors: cursors, Now: clock,
		FlushEvery: time.Hour, RetryAfter: time.Hour, Websites: func(context.Context) ([]string, error) { return []string{"w"}, nil }})
	rep, err := r2.CatchUp(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.First != 0 || rep.Fed != 1 || len(h.events()) != 1 || h.events()[0].Fingerprint != 77 {
		t.Fatalf("catch-up after the restart: %+v, fed %+v; want w read back since it was first seen and the missed message fed", rep, h.events())
	}
	if a := src.asks(); len(a) != 1 || a[0].since != seen-bridge.DefaultCatchupOverlap.Milliseconds() {
		t.Fatalf("asked %+v, want since the time w was first seen less the overlap", a)
	}
}

// TestReconcilerListingFailureKeepsTheGap: when the served websites cannot be listed, the websites
// it knows are still caught up, but the run fails: the gap stays open (the listening cursor does not
// move) and the catch-up is tried again, instead of taking the websites it could not list for done.
func TestReconcilerListingFailureKeepsTheGap(t *testing.T) {
	ctx := ctx10(t)
	cursors := newMemCursors()
	cursors.SetCursor(ctx, "catchup:w", time.Now().Add(-time.Hour).UnixMilli())
	src := &missed{events: map[string][]bridge.Event{"w": {visitorMsg("s", 5, time.Now().Add(-time.Minute).UnixMilli(), "hello?")}}}
	h := &fed{}
	r := openReconciler(t, bridge.ReconcilerOptions{Handler: h, Source: src, Cursors: cursors,
		FlushEvery: time.Hour, RetryAfter: time.Hour,
		Websites: func(context.Context) ([]string, error) { return []string{"w"}, errors.New("listing refused") }})
	rep, err := r.CatchUp(ctx)
	if err == nil || !strings.Contains(err.Error(), "listing refused") {
		t.Fatalf("catch-up error %v, want the listing's", err)
	}
	if rep.Fed != 1 || len(h.events()) != 1 {
		t.Fatalf("report %+v, fed %d: want the configured website still caught up", rep, len(h.events()))
	}
	if !r.GapOpen() {
		t.Fatal("the gap closed although the websites could not all be listed")
	}
	if err := r.Flush(ctx); err != nil || cursors.get("catchup-listening") != 0 {
		t.Fatalf("listening cursor %d (%v) with the gap open, want none", cursors.get("catchup-listening"), err)
	}
}
