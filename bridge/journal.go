package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

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
)

// JournalEntry is one Crisp write the bridge decided. It is committed with the decision, in the
// conversation, and performed by the journal worker in order (per lane: meta, state, messages),
// with retries and a deadline, until it succeeds or is abandoned. Messages are never posted twice:
// a retry first checks whether the previous attempt landed.
type JournalEntry struct {
	Seq       uint64         `json:"seq"`
	Kind      string         `json:"kind"`
	Meta      *MetaUpdate    `json:"meta,omitempty"`
	Message   *OutMessage    `json:"message,omitempty"`
	State     string         `json:"state,omitempty"`
	Offer     *Offer         `json:"offer,omitempty"`
	Reason    signals.Reason `json:"reason,omitempty"`
	Created   int64          `json:"created"`            // Unix ms
	Deadline  int64          `json:"deadline"`           // Unix ms: abandoned when still failing after it
	Attempts  int            `json:"attempts,omitempty"` // failed attempts so far
	NextAt    int64          `json:"next_at,omitempty"`  // Unix ms: not tried again before
	LastError string         `json:"last_error,omitempty"`
}

// Offer is what a handover tells the visitor, localized when it was decided: one notice when
// humans are online, another (and maybe the email field) when nobody is.
type Offer struct {
	Online   string `json:"online"`
	Offline  string `json:"offline"`
	AskEmail *Field `json:"ask_email,omitempty"`
}

// lane orders entries: entries of one lane are performed in order, lanes independently, so a
// failing state change does not hold back a notice to the visitor.
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

