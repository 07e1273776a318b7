package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// CatchupSource reads what a website's conversations received since a time (Unix ms), as ordinary
// events (Via ViaCatchup), oldest first within each conversation. bridge/crisp implements it over
// REST. On error it returns the events it read so far with the error; the next call may leave those
// out while their conversations are unchanged (a catch-up cut short resumes), unless the source is
// told with Forget (when it has that method) that they were not all fed.
type CatchupSource interface {
	Missed(ctx context.Context, websiteID string, since int64) ([]Event, error)
}

// EventHandler takes events into the bridge; *Bridge implements it.
type EventHandler interface {
	HandleEvent(ctx context.Context, ev Event) error
}

// Defaults of ReconcilerOptions.
const (
	DefaultLookBack        = 24 * time.Hour
	DefaultCatchupOverlap  = 2 * time.Minute
	DefaultCatchupTimeout  = time.Hour
	DefaultCatchupRetry    = time.Minute
	DefaultCursorFlush     = 10 * time.Second
	cursorPrefix           = "catchup:"          // + website id: covered up to there by a catch-up
	cursorListening        = "catchup-listening" // every website: live intake was up until there
	maxRememberedWebsites  = 10_000
	maxLiveDuringCatchup   = 100_000
	catchupHandleEventWait = time.Minute
)

// ReconcilerOptions configure a Reconciler. Handler, Source and Cursors are required.
type ReconcilerOptions struct {
	Handler EventHandler  // the bridge
	Source  CatchupSource // Crisp over REST
	Cursors Cursors       // durable cursors: "catchup-listening" and "catchup:<website>"
	// Websites returns the websites the bridge serves (configured, or the plugin's installed
	// websites); websites seen in events are added. nil: only those.
	Websites func(ctx context.Context) ([]string, error)
	// LookBack bounds how far back a catch-up reads (default DefaultLookBack): what happened before
	// now-LookBack is not caught up. Keep it below the store's processed-id retention, so a replayed
	// message is still recognised.
	LookBack time.Duration
	// Overlap is read again before the cursor (default DefaultCatchupOverlap): it absorbs the clock
	// difference between Crisp's timestamps and ours, and the time a dead socket takes to be noticed
	// (Disconnected), which must stay below it. Replays are de-duplicated.
	Overlap time.Duration
	// Timeout bounds one catch-up (default DefaultCatchupTimeout: under Crisp's daily quota a large
	// catch-up waits for tokens); RetryAfter is the pause before a failed one is tried again (default
	// DefaultCatchupRetry).
	Timeout, RetryAfter time.Duration
	// FlushEvery is how often the time up to which live intake was up is written (default
	// DefaultCursorFlush).
	FlushEvery time.Duration
	Now        Clock        // default time.Now
	Logger     *slog.Logger // default: discard
}

// CatchupReport describes one catch-up.
type CatchupReport struct {
	Websites    int           // websites reconciled
	First       int           // websites seen for the first time: nothing to catch up, cursor set
	Truncated   []string      // websites whose gap was longer than the look-back
	Read        int           // events read back
	Fed         int           // events handed to the bridge (duplicates are skipped there)
	SkippedLive int           // state and data events skipped: a live one for the conversation came meanwhile
	Duration    time.Duration // wall time
}

// Reconciler catches up after a gap: after every RTM reconnect and at start-up (Trigger), it reads
// through its CatchupSource what each website's conversations received since intake was last known
// to be up, within a bounded look-back, and feeds it to the bridge in timestamp order. The bridge's
// de-duplication makes replayed messages harmless; state and data are edge-triggered, and those read
// back for a conversation that got a live state or data event while the catch-up ran are dropped (the
// live one is newer).
//
// Two kinds of durable cursors say where a website's catch-up starts: "catchup-listening", the time
// up to which live intake was up (written every FlushEvery while no gap is open), and
// "catchup:<website>", the start of the website's last successful catch-up. A gap opens at start-up,
// on Disconnected and on Trigger, and closes when a catch-up started after it succeeds for every
// website.
type Reconciler struct {
	opts ReconcilerOptions
	log  *slog.Logger

	mu    sync.Mutex
	known map[string]struct{} // websites served or seen in events
	// servedSince: websites seen in live events that may have no cursor yet, with when they were
	// first seen; Flush gives each one without a cursor that time as its cursor (cursored: done),
	// so that a restart before their first catch-up reads back what this run missed of them.
	servedSince map[string]int64
	cursored    map[string]bool
	gapGen      uint64           // incremented when a gap opens; a gap is open while > doneGen
	doneGen     uint64           // the last gap a finished catch-up covered
	down        bool             // live intake is down: from Disconnected to the next Trigger
	live        map[Key]struct{} // state/data events observed during the running catch-up; nil when none runs
	runMu       sync.Mutex       // one catch-up at a time
	trigger     chan struct{}    // a catch-up is wanted
	stop        chan struct{}    // Close
	wg          sync.WaitGroup   // the loop
	closed      bool             // Close was called
	last        CatchupReport    // the last finished catch-up
	lastErr     error            // its error
}

