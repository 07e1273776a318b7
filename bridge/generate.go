package bridge

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/signals"
)

// generation is one in-flight assistant answer for a conversation.
//
// Race safety: a pause, handover or operator message is processed on the conversation's shard and
// cancels the generation (ActCancel) before anything else; the finished answer is handed back to the
// same shard, which posts it only if this generation is still the current one and the conversation is
// still active. Since the shard is serial, no input the bridge has received can slip between that
// check and the post. The remaining window is the time between a human acting in Crisp and Crisp
// delivering that event to us, plus the duration of the one REST call that posts the answer.
type generation struct {
	id     uint64
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	stopped  bool // cancelled or finished: the typing indicator must not be started any more
	typing   bool // the typing indicator was started
	platform Platform
	key      Key
	due      int64 // the conversation's ReplyDue when it started: superseded once that changes
	// typingTimeout bounds a typing-indicator call: it is worth little once late.
	typingTimeout time.Duration
	lease         *genLeaseHold // with replicas: the answer's lease, held until it is committed
}

// genLeaseHold is the lease of an answer being generated, handed from a superseded generation to
// the one that supersedes it on the same replica.
type genLeaseHold struct {
	ctx     context.Context
	token   int64
	once    sync.Once
	release func()
}

// releaseLease gives the answer's lease up (once).
func (g *generation) releaseLease() {
	g.mu.Lock()
	h := g.lease
	g.lease = nil
	g.mu.Unlock()
	if h != nil {
		h.once.Do(h.release)
	}
}

// replyDone is a finished generation handed back to the conversation's shard.
type replyDone struct {
	gen    *generation
	answer assistant.Answer
	err    error
	took   time.Duration
}

func (b *Bridge) startGeneration(c *Conversation) {
	if !slices.ContainsFunc(c.Transcript, func(t Turn) bool { return t.Role == "visitor" }) {
		return // nothing to answer
	}
	b.mu.Lock()
	if b.shardsClosed {
		b.mu.Unlock()
		return
	}
	old := b.gens[c.Key]
	var hold *genLeaseHold
	if old != nil {
		old.mu.Lock()
		hold, old.lease = old.lease, nil // the newer answer keeps the lease
		old.mu.Unlock()
	}
	b.mu.Unlock()
	if hold == nil && b.shared() {
		ctx, tok, release, ok := b.takeGenLease(c.Key)
		if !ok {
			// Another replica writes an answer for this conversation: when it finds its answer
			// superseded by this message, it writes the new one.
			return
		}
		hold = &genLeaseHold{ctx: ctx, token: tok, release: release}
	}
	parent := b.ctx
	if hold != nil {
		parent = hold.ctx // a lost lease cancels the answer
	}
	b.mu.Lock()
	if b.shardsClosed {
		b.mu.Unlock()
		if hold != nil {
			hold.once.Do(hold.release)
		}
		return
	}
	b.genSeq++
	life, cancel := context.WithCancel(parent)
	g := &generation{id: b.genSeq, ctx: life, cancel: cancel, platform: b.opts.Platform, key: c.Key,
		typingTimeout: b.typingTimeout(), due: c.ReplyDue, lease: hold}
	b.gens[c.Key] = g
	b.genWG.Add(1)
	b.mu.Unlock()
	if old != nil {
		// A newer visitor message supersedes the answer being written: answer both at once. The
		// indicator is stopped outside the bridge lock (a Crisp call must never hold up intake).
		old.stopTyping(b.ctx)
		old.cancel()
	}

	q := b.question(c)
	b.active.Add(1)
	go func() {
		defer b.genWG.Done()
		defer cancel()
		if !b.burstWait(life, g.key) { // burst.go: one answer per burst of visitor lines
			b.handBack(g, replyDone{gen: g, err: life.Err()})
			return
		}
		// Waiting for a slot does not count against the answer's timeout: under load an answer
		// that has not started yet is late, not failed.
		select {
		case b.sem <- struct{}{}:
		case <-life.Done():
			b.handBack(g, replyDone{gen: g, err: life.Err()})
			return
		}
		defer func() { <-b.sem }()
		ctx, stop := context.WithTimeout(life, b.opts.ReplyTimeout)
		defer stop()
		start := b.opts.Now()
		var timer *time.Timer
		if b.opts.TypingDelay > 0 {
			timer = time.AfterFunc(b.opts.TypingDelay, func() { g.startTyping(ctx) })
		} else {
			g.startTyping(ctx)
		}
		ans, err := b.opts.Assistant.Reply(ctx, q)
		if timer != nil {
			timer.Stop()
		}
		took := b.opts.Now().Sub(start)
		b.opts.Metrics.ModelCall(took, ans.Usage, ans.Offline, err)
		b.handBack(g, replyDone{gen: g, answer: ans, err: err, took: took})
	}()
}

