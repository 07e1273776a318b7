package bridge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/signalbridge/signalbridge/bridge/effect"
	"github.com/signalbridge/signalbridge/signals"
)

// Kinds of journal entries: the Crisp writes a decision implies.
const (
	JournalMeta    = "meta"        // UpdateMeta: write-backs, segments, an email, data from guided steps
	JournalState   = "state"       // SetState: pending, resolved
	JournalMessage = "message"     // Send: notices, the email field
	JournalStep    = "step"        // Send: a guided-steps message (the steps wait for its answer)
	JournalNote    = "note"        // the handover note, mentioning the operators online when it is posted
	JournalOffer   = "offer_human" // availability, then the notice (and the email field), then pending
	JournalAnswer  = "answer"      // the assistant's answer, posted by the conversation's owner
)

// JournalEntry is one Crisp write the bridge decided: the effect pipeline's unit of work. It is
// committed with the decision, in the conversation, and then performed (see effect.Plan for the
// order, the deadlines and the epochs), with retries, until it succeeds or is abandoned.
//
// Exactly once: every message carries a fingerprint derived from the entry (Fingerprint, its parts
// in the two low bits), and an entry that may have been tried before (after a failure, a restart or
// a takeover) is looked up in Crisp before it is posted again. Only an entry decided by this process
// and never handed to anyone else is posted without that look-up.
type JournalEntry struct {
	Seq       uint64         `json:"seq"`
	Kind      string         `json:"kind"`
	Meta      *MetaUpdate    `json:"meta,omitempty"`
	Message   *OutMessage    `json:"message,omitempty"`
	State     string         `json:"state,omitempty"`
	Offer     *Offer         `json:"offer,omitempty"`
	Reason    signals.Reason `json:"reason,omitempty"`
	Created   int64          `json:"created"`            // Unix ms
	Deadline  int64          `json:"deadline"`           // Unix ms: dropped when reached before an attempt
	Attempts  int            `json:"attempts,omitempty"` // failed attempts so far
	NextAt    int64          `json:"next_at,omitempty"`  // Unix ms: not tried again before
	LastError string         `json:"last_error,omitempty"`
	// Epoch is the conversation's epoch when the entry was decided; every entry but a meta write is
	// dropped once that epoch has ended (a handover's notice after a resolution, an answer after a
	// pause).
	Epoch uint64 `json:"epoch,omitempty"`
	// After is Crisp's time of the newest message the decision saw (Conversation.CrispAt): the
	// fallback look-up only considers our messages from then on.
	After int64 `json:"after,omitempty"`
	// Fingerprint is the identity of the entry's messages (effect.Fingerprint, part 0).
	Fingerprint int64 `json:"fp,omitempty"`
}

// Offer is what a handover tells the visitor, localized when it was decided: one notice when
// humans are online, another (and maybe the email field) when nobody is. Chosen records the choice
// made at the first attempt ("online" or "offline"), kept by every retry.
type Offer struct {
	Online   string `json:"online"`
	Offline  string `json:"offline"`
	AskEmail *Field `json:"ask_email,omitempty"`
	Chosen   string `json:"chosen,omitempty"`
}

// lane orders entries: entries of one lane are performed in order, lanes independently, so a
// failing state change does not hold back a notice to the visitor. The answer is in the messages
// lane: what the model decided with it (a handover's note and notice) follows it.
func (e *JournalEntry) lane() string {
	switch e.Kind {
	case JournalMeta:
		return "meta"
	case JournalState:
		return "state"
	case JournalWebhook, JournalReopen, JournalGreet:
		return e.Kind // a slow endpoint or an entry due later holds back nothing else
	}
	return "messages"
}

func (e *JournalEntry) plan() effect.Entry {
	// Data writes and calls to the website's own system (what the visitor gave is forwarded
	// whatever the mode became) outlive their epoch; everything else belongs to it.
	return effect.Entry{Lane: e.lane(), NextAt: e.NextAt, Deadline: e.Deadline, Epoch: e.Epoch,
		Scoped: e.Kind != JournalMeta && e.Kind != JournalWebhook, Inline: e.Kind == JournalAnswer}
}

// PostCheck asks whether a message of ours landed in Crisp.
type PostCheck struct {
	Message OutMessage // with its Fingerprint
	// After is Crisp's time (Unix ms) of the newest message the decision saw: the fallback, by type
	// and text, looks only at our messages from then on (0: all of the latest page).
	After int64
	// Exclude are fingerprints that the fallback already matched to other entries.
	Exclude []int64
}

// PostChecker is implemented by platforms that can tell whether a message was posted (by an
// attempt whose answer was lost, or by a process that died before recording it).
type PostChecker interface {
	// Posted returns the fingerprint of the message in Crisp that is q.Message: the one with its
	// fingerprint or, when Crisp does not keep client fingerprints, one of ours of the same type and
	// text at or after q.After and not in q.Exclude. It returns 0 when there is none.
	Posted(ctx context.Context, websiteID, sessionID string, q PostCheck) (int64, error)
}