// OpenReconciler validates the options, applies the defaults and starts the loop that runs the
// catch-ups asked for with Trigger and flushes the cursors. A gap is open from the start: the first
// Trigger's catch-up closes it.
func OpenReconciler(opts ReconcilerOptions) (*Reconciler, error) {
	if opts.Handler == nil || opts.Source == nil || opts.Cursors == nil {
		return nil, errors.New("open reconciler: Handler, Source and Cursors are required")
	}
	if opts.LookBack < 0 || opts.Overlap < 0 || opts.Timeout < 0 || opts.RetryAfter < 0 || opts.FlushEvery < 0 {
		return nil, errors.New("open reconciler: durations must not be negative")
	}
	if opts.LookBack == 0 {
		opts.LookBack = DefaultLookBack
	}
	if opts.Overlap == 0 {
		opts.Overlap = DefaultCatchupOverlap
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultCatchupTimeout
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = DefaultCatchupRetry
	}
	if opts.FlushEvery == 0 {
		opts.FlushEvery = DefaultCursorFlush
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Reconciler{
		opts: opts, log: opts.Logger,
		known:       map[string]struct{}{},
		servedSince: map[string]int64{}, cursored: map[string]bool{},
		gapGen:  1, // start-up is a gap
		trigger: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	if n, ok := opts.Handler.(interface{ OnIntakeFailure(func(Event)) }); ok {
		n.OnIntakeFailure(r.intakeFailed)
	}
	r.wg.Add(1)
	go r.loop()
	return r, nil
}

// intakeFailed opens a gap for an event the handler could not make durable: the listening cursor
// stops moving until a catch-up, asked for now and retried until it succeeds, has read it back.
func (r *Reconciler) intakeFailed(ev Event) {
	r.mu.Lock()
	r.gapGen++
	if ev.WebsiteID != "" {
		if _, ok := r.known[ev.WebsiteID]; !ok && len(r.known) < maxRememberedWebsites {
			r.known[ev.WebsiteID] = struct{}{}
		}
	}
	closed := r.closed
	r.mu.Unlock()
	if !closed {
		select {
		case r.trigger <- struct{}{}:
		default:
		}
	}
}

// Close stops the loop (a running catch-up is cancelled) and flushes the listening cursor.
func (r *Reconciler) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.Flush(ctx)
}

// Trigger asks for a catch-up (after a reconnect, at start-up) and opens a gap. It never blocks;
// triggers made while a catch-up is pending are coalesced, and one made while a catch-up runs makes
// another run after it.
func (r *Reconciler) Trigger() {
	r.mu.Lock()
	r.gapGen++
	r.down = false
	r.mu.Unlock()
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Disconnected opens a gap without asking for a catch-up yet: live intake is down (the RTM socket
// was lost), so the time it was up until stops advancing, and no catch-up closes the gap before the
// reconnection's Trigger.
func (r *Reconciler) Disconnected() {
	r.mu.Lock()
	r.gapGen++
	r.down = true
	r.mu.Unlock()
}

// Observe notes a live event (RTM or hook) accepted by the bridge: its website is served, and its
// conversation is marked for the running catch-up. Call it after HandleEvent accepted the event.
func (r *Reconciler) Observe(ev Event) {
	if ev.WebsiteID == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.known[ev.WebsiteID]; !ok && len(r.known) < maxRememberedWebsites {
		r.known[ev.WebsiteID] = struct{}{}
	}
	if _, ok := r.servedSince[ev.WebsiteID]; !ok && !r.cursored[ev.WebsiteID] && len(r.servedSince) < maxRememberedWebsites {
		r.servedSince[ev.WebsiteID] = r.opts.Now().UnixMilli()
	}
	if r.live != nil && ev.SessionID != "" && len(r.live) < maxLiveDuringCatchup &&
		(ev.Name == EventSessionSetState || ev.Name == EventSessionSetData) {
		r.live[Key{ev.WebsiteID, ev.SessionID}] = struct{}{}
	}
}

// Flush writes the time up to which live intake was up, now, unless a gap is open. First, gap or
// not, a website served live that has no cursor yet (its first catch-up has not completed: it was
// still running, or failed, when the process stopped) gets the time it was first seen as its cursor:
// a restart then reads back its events from then on (those already handled are skipped as
// duplicates) instead of taking it for a website never served and reading nothing.
func (r *Reconciler) Flush(ctx context.Context) error {
	r.mu.Lock()
	first := maps.Clone(r.servedSince)
	r.mu.Unlock()
	for w, at := range first {
		name := cursorPrefix + w
		cur, err := r.opts.Cursors.Cursor(ctx, name)
		if err == nil && cur == 0 {
			err = r.opts.Cursors.SetCursor(ctx, name, at)
		}
		if err != nil {
			return fmt.Errorf("flush catch-up cursor of %s: %w", w, err)
		}
		r.mu.Lock()
		delete(r.servedSince, w)
		r.cursored[w] = true
		r.mu.Unlock()
	}
	if r.GapOpen() {
		return nil
	}
	if err := r.opts.Cursors.SetCursor(ctx, cursorListening, r.opts.Now().UnixMilli()); err != nil {
		return fmt.Errorf("flush catch-up cursor: %w", err)
	}
	return nil
}

// Last returns the report and error of the last finished catch-up.
func (r *Reconciler) Last() (CatchupReport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.lastErr
}

// GapOpen reports whether a catch-up is owed: live intake is down, or a gap opened since the last
// successful catch-up started.
func (r *Reconciler) GapOpen() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down || r.gapGen > r.doneGen
}

func (r *Reconciler) loop() {
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel()
	}()
	flush := time.NewTicker(r.opts.FlushEvery)
	defer flush.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-flush.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("catch-up cursors not written", "err", err)
			}
			continue
		case <-r.trigger:
		case <-retry.C:
		}
		rctx, rcancel := context.WithTimeout(ctx, r.opts.Timeout)
		rep, err := r.CatchUp(rctx)
		rcancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.Warn("catch-up failed; trying again", "err", err, "retry_in", r.opts.RetryAfter, "fed", rep.Fed)
			retry.Reset(r.opts.RetryAfter)
		default:
			r.log.Info("catch-up done", "websites", rep.Websites, "read", rep.Read, "fed", rep.Fed,
				"skipped_live", rep.SkippedLive, "truncated", len(rep.Truncated), "duration", rep.Duration)
		}
	}
}

