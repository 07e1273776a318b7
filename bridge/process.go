package bridge

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/effect"
	"github.com/signalbridge/signalbridge/signals"
)

// Picker ids and choice values of the bridge's own pickers and fields.
const (
	PickerAnswer  = "sb-answer"   // an answer with the "talk to a human / resolved" choices
	ChoiceHuman   = "sb:human"    // visitor wants a human
	ChoiceResolve = "sb:resolved" // visitor says the question is resolved
	FieldEmail    = "sb-email"    // email asked when nobody is online
)

// EventID is the de-duplication key of an event: (website, session, event, fingerprint) for messages,
// plus the selected choice or field value for updates (a picker is clicked once per choice). Data and
// state events have no id: they are edge-triggered by the state machine.
func EventID(ev Event) string {
	switch ev.Name {
	case EventMessageSend, EventMessageReceived:
		return ev.WebsiteID + "|" + ev.SessionID + "|" + ev.Name + "|" + strconv.FormatInt(ev.Fingerprint, 10)
	case EventSessionSetData:
		if ev.Via != ViaHooks || ev.Timestamp == 0 {
			return "" // RTM never repeats; edges and delivery counts handle the rest
		}
		// A retried or replayed hook carries the same envelope timestamp and data.
		keys := slices.Sorted(maps.Keys(ev.Data))
		h := fnv.New64a()
		for _, k := range keys {
			h.Write([]byte(k + "\x00" + ev.Data[k] + "\x00"))
		}
		return ev.WebsiteID + "|" + ev.SessionID + "|" + ev.Name + "|" + strconv.FormatInt(ev.Timestamp, 10) +
			"|" + strconv.FormatUint(h.Sum64(), 36)
	case EventMessageUpdated:
		h := fnv.New64a()
		if m := ev.Message; m != nil {
			if c, ok := m.Picker.Selected(); ok {
				h.Write([]byte("c:" + c.Value))
			}
			if m.Field != nil {
				h.Write([]byte("f:" + m.Field.Value))
			}
			h.Write([]byte("t:" + m.Text))
		}
		return ev.WebsiteID + "|" + ev.SessionID + "|" + ev.Name + "|" + strconv.FormatInt(ev.Fingerprint, 10) +
			"|" + strconv.FormatUint(h.Sum64(), 36)
	}
	return ""
}

// step is the in-progress processing of one task for one conversation.
type step struct {
	b       *Bridge
	site    *Website
	conv    Conversation
	audit   []AuditEntry
	actions []signals.Action
	meta    MetaUpdate   // written after the commit (email from a field, data from steps)
	posts   []OutMessage // posted after the commit (guided steps)
	dirty   bool
	seq0    uint64 // the journal's sequence when the step began: entries above it are this step's
	// inboxID is the event's inbox entry, removed by the step's commit when the store can
	// (InboxCommitter); inboxDone says it was.
	inboxID   string
	inboxDone bool
	// unsaved: performed journal entries left out of conv.Journal whose removal from the store
	// this step's commit writes (deferCompletion).
	unsaved []uint64
	// dirtyData: conv.Data is this step's own copy; ownDeliveries: likewise conv.Deliveries.
	dirtyData     bool
	ownDeliveries bool
	insight       stepInsight // what the step did for its website's insights (insights.go)
	wantDraft     bool        // a draft for operators is generated after the commit (draft.go)
	draftAsked    bool        // ... because an operator asked for it ("/ai draft")
}

func (b *Bridge) website(id string) *Website {
	w := b.opts.Websites(id)
	if w == nil {
		w = &Website{ID: id, Signals: signals.DefaultConfig(), Language: "en"}
	}
	return w
}

// load returns the stored conversation or a new one in the website's start mode.
func (b *Bridge) load(ctx context.Context, key Key) (*step, bool, error) {
	c, err := b.opts.Store.Load(ctx, key)
	return b.loaded(key, c, err)
}

