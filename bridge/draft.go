package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/signals"
)

// Drafts for operators (copilot): while a human owns a conversation of a website with Drafts on,
// each new visitor message gets a suggested reply as a private note, with its sources, marked as a
// draft. It is never sent to the visitor, it is charged to the same budgets as answers, and none is
// written while an operator is typing in the conversation. An operator's note "/ai draft" asks for
// one on demand.
//
// The draft is generated off the conversation's shard (bounded by the same slots as answers) and
// comes back as an EventDraftResult through HandleEvent; on the shard it is charged and, if a human
// still owns the conversation, journaled as a note.

// EventDraftResult carries a generated draft back to its conversation (not a Crisp event):
// Message.Text holds a draftResult as JSON.
const EventDraftResult = "signalbridge:draft:result"

// EventMessageComposeReceive is an operator typing (or stopping) in a conversation: Typing is
// "start" or "stop".
const EventMessageComposeReceive = "message:compose:receive"

// operatorTypingFor is how long an operator's "start" counts without a "stop" (Crisp's chatbox
// stops showing an indicator after about as long).
const operatorTypingFor = 30 * time.Second

// draftState is the in-memory state of drafts: which conversations have an operator typing.
type draftState struct {
	mu     sync.Mutex
	typing map[Key]time.Time
}

type draftResult struct {
	Note     string          `json:"note,omitempty"`
	Usage    assistant.Usage `json:"usage"`
	OnDemand bool            `json:"on_demand,omitempty"` // asked with "/ai draft": posted even while typing
}

// humanOwns reports whether a human owns the conversation: handed over, or paused by an operator.
func humanOwns(c *Conversation) bool {
	return c.Mode == signals.ModeHuman || (c.Mode == signals.ModePaused && c.Reason == signals.ReasonOperator)
}

// operatorTyping records a human operator's typing state (our own typing indicator, automated or
// without a user, is not one); it changes nothing stored.
func (b *Bridge) operatorTyping(ev Event) bool {
	if ev.OperatorID == "" {
		return false
	}
	d := &b.drafts
	d.mu.Lock()
	defer d.mu.Unlock()
	key := Key{ev.WebsiteID, ev.SessionID}
	if ev.Typing == "start" {
		if d.typing == nil {
			d.typing = map[Key]time.Time{}
		}
		d.typing[key] = time.Now()
	} else {
		delete(d.typing, key)
	}
	return false
}

func (b *Bridge) operatorIsTyping(key Key) bool {
	d := &b.drafts
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.typing[key]
	return ok && time.Since(at) < operatorTypingFor
}

// wantsDraft reports whether a visitor message just added to the conversation gets a draft.
func (b *Bridge) wantsDraft(st *step) bool {
	c := &st.conv
	return st.site.Drafts && humanOwns(c) && !b.operatorIsTyping(c.Key) && len(c.Transcript) > 0 &&
		c.Transcript[len(c.Transcript)-1].Role == "visitor"
}

// startDraft generates a draft for the committed conversation c, off the shard; onDemand when an
// operator asked for it.
func (b *Bridge) startDraft(c Conversation, onDemand bool) {
	if !hasVisitorTurn(c.Transcript) {
		return
	}
	b.mu.Lock()
	if b.shardsClosed {
		b.mu.Unlock()
		return
	}
	b.genWG.Add(1)
	b.mu.Unlock()
	q := b.question(&c)
	key := c.Key
	go func() {
		defer b.genWG.Done()
		select {
		case b.sem <- struct{}{}:
		case <-b.ctx.Done():
			return
		}
		defer func() { <-b.sem }()
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.ReplyTimeout)
		defer cancel()
		start := b.opts.Now()
		ans, err := b.opts.Assistant.Reply(ctx, q)
		b.opts.Metrics.ModelCall(b.opts.Now().Sub(start), ans.Usage, ans.Offline, err)
		res := draftResult{Usage: ans.Usage, OnDemand: onDemand}
		switch {
		case err == nil && strings.TrimSpace(ans.Text) != "":
			res.Note = draftNote(ans)
		case err != nil && !errors.Is(err, assistant.ErrBudgetExhausted) && b.ctx.Err() == nil:
			b.log.Warn("draft for operators", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		}
		if res.Note == "" && res.Usage.Total() == 0 {
			return
		}
		raw, err := json.Marshal(res)
		if err != nil {
			return
		}
		if err := b.HandleEvent(b.ctx, Event{Name: EventDraftResult, Via: ViaAPI, WebsiteID: key.WebsiteID, SessionID: key.SessionID,
			Timestamp: b.opts.Now().UnixMilli(), Message: &Message{Type: "note", Text: string(raw)}}); err != nil && b.ctx.Err() == nil {
			b.log.Warn("draft result", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		}
	}()
}

func hasVisitorTurn(ts []Turn) bool {
	for _, t := range ts {
		if t.Role == "visitor" {
			return true
		}
	}
	return false
}

// draftNote is the operators' note of a draft.
func draftNote(a assistant.Answer) string {
	var sb strings.Builder
	sb.WriteString("AI draft (not sent to the visitor; copy what helps):\n\n")
	sb.WriteString(strings.TrimSpace(a.Text))
	if len(a.Sources) > 0 {
		sb.WriteString("\n\nSources:")
		for _, s := range a.Sources {
			sb.WriteString("\n- ")
			if s.Title != "" {
				sb.WriteString(s.Title + ": ")
			}
			sb.WriteString(s.URL)
		}
	}
	return sb.String()
}

// interpretDraft charges a draft's usage and journals its note while a human still owns the
// conversation and no operator is typing.
func (b *Bridge) interpretDraft(ctx context.Context, st *step, ev Event) bool {
	if ev.Message == nil {
		return false
	}
	var res draftResult
	if err := json.Unmarshal([]byte(ev.Message.Text), &res); err != nil {
		return false
	}
	b.charge(ctx, st, res.Usage)
	if res.Note != "" && humanOwns(&st.conv) && (res.OnDemand || !b.operatorIsTyping(st.conv.Key)) {
		st.addJournal(JournalEntry{Kind: JournalMessage, Message: &OutMessage{Type: "note", Text: res.Note}})
	}
	return true
}
