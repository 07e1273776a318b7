// Package bridge is the core of signalbridge: it takes Crisp events from any transport, de-duplicates
// them, serialises them per conversation, runs the pure signal state machine, persists the new state
// with its audit trail, and then performs the resulting actions (assistant replies, write-backs,
// handover steps) through the Platform, outside any store transaction.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/signals"
)

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("bridge closed")

// ErrBusy is returned by HandleEvent when a conversation's shard and its overflow are full; a hook
// answers 503 so Crisp retries.
var ErrBusy = errors.New("bridge busy: queue and overflow full")

// Website is the per-website policy the bridge applies.
type Website struct {
	ID        string
	Signals   signals.Config
	Language  string   // default language
	Languages []string // supported languages
	// Text returns a localized user-facing string ("apology", "closing", "nobody_online",
	// "ask_email", "talk_to_human", "resolved", "email_thanks", "offer_human").
	Text func(lang, key string) string
	// ResolveLanguage picks the conversation language from session data "language" and the
	// visitor's browser locales (nil: data language, else the website default).
	ResolveLanguage func(dataLanguage string, locales []string) string
	// HandoverValue is a signal value (nonce form accepted) that requests a handover, written by the
	// website snippet's handover(). Empty disables it.
	HandoverValue string
	// OfferHuman controls the "talk to a human / resolved" picker attached to answers: 0 never,
	// 1 on every answer, N from the Nth answer on.
	OfferHuman int
	// AskEmailOffline asks the visitor's email with a field when nobody is online at handover.
	AskEmailOffline bool
	// ResumeAfter gives a handed-over or operator-paused conversation back to the assistant when no
	// human has written in it for this long (0 = never, the default).
	ResumeAfter time.Duration
	// NoteCommands lets operators switch the assistant with private notes "/ai on" and "/ai off".
	NoteCommands bool
	// Steps runs guided steps before the assistant (nil = none).
	Steps Steps
	// Hours are the website's support hours (nil = always open): see hours.go.
	Hours *SupportHours
	// Webhooks are the endpoints the guided steps' webhook blocks call (webhook.go).
	Webhooks *WebhookSettings
	// Greeting greets visitors who have not written yet (greet.go); nil: never.
	Greeting *Greeting
	// Drafts writes suggested replies as private notes while a human owns a conversation
	// (draft.go).
	Drafts bool
	// Burst answers a burst of visitor lines once (burst.go); nil: every line at once.
	Burst *Burst
}

// Options configure a Bridge. Store, Platform, Assistant and Websites are required.
type Options struct {
	Store     Store
	Platform  Platform
	Assistant assistant.Replier
	Websites  func(websiteID string) *Website
	// PluginURN is the origin of our own messages (required); their echoes are never treated as input.
	PluginURN string
	// PendingWindow is how recent the visitor's last message must be to be answered when the
	// assistant is switched on after it (default 15 minutes).
	PendingWindow time.Duration
	// ResumeEnabled runs the Website.ResumeAfter sweep (set when any website uses it).
	ResumeEnabled bool
	Logger        *slog.Logger
	Metrics       Metrics
	Now           Clock
	// Shards is the number of ordered workers; a conversation always maps to the same one.
	Shards int
	// QueueSize is each shard's queue. HandleEvent never blocks on a full one: the event (already
	// durable in the inbox when the store has one) waits in the shard's overflow.
	QueueSize int
	// MaxOverflow bounds the events waiting in one shard's overflow (default 10,000); past it
	// HandleEvent returns ErrBusy.
	MaxOverflow int
	// Generations bounds concurrent assistant generations.
	Generations int
	// TypingDelay is how long a generation runs before the typing indicator is started; answers
	// faster than that cost no compose calls.
	TypingDelay time.Duration
	// ReplyTimeout bounds one assistant answer (model calls and retries included).
	ReplyTimeout time.Duration
	// ResumeSweep is how often conversations are checked for Website.ResumeAfter (default 1 minute).
	ResumeSweep time.Duration
	// DrainTimeout bounds how long Close waits for in-flight answers (default ReplyTimeout).
	DrainTimeout time.Duration
	// TranscriptLimit bounds the transcript window kept per conversation.
	TranscriptLimit int
	// CallTimeout bounds one Crisp call made while processing or performing (default 15 s).
	CallTimeout time.Duration
	// JournalDeadline is how long a failing write-back, state or segment change is retried before it
	// is abandoned (default 1 hour); MessageDeadline likewise for messages and notes (default 10
	// minutes: a notice that late is worse than none).
	JournalDeadline time.Duration
	MessageDeadline time.Duration
	// MaxTurnText clips the text of a stored transcript turn, in characters (default 2,000): enough
	// context for the model and the handover note, bounded storage per conversation.
	MaxTurnText int
	// Retention erases conversations idle for longer (default 90 days; negative keeps them for
	// ever), when the store can (Eraser); the sweep runs every RetentionSweep (default 1 hour).
	Retention      time.Duration
	RetentionSweep time.Duration
	// Shared runs the bridge as one of several replicas on one shared store, which must implement
	// Leases (and should implement FencedCommitter): see replicas.go. Replica names this process
	// (default random); LeaseTTL is how long a conversation's lease outlives a replica that died
	// holding it (default 3 s: its work is taken over within about 1.5 lease times).
	Shared   bool
	Replica  string
	LeaseTTL time.Duration
	// HoursSweep is how often conversations handed over while closed are checked for their
	// reminder at opening (default 1 minute); the sweep runs when HoursEnabled (any website has
	// support hours). The reminder's own timer usually fires first; the sweep covers clocks that
	// jumped and timers lost to a suspend.
	HoursEnabled bool
	HoursSweep   time.Duration
	// Webhooks performs the guided steps' webhook calls (nil: every call fails for good).
	Webhooks WebhookPoster
}