// loaded makes the step of a conversation read from the store (err from the read).
func (b *Bridge) loaded(key Key, c Conversation, err error) (*step, bool, error) {
	site := b.website(key.WebsiteID)
	st := &step{b: b, site: site}
	switch {
	case err == nil:
		st.conv = c
		st.seq0 = c.JournalSeq
		b.stripDone(st)
		return st, true, nil
	case errors.Is(err, ErrNotFound):
		now := b.opts.Now().UnixMilli()
		st.conv = Conversation{Key: key, State: site.Signals.Initial(now), Language: site.Language,
			CreatedAt: now, UpdatedAt: now, ScenarioIndex: 0}
		st.dirty = true
		return st, false, nil
	default:
		return nil, false, fmt.Errorf("load %s: %w", key, err)
	}
}

// apply runs one input through the state machine and records the transition and actions.
func (st *step) apply(in signals.Input) signals.Result {
	if in.At == 0 {
		in.At = st.b.opts.Now().UnixMilli()
	}
	res := st.site.Signals.Step(st.conv.State, in)
	st.conv.State = res.State
	st.dirty = true
	enter := false
	for _, a := range res.Actions {
		if a.Kind == signals.ActRunScenario {
			enter = true // decided here, below, so its messages commit with this step
			continue
		}
		if a.Kind == signals.ActCancel {
			st.conv.ReplyDue = 0 // a cancelled answer is never owed
		}
		st.actions = append(st.actions, a)
	}
	if t := res.Transition; t != nil {
		st.conv.Epoch++ // what was decided for the mode that ended is dropped
		st.audit = append(st.audit, AuditEntry{At: t.At, Source: t.Source, From: t.From, To: t.To,
			Reason: t.Reason, Detail: t.Detail})
		st.b.opts.Metrics.Transition(t.Reason, t.Source, t.To)
		switch t.Source {
		case signals.SourceData, signals.SourceButton, signals.SourcePage, signals.SourceAPI:
			st.b.opts.Metrics.SignalApplied(t.Source)
		}
		if t.To == signals.ModeHuman {
			st.b.opts.Metrics.Handover(t.Reason)
		}
		st.b.log.Info("transition", "website", st.conv.WebsiteID, "session", st.conv.SessionID,
			"from", t.From, "to", t.To, "reason", t.Reason, "source", t.Source)
		if t.From == signals.ModeActive {
			st.conv.ReplyDue = 0 // the assistant stopped: nothing is owed any more
		}
		if t.To == signals.ModeActive || t.To == signals.ModeWaiting {
			st.clearWriteBack(t.At, t.To)
		}
		if t.To == signals.ModeActive && t.Reason != signals.ReasonResolved {
			st.answerPending(t.At) // a resolution starts over: nothing is pending
		}
	}
	if enter && st.site.Steps != nil && st.conv.ScenarioIndex >= 0 {
		st.b.enterSteps(st)
	}
	if r := res.Refused; r != nil {
		// The store numbers audit entries by the Transitions counter: a refusal takes a number too.
		st.conv.Transitions++
		st.audit = append(st.audit, AuditEntry{At: r.At, Source: r.Source, From: r.From, To: r.From,
			Reason: r.Reason, Detail: res.Note, Refused: true})
		st.b.opts.Metrics.SignalRefused(r.Source)
		st.b.log.Info("start refused", "website", st.conv.WebsiteID, "session", st.conv.SessionID,
			"mode", r.From, "reason", st.conv.Reason, "source", r.Source)
	}
	st.limited(res)
	if len(res.Unknown) > 0 {
		st.b.log.Info("signal value is not a command", "website", st.conv.WebsiteID,
			"session", st.conv.SessionID, "values", len(res.Unknown))
	}
	return res
}

// resolveRequest applies a request to resolve (the visitor's button or words, the model's tool, the
// guided steps); when the machine accepts it, the conversation starts a fresh window at once.
func (st *step) resolveRequest(src signals.Source, at int64) {
	res := st.apply(signals.Input{Kind: signals.InputResolveRequest, Source: src, At: at})
	if slices.ContainsFunc(res.Actions, func(a signals.Action) bool {
		return a.Kind == signals.ActSetState && a.State == signals.CrispResolved
	}) {
		st.insight.resolved = st.conv.Mode == signals.ModeActive
		st.freshWindow()
	}
}

// maxDeliveries bounds the per-transport delivery counts kept per conversation.
const maxDeliveries = 96