// PermanentError is implemented by platform errors that no retry can fix (invalid data, a
// conversation that does not exist, a missing scope).
type PermanentError interface {
	Permanent() bool
}

func permanent(err error) bool {
	var p PermanentError
	return errors.As(err, &p) && p.Permanent()
}

// JournalMetrics is implemented by metrics that count journal work (optional).
type JournalMetrics interface {
	// JournalOutcome counts an entry: "queued" when decided, then "done", "retried" (one failed
	// attempt) or "abandoned" (failed at its deadline, for good, or dropped as stale).
	JournalOutcome(kind, outcome string)
	// JournalOldest reports the age of the oldest entry a conversation's journal holds, when a
	// pass over it starts.
	JournalOldest(age time.Duration)
}

// Deadlines of journal entries: how long a failing write is retried before it is abandoned.
func (b *Bridge) deadline(kind string) time.Duration {
	switch kind {
	case JournalMeta, JournalState:
		return b.opts.JournalDeadline
	}
	return b.opts.MessageDeadline
}

// maxMatched bounds Conversation.Matched.
const maxMatched = 32

// addJournal records e in the step's conversation. A data write coalesces with the data write
// waiting at the end of the journal: the older one is replaced by one entry carrying both (the
// newer values and the newer Expect: the newest decision is what must land). If the older one is
// being performed at that moment, it lands first and the merged one after it (same lane).
func (st *step) addJournal(e JournalEntry) {
	c := &st.conv
	now := st.b.opts.Now().UnixMilli()
	if e.Kind == JournalMeta && e.Meta != nil && len(e.Meta.Data) > 0 {
		st.markEcho(e.Meta, now)
	}
	if dataOnly(&e) && len(c.Journal) > 0 && dataOnly(&c.Journal[len(c.Journal)-1]) {
		last := c.Journal[len(c.Journal)-1]
		merged := *last.Meta
		merged.Data = maps.Clone(last.Meta.Data)
		maps.Copy(merged.Data, e.Meta.Data)
		if e.Meta.Expect != nil {
			merged.Expect = st.mergeExpect(last.Meta, e.Meta.Expect)
		}
		e.Meta = &merged
		e.Reason = cmp.Or(e.Reason, last.Reason)
		c.Journal = slices.Clone(c.Journal[:len(c.Journal)-1])
	}
	c.JournalSeq++
	e.Seq = c.JournalSeq
	e.Created = now
	e.Deadline = now + st.b.deadline(e.Kind).Milliseconds()
	e.After = c.CrispAt
	e.Fingerprint = effect.Fingerprint(c.WebsiteID, c.SessionID, c.CreatedAt, e.Seq, 0)
	c.Journal = append(slices.Clip(c.Journal), e)
	st.dirty = true
	if m, ok := st.b.opts.Metrics.(JournalMetrics); ok {
		m.JournalOutcome(e.Kind, "queued")
	}
}

// mergeExpect returns the condition of a data write replacing older with one decided later, whose
// own condition is newer. The newest decision wins: a signal value written meanwhile by someone else
// (newer expects it) must be what Crisp holds. But when newer only expects the signal value that
// older itself writes, that value may not have landed yet (older waits for a retry, or is being
// performed right now): either it or what older expected is fine.
func (st *step) mergeExpect(older *MetaUpdate, newer map[string]string) map[string]string {
	key := st.site.Signals.Vocabulary.Key
	ov, writes := older.Data[key]
	if !writes || newer[key] != ov {
		return newer
	}
	out := maps.Clone(newer)
	if prev, ok := older.Expect[key]; ok && prev != ov {
		out[key] = prev + ExpectOr + ov
	}
	return out
}

// dataOnly reports whether e is a meta write of session data alone (mergeable).
func dataOnly(e *JournalEntry) bool {
	m := e.Meta
	return e.Kind == JournalMeta && m != nil && len(m.Data) > 0 && len(m.Segments) == 0 && m.Email == "" && m.Nickname == ""
}

// markEcho prepares a data write that leaves the signal key alone: the platform may write the whole
// data map back (Crisp may replace it), carrying the key's value as it is now. The write is made
// conditional on that value, and the value is remembered so that the write's echo, should it arrive
// after a newer signal, is recognised as ours rather than taken for a signal.
func (st *step) markEcho(u *MetaUpdate, now int64) {
	key := st.site.Signals.Vocabulary.Key
	if _, sets := u.Data[key]; sets {
		return // our own value: recognised by the machine as written by us
	}
	cur := st.conv.Last[key]
	if u.Expect == nil {
		u.Expect = map[string]string{key: cur}
	}
	if cur == "" {
		return
	}
	written := maps.Clone(st.conv.Written)
	if written == nil {
		written = map[string]string{}
	}
	written[signals.EchoKey(cur)] = strconv.FormatInt(now, 10)
	st.conv.Written = written
}