// Bridge processes events. Create it with Open, stop it with Close.
type Bridge struct {
	drafts   draftState // operators typing, for drafts (draft.go)
	burst    burstState // bursts of visitor lines being waited on (burst.go)
	opts     Options
	log      *slog.Logger
	seed     maphash.Seed
	shards   []chan *task
	overflow [][]*task // per shard, under mu: tasks waiting for room in the shard's queue, in order
	inbox    Inbox     // the store's durable intake, nil when it has none
	inboxSeq atomic.Uint64
	removals chan string // processed inbox entries, removed in batches
	// async feeds the batcher (HandleEventAsync); asyncMu guards sending against its close.
	async        chan *asyncEvent
	asyncMu      sync.Mutex
	asyncClosed  bool
	asyncPending atomic.Int64 // offered, not yet queued
	batcherWG    sync.WaitGroup
	sem          chan struct{}

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // shard workers
	removerWG sync.WaitGroup
	genWG     sync.WaitGroup // generations
	sweepWG   sync.WaitGroup // the resume sweep
	stopSweep chan struct{}
	active    atomic.Int64 // generation goroutines running (until their result is queued)
	passes    atomic.Int64 // journal passes running (until their result is handled)
	journalWG sync.WaitGroup

	mu           sync.Mutex
	closing      bool // Close has begun
	closed       bool // no more events or control calls
	shardsClosed bool // shard queues are closed: nothing at all may be queued
	idle         chan struct{}
	gens         map[Key]*generation // in-flight generation per conversation
	jobs         map[Key]*journalJob // journal work per conversation (none when idle: tidy)
	jobsPeak     int                 // most jobs held since jobs was made: a map keeps its table when emptied
	leases       Leases              // shared store's leases; nil when this is the only replica
	tokens       map[Key]int64       // fencing token of the task running per conversation
	genSeq       uint64
	intakeFailed []func(Event) // OnIntakeFailure
}

// task is one unit of work for a shard: an event, a finished generation, or a control call. The
// queues hold pointers: the default 256 queues of 128 take 256 KB, not 2.5 MB of tasks held whether
// queued or not. What only events need is in queued (queued.go) and the booleans come last,
// together: 80 bytes a task queued (it was 104).
type task struct {
	key     Key
	event   *queued
	done    *replyDone
	ctrl    *control
	barrier func() // called when the shard reaches it (Close)
	journal *journalDone
	recover bool // answer what the conversation still owes (after a restart)
	kick    bool // perform the conversation's journal entries that are due
}