// lateCopy reports whether this delivery of value (for name: a signal key, or "state") must not be
// applied because it is stale:
//   - a copy of a change another transport already delivered. Each real change reaches us once per
//     transport (RTM never repeats; hook retries are de-duplicated by EventID), so the nth delivery
//     of a value on one transport is new only if the other transport has delivered it fewer than n
//     times;
//   - a hook older than the newest hook already seen for name: hooks may arrive out of order, and
//     their envelope timestamp is Crisp's time of the event.
//
// Every delivery is counted, applied or not, so the counts of both transports stay comparable.
func (st *step) lateCopy(ev Event, name, value string) bool {
	var other string
	switch ev.Via {
	case ViaRTM:
		other = ViaHooks
	case ViaHooks:
		other = ViaRTM
	default:
		return false
	}
	c := &st.conv
	if len(c.Deliveries) >= maxDeliveries {
		c.Deliveries = nil // forget old values rather than grow; only copies older than this slip through
	}
	if !st.ownDeliveries || c.Deliveries == nil {
		// The stored map may be shared with the loaded value: copy it once per step.
		c.Deliveries = maps.Clone(c.Deliveries)
		if c.Deliveries == nil {
			c.Deliveries = map[string]int{}
		}
		st.ownDeliveries = true
	}
	st.dirty = true
	stale := false
	if ev.Via == ViaHooks && ev.Timestamp > 0 {
		tk := "\x00newest\x00" + name
		if int64(c.Deliveries[tk]) > ev.Timestamp {
			stale = true
		} else {
			c.Deliveries[tk] = int(ev.Timestamp)
		}
	}
	self := ev.Via + "\x00" + name + "\x00" + value
	c.Deliveries[self]++
	return stale || c.Deliveries[self] <= c.Deliveries[other+"\x00"+name+"\x00"+value]
}

// dropLateCopy returns the event's data without the signal key when that delivery is stale.
func (st *step) dropLateCopy(ev Event) map[string]string {
	key := st.site.Signals.Vocabulary.Key
	v, ok := ev.Data[key]
	if !ok || !st.lateCopy(ev, key, v) {
		return ev.Data
	}
	out := maps.Clone(ev.Data)
	delete(out, key)
	return out
}

// Bounds of the session data kept per conversation (for guided-steps conditions).
const (
	maxDataKeys  = 64
	maxDataValue = 256
)

// keepData merges session data into the conversation's copy, bounded in keys and value length.
func (st *step) keepData(data map[string]string) {
	c := &st.conv
	for k, v := range data {
		if len(v) > maxDataValue {
			continue
		}
		if old, ok := c.Data[k]; ok && old == v {
			continue
		}
		if _, ok := c.Data[k]; !ok && len(c.Data) >= maxDataKeys {
			continue
		}
		if c.Data == nil {
			c.Data = make(map[string]string, len(data))
		} else if !st.dirtyData {
			c.Data = maps.Clone(c.Data)
		}
		st.dirtyData = true
		c.Data[k] = v
		st.dirty = true
	}
}

// clearWriteBack makes the written-back keys tell the truth again when the assistant is back after
// one of our write-backs (a pause or a handover): the reason is emptied, the time is now and the
// state key says the new mode, so a Bot scenario or the website snippet branching on them never
// sees a pause that is over. Our own chatbot_paused:<reason> value of the signal key is emptied
// too, only if Crisp still holds it; a value the scenario or the page wrote (start_chatbot) is left
// alone. One write, conditional on the signal key.
func (st *step) clearWriteBack(at int64, mode signals.Mode) {
	v := st.site.Signals.Vocabulary
	standing := v.Parse(st.conv.Written[v.Key]).Ours
	// The state key, once written, follows every change of mode (active <-> waiting too).
	stale := v.StateKey != "" && st.conv.Written[v.StateKey] != "" && st.conv.Written[v.StateKey] != string(mode)
	if !standing && !stale {
		return // nothing of ours stands or tells an old mode
	}
	data := map[string]string{}
	if v.ReasonKey != "" && standing {
		data[v.ReasonKey] = ""
	}
	if v.AtKey != "" {
		data[v.AtKey] = time.UnixMilli(at).UTC().Format(time.RFC3339)
	}
	if v.StateKey != "" {
		data[v.StateKey] = string(mode)
	}
	// Conditional on the signal key in every case: the write carries the whole data map (Crisp may
	// replace it), so a newer signal written meanwhile must win.
	cur := st.conv.Last[v.Key]
	expect := map[string]string{v.Key: cur}
	if v.Parse(cur).Ours {
		data[v.Key] = ""
		last := maps.Clone(st.conv.Last)
		last[v.Key] = "" // its echo is the same value: no edge
		st.conv.Last = last
	}
	written := maps.Clone(st.conv.Written)
	for k, val := range data {
		written[k] = val
	}
	written[v.Key] = "" // no write-back of ours stands any more
	st.conv.Written = written
	if len(data) == 0 {
		return
	}
	st.actions = append(st.actions, signals.Action{Kind: signals.ActWriteBack, Data: data, Expect: expect, Reason: signals.ReasonStart})
}