// PostChecker is implemented by platforms that can tell whether a message was posted (by an
// attempt whose answer was lost), so a retry never posts it twice.
type PostChecker interface {
	// Posted reports whether a message like m (type and text) was posted with our origin at or
	// after since (Unix ms).
	Posted(ctx context.Context, websiteID, sessionID string, since int64, m OutMessage) (bool, error)
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
	// attempt) or "abandoned" (failed at its deadline, or for good).
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

// addJournal records e in the step's conversation, coalescing it with a waiting write it makes
// obsolete: a write-back of the signal key merged into the previous one still waiting (its Expect is
// kept: it is what Crisp holds; its data is overlaid with the newer).
func (st *step) addJournal(e JournalEntry) {
	c := &st.conv
	now := st.b.opts.Now().UnixMilli()
	if e.Kind == JournalMeta && e.Meta != nil && len(e.Meta.Data) > 0 {
		st.markEcho(e.Meta, now)
	}
	if e.Kind == JournalMeta && e.Meta != nil && len(e.Meta.Data) > 0 && len(c.Journal) > 0 {
		last := &c.Journal[len(c.Journal)-1]
		if last.Kind == JournalMeta && last.Meta != nil && last.Attempts == 0 && !st.b.inFlight(c.Key, last.Seq) &&
			len(last.Meta.Segments) == 0 && last.Meta.Email == "" && last.Meta.Nickname == "" &&
			len(e.Meta.Segments) == 0 && e.Meta.Email == "" && e.Meta.Nickname == "" {
			merged := *last.Meta
			merged.Data = maps.Clone(last.Meta.Data)
			maps.Copy(merged.Data, e.Meta.Data)
			if merged.Expect == nil {
				merged.Expect = e.Meta.Expect
			}
			journal := slices.Clone(c.Journal)
			journal[len(journal)-1].Meta = &merged
			c.Journal = journal
			st.dirty = true
			return
		}
	}
	c.JournalSeq++
	e.Seq = c.JournalSeq
	e.Created = now
	e.Deadline = now + st.b.deadline(e.Kind).Milliseconds()
	c.Journal = append(slices.Clip(c.Journal), e)
	st.dirty = true
	if m, ok := st.b.opts.Metrics.(JournalMetrics); ok {
		m.JournalOutcome(e.Kind, "queued")
	}
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

// journalJob is the in-memory side of a conversation's journal: whether a pass is running, which
// entries it performs, and the timer of the next retry.
type journalJob struct {
	running  bool
	inFlight map[uint64]bool
	timer    *time.Timer
}

// journalDone is a finished pass handed back to the conversation's shard.
type journalDone struct {
	results []journalResult
}

type journalResult struct {
	seq uint64
	err error // nil: done
}

func (b *Bridge) inFlight(key Key, seq uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	j := b.jobs[key]
	return j != nil && j.inFlight[seq]
}

// kickJournal runs on the conversation's shard after a commit: it starts a pass over the entries
// that are due, unless one is running, and schedules the next retry otherwise.
func (b *Bridge) kickJournal(c *Conversation) {
	if len(c.Journal) == 0 {
		return
	}
	now := b.opts.Now().UnixMilli()
	var due []JournalEntry
	next := int64(0)
	for _, e := range c.Journal {
		if e.NextAt <= now {
			due = append(due, e)
		} else if next == 0 || e.NextAt < next {
			next = e.NextAt
		}
	}
	if m, ok := b.opts.Metrics.(JournalMetrics); ok {
		m.JournalOldest(time.Duration(now-c.Journal[0].Created) * time.Millisecond)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shardsClosed {
		return
	}
	j := b.jobs[c.Key]
	if j == nil {
		j = &journalJob{}
		b.jobs[c.Key] = j
	}
	if j.running {
		return // its results kick again
	}
	if len(due) == 0 {
		if j.timer == nil && next > 0 && !b.closed {
			key := c.Key
			j.timer = time.AfterFunc(time.Duration(next-now)*time.Millisecond, func() {
				b.mu.Lock()
				if jj := b.jobs[key]; jj != nil {
					jj.timer = nil
				}
				b.mu.Unlock()
				_ = b.enqueue(b.ctx, task{key: key, kick: true})
			})
		}
		return
	}
	if j.timer != nil {
		j.timer.Stop()
		j.timer = nil
	}
	j.running = true
	b.passes.Add(1)
	j.inFlight = make(map[uint64]bool, len(due))
	for _, e := range due {
		j.inFlight[e.Seq] = true
	}
	b.journalWG.Add(1)
	go b.runJournal(c.Key, due)
}

// runJournal performs a pass, outside the shard, and hands the results back to it.
func (b *Bridge) runJournal(key Key, due []JournalEntry) {
	defer b.journalWG.Done()
	failed := map[string]bool{}
	var results []journalResult
	for i := range due {
		e := &due[i]
		if failed[e.lane()] {
			continue // in order within a lane: tried again after the one before it
		}
		err := b.performEntry(key, e)
		if err != nil {
			failed[e.lane()] = true
		}
		results = append(results, journalResult{seq: e.Seq, err: err})
	}
	if err := b.enqueue(context.Background(), task{key: key, journal: &journalDone{results: results}}); err != nil {
		// Closed: what is left stays in the journal and is performed after the restart.
		b.mu.Lock()
		delete(b.jobs, key)
		b.mu.Unlock()
		b.passOver()
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
func (b *Bridge) kickStored(key Key) {
	c, err := b.opts.Store.Load(b.ctx, key)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			b.log.Error("load for journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		}
		return
	}
	b.kickJournal(&c)
}

// performEntry performs one entry with the call timeout (bounded by the entry's deadline).
func (b *Bridge) performEntry(key Key, e *JournalEntry) error {
	timeout := b.opts.CallTimeout
	if left := time.Until(time.UnixMilli(e.Deadline)); left < timeout && left > time.Second {
		timeout = left
	}
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	p := b.opts.Platform
	w, s := key.WebsiteID, key.SessionID
	switch e.Kind {
	case JournalMeta:
		if e.Meta == nil {
			return nil
		}
		return p.UpdateMeta(ctx, w, s, *e.Meta)
	case JournalState:
		return p.SetState(ctx, w, s, e.State)
	case JournalMessage, JournalStep:
		if e.Message == nil {
			return nil
		}
		return b.postOnce(ctx, key, e, *e.Message)
	case JournalNote:
		if e.Message == nil {
			return nil
		}
		m := *e.Message
		if av, err := p.Availability(ctx, w); err == nil {
			m.Mentions = av.Operators
		} else {
			b.log.Warn("availability for note", "website", w, "err", err)
		}
		return b.postOnce(ctx, key, e, m)
	case JournalOffer:
		if e.Offer == nil {
			return nil
		}
		av, err := p.Availability(ctx, w)
		if err != nil {
			return fmt.Errorf("availability: %w", err)
		}
		if av.Online {
			if err := b.postOnce(ctx, key, e, OutMessage{Type: "text", Text: e.Offer.Online}); err != nil {
				return err
			}
		} else {
			if err := b.postOnce(ctx, key, e, OutMessage{Type: "text", Text: e.Offer.Offline}); err != nil {
				return err
			}
			if f := e.Offer.AskEmail; f != nil {
				if err := b.postOnce(ctx, key, e, OutMessage{Type: "field", Field: f}); err != nil {
					return fmt.Errorf("ask email: %w", err)
				}
			}
		}
		// A message to the visitor turns a pending conversation unresolved in Crisp: put it back on
		// top of the human inbox.
		if err := p.SetState(ctx, w, s, signals.CrispPending); err != nil {
			return fmt.Errorf("set pending after handover messages: %w", err)
		}
		return nil
	case JournalClosed, JournalReopen:
		return b.performHours(ctx, key, e)
	case JournalWebhook:
		return b.performWebhook(ctx, key, e)
	case JournalGreet:
		return b.performGreet(ctx, key, e)
	}
	return fmt.Errorf("journal entry %d: unknown kind %q", e.Seq, e.Kind)
}

// postOnce sends m; on a retry it first checks whether an earlier attempt landed.
func (b *Bridge) postOnce(ctx context.Context, key Key, e *JournalEntry, m OutMessage) error {
	if e.Attempts > 0 {
		if pc, ok := b.opts.Platform.(PostChecker); ok {
			posted, err := pc.Posted(ctx, key.WebsiteID, key.SessionID, e.Created, m)
			if err != nil {
				return fmt.Errorf("check an earlier attempt: %w", err)
			}
			if posted {
				return nil
			}
		}
	}
	if _, err := b.opts.Platform.Send(ctx, key.WebsiteID, key.SessionID, m); err != nil {
		return fmt.Errorf("post %s: %w", m.Type, err)
	}
	return nil
}

// finishJournal runs on the conversation's shard: it removes what was done, schedules retries with
// jittered backoff, abandons what is past its deadline (or can never succeed), commits, and kicks
// the next pass.
func (b *Bridge) finishJournal(key Key, d *journalDone) {
	defer b.passOver() // after the next pass, if any, has started
	b.mu.Lock()
	if j := b.jobs[key]; j != nil {
		j.running = false
		j.inFlight = nil
	}
	b.mu.Unlock()
	ctx := b.ctx
	st, found, err := b.load(ctx, key)
	if err != nil || !found {
		if err != nil {
			b.log.Error("load for journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		}
		return
	}
	c := &st.conv
	met, _ := b.opts.Metrics.(JournalMetrics)
	now := b.opts.Now().UnixMilli()
	journal := slices.Clone(c.Journal)
	lostMessage := false
	for _, r := range d.results {
		i := slices.IndexFunc(journal, func(e JournalEntry) bool { return e.Seq == r.seq })
		if i < 0 {
			continue // erased meanwhile
		}
		e := &journal[i]
		if r.err == nil {
			if met != nil {
				met.JournalOutcome(e.Kind, "done")
			}
			journal = slices.Delete(journal, i, i+1)
			continue
		}
		e.Attempts++
		e.LastError = r.err.Error()
		if permanent(r.err) || now >= e.Deadline {
			b.log.Error("crisp write abandoned", "website", key.WebsiteID, "session", key.SessionID,
				"kind", e.Kind, "attempts", e.Attempts, "err", r.err)
			if met != nil {
				met.JournalOutcome(e.Kind, "abandoned")
			}
			lostMessage = lostMessage || e.Kind == JournalStep
			journal = slices.Delete(journal, i, i+1)
			continue
		}
		e.NextAt = now + backoff(e.Attempts).Milliseconds()
		if met != nil {
			met.JournalOutcome(e.Kind, "retried")
		}
		b.log.Warn("crisp write failed; retrying", "website", key.WebsiteID, "session", key.SessionID,
			"kind", e.Kind, "attempts", e.Attempts, "err", r.err)
	}
	c.Journal = journal
	st.dirty = true
	if lostMessage && c.Mode == signals.ModeActive {
		// The visitor never got a guided step the conversation now waits on: fail towards a human
		// rather than leave it waiting for an answer to a question never asked.
		st.apply(signals.Input{Kind: signals.InputHandover, Source: signals.SourceAssistant, Reason: signals.ReasonError,
			At: now, Detail: "a message to the visitor could not be posted"})
	}
	if err := st.commit(ctx, ""); err != nil {
		b.log.Error("persist journal", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		return
	}
	b.perform(ctx, st)
}

// backoff is the wait before attempt n+1: exponential from 500 ms, capped at 30 s, with full jitter
// over its upper half.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(n-1, 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// Pending returns the Crisp writes a conversation still owes (its journal), oldest first.
func (b *Bridge) Pending(ctx context.Context, key Key) ([]JournalEntry, error) {
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return c.Journal, nil
}
