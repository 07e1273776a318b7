package crisp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// Defaults of Catchup.
const (
	// DefaultCatchupMaxConversations bounds the conversations one catch-up of a website reads: at
	// about one REST call each, it keeps a long gap from spending the whole daily quota.
	DefaultCatchupMaxConversations = 2000
	// DefaultMessagesPageHint is the page size assumed for GET .../messages (Crisp's is
	// UNCONFIRMED; the fake's is 40): a page shorter than it ends the history.
	DefaultMessagesPageHint = 20
	// maxMessagePages bounds the pages read back in one conversation.
	maxMessagePages = 100
)

// Catchup reads over REST what a website's conversations received since a time, as the events the
// RTM and web-hook decoders produce: it implements bridge.CatchupSource. For a website it lists the
// conversations updated since then (most recently updated first, 50 a page, until one is older or
// the list ends), and for each one reads its messages back from the newest with timestamp_before
// until they are older, plus its state and custom data (carried by the list items, else read). The
// calls go through the Client, so they take its retries and its daily quota (first come, first
// served: the quota bucket has no priority).
type Catchup struct {
	Client *Client
	// MaxConversations bounds the conversations read per website and catch-up (default
	// DefaultCatchupMaxConversations); the most recently updated are kept.
	MaxConversations int
	// MessagesPageHint is the page size assumed for the messages list (default
	// DefaultMessagesPageHint): paging back stops at a page shorter than it.
	MessagesPageHint int
	Logger           *slog.Logger // default: discard

	calls atomic.Int64
	mu    sync.Mutex
	// read remembers, per website, the conversations (session -> updated_at) whose events a Missed
	// that then failed returned already: the next Missed of the website skips them while they have not
	// changed, so a catch-up cut short (by the daily quota, say) resumes instead of starting over.
	read map[string]map[string]int64
}

var _ bridge.CatchupSource = (*Catchup)(nil)

// Calls returns the REST calls made by Missed so far (retries inside the client not counted).
func (c *Catchup) Calls() int64 { return c.calls.Load() }

// Missed returns the events of websiteID's conversations since since (Unix ms), oldest first within
// a conversation: per conversation, its state and data, then every message at or after since
// (message:send from the visitor, message:received from operators, with their fingerprints), then
// message:updated for pickers with a choice selected and fields with a value among them. When the
// conversation changed after its last message (a state or data change came last) the state and data
// come after the messages instead. Every event has Via bridge.ViaCatchup. On error, the events read
// so far are returned with it, and the next Missed of the website does not return them again while
// their conversations have not changed (the caller is expected to have fed them).
func (c *Catchup) Missed(ctx context.Context, websiteID string, since int64) ([]bridge.Event, error) {
	ctx = WithClass(ctx, ClassBackground)
	if c.Client == nil {
		return nil, errors.New("catch up: no client")
	}
	if websiteID == "" {
		return nil, errors.New("catch up: website id is required")
	}
	limit := c.MaxConversations
	if limit <= 0 {
		limit = DefaultCatchupMaxConversations
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := ListOptions{PerPage: MaxConversationsPage, OrderUpdated: true, UpdatedSince: time.UnixMilli(since)}
	seen := map[string]bool{}
	var out []bridge.Event
	for page := 1; len(seen) < limit; page++ {
		c.calls.Add(1)
		convs, err := c.Client.ListConversations(ctx, websiteID, page, opts)
		if err != nil {
			return out, fmt.Errorf("catch up %s: %w", websiteID, err)
		}
		older := false
		for _, conv := range convs {
			if conv.UpdatedAt < since {
				older = true // the filter should have left it out; the order says the rest is older too
				break
			}
			// An update during the listing moves a conversation to the front and shifts the others
			// back: one may be listed twice, none is skipped.
			if seen[conv.SessionID] || conv.SessionID == "" {
				continue
			}
			seen[conv.SessionID] = true
			if c.wasRead(websiteID, conv) {
				continue
			}
			evs, err := c.conversation(ctx, websiteID, conv, since)
			if errors.Is(err, errGone) {
				log.Debug("catch-up: conversation gone", "website", websiteID, "session", conv.SessionID)
				continue
			}
			if err != nil {
				return out, fmt.Errorf("catch up %s: %w", websiteID, err)
			}
			out = append(out, evs...)
			c.markRead(websiteID, conv)
			if len(seen) >= limit && len(convs) == MaxConversationsPage {
				log.Warn("catch-up: conversation bound reached, older updates skipped", "website", websiteID,
					"max_conversations", limit)
				break
			}
		}
		if older || len(convs) < MaxConversationsPage {
			break
		}
	}
	c.Forget(websiteID) // complete: the next catch-up starts over
	return out, nil
}

// Forget makes the next Missed of the website read every conversation again, also those a failed
// Missed returned: the caller could not feed them all.
func (c *Catchup) Forget(websiteID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.read, websiteID)
}