// typingTimeout bounds a typing-indicator call: the shorter of 3 s and CallTimeout.
func (b *Bridge) typingTimeout() time.Duration { return min(3*time.Second, b.opts.CallTimeout) }

// handBack queues the finished generation on its conversation's shard.
func (b *Bridge) handBack(g *generation, d replyDone) {
	if err := b.enqueue(context.Background(), task{key: g.key, done: &d}); err != nil {
		g.stopTyping(context.Background())
		g.releaseLease()
		b.clearGeneration(g)
		b.generationOver()
	}
}

// generationOver counts a generation as finished and wakes Close when none is left.
func (b *Bridge) generationOver() {
	if b.active.Add(-1) == 0 {
		select {
		case b.idle <- struct{}{}:
		default:
		}
	}
}

func (g *generation) startTyping(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped || g.typing || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, g.typingTimeout)
	defer cancel()
	if err := g.platform.Compose(ctx, g.key.WebsiteID, g.key.SessionID, true); err == nil {
		g.typing = true
	}
}

// stopTyping marks the generation stopped and turns the typing indicator off if it was on.
func (g *generation) stopTyping(ctx context.Context) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.typing {
		g.typing = false
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.typingTimeout)
		defer cancel()
		_ = g.platform.Compose(ctx, g.key.WebsiteID, g.key.SessionID, false)
	}
}

func (b *Bridge) cancelGeneration(key Key) {
	b.mu.Lock()
	g := b.gens[key]
	delete(b.gens, key)
	b.mu.Unlock()
	if g != nil {
		g.stopTyping(b.ctx) // first, so the indicator is off before the generation ends
		g.cancel()
		g.releaseLease()
	}
}

func (b *Bridge) clearGeneration(g *generation) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gens[g.key] == g {
		delete(b.gens, g.key)
		return true
	}
	return false
}

// question builds the assistant's input from the conversation.
func (b *Bridge) question(c *Conversation) assistant.Question {
	q := assistant.Question{WebsiteID: c.WebsiteID, SessionID: c.SessionID, Language: c.Language,
		Country: c.Country, Email: c.Email, ConversationTokens: c.TokensUsed, LanguageChosen: c.Data["language"] != ""}
	for _, t := range c.Transcript {
		q.History = append(q.History, assistant.Turn{Role: t.Role, Text: t.Text})
	}
	if used, err := b.opts.Store.Usage(b.ctx, c.WebsiteID, b.opts.Now().UTC().Format("2006-01-02")); err == nil {
		q.WebsiteTokensToday = used
	}
	if site := b.website(c.WebsiteID); site != nil && site.Hours != nil {
		hours, now := site.Hours, b.opts.Now()
		q.Hours = func() *assistant.SupportHours { return hours.facts(now) } // only for a question about hours
	}
	return q
}