// journalize turns what the step decided into journal entries (in the order they are to be
// performed: meta from fields and steps, the steps' messages, then the machine's actions), leaving in
// st.actions only what acts in this process: cancelling and starting answers.
func (st *step) journalize() {
	c := &st.conv
	if m := st.meta; len(m.Data) > 0 || len(m.Segments) > 0 || m.Email != "" || m.Nickname != "" {
		st.addJournal(JournalEntry{Kind: JournalMeta, Meta: &m})
	}
	for i := range st.posts {
		m := st.posts[i]
		st.addJournal(JournalEntry{Kind: JournalStep, Message: &m})
	}
	st.posts, st.meta = nil, MetaUpdate{}
	keep := st.actions[:0:0]
	for _, a := range st.actions {
		switch a.Kind {
		case signals.ActCancel, signals.ActReply:
			keep = append(keep, a)
		case signals.ActStopTyping, signals.ActRunScenario:
			// The cancel stops the indicator; the steps ran before the commit.
		case signals.ActWriteBack:
			st.addJournal(JournalEntry{Kind: JournalMeta, Reason: a.Reason, Meta: &MetaUpdate{Data: a.Data, Expect: a.Expect}})
		case signals.ActSetState:
			st.addJournal(JournalEntry{Kind: JournalState, Reason: a.Reason, State: a.State})
		case signals.ActAddSegment:
			if a.Segment != "" {
				st.addJournal(JournalEntry{Kind: JournalMeta, Reason: a.Reason, Meta: &MetaUpdate{Segments: []string{a.Segment}}})
			}
		case signals.ActNotify:
			st.addJournal(JournalEntry{Kind: JournalMessage, Reason: a.Reason, Message: &OutMessage{Type: "text", Text: st.b.text(st, a.Text)}})
		case signals.ActPostNote:
			st.addJournal(JournalEntry{Kind: JournalNote, Reason: a.Reason, Message: &OutMessage{Type: "note", Text: HandoverSummary(c, a.Reason)}})
		case signals.ActOfferHuman:
			st.offerHuman(a.Reason) // hours.go: the offer, or the closed notice and the reminder at opening
		}
	}
	st.actions = keep
}

// sealJournal runs in commit: the entries this step added take the epoch the step ends in (what was
// decided with a handover belongs to the handover).
func (st *step) sealJournal() {
	c := &st.conv
	cloned := false
	for i := range c.Journal {
		if c.Journal[i].Seq > st.seq0 && c.Journal[i].Epoch != c.Epoch {
			if !cloned {
				c.Journal, cloned = slices.Clone(c.Journal), true
			}
			c.Journal[i].Epoch = c.Epoch
		}
	}
}

// newSeqs returns the sequence numbers of the entries this step added.
func (st *step) newSeqs() []uint64 {
	var out []uint64
	for i := range st.conv.Journal {
		if s := st.conv.Journal[i].Seq; s > st.seq0 {
			out = append(out, s)
		}
	}
	return out
}

// journalJob is the in-memory side of a conversation's journal: whether a pass is running, the
// timer of the next retry, and the entries this process decided and nobody has tried yet. A job is
// removed from Bridge.jobs (under b.mu, by tidy) as soon as nothing in it is set: an idle
// conversation costs nothing here, and whatever needs the job again creates it (b.job).
type journalJob struct {
	running bool
	timer   *time.Timer
	fresh   map[uint64]bool
	// done: entries performed whose removal from the stored journal is not committed yet (one
	// process, no replicas). Every load of the conversation leaves them out, so they are never
	// performed again here; the next commit of the conversation removes them, or a flush (flush, a
	// kick completionWindow later, Settle, Close) commits the removal alone. A crash before then
	// leaves them stored, tried before: the restart looks them up in Crisp and finds them posted.
	done  map[uint64]bool
	flush *time.Timer
}

// idle reports whether nothing in the job is set: a new one would be the same.
func (j *journalJob) idle() bool {
	return !j.running && j.timer == nil && j.flush == nil && len(j.fresh) == 0 && len(j.done) == 0
}

// tidy removes the conversation's job once it is idle (under b.mu). Once a burst is over (an eighth
// of its jobs left), the map is made again: a Go map keeps the table of its peak (about 1.3 MB after
// 17,000 conversations with journal work at once).
func (b *Bridge) tidy(key Key) {
	if j := b.jobs[key]; j != nil && j.idle() {
		delete(b.jobs, key)
		if b.jobsPeak >= 1024 && len(b.jobs) <= b.jobsPeak/8 {
			m := make(map[Key]*journalJob, len(b.jobs))
			maps.Copy(m, b.jobs)
			b.jobs, b.jobsPeak = m, len(m)
		}
	}
}