// wasRead reports whether a failed Missed already returned the conversation as it is now.
func (c *Catchup) wasRead(websiteID string, conv Conversation) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.read[websiteID][conv.SessionID]
	return ok && at == conv.UpdatedAt
}

func (c *Catchup) markRead(websiteID string, conv Conversation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read == nil {
		c.read = map[string]map[string]int64{}
	}
	if c.read[websiteID] == nil {
		c.read[websiteID] = map[string]int64{}
	}
	c.read[websiteID][conv.SessionID] = conv.UpdatedAt
}

// errGone marks a conversation removed between the list and the read.
var errGone = errors.New("conversation gone")

// conversation returns the events of one listed conversation since since.
func (c *Catchup) conversation(ctx context.Context, websiteID string, conv Conversation, since int64) ([]bridge.Event, error) {
	msgs, err := c.messagesSince(ctx, websiteID, conv.SessionID, since)
	if err == nil {
		err = c.completeMeta(ctx, websiteID, &conv)
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, errGone
	}
	if err != nil {
		return nil, err
	}
	var last int64
	for _, m := range msgs {
		last = max(last, m.Timestamp)
	}
	var missed, updates []bridge.Event
	for _, m := range msgs {
		if m.Timestamp < since {
			continue
		}
		ev, ok, err := messageEvent(websiteID, conv.SessionID, m)
		if err != nil {
			c.logger().Warn("catch-up: message skipped", "website", websiteID, "session", conv.SessionID, "err", err)
			continue
		}
		if ok {
			missed = append(missed, ev)
		}
		if up, ok := updateEvent(ev); ok {
			updates = append(updates, up)
		}
	}
	// The state and data are what they are now; when they changed is not known. When the last change
	// of the conversation was not a message they changed after every message: they come last.
	// Otherwise they come first, so that a pause written before the visitor wrote is seen before the
	// message (failing towards a human rather than answering what was meant for one).
	meta := metaEvents(websiteID, conv, since)
	after := conv.UpdatedAt > last
	for i := range meta {
		if after {
			meta[i].Timestamp = conv.UpdatedAt
		}
	}
	out := make([]bridge.Event, 0, len(meta)+len(missed)+len(updates))
	if !after {
		out = append(out, meta...)
	}
	out = append(out, missed...)
	out = append(out, updates...)
	if after {
		out = append(out, meta...)
	}
	return out, nil
}

func (c *Catchup) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// completeMeta reads the state and the custom data of a listed conversation whose list item lacks
// them (UNCONFIRMED that Crisp's list items always carry state and meta.data, as the fake's do).
func (c *Catchup) completeMeta(ctx context.Context, websiteID string, conv *Conversation) error {
	if conv.State == "" {
		c.calls.Add(1)
		st, err := c.Client.GetState(ctx, websiteID, conv.SessionID)
		if err != nil {
			return err
		}
		conv.State = st
	}
	if conv.Meta.Data == nil {
		c.calls.Add(1)
		m, err := c.Client.GetMeta(ctx, websiteID, conv.SessionID)
		if err != nil {
			return err
		}
		conv.Meta.Data = m.Data
	}
	return nil
}