// finishReply runs on the conversation's shard: it posts the answer only if the generation is still
// current and the conversation still belongs to the assistant, then records it.
func (b *Bridge) finishReply(ctx context.Context, key Key, d *replyDone) {
	defer b.generationOver() // the generation is over once its result is handled
	g := d.gen
	defer g.releaseLease() // once the answer is committed (or dropped)
	current := b.clearGeneration(g)
	if !current { // cancelled or superseded: nothing is posted
		g.stopTyping(ctx)
		return
	}
	defer g.stopTyping(ctx)
	st, _, err := b.load(ctx, key)
	if err != nil {
		b.log.Error("load for reply", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		return
	}
	c := &st.conv
	if c.ReplyDue != g.due {
		// A newer answer is owed (its message came through another replica, which left the answer
		// to us), or nothing is owed any more (answered or cancelled elsewhere): this one is
		// superseded. The newer one is written now, under the same lease.
		if c.ReplyDue != 0 && c.Mode == signals.ModeActive && b.shared() {
			g.mu.Lock()
			hold := g.lease
			g.lease = nil
			g.mu.Unlock()
			if hold != nil {
				hold.once.Do(hold.release)
			}
			b.startGeneration(c)
		}
		return
	}
	g.mu.Lock()
	hold := g.lease
	g.mu.Unlock()
	if hold != nil && !b.stillHolds(ctx, genLease(key), hold.token) {
		return // taken over by another replica, which answers instead
	}
	if c.Mode != signals.ModeActive {
		// Paused or handed over while generating: nothing is posted, and nothing is owed.
		if c.ReplyDue != 0 {
			c.ReplyDue = 0
			st.dirty = true
			if err := st.commit(ctx, ""); err != nil {
				b.log.Error("persist outbox", "website", key.WebsiteID, "session", key.SessionID, "err", err)
			}
		}
		return
	}
	now := b.opts.Now().UnixMilli()
	switch {
	case errors.Is(d.err, assistant.ErrBudgetExhausted):
		b.charge(ctx, st, d.answer.Usage)
		st.apply(signals.Input{Kind: signals.InputBudgetExhausted, Source: signals.SourceAssistant, Reason: signals.ReasonBudget, At: now})
	case d.err != nil:
		b.charge(ctx, st, d.answer.Usage) // failed attempts cost tokens too
		b.log.Warn("assistant failed", "website", key.WebsiteID, "session", key.SessionID, "err", d.err)
		st.apply(signals.Input{Kind: signals.InputModelFailed, Source: signals.SourceAssistant, Reason: signals.ReasonError, At: now, Detail: "model failed"})
	default:
		b.postAnswer(ctx, st, d.answer)
	}
	// The answer and what it decided are committed first (fenced); posting it is then a journal
	// entry, performed right away on this shard and retried like every Crisp write.
	c.ReplyDue = 0
	if err := st.commit(ctx, ""); err != nil {
		b.log.Error("persist reply", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		return
	}
	g.releaseLease()
	b.perform(ctx, st)
}

// charge adds what a model call spent, answered or failed, to the conversation's and the website's
// budgets.
func (b *Bridge) charge(ctx context.Context, st *step, u assistant.Usage) {
	c := &st.conv
	c.TokensUsed += u.Total()
	c.CostUSD += u.CostUSD
	if t := u.Total(); t > 0 {
		if _, err := b.opts.Store.AddUsage(ctx, c.WebsiteID, b.opts.Now().UTC().Format("2006-01-02"), t); err != nil {
			b.log.Error("add usage", "website", c.WebsiteID, "err", err)
		}
	}
	st.dirty = true
}

// postAnswer posts the answer (as a picker offering a human when the policy says so), records usage
// and then applies the model's tool decisions. The answer text is posted before a handover or resolve
// so the visitor never loses the assistant's last words.
func (b *Bridge) postAnswer(ctx context.Context, st *step, a assistant.Answer) {
	c := &st.conv
	now := b.opts.Now().UnixMilli()
	b.charge(ctx, st, a.Usage)
	if a.Language != "" && a.Language != c.Language && c.Data["language"] == "" {
		// The visitor writes another language than the browser's: the buttons and notices follow.
		c.Language = a.Language
		st.dirty = true
	}
	if a.Text != "" {
		m := OutMessage{Type: "text", Text: a.Text}
		offer := st.site.OfferHuman
		// The "resolved / talk to a human" choices follow answers to questions, not a greeting or
		// an "ok" (conversation turns); and the reply to a visitor's frustration ("this is
		// useless"), whatever the number of answers before it.
		if offer > 0 && !a.Handover && !a.Resolve && (a.Turn == assistant.TurnQuestion && c.Answers+1 >= offer || a.Turn == assistant.TurnFrustration) {
			m = OutMessage{Type: "picker", Picker: &Picker{ID: PickerAnswer, Text: a.Text, Choices: []Choice{
				{Value: ChoiceResolve, Label: b.text(st, "resolved")},
				{Value: ChoiceHuman, Label: b.text(st, "talk_to_human")},
			}}}
		}
		st.addJournal(JournalEntry{Kind: JournalAnswer, Message: &m})
		var srcs []string
		for _, s := range a.Sources {
			if s.URL != "" {
				srcs = append(srcs, s.URL)
			} else if s.Title != "" {
				srcs = append(srcs, s.Title)
			}
		}
		st.addTurn(Turn{Role: "assistant", Text: a.Text, At: now, Sources: srcs})
		c.Replies++
		st.noteAnswer(a, now)
		b.opts.Metrics.Reply(a.Offline)
		st.apply(signals.Input{Kind: signals.InputAnswered, Source: signals.SourceAssistant, At: now})
	}
	switch {
	case a.Handover:
		src := signals.SourceAssistant
		detail := a.HandoverReason
		if detail == "" {
			detail = "handover requested"
		}
		st.apply(signals.Input{Kind: signals.InputHandover, Source: src, Reason: signals.ReasonHuman, At: now, Detail: detail})
	case a.Resolve:
		n := len(st.actions)
		st.resolveRequest(signals.SourceAssistant, now)
		if a.Text != "" {
			// The answer just posted is the closing message: do not post the stock one too.
			added := slices.DeleteFunc(slices.Clone(st.actions[n:]), func(x signals.Action) bool { return x.Kind == signals.ActNotify })
			st.actions = append(st.actions[:n], added...)
		}
	}
}