// CatchUp runs one catch-up now, for every website served: it reads each website's events since it
// was last covered (its cursor or the listening cursor, whichever is later, less Overlap, no earlier
// than now-LookBack) and feeds them to the Handler in timestamp order, then moves the website's cursor
// to the time the catch-up started. A website without a cursor is new: nothing is read, its cursor is
// set. The gaps opened before it started close when it succeeds for every website. Catch-ups do not
// overlap: a second call waits for the first.
func (r *Reconciler) CatchUp(ctx context.Context) (CatchupReport, error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	start := r.opts.Now()
	r.mu.Lock()
	gen := r.gapGen
	r.live = map[Key]struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.live = nil
		r.mu.Unlock()
	}()

	rep := CatchupReport{}
	sites, err := r.sites(ctx)
	var errs []error
	if err != nil {
		// The websites it has (configured, seen, those the listing returned) are still caught up;
		// the run fails, so the gap stays open and the catch-up is tried again for the rest.
		errs = append(errs, err)
	}
	for _, w := range sites {
		if err := r.website(ctx, w, start, &rep); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return r.finish(rep, start, gen, errors.Join(errs...))
}

func (r *Reconciler) finish(rep CatchupReport, start time.Time, gen uint64, err error) (CatchupReport, error) {
	rep.Duration = r.opts.Now().Sub(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil && gen > r.doneGen {
		r.doneGen = gen
	}
	r.last, r.lastErr = rep, err
	return rep, err
}

// sites returns the websites to reconcile: those served plus those seen in events, sorted. When
// listing the served websites fails, it returns the ones it has (what the listing returned besides
// its error, and those seen) with the error.
func (r *Reconciler) sites(ctx context.Context) ([]string, error) {
	var out []string
	var listErr error
	if r.opts.Websites != nil {
		ws, err := r.opts.Websites(ctx)
		if err != nil {
			listErr = fmt.Errorf("catch up: list websites: %w", err)
		}
		out = append(out, ws...)
	}
	r.mu.Lock()
	for _, w := range out {
		if len(r.known) < maxRememberedWebsites {
			r.known[w] = struct{}{}
		}
	}
	for w := range r.known {
		out = append(out, w)
	}
	r.mu.Unlock()
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(w string) bool { return w == "" }), listErr
}