// answerPending answers the visitor's last message when the assistant is switched on after it
// arrived (a Bot scenario that starts the AI on "new user message", a visitor who picks "AI"):
// only if it is the last turn, recent, and no guided steps are about to run.
func (st *step) answerPending(at int64) {
	tr := st.conv.Transcript
	if len(tr) == 0 || tr[len(tr)-1].Role != "visitor" || at-tr[len(tr)-1].At > st.b.opts.PendingWindow.Milliseconds() {
		return
	}
	if st.site.Steps != nil && st.conv.ScenarioIndex >= 0 {
		return
	}
	for _, a := range st.actions {
		if a.Kind == signals.ActReply {
			return
		}
	}
	st.actions = append(st.actions, signals.Action{Kind: signals.ActReply, Reason: signals.ReasonSignal, Source: signals.SourceVisitor})
}

// freshWindow starts a new topic after a resolution, whether or not the mode changed: the next
// message is a new question, and the resolved one (its transcript and cited sources) must neither
// be answered again nor fill a later handover note.
func (st *step) freshWindow() {
	st.conv.Epoch++ // a resolution ends what was decided for the old topic
	st.dirty = true
	if len(st.conv.Transcript) > 0 {
		st.conv.Transcript = nil
		st.dirty = true
	}
}

func (st *step) addTurn(t Turn) {
	if r := []rune(t.Text); len(r) > st.b.opts.MaxTurnText {
		t.Text = string(r[:st.b.opts.MaxTurnText-1]) + "…" // bounded storage; the start says what was asked
	}
	st.conv.Transcript = append(st.conv.Transcript, t)
	if n := len(st.conv.Transcript) - st.b.opts.TranscriptLimit; n > 0 {
		st.conv.Transcript = append([]Turn(nil), st.conv.Transcript[n:]...)
	}
	st.dirty = true
}

// commit persists the conversation, its new audit entries, the Crisp writes it decided (its
// journal) and the processed event id atomically.
func (st *step) commit(ctx context.Context, eventID string) error {
	st.journalize()
	st.sealJournal()
	// The outbox: an answer about to be generated is owed until it is posted (or no longer due),
	// so a restart in between answers it. Each new answer marks its own time: an answer whose mark
	// was replaced (a newer message, maybe on another replica) is superseded and never posted.
	if slices.ContainsFunc(st.actions, func(a signals.Action) bool { return a.Kind == signals.ActReply }) {
		st.conv.ReplyDue = max(st.b.opts.Now().UnixMilli(), st.conv.ReplyDue+1)
		st.dirty = true
	}
	if !st.dirty && eventID == "" {
		return nil
	}
	st.conv.UpdatedAt = st.b.opts.Now().UnixMilli()
	var err error
	ic, folds := st.b.opts.Store.(InboxCommitter)
	switch fc, ok := st.b.opts.Store.(FencedCommitter); {
	case ok && st.b.shared():
		err = fc.CommitFenced(ctx, convLease(st.conv.Key), st.b.fence(st.conv.Key), &st.conv, st.audit, eventID)
	case folds && st.inboxID != "" && !st.inboxDone:
		err = ic.CommitRemoving(ctx, &st.conv, st.audit, eventID, st.inboxID)
		st.inboxDone = err == nil
	default:
		err = st.b.opts.Store.Commit(ctx, &st.conv, st.audit, eventID)
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", st.conv.Key, err)
	}
	st.recordInsight()
	st.b.committed(st) // deferred removals written, new entries fresh
	st.audit, st.dirty = nil, false
	st.seq0 = st.conv.JournalSeq
	return nil
}