// kickAfter starts a timer of the conversation's job (under b.mu): the retry timer, or with flush
// the completions' flush. When it fires it clears itself from the job, unless another timer
// replaced it meanwhile, and kicks the conversation.
func (b *Bridge) kickAfter(key Key, d time.Duration, flush bool) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		b.mu.Lock() // held by the caller until t is assigned
		if j := b.jobs[key]; j != nil {
			slot := &j.timer
			if flush {
				slot = &j.flush
			}
			if *slot == t {
				*slot = nil
				b.tidy(key)
			}
		}
		b.mu.Unlock()
		_ = b.enqueue(b.ctx, task{key: key, kick: true}) // closed: Close flushes, a restart retries
	})
	return t
}

// completionWindow is how long the removal of a performed entry waits for the conversation's next
// commit before it is committed on its own: an answer's completion then usually rides on the commit
// of the visitor's next message instead of costing a commit of its own.
const completionWindow = time.Second

// deferCompletion records performed entries whose removal waits for the conversation's next
// commit, and schedules a flush in case no commit comes within completionWindow.
func (b *Bridge) deferCompletion(st *step, seqs []uint64) {
	key := st.conv.Key
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.job(key)
	if j.done == nil {
		j.done = map[uint64]bool{}
	}
	for _, s := range seqs {
		j.done[s] = true
	}
	st.unsaved = append(st.unsaved, seqs...)
	if j.flush == nil && !b.closed {
		j.flush = b.kickAfter(key, completionWindow, true)
	}
}

// stripDone leaves the entries performed but not yet removed from the store out of a loaded
// conversation (under the step's commit, their removal is committed).
func (b *Bridge) stripDone(st *step) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.jobs[st.conv.Key]
	if j == nil || len(j.done) == 0 {
		return
	}
	var kept []JournalEntry
	for i := range st.conv.Journal {
		if s := st.conv.Journal[i].Seq; j.done[s] {
			st.unsaved = append(st.unsaved, s)
		} else {
			kept = append(kept, st.conv.Journal[i])
		}
	}
	if len(st.unsaved) < len(j.done) {
		// Not stored any more (erased, or removed meanwhile): nothing to remove.
		for s := range j.done {
			if !slices.Contains(st.unsaved, s) {
				delete(j.done, s)
			}
		}
		if len(j.done) == 0 {
			j.done = nil // as in takeFresh
			b.tidy(st.conv.Key)
		}
	}
	if len(st.unsaved) > 0 {
		st.conv.Journal = kept
		st.dirty = true
	}
}

// completionsPending reports whether removals of performed entries wait for a commit.
func (b *Bridge) completionsPending() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, j := range b.jobs {
		if len(j.done) > 0 {
			return true
		}
	}
	return false
}

// committed records a successful commit of the step: it forgets the deferred removals the commit
// wrote and the fresh marks of entries the committed journal no longer holds (merged into a newer
// data write, or dropped, stale or past their deadline, before any attempt: nothing takes those
// marks), and marks fresh the entries the step added (their first attempt needs no look-up).
func (b *Bridge) committed(st *step) {
	key := st.conv.Key
	seqs := st.newSeqs()
	b.mu.Lock()
	defer b.mu.Unlock()
	if j := b.jobs[key]; j != nil {
		if len(st.unsaved) > 0 {
			for _, s := range st.unsaved {
				delete(j.done, s)
			}
			if len(j.done) == 0 {
				j.done = nil // as in takeFresh
				if j.flush != nil {
					j.flush.Stop()
					j.flush = nil
				}
			}
		}
		for s := range j.fresh {
			if !slices.ContainsFunc(st.conv.Journal, func(e JournalEntry) bool { return e.Seq == s }) {
				delete(j.fresh, s)
			}
		}
		if len(j.fresh) == 0 {
			j.fresh = nil
		}
	}
	st.unsaved = nil
	b.markFresh(key, seqs)
	b.tidy(key)
}

// flushCompletions queues a flush of every conversation's deferred removals now (Settle).
func (b *Bridge) flushCompletions(ctx context.Context) {
	b.mu.Lock()
	var keys []Key
	for k, j := range b.jobs {
		if len(j.done) > 0 {
			keys = append(keys, k)
			if j.flush != nil {
				j.flush.Stop()
				j.flush = nil
			}
		}
	}
	b.mu.Unlock()
	for _, k := range keys {
		_ = b.enqueue(ctx, task{key: k, kick: true})
	}
}