// Open validates the options, starts the shard workers and returns the bridge.
func Open(opts Options) (*Bridge, error) {
	if opts.Store == nil || opts.Platform == nil || opts.Assistant == nil || opts.Websites == nil {
		return nil, errors.New("open bridge: Store, Platform, Assistant and Websites are required")
	}
	if !strings.HasPrefix(opts.PluginURN, "urn:") {
		// Without our own origin our echoed messages would look like a human operator's.
		return nil, fmt.Errorf("open bridge: PluginURN must be a urn: (the origin of our messages), got %q", opts.PluginURN)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NopMetrics{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Shards <= 0 {
		// Each shard waits for its commit's fsync; more shards put more commits in one group commit
		// (measured: 64 shards ~16k events/s, 256 ~20k on 2 cores).
		opts.Shards = 256
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 128
	}
	if opts.MaxOverflow <= 0 {
		opts.MaxOverflow = 10_000
	}
	if opts.Generations <= 0 {
		opts.Generations = 256
	}
	if opts.TypingDelay < 0 {
		opts.TypingDelay = 0
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 60 * time.Second
	}
	if opts.PendingWindow <= 0 {
		opts.PendingWindow = 15 * time.Minute
	}
	if opts.HoursSweep <= 0 {
		opts.HoursSweep = time.Minute
	}
	if opts.ResumeSweep <= 0 {
		opts.ResumeSweep = time.Minute
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = opts.ReplyTimeout
	}
	if opts.TranscriptLimit <= 0 {
		opts.TranscriptLimit = 50
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 15 * time.Second
	}
	if opts.JournalDeadline <= 0 {
		opts.JournalDeadline = time.Hour
	}
	if opts.MessageDeadline <= 0 {
		opts.MessageDeadline = 10 * time.Minute
	}
	if opts.MaxTurnText <= 0 {
		opts.MaxTurnText = 2000
	}
	if opts.Retention == 0 {
		opts.Retention = 90 * 24 * time.Hour
	}
	if opts.RetentionSweep <= 0 {
		opts.RetentionSweep = time.Hour
	}
	if opts.Replica == "" {
		opts.Replica = replicaID()
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 3 * time.Second
	}
	var leases Leases
	if opts.Shared {
		var ok bool
		if leases, ok = opts.Store.(Leases); !ok {
			return nil, errors.New("open bridge: Shared needs a store with leases (Redis)")
		}
	}
	b := &Bridge{
		opts:      opts,
		log:       opts.Logger,
		seed:      maphash.MakeSeed(),
		shards:    make([]chan *task, opts.Shards),
		overflow:  make([][]*task, opts.Shards),
		sem:       make(chan struct{}, opts.Generations),
		gens:      make(map[Key]*generation),
		jobs:      make(map[Key]*journalJob),
		leases:    leases,
		tokens:    make(map[Key]int64),
		idle:      make(chan struct{}, 1),
		stopSweep: make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.inbox, _ = opts.Store.(Inbox)
	// Inbox ids sort in acceptance order across restarts: the start time, then a counter.
	b.inboxSeq.Store(uint64(time.Now().UnixMicro()) << 12)
	for i := range b.shards {
		ch := make(chan *task, opts.QueueSize)
		b.shards[i] = ch
		b.wg.Add(1)
		go b.work(i, ch)
	}
	if b.inbox != nil {
		b.removals = make(chan string, 4096)
		b.removerWG.Add(1)
		go b.remover()
		b.async = make(chan *asyncEvent, 8192)
		b.batcherWG.Add(1)
		go b.batcher()
		// What was accepted before a crash is processed first, in order, through the normal
		// de-duplication, before any new event can overtake it.
		if err := b.replayInbox(); err != nil {
			b.Close()
			return nil, fmt.Errorf("open bridge: %w", err)
		}
	}
	if opts.ResumeEnabled {
		b.sweepWG.Add(1)
		go b.every("resume", opts.ResumeSweep, b.SweepResume, "resumed conversations without a human reply")
	}
	b.sweepWG.Add(1)
	go b.recoverOutbox()
	if opts.HoursEnabled {
		b.sweepWG.Add(1)
		go b.every("hours", opts.HoursSweep, b.SweepReopen, "brought conversations back at opening")
	}
	if b.shared() {
		b.sweepWG.Add(1)
		go b.every("takeover", b.opts.LeaseTTL/2, b.SweepTakeover, "took over work another replica left")
	}
	if _, ok := opts.Store.(Expirer); ok && opts.Retention > 0 {
		b.sweepWG.Add(1)
		go b.every("retention", opts.RetentionSweep, b.SweepRetention, "erased idle conversations")
	}
	return b, nil
}

// Close shuts down without losing what was accepted: it stops accepting events, lets every shard
// process what it queued, waits for in-flight answers to be posted and for the journal writes that
// are due to be performed (up to DrainTimeout, after which answers are cancelled and their typing
// indicators stopped; writes left are performed after the restart), then stops the shards.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed || b.closing {
		b.mu.Unlock()
		return nil
	}
	b.closing = true
	b.mu.Unlock()
	if b.async != nil {
		b.stopAsync() // what a reader offered is durable and queued before intake stops
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.stopSweep)
	b.sweepWG.Wait()

	// Every event queued before now (overflow included) is processed once the barrier passes its
	// shard.
	if err := b.barrier(context.Background()); err != nil {
		b.log.Error("close: barrier", "err", err)
	}

	timer := time.NewTimer(b.opts.DrainTimeout)
	defer timer.Stop()
	for b.active.Load() > 0 || b.passes.Load() > 0 {
		select {
		case <-b.idle:
		case <-timer.C:
			// Past the bound: cancel what is left; nothing of it is posted.
			b.mu.Lock()
			gens := b.gens
			b.gens = make(map[Key]*generation)
			b.mu.Unlock()
			for _, g := range gens {
				g.stopTyping(context.Background())
				g.cancel()
			}
			timer.Reset(time.Hour)
		}
	}
	b.genWG.Wait()
	b.mu.Lock()
	for _, j := range b.jobs {
		if j.timer != nil {
			j.timer.Stop() // retries not yet due are performed after the restart
		}
	}
	b.mu.Unlock()
	b.journalWG.Wait() // each call is bounded by CallTimeout
	b.mu.Lock()
	b.shardsClosed = true
	for _, ch := range b.shards {
		close(ch)
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.commitCompletions(context.Background()) // performed entries whose removal waited for a commit
	if b.removals != nil {
		close(b.removals)
		b.removerWG.Wait()
	}
	b.cancel()
	return nil
}

// HandleEvent accepts one event. It returns once the event is durable in the store's inbox (when the
// store has one) and queued on its conversation's shard (processing is asynchronous and strictly
// ordered per conversation). A full shard queue never blocks it: the event waits in the shard's
// overflow, and past MaxOverflow HandleEvent returns ErrBusy.
func (b *Bridge) HandleEvent(ctx context.Context, ev Event) error {
	if queue, err := b.admit(ev); !queue {
		return err
	}
	t := task{key: Key{ev.WebsiteID, ev.SessionID}}
	inboxID := ""
	if b.inbox != nil {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return ErrClosed
		}
		inboxID = b.newInboxID()
		entry := InboxEntry{ID: inboxID, AcceptedAt: b.opts.Now().UnixMilli(), Event: ev}
		if err := b.inbox.Accept(ctx, []InboxEntry{entry}); err != nil {
			return fmt.Errorf("handle event %s: durable intake: %w", ev.Name, err)
		}
	}
	t.event = queue(&ev, inboxID)
	if err := b.enqueue(ctx, t); err != nil {
		// Durable already: a restart processes it. The caller is told so that a hook is retried
		// (the retry is de-duplicated) rather than trusted.
		return err
	}
	return nil
}

// newInboxID returns an inbox id unique across replicas (the replica's name follows the counter)
// that sorts in acceptance order within a process.
func (b *Bridge) newInboxID() string {
	id := fmt.Sprintf("%016x", b.inboxSeq.Add(1))
	if b.shared() {
		id += "." + b.opts.Replica
	}
	return id
}

// OnIntakeFailure registers fn, called with every event offered through HandleEventAsync whose
// durable intake failed (it was not accepted: a catch-up must read it back). The catch-up
// Reconciler registers itself here and opens a gap.
func (b *Bridge) OnIntakeFailure(fn func(Event)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.intakeFailed = append(b.intakeFailed, fn)
}

// admit counts an event and reports whether it goes to a conversation's queue: availability events
// are handled at once (the platform's cache), an event without its conversation is an error.
func (b *Bridge) admit(ev Event) (queue bool, err error) {
	b.opts.Metrics.EventIn(ev.Name, ev.Via)
	switch {
	case ev.Name == EventUsersAvailable || ev.Name == EventOperatorAvailability:
		if o, ok := b.opts.Platform.(AvailabilityObserver); ok {
			o.ObserveAvailability(ev)
		}
		return false, nil
	case ev.WebsiteID == "" || ev.SessionID == "":
		return false, fmt.Errorf("handle event %s: missing website or session", ev.Name)
	}
	return true, nil
}

func (b *Bridge) enqueue(ctx context.Context, t task) error {
	return b.enqueueOn(ctx, b.shard(t.key), t)
}

// shard returns the shard of the conversation key: the hash of key.String(), written in parts so
// that no string is made for it.
func (b *Bridge) shard(key Key) int {
	var h maphash.Hash
	h.SetSeed(b.seed)
	h.WriteString(key.WebsiteID)
	h.WriteByte('/')
	h.WriteString(key.SessionID)
	return int(h.Sum64() % uint64(len(b.shards)))
}

// enqueueOn queues t on shard i.
func (b *Bridge) enqueueOn(ctx context.Context, i int, tv task) error {
	t := &tv
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shardsClosed || b.closed && (t.event != nil || t.ctrl != nil) {
		return ErrClosed
	}
	if len(b.overflow[i]) == 0 {
		select {
		case b.shards[i] <- t:
			return nil
		default:
		}
	}
	// The queue is full: the task waits in the shard's overflow, in order, and the caller (an RTM
	// reader, a hook) is not held up. Only events are bounded; internal results are never dropped.
	if t.event != nil && !t.event.replay && len(b.overflow[i]) >= b.opts.MaxOverflow {
		return fmt.Errorf("enqueue %s: %w", t.key, ErrBusy)
	}
	b.overflow[i] = append(b.overflow[i], t)
	return nil
}

// refill moves waiting tasks of shard i from its overflow into its queue, as room allows.
func (b *Bridge) refill(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shardsClosed {
		return
	}
	q := b.overflow[i]
	n := 0
	for n < len(q) {
		select {
		case b.shards[i] <- q[n]:
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		clear(q[:n])
		b.overflow[i] = q[n:]
		if len(b.overflow[i]) == 0 {
			b.overflow[i] = nil
		}
	}
}

// work runs one shard: tasks of a conversation are processed one at a time, in order.
func (b *Bridge) work(i int, ch chan *task) {
	defer b.wg.Done()
	for t := range ch {
		b.refill(i)
		if t.barrier != nil {
			t.barrier()
			continue
		}
		ran := b.underLease(t.key, func(ctx context.Context) { b.run(ctx, t) })
		if !ran {
			b.dropTask(t)
		}
	}
}

// run performs one task of a conversation (under its lease when replicas share the store).
func (b *Bridge) run(ctx context.Context, t *task) {
	switch {
	case t.event != nil:
		b.processEvent(ctx, t.event.event(t.key), t.event.inboxID, t.event.replay, t.event.tries)
	case t.done != nil:
		b.finishReply(ctx, t.key, t.done)
	case t.ctrl != nil:
		t.ctrl.result <- b.processControl(ctx, t.key, t.ctrl)
	case t.journal != nil:
		b.finishJournal(ctx, t.key, t.journal)
	case t.kick:
		b.kickStored(ctx, t.key)
	case t.recover:
		b.recoverOne(ctx, t.key)
	}
}

// dropTask ends a task that could not run (no lease): what it owed stays in the store (the inbox,
// the outbox, the journal) for the takeover sweep; the in-process accounting is settled.
func (b *Bridge) dropTask(t *task) {
	switch {
	case t.done != nil:
		t.done.gen.stopTyping(b.ctx)
		t.done.gen.releaseLease()
		b.clearGeneration(t.done.gen)
		b.generationOver()
	case t.ctrl != nil:
		t.ctrl.result <- controlResult{err: fmt.Errorf("control %s: another replica holds the conversation", t.key)}
	case t.journal != nil:
		t.journal.release()
		b.mu.Lock()
		if j := b.jobs[t.key]; j != nil {
			j.running = false
			b.tidy(t.key)
		}
		b.mu.Unlock()
		b.passOver()
	case t.event != nil:
		b.retryEvent(t.event.event(t.key), t.event.inboxID, t.event.tries)
	}
}

// Generating returns how many assistant generations are not finished: running, or their result
// not yet handled (posted or dropped) on the conversation's shard.
func (b *Bridge) Generating() int { return int(b.active.Load()) }

// AvailabilityObserver is implemented by platforms that cache availability from RTM events.
type AvailabilityObserver interface {
	ObserveAvailability(ev Event)
}

// Steps runs guided steps (a scenario) before the assistant. The bridge calls it while the assistant
// is on; it returns what to do and whether the assistant may answer.
type Steps interface {
	// Enter starts or resumes the steps at the conversation's stored index.
	Enter(ctx context.Context, c *Conversation) (StepResult, error)
	// Input feeds a visitor input (picker choice, field value or text) to the current step. handled
	// is false when the input does not belong to the steps.
	Input(ctx context.Context, c *Conversation, in StepInput) (res StepResult, handled bool, err error)
}

// StepInput is a visitor input for the guided steps.
type StepInput struct {
	PickerID, Choice string         // a picker click
	FieldID, Value   string         // a field input
	Text             string         // a visitor message
	Webhook          *WebhookResult // the outcome of a webhook block's call (webhook.go)
}

// StepResult is what the guided steps decided; the bridge performs it.
type StepResult struct {
	Messages  []OutMessage // to post, in order
	Meta      MetaUpdate   // data, segments and email to write
	Language  string       // new conversation language ("" = unchanged)
	Assistant bool         // steps are done: the assistant answers from now on
	Handover  bool         // hand over to a human
	Resolve   bool         // resolve the conversation
	Note      string       // something to log (e.g. a stale index restarted the steps)
	Webhook   *WebhookCall // a webhook block's call to journal (webhook.go)
}