// processEvent is the whole life of one event on its shard. inboxID is its durable intake entry
// (removed once the event is processed); an event without a de-duplication id of its own is
// de-duplicated by it, so replaying the entry after a crash is harmless.
func (b *Bridge) processEvent(ctx context.Context, ev Event, inboxID string, replay bool, tries int) {
	id := EventID(ev)
	processed := true // false: a failure left it for a retry
	var st *step
	defer func() {
		if processed {
			if st == nil || !st.inboxDone {
				b.removeInbox(inboxID)
			}
		} else {
			b.retryEvent(ev, inboxID, tries)
		}
	}()
	if id == "" && inboxID != "" && (replay || b.shared()) {
		id = "inbox:" + inboxID // checked here when it may have been processed already
	}
	// Attributes are built only when something is logged: most events log nothing.
	logErr := func(msg string, err error) {
		b.log.Error(msg, "website", ev.WebsiteID, "session", ev.SessionID, "event", ev.Name, "err", err)
	}
	key := Key{ev.WebsiteID, ev.SessionID}
	var found bool
	var err error
	if ul, ok := b.opts.Store.(UnprocessedLoader); ok {
		// The duplicate check and the load in one read.
		c, dup, lerr := ul.LoadUnprocessed(ctx, key, id)
		if lerr == nil && dup {
			b.duplicate(ev)
			return
		}
		st, found, err = b.loaded(key, c, lerr)
	} else {
		if id != "" {
			dup, err := b.opts.Store.Processed(ctx, id)
			if err != nil {
				logErr("check processed", err)
				processed = false
				return
			}
			if dup {
				b.duplicate(ev)
				return
			}
		}
		st, found, err = b.load(ctx, key)
	}
	if err != nil {
		logErr("load conversation", err)
		processed = false
		return
	}
	st.inboxID = inboxID
	if ev.Message != nil && ev.Timestamp > st.conv.CrispAt && ev.Via != "" {
		st.conv.CrispAt = ev.Timestamp // Crisp's clock: the anchor of the fallback posted-check
	}
	own := EventID(ev) != ""
	mattered := b.interpret(ctx, st, ev)
	if !mattered && (!found || !own && !st.dirty) {
		// Typing, routing, our own echoes...: nothing to keep, nothing to commit; processing it
		// again changes nothing either. A message event with an id of its own is still marked
		// processed: the same input, retried after the mode changed, could matter then.
		return
	}
	if id == "" && inboxID != "" {
		id = "inbox:" + inboxID // committed with the state: a replay of this entry is a duplicate
	}
	if err := st.commit(ctx, id); err != nil {
		logErr("persist", err)
		processed = false
		return
	}
	b.perform(ctx, st)
	if st.wantDraft {
		b.startDraft(st.conv, st.draftAsked) // draft.go
	}
}

// duplicate counts an event skipped because it was processed already.
func (b *Bridge) duplicate(ev Event) {
	b.opts.Metrics.Duplicate(ev.Name)
	b.log.Debug("duplicate event skipped", "website", ev.WebsiteID, "session", ev.SessionID, "event", ev.Name, "via", ev.Via)
}

// retryEvent processes an accepted event again after a store error or a lost lease (it is still in
// the inbox), a little later, instead of leaving it until the next restart; after maxEventTries it is
// left to the restart (or, with replicas, to the takeover sweep).
func (b *Bridge) retryEvent(ev Event, inboxID string, tries int) {
	if inboxID == "" || tries >= maxEventTries {
		return
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return // processed at the next start
	}
	key := Key{ev.WebsiteID, ev.SessionID}
	q := replayed(&ev, inboxID, tries+1)
	time.AfterFunc(effect.Backoff(tries+1), func() {
		_ = b.enqueue(b.ctx, task{key: key, event: q})
	})
}

// maxEventTries bounds the retries of one event in one process.
const maxEventTries = 8