// commitCompletions commits the deferred removals left once the shards stopped (Close).
func (b *Bridge) commitCompletions(ctx context.Context) {
	b.mu.Lock()
	var keys, idle []Key
	for k, j := range b.jobs {
		if j.flush != nil {
			j.flush.Stop()
			j.flush = nil
		}
		if len(j.done) > 0 {
			keys = append(keys, k)
		}
		if j.idle() {
			idle = append(idle, k)
		}
	}
	for _, k := range idle {
		b.tidy(k) // may make the map again: not while ranging over it
	}
	b.mu.Unlock()
	for _, k := range keys {
		st, found, err := b.load(ctx, k)
		if err != nil || !found || len(st.unsaved) == 0 {
			continue
		}
		if err := st.commit(ctx, ""); err != nil {
			b.log.Warn("persist completions at close", "website", k.WebsiteID, "session", k.SessionID, "err", err)
		}
	}
}

// job returns the conversation's journal job (under b.mu).
func (b *Bridge) job(key Key) *journalJob {
	j := b.jobs[key]
	if j == nil {
		j = &journalJob{}
		b.jobs[key] = j
		b.jobsPeak = max(b.jobsPeak, len(b.jobs))
	}
	return j
}

// markFresh records entries this process just committed: their first attempt needs no look-up
// (under b.mu).
func (b *Bridge) markFresh(key Key, seqs []uint64) {
	if len(seqs) == 0 {
		return
	}
	j := b.job(key)
	if j.fresh == nil {
		j.fresh = map[uint64]bool{}
	}
	for _, s := range seqs {
		j.fresh[s] = true
	}
}

// takeFresh reports whether the entry is fresh, and makes it not fresh any more (it is being tried).
func (b *Bridge) takeFresh(key Key, seq uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.jobs[key]
	if j == nil || !j.fresh[seq] {
		return false
	}
	delete(j.fresh, seq)
	if len(j.fresh) == 0 {
		j.fresh = nil // an emptied map keeps its table: a few hundred bytes per conversation touched
		b.tidy(key)
	}
	return true
}

// forgetFresh makes every entry of the conversation need a look-up: someone else may try them.
func (b *Bridge) forgetFresh(key Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j := b.jobs[key]; j != nil {
		j.fresh = nil
		b.tidy(key)
	}
}

// journalDone is a finished pass handed back to the conversation's shard.
type journalDone struct {
	results []journalResult
	release func() // gives up the pass's claim (its lease), after the results are committed
}

type journalResult struct {
	seq     uint64
	err     error  // nil: done
	dropped string // effect.Stale or effect.Expired: not attempted
	chosen  string // an offer's choice, kept by the retries
	matched []int64
}

// kickJournal runs on the conversation's shard, after a commit: it drops what is stale or past its
// deadline, performs the answers that are due (here, on the shard: no input can slip between the
// check and the post), and starts a pass for the rest, or schedules the next retry.
func (b *Bridge) kickJournal(ctx context.Context, st *step) {
	c := &st.conv
	for range 8 {
		if len(c.Journal) == 0 {
			return
		}
		plan := b.plan(c)
		var results []journalResult
		for i, why := range plan.Drop {
			results = append(results, journalResult{seq: c.Journal[i].Seq, dropped: why})
		}
		for _, i := range plan.Inline {
			e := c.Journal[i]
			r := b.attempt(ctx, c.Key, &e, c.Matched)
			results = append(results, r)
			if r.err != nil {
				break
			}
		}
		if len(results) == 0 {
			b.startPass(ctx, c, plan)
			return
		}
		b.applyResults(st, results)
		if seqs := plainDone(results); seqs != nil && !b.shared() {
			// Only performed entries to remove: that waits for the conversation's next commit.
			b.deferCompletion(st, seqs)
			continue
		}
		if err := st.commit(ctx, ""); err != nil {
			b.log.Error("persist journal", "website", c.WebsiteID, "session", c.SessionID, "err", err)
			return
		}
		b.act(st)
	}
}

// plainDone returns the entries of results when every one was performed, nothing else to record
// (no failure, no drop, no fallback match); nil otherwise.
func plainDone(results []journalResult) []uint64 {
	seqs := make([]uint64, 0, len(results))
	for _, r := range results {
		if r.err != nil || r.dropped != "" || len(r.matched) > 0 {
			return nil
		}
		seqs = append(seqs, r.seq)
	}
	return seqs
}

func (b *Bridge) plan(c *Conversation) effect.Plan {
	entries := make([]effect.Entry, len(c.Journal))
	for i := range c.Journal {
		entries[i] = c.Journal[i].plan()
	}
	return effect.Make(entries, b.opts.Now().UnixMilli(), c.Epoch)
}