// messagesSince reads a conversation's messages back from the newest until the oldest read is older
// than since, the history ends (a page shorter than MessagesPageHint, or an empty one) or no
// page brings anything new. It returns them oldest first, without duplicates. Pages overlap by one
// millisecond (timestamp_before is the oldest timestamp read plus one) so messages sharing the
// boundary millisecond are not lost.
func (c *Catchup) messagesSince(ctx context.Context, websiteID, sessionID string, since int64) ([]Message, error) {
	hint := c.MessagesPageHint
	if hint <= 0 {
		hint = DefaultMessagesPageHint
	}
	byFP := map[int64]Message{}
	before := int64(0)
	for page := 0; page < maxMessagePages; page++ {
		c.calls.Add(1)
		msgs, err := c.Client.Messages(ctx, websiteID, sessionID, before)
		if err != nil {
			return nil, err
		}
		fresh := 0
		oldest := int64(0)
		for _, m := range msgs {
			if _, dup := byFP[m.Fingerprint]; !dup {
				byFP[m.Fingerprint] = m
				fresh++
			}
			if oldest == 0 || m.Timestamp < oldest {
				oldest = m.Timestamp
			}
		}
		if fresh == 0 || oldest < since || len(msgs) < hint {
			break
		}
		before = oldest + 1
	}
	out := make([]Message, 0, len(byFP))
	for _, m := range byFP {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Timestamp != out[j].Timestamp {
			return out[i].Timestamp < out[j].Timestamp
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out, nil
}

// wireMessage is a REST message in the data shape of a message:send / message:received event, so
// that it is decoded by DecodeEvent exactly as the RTM and web-hook events are.
type wireMessage struct {
	WebsiteID   string          `json:"website_id"`
	SessionID   string          `json:"session_id"`
	Type        string          `json:"type"`
	Content     json.RawMessage `json:"content,omitempty"`
	From        string          `json:"from"`
	Origin      string          `json:"origin"`
	Timestamp   int64           `json:"timestamp"`
	Fingerprint int64           `json:"fingerprint"`
	Automated   bool            `json:"automated,omitempty"`
	User        struct {
		UserID   string `json:"user_id,omitempty"`
		Nickname string `json:"nickname,omitempty"`
	} `json:"user"`
}

// messageEvent turns a REST message into message:send (from the visitor) or message:received (from
// an operator, ourselves and bots included: the bridge tells them apart by origin). ok is false for
// other senders.
func messageEvent(websiteID, sessionID string, m Message) (bridge.Event, bool, error) {
	var name string
	switch m.From {
	case "user":
		name = bridge.EventMessageSend
	case "operator":
		name = bridge.EventMessageReceived
	default:
		return bridge.Event{}, false, nil
	}
	w := wireMessage{WebsiteID: websiteID, SessionID: sessionID, Type: m.Type, Content: m.Content, From: m.From,
		Origin: m.Origin, Timestamp: m.Timestamp, Fingerprint: m.Fingerprint, Automated: m.Automated}
	w.User.UserID, w.User.Nickname = m.User.UserID, m.User.Nickname
	raw, err := json.Marshal(w)
	if err != nil {
		return bridge.Event{}, false, fmt.Errorf("encode message %d: %w", m.Fingerprint, err)
	}
	ev, err := DecodeEvent(name, raw, bridge.ViaCatchup, websiteID)
	if err != nil {
		return bridge.Event{}, false, err
	}
	return ev, true, nil
}

// updateEvent returns the message:updated event of a picker with a choice selected or a field with
// a value (a click or an answer the gap may have hidden). Its de-duplication id includes the choice
// or the value, so one already processed is skipped.
func updateEvent(ev bridge.Event) (bridge.Event, bool) {
	m := ev.Message
	if m == nil {
		return bridge.Event{}, false
	}
	_, selected := m.Picker.Selected()
	if !selected && (m.Field == nil || m.Field.Value == "") {
		return bridge.Event{}, false
	}
	up := ev
	up.Name = bridge.EventMessageUpdated
	cp := *m
	up.Message = &cp
	return up, true
}

// metaEvents returns the conversation's current state and, when it has any, custom data, as
// session:set_state and session:set_data. They are edge-triggered in the bridge: a value it already
// has changes nothing.
func metaEvents(websiteID string, conv Conversation, since int64) []bridge.Event {
	var out []bridge.Event
	if validState(conv.State) {
		out = append(out, bridge.Event{Name: bridge.EventSessionSetState, Via: bridge.ViaCatchup, WebsiteID: websiteID,
			SessionID: conv.SessionID, State: conv.State, Timestamp: since})
	}
	if len(conv.Meta.Data) > 0 {
		data := make(map[string]string, len(conv.Meta.Data))
		for k, v := range conv.Meta.Data {
			data[k] = formatValue(v)
		}
		out = append(out, bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaCatchup, WebsiteID: websiteID,
			SessionID: conv.SessionID, Data: data, Timestamp: since})
	}
	return out
}