// interpret turns an event into state-machine inputs and direct state updates. It reports whether
// the event mattered at all.
func (b *Bridge) interpret(ctx context.Context, st *step, ev Event) bool {
	at := ev.Timestamp
	if at == 0 {
		at = b.opts.Now().UnixMilli()
	}
	c := &st.conv
	switch ev.Name {
	case EventMessageSend:
		m := ev.Message
		if m == nil || b.ours(m) {
			return false
		}
		text := m.Text
		turn := Turn{Role: "visitor", Text: text, At: at, Fingerprint: ev.Fingerprint}
		st.startWhenClosed(at) // hours.go
		if !c.MetaLoaded && c.Mode == signals.ModeActive {
			b.loadMeta(ctx, st)
		}
		if c.Mode == signals.ModeActive && st.site.Steps != nil && c.ScenarioIndex >= 0 && m.Type == "text" {
			// The message that begins the guided steps is the visitor's question: it stays in the
			// transcript and is answered when the steps hand over to the assistant. A message typed
			// as the answer to a step is not a question and stays out of it.
			began := c.ScenarioIndex == 0
			if began {
				st.addTurn(turn)
			}
			if b.runSteps(ctx, st, StepInput{Text: text}) {
				return true
			}
			if began {
				c.Transcript = c.Transcript[:len(c.Transcript)-1]
			}
		}
		st.addTurn(turn)
		st.apply(signals.Input{Kind: signals.InputVisitorMessage, Source: signals.SourceVisitor, At: at})
		b.burstLine(st)                 // burst.go
		st.wantDraft = b.wantsDraft(st) // draft.go
		return true

	case EventMessageReceived:
		m := ev.Message
		if m == nil || b.ours(m) || isCrispBot(m) {
			return false
		}
		if m.Type == "note" {
			if !st.site.NoteCommands {
				return false
			}
			switch strings.ToLower(strings.TrimSpace(m.Text)) {
			case "/ai on", "/ai start", "/ai resume":
				st.apply(signals.Input{Kind: signals.InputStart, Source: signals.SourceOperator, At: at, Detail: "note command"})
				return true
			case "/ai off", "/ai pause":
				st.apply(signals.Input{Kind: signals.InputPause, Source: signals.SourceOperator, Reason: signals.ReasonOperator, At: at, Detail: "note command"})
				return true
			case "/ai draft": // draft.go: a draft on demand, typing or not
				st.wantDraft = st.site.Drafts && humanOwns(&st.conv)
				st.draftAsked = st.wantDraft
				return st.wantDraft
			}
			return false
		}
		st.addTurn(Turn{Role: "operator", Text: m.Text, At: at, Fingerprint: ev.Fingerprint})
		st.apply(signals.Input{Kind: signals.InputOperatorMessage, Source: signals.SourceOperator, At: at})
		return true

	case EventMessageUpdated:
		return b.interpretUpdate(ctx, st, ev, at)

	case EventWebhookResult:
		return b.interpretWebhook(ctx, st, ev) // webhook.go

	case EventSessionSyncPages:
		return b.greetOnPage(ctx, st, ev) // greet.go

	case EventMessageComposeReceive:
		return b.operatorTyping(ev) // draft.go

	case EventMessageComposeSend:
		return b.burstTyping(st.site, ev) // burst.go

	case EventDraftResult:
		return b.interpretDraft(ctx, st, ev) // draft.go

	case EventSessionSetData:
		st.keepData(ev.Data)
		ev.Data = st.dropLateCopy(ev)
		if lang := ev.Data["language"]; lang != "" && lang != c.Language {
			if st.site.ResolveLanguage != nil {
				lang = st.site.ResolveLanguage(lang, c.Locales)
			}
			c.Language = lang
			st.dirty = true
		}
		res := st.apply(signals.Input{Kind: signals.InputData, Source: signals.SourceData, Data: ev.Data, At: at,
			WebsiteID: c.WebsiteID, SessionID: c.SessionID, Now: b.opts.Now().UnixMilli()})
		if hv := st.site.HandoverValue; hv != "" {
			for _, v := range res.Unknown {
				if v == hv || strings.HasPrefix(v, hv+st.site.Signals.Vocabulary.NonceSep) {
					st.apply(signals.Input{Kind: signals.InputHandover, Source: signals.SourcePage, Reason: signals.ReasonHuman, At: at, Detail: "page handover"})
				}
			}
		}
		b.greetFromPage(ctx, st, res.Unknown) // greet.go
		return true

	case EventSessionSetState:
		if st.lateCopy(ev, "\x00state", ev.State) {
			return true // counted; a stale or copied state change is not applied again
		}
		wasResolved := c.CrispState == signals.CrispResolved
		st.apply(signals.Input{Kind: signals.InputStateChanged, Source: signals.SourceResolution, Value: ev.State, At: at})
		if ev.State == signals.CrispResolved && !wasResolved {
			st.freshWindow()
		}
		return true

	case EventSessionSetSegments:
		if !slices.Equal(c.Segments, ev.Segments) {
			c.Segments = slices.Clone(ev.Segments)
			st.dirty = true
			return true
		}
		return false

	case EventSessionSetEmail:
		if ev.Email != "" && ev.Email != c.Email && validEmail(ev.Email) {
			c.Email = ev.Email
			st.dirty = true
			return true
		}
	}
	return false
}