// startPass claims the due entries and performs them outside the shard. With replicas, the claim is
// the conversation's effects lease, kept alive by a heartbeat while the calls run and given up only
// once their outcome is committed; a replica that cannot have it leaves the entries to its holder,
// whose next plan (after its commit) sees them.
func (b *Bridge) startPass(ctx context.Context, c *Conversation, plan effect.Plan) {
	now := b.opts.Now().UnixMilli()
	b.mu.Lock()
	if b.shardsClosed {
		b.mu.Unlock()
		return
	}
	j := b.job(c.Key)
	if j.running {
		b.mu.Unlock()
		return // its results kick again
	}
	if len(plan.Due) == 0 {
		if j.timer == nil && plan.Wake > 0 && !b.closed {
			j.timer = b.kickAfter(c.Key, time.Duration(plan.Wake-now)*time.Millisecond, false)
		}
		b.tidy(c.Key) // nothing due, nothing to wait for: no job
		b.mu.Unlock()
		return
	}
	if j.timer != nil {
		j.timer.Stop()
		j.timer = nil
	}
	j.running = true
	b.passes.Add(1)
	b.mu.Unlock()

	release := func() {}
	pctx := b.ctx
	if b.shared() {
		lctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
		tok, ok, err := b.leases.Acquire(lctx, effectsLease(c.Key), b.opts.Replica, b.opts.LeaseTTL)
		cancel()
		if err != nil || !ok {
			// Another replica performs this journal (or the store is unreachable): its entries may be
			// tried there, so none of them is fresh here any more.
			b.forgetFresh(c.Key)
			b.mu.Lock()
			j.running = false
			b.tidy(c.Key)
			b.mu.Unlock()
			b.passOver()
			if err != nil {
				b.log.Warn("effects lease", "website", c.WebsiteID, "session", c.SessionID, "err", err)
			}
			return
		}
		hctx, stop := b.hold(b.ctx, effectsLease(c.Key), tok)
		pctx = hctx
		key := c.Key
		release = func() {
			stop()
			b.forgetFresh(key) // the next claim may be another replica's
			rctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), b.opts.CallTimeout)
			defer cancel()
			if err := b.leases.Release(rctx, effectsLease(key), b.opts.Replica); err != nil {
				b.log.Warn("release effects lease", "website", key.WebsiteID, "session", key.SessionID, "err", err)
			}
		}
	}
	if m, ok := b.opts.Metrics.(JournalMetrics); ok {
		m.JournalOldest(time.Duration(now-c.Journal[0].Created) * time.Millisecond)
	}
	due := make([]JournalEntry, len(plan.Due))
	for i, x := range plan.Due {
		due[i] = c.Journal[x]
	}
	matched := slices.Clone(c.Matched)
	b.journalWG.Add(1)
	go b.runPass(pctx, c.Key, due, matched, release)
}

// runPass performs a pass, outside the shard, and hands the results back to it.
func (b *Bridge) runPass(ctx context.Context, key Key, due []JournalEntry, matched []int64, release func()) {
	defer b.journalWG.Done()
	failed := map[string]bool{}
	var results []journalResult
	for i := range due {
		e := &due[i]
		if failed[e.lane()] {
			continue // in order within a lane: tried again after the one before it
		}
		if e.plan().Scoped && !b.stillCurrent(ctx, key, e) {
			results = append(results, journalResult{seq: e.Seq, dropped: effect.Stale})
			continue
		}
		r := b.attempt(ctx, key, e, matched)
		if r.err != nil {
			failed[e.lane()] = true
		}
		matched = append(matched, r.matched...)
		results = append(results, r)
	}
	if err := b.enqueue(context.Background(), task{key: key, journal: &journalDone{results: results, release: release}}); err != nil {
		// Closed: what is left stays in the journal and is performed after the restart.
		release()
		b.mu.Lock()
		delete(b.jobs, key)
		b.mu.Unlock()
		b.passOver()
	}
}

// stillCurrent reports whether e's epoch is still the conversation's, as stored now (a pause
// committed while the pass ran ends it). Read errors keep the entry: the attempt decides.
func (b *Bridge) stillCurrent(ctx context.Context, key Key, e *JournalEntry) bool {
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		return !errors.Is(err, ErrNotFound)
	}
	return c.Epoch == e.Epoch
}