// website catches up one website.
func (r *Reconciler) website(ctx context.Context, w string, start time.Time, rep *CatchupReport) error {
	rep.Websites++
	name := cursorPrefix + w
	cur, err := r.opts.Cursors.Cursor(ctx, name)
	if err != nil {
		return fmt.Errorf("catch up %s: read cursor: %w", w, err)
	}
	if cur == 0 {
		// Never served before: nothing was missed.
		rep.First++
		if err := r.opts.Cursors.SetCursor(ctx, name, start.UnixMilli()); err != nil {
			return fmt.Errorf("catch up %s: set cursor: %w", w, err)
		}
		return nil
	}
	listening, err := r.opts.Cursors.Cursor(ctx, cursorListening)
	if err != nil {
		return fmt.Errorf("catch up %s: read cursor: %w", w, err)
	}
	cur = max(cur, listening)
	since := cur - r.opts.Overlap.Milliseconds()
	if floor := start.Add(-r.opts.LookBack).UnixMilli(); since < floor {
		r.log.Warn("catch-up: gap longer than the look-back; older events are not caught up", "website", w,
			"covered_until", time.UnixMilli(cur).UTC(), "look_back", r.opts.LookBack)
		rep.Truncated = append(rep.Truncated, w)
		since = floor
	}
	evs, readErr := r.opts.Source.Missed(ctx, w, since)
	rep.Read += len(evs)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Timestamp < evs[j].Timestamp })
	// A handler that batches durable intake (the bridge) is fed without waiting for each event's
	// fsync; the cursor moves only once every event fed is durable.
	async, _ := r.opts.Handler.(interface {
		HandleEventAsync(ctx context.Context, ev Event, done func(error)) error
	})
	var pending sync.WaitGroup
	var asyncErr atomic.Pointer[error]
	for _, ev := range evs {
		if ev.WebsiteID != w {
			continue
		}
		if (ev.Name == EventSessionSetState || ev.Name == EventSessionSetData) && r.liveSince(Key{ev.WebsiteID, ev.SessionID}) {
			rep.SkippedLive++
			continue
		}
		var err error
		if async != nil {
			pending.Add(1)
			err = async.HandleEventAsync(ctx, ev, func(err error) {
				if err != nil {
					asyncErr.CompareAndSwap(nil, &err)
				}
				pending.Done()
			})
			if err != nil {
				pending.Done()
			}
		} else {
			hctx, cancel := context.WithTimeout(ctx, catchupHandleEventWait)
			err = r.opts.Handler.HandleEvent(hctx, ev)
			cancel()
		}
		if err != nil {
			if f, ok := r.opts.Source.(interface{ Forget(websiteID string) }); ok {
				f.Forget(w) // the rest was not fed: the next catch-up must read it again
			}
			return fmt.Errorf("catch up %s: feed %s: %w", w, ev.Name, err)
		}
		rep.Fed++
	}
	pending.Wait()
	if p := asyncErr.Load(); p != nil {
		if f, ok := r.opts.Source.(interface{ Forget(websiteID string) }); ok {
			f.Forget(w)
		}
		return fmt.Errorf("catch up %s: feed: %w", w, *p)
	}
	if readErr != nil {
		return fmt.Errorf("catch up %s: %w", w, readErr)
	}
	if err := r.opts.Cursors.SetCursor(ctx, name, start.UnixMilli()); err != nil {
		return fmt.Errorf("catch up %s: set cursor: %w", w, err)
	}
	return nil
}

// liveSince reports whether the conversation got a live state or data event during this catch-up.
func (r *Reconciler) liveSince(k Key) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.live[k]
	return ok
}