func (b *Bridge) interpretUpdate(ctx context.Context, st *step, ev Event, at int64) bool {
	m := ev.Message
	if m == nil {
		return false
	}
	c := &st.conv
	if m.Picker != nil {
		choice, ok := m.Picker.Selected()
		if !ok {
			return false
		}
		switch choice.Value {
		case ChoiceHuman:
			st.apply(signals.Input{Kind: signals.InputHandover, Source: signals.SourceVisitor, Reason: signals.ReasonHuman, At: at, Detail: "visitor clicked talk to a human"})
			return true
		case ChoiceResolve:
			st.resolveRequest(signals.SourceVisitor, at)
			return true
		}
		if st.site.Steps != nil && c.Mode == signals.ModeActive && c.ScenarioIndex >= 0 {
			if b.runSteps(ctx, st, StepInput{PickerID: m.Picker.ID, Choice: choice.Value}) {
				return true
			}
		}
		res := st.apply(signals.Input{Kind: signals.InputButton, Source: signals.SourceButton, Value: choice.Value, At: at})
		return res.Transition != nil || res.Refused != nil
	}
	if f := m.Field; f != nil && f.Value != "" {
		if f.ID == FieldEmail {
			email := strings.TrimSpace(f.Value)
			reply := "email_thanks"
			if !validEmail(email) {
				reply = "invalid_email"
			} else {
				c.Email = email
				st.dirty = true
				st.meta.Email = email
			}
			st.actions = append(st.actions, signals.Action{Kind: signals.ActNotify, Text: reply, Source: signals.SourceVisitor})
			if c.Mode == signals.ModeHuman {
				// Our message turns a pending conversation unresolved in Crisp: keep it on top of the
				// human inbox.
				st.actions = append(st.actions, signals.Action{Kind: signals.ActSetState, State: signals.CrispPending, Source: signals.SourceVisitor, Reason: c.Reason})
			}
			return true
		}
		if st.site.Steps != nil && c.Mode == signals.ModeActive && c.ScenarioIndex >= 0 {
			return b.runSteps(ctx, st, StepInput{FieldID: f.ID, Value: f.Value})
		}
	}
	return false
}

// loadMeta reads the conversation's meta once (email, country, locales, language data) so that
// later messages need no read at all.
func (b *Bridge) loadMeta(ctx context.Context, st *step) {
	c := &st.conv
	ctx, cancel := context.WithTimeout(ctx, b.opts.CallTimeout)
	defer cancel()
	m, err := b.opts.Platform.Meta(ctx, c.WebsiteID, c.SessionID)
	if err != nil {
		b.log.Warn("read meta", "website", c.WebsiteID, "session", c.SessionID, "err", err)
		return
	}
	c.MetaLoaded = true
	st.dirty = true
	if c.Email == "" && validEmail(m.Email) {
		c.Email = m.Email
	}
	c.Country, c.Locales = m.Country, m.Locales
	st.keepData(m.Data)
	if len(m.Segments) > 0 {
		c.Segments = slices.Clone(m.Segments)
	}
	lang := m.Data["language"]
	if st.site.ResolveLanguage != nil {
		lang = st.site.ResolveLanguage(lang, m.Locales)
	}
	if lang != "" {
		c.Language = lang
	}
}

// ours reports whether a message is one of our own, echoed back by Crisp.
func (b *Bridge) ours(m *Message) bool {
	return m.Origin == b.opts.PluginURN
}

// isCrispBot reports whether a message comes from Crisp's own no-code bot (not a human takeover).
func isCrispBot(m *Message) bool {
	return strings.HasPrefix(m.Origin, "urn:crisp.im:bot") || (m.Automated && m.Origin != "chat")
}

func validEmail(s string) bool { return assistant.ValidEmail(s) }