// attempt performs one entry once, checking its deadline first.
func (b *Bridge) attempt(ctx context.Context, key Key, e *JournalEntry, matched []int64) journalResult {
	r := journalResult{seq: e.Seq}
	if b.opts.Now().UnixMilli() >= e.Deadline {
		r.dropped = effect.Expired
		return r
	}
	check := !b.takeFresh(key, e.Seq) || e.Attempts > 0
	timeout := b.opts.CallTimeout
	if left := time.Until(time.UnixMilli(e.Deadline)); left < timeout && left > time.Second {
		timeout = left
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p := &performer{b: b, key: key, e: e, check: check, exclude: matched}
	r.chosen, r.err = p.perform(cctx)
	r.matched = p.matched
	return r
}

// performer performs one entry: every message is posted at most once (looked up first when the
// entry may have been tried).
type performer struct {
	b       *Bridge
	key     Key
	e       *JournalEntry
	check   bool
	exclude []int64
	matched []int64 // Crisp messages the fallback took for ours
}

func (p *performer) perform(ctx context.Context) (chosen string, err error) {
	b, e := p.b, p.e
	pl := b.opts.Platform
	w, s := p.key.WebsiteID, p.key.SessionID
	switch e.Kind {
	case JournalMeta:
		if e.Meta == nil {
			return "", nil
		}
		return "", pl.UpdateMeta(ctx, w, s, *e.Meta)
	case JournalState:
		return "", pl.SetState(ctx, w, s, e.State)
	case JournalMessage, JournalStep, JournalAnswer:
		if e.Message == nil {
			return "", nil
		}
		return "", p.post(ctx, *e.Message, 0)
	case JournalNote:
		if e.Message == nil {
			return "", nil
		}
		m := *e.Message
		if av, err := pl.Availability(ctx, w); err == nil {
			m.Mentions = av.Operators
		} else {
			b.log.Warn("availability for note", "website", w, "err", err)
		}
		return "", p.post(ctx, m, 0)
	case JournalReopen:
		return "", b.performReopen(ctx, p)
	case JournalWebhook:
		return "", b.performWebhook(ctx, p.key, e)
	case JournalGreet:
		return "", b.performGreet(ctx, p)
	case JournalOffer, JournalClosed:
		o := e.Offer
		if o == nil {
			return "", nil
		}
		chosen = o.Chosen
		if chosen == "" {
			av, err := pl.Availability(ctx, w)
			if err != nil {
				return "", fmt.Errorf("availability: %w", err)
			}
			chosen = "offline"
			if av.Online {
				chosen = "online"
			}
		}
		if chosen == "online" {
			if err := p.post(ctx, OutMessage{Type: "text", Text: o.Online}, 0); err != nil {
				return chosen, err
			}
		} else {
			offline := o.Offline
			if e.Kind == JournalClosed {
				offline = b.closedInVisitorZone(ctx, p.key, e) // when the team is back, in the visitor's time zone
			}
			if err := p.post(ctx, OutMessage{Type: "text", Text: offline}, 0); err != nil {
				return chosen, err
			}
			if f := o.AskEmail; f != nil {
				if err := p.post(ctx, OutMessage{Type: "field", Field: f}, 1); err != nil {
					return chosen, fmt.Errorf("ask email: %w", err)
				}
			}
		}
		// A message to the visitor turns a pending conversation unresolved in Crisp: put it back on
		// top of the human inbox.
		if err := pl.SetState(ctx, w, s, signals.CrispPending); err != nil {
			return chosen, fmt.Errorf("set pending after handover messages: %w", err)
		}
		return chosen, nil
	}
	return "", fmt.Errorf("journal entry %d: unknown kind %q", e.Seq, e.Kind)
}

// post sends part of the entry's messages with its fingerprint; when the entry may have been tried
// before, it first looks the message up in Crisp.
func (p *performer) post(ctx context.Context, m OutMessage, part int64) error {
	m.Fingerprint = p.e.Fingerprint + part
	if p.check {
		if pc, ok := p.b.opts.Platform.(PostChecker); ok {
			fp, err := pc.Posted(ctx, p.key.WebsiteID, p.key.SessionID, PostCheck{Message: m, After: p.e.After,
				Exclude: append(slices.Clip(p.exclude), p.matched...)})
			if err != nil {
				return fmt.Errorf("check an earlier attempt: %w", err)
			}
			if fp != 0 {
				if fp != m.Fingerprint {
					p.matched = append(p.matched, fp)
				}
				return nil
			}
		}
	}
	if _, err := p.b.opts.Platform.Send(ctx, p.key.WebsiteID, p.key.SessionID, m); err != nil {
		return fmt.Errorf("post %s: %w", m.Type, err)
	}
	return nil
}

// finishJournal runs on the conversation's shard: it records the pass's outcome, commits it, gives
// up the pass's claim and kicks the next pass.
func (b *Bridge) finishJournal(ctx context.Context, key Key, d *journalDone) {
	defer b.passOver() // after the next pass, if any, has started
	b.mu.Lock()
	if j := b.jobs[key]; j != nil {
		j.running = false
		b.tidy(key)
	}
	b.mu.Unlock()
	st, found, err := b.load(ctx, key)
	if err != nil || !found {
		d.release()
		if err != nil {
			b.log.Error("load for journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
			b.retryKick(key)
		}
		return
	}
	b.applyResults(st, d.results)
	err = st.commit(ctx, "")
	d.release()
	if err != nil {
		b.log.Error("persist journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		b.retryKick(key)
		return
	}
	b.perform(ctx, st)
}

// retryKick plans the conversation's journal again a little later (a store error).
func (b *Bridge) retryKick(key Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.shardsClosed {
		return
	}
	j := b.job(key)
	if j.timer != nil {
		return
	}
	j.timer = b.kickAfter(key, effect.Backoff(1), false)
}

// applyResults records attempts in the step's conversation: done entries are removed, failed ones
// retried with jittered backoff unless they can never succeed or their deadline comes first, dropped
// ones removed. A guided step or an answer that never reached the visitor fails towards a human.
func (b *Bridge) applyResults(st *step, results []journalResult) {
	c := &st.conv
	met, _ := b.opts.Metrics.(JournalMetrics)
	now := b.opts.Now().UnixMilli()
	journal := slices.Clone(c.Journal)
	lost := ""
	for _, r := range results {
		if len(r.matched) > 0 {
			c.Matched = append(slices.Clone(c.Matched), r.matched...)
			if n := len(c.Matched) - maxMatched; n > 0 {
				c.Matched = c.Matched[n:]
			}
		}
		i := slices.IndexFunc(journal, func(e JournalEntry) bool { return e.Seq == r.seq })
		if i < 0 {
			continue // replaced or erased meanwhile
		}
		e := &journal[i]
		switch {
		case r.dropped != "":
			if met != nil {
				met.JournalOutcome(e.Kind, "abandoned")
			}
			b.log.Warn("crisp write dropped", "website", c.WebsiteID, "session", c.SessionID, "kind", e.Kind, "why", r.dropped)
			if r.dropped == effect.Expired && (e.Kind == JournalStep || e.Kind == JournalAnswer) {
				lost = e.Kind
			}
			if r.dropped == effect.Expired && e.Kind == JournalWebhook {
				b.webhookExpired(c.Key, e) // the steps take their "failed" branch
			}
			journal = slices.Delete(journal, i, i+1)
			continue
		case r.err == nil:
			if met != nil {
				met.JournalOutcome(e.Kind, "done")
			}
			journal = slices.Delete(journal, i, i+1)
			continue
		}
		e.Attempts++
		e.LastError = r.err.Error()
		if r.chosen != "" && e.Offer != nil && e.Offer.Chosen == "" {
			o := *e.Offer
			o.Chosen = r.chosen
			e.Offer = &o
		}
		e.NextAt = now + effect.Backoff(e.Attempts).Milliseconds()
		if permanent(r.err) || e.NextAt >= e.Deadline {
			b.log.Error("crisp write abandoned", "website", c.WebsiteID, "session", c.SessionID,
				"kind", e.Kind, "attempts", e.Attempts, "err", r.err)
			if met != nil {
				met.JournalOutcome(e.Kind, "abandoned")
			}
			if e.Kind == JournalStep || e.Kind == JournalAnswer {
				lost = e.Kind
			}
			journal = slices.Delete(journal, i, i+1)
			continue
		}
		if met != nil {
			met.JournalOutcome(e.Kind, "retried")
		}
		b.log.Warn("crisp write failed; retrying", "website", c.WebsiteID, "session", c.SessionID,
			"kind", e.Kind, "attempts", e.Attempts, "err", r.err)
	}
	c.Journal = journal
	st.dirty = true
	if lost != "" && c.Mode == signals.ModeActive {
		// The visitor never got a guided step the conversation now waits on, or the answer: fail
		// towards a human rather than leave the visitor waiting.
		st.apply(signals.Input{Kind: signals.InputHandover, Source: signals.SourceAssistant, Reason: signals.ReasonError,
			At: now, Detail: "a message to the visitor could not be posted"})
	}
}

// passOver counts a journal pass as finished and wakes Close when no work is left.
func (b *Bridge) passOver() {
	if b.passes.Add(-1) == 0 {
		select {
		case b.idle <- struct{}{}:
		default:
		}
	}
}

// kickStored loads a conversation and kicks its journal (a retry timer fired, or a restart).
func (b *Bridge) kickStored(ctx context.Context, key Key) {
	st, found, err := b.load(ctx, key)
	if err != nil {
		b.log.Error("load for journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		b.retryKick(key)
		return
	}
	if !found {
		b.mu.Lock()
		if j := b.jobs[key]; j != nil {
			j.done = nil // erased: nothing to remove
			b.tidy(key)
		}
		b.mu.Unlock()
		return
	}
	b.kickJournal(ctx, st)
	if len(st.unsaved) > 0 && st.dirty {
		// A flush: the removal of performed entries is committed alone.
		if err := st.commit(ctx, ""); err != nil {
			b.log.Error("persist journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
			b.retryKick(key)
		}
	}
}

// Pending returns the Crisp writes a conversation still owes (its journal), oldest first.
func (b *Bridge) Pending(ctx context.Context, key Key) ([]JournalEntry, error) {
	st, found, err := b.load(ctx, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("pending %s: %w", key, ErrNotFound)
	}
	return st.conv.Journal, nil
}
