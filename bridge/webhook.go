package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

// JournalWebhook is a guided-steps webhook call (docs/webhooks.md): performed in its own lane with
// retries and a deadline like every entry; its outcome (the reply, or a failure for good) comes back
// to the conversation as an EventWebhookResult through HandleEvent, durable before the entry is
// completed. Its payload is a WebhookDelivery, JSON in Message.Text (Message.Type "webhook"), so
// that stores need no new format.
const JournalWebhook = "webhook"

// EventWebhookResult is the outcome of a webhook call fed back to its conversation (not a Crisp
// event): Message.Text holds a WebhookResult as JSON.
const EventWebhookResult = "signalbridge:webhook:result"

// WebhookCall is a call the guided steps decided: the endpoint's name, the block and the answers so
// far by data key.
type WebhookCall struct {
	Block    string
	Endpoint string
	Answers  map[string]string
}

// WebhookResult is the outcome of a call, fed back to the guided steps: the reply's message, data and
// branch, or Failed when it failed for good.
type WebhookResult struct {
	Block   string            `json:"block"`
	Failed  bool              `json:"failed,omitempty"`
	Message string            `json:"message,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
	Branch  string            `json:"branch,omitempty"`
}

// WebhookDelivery is one call as journaled and as handed to the WebhookPoster. Delivery is its
// identity, the same on every retry, so the receiver can tell a retry from a new call.
type WebhookDelivery struct {
	Delivery  string            `json:"delivery"`
	WebsiteID string            `json:"website_id"`
	SessionID string            `json:"session_id"`
	Block     string            `json:"block"`
	Endpoint  string            `json:"endpoint"`
	Email     string            `json:"email,omitempty"`
	Language  string            `json:"language,omitempty"`
	Answers   map[string]string `json:"answers"`
	At        int64             `json:"at"` // Unix ms of the decision
}

// WebhookSettings are a website's webhook endpoints (name -> URL, from the configuration only), the
// secret that signs its calls, and how long a failing call is retried (0: MessageDeadline).
type WebhookSettings struct {
	Endpoints map[string]string
	Secret    []byte
	Deadline  time.Duration
}

// WebhookPoster performs calls (cmd wires package webhook's signed HTTP client). An error that
// implements Permanent() bool and reports true is not retried.
type WebhookPoster interface {
	PostWebhook(ctx context.Context, url string, secret []byte, d WebhookDelivery) (WebhookResult, error)
}

// addWebhook journals a call the guided steps decided, with the conversation's email and language as
// they are after the steps' answers.
func (st *step) addWebhook(call WebhookCall) {
	c := &st.conv
	now := st.b.opts.Now().UnixMilli()
	d := WebhookDelivery{WebsiteID: c.WebsiteID, SessionID: c.SessionID, Block: call.Block, Endpoint: call.Endpoint,
		Email: c.Email, Language: c.Language, Answers: call.Answers, At: now}
	if d.Answers == nil {
		d.Answers = map[string]string{}
	}
	d.Delivery = c.WebsiteID + ":" + c.SessionID + ":" + strconv.FormatUint(c.JournalSeq+1, 10) + ":" + strconv.FormatInt(now, 36)
	raw, err := json.Marshal(d)
	if err != nil {
		st.b.log.Error("encode webhook call", "website", c.WebsiteID, "session", c.SessionID, "err", err)
		return
	}
	st.addJournal(JournalEntry{Kind: JournalWebhook, Message: &OutMessage{Type: "webhook", Text: string(raw)}})
	if ws := st.site.Webhooks; ws != nil && ws.Deadline > 0 {
		e := &c.Journal[len(c.Journal)-1]
		e.Deadline = e.Created + ws.Deadline.Milliseconds()
	}
}

// performWebhook makes the call. A reply, or a failure for good (refused, not configured, past the
// deadline), is handed back to the conversation before the entry completes; any other failure is
// retried. A call is made at least once: a reply lost on the way is a retry with the same delivery.
func (b *Bridge) performWebhook(ctx context.Context, key Key, e *JournalEntry) error {
	if e.Message == nil {
		return nil
	}
	var d WebhookDelivery
	if err := json.Unmarshal([]byte(e.Message.Text), &d); err != nil {
		return nil // nothing a retry can fix; the steps stay at the block until a human helps
	}
	log := b.log.With("website", key.WebsiteID, "session", key.SessionID, "block", d.Block, "endpoint", d.Endpoint)
	failed := func(why string, err error) error {
		log.Error("webhook call failed for good", "why", why, "attempts", e.Attempts+1, "err", err)
		return b.webhookOutcome(ctx, key, WebhookResult{Block: d.Block, Failed: true})
	}
	site := b.website(key.WebsiteID)
	var url string
	if site != nil && site.Webhooks != nil {
		url = site.Webhooks.Endpoints[d.Endpoint]
	}
	if url == "" || b.opts.Webhooks == nil {
		return failed("endpoint not configured", nil)
	}
	res, err := b.opts.Webhooks.PostWebhook(ctx, url, site.Webhooks.Secret, d)
	if err != nil {
		if permanent(err) {
			return failed("refused", err)
		}
		if b.opts.Now().UnixMilli() >= e.Deadline {
			return failed("deadline", err)
		}
		return fmt.Errorf("webhook %s: %w", d.Endpoint, err)
	}
	res.Block, res.Failed = d.Block, false
	return b.webhookOutcome(ctx, key, res)
}

// webhookExpired feeds the failure of a call whose deadline passed before it could be made (again):
// the guided steps waiting on it take their "failed" branch.
func (b *Bridge) webhookExpired(key Key, e *JournalEntry) {
	if e.Message == nil {
		return
	}
	var d WebhookDelivery
	if err := json.Unmarshal([]byte(e.Message.Text), &d); err != nil {
		return
	}
	b.log.Error("webhook call failed for good", "website", key.WebsiteID, "session", key.SessionID,
		"block", d.Block, "endpoint", d.Endpoint, "why", "deadline", "attempts", e.Attempts)
	if err := b.webhookOutcome(b.ctx, key, WebhookResult{Block: d.Block, Failed: true}); err != nil {
		b.log.Error("webhook failure not recorded", "website", key.WebsiteID, "session", key.SessionID, "err", err)
	}
}

// webhookOutcome feeds a call's outcome to its conversation, durably, through the normal intake.
func (b *Bridge) webhookOutcome(ctx context.Context, key Key, res WebhookResult) error {
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode webhook result: %w", err)
	}
	return b.HandleEvent(ctx, Event{Name: EventWebhookResult, Via: ViaAPI, WebsiteID: key.WebsiteID, SessionID: key.SessionID,
		Timestamp: b.opts.Now().UnixMilli(), Message: &Message{Type: "webhook", Text: string(raw)}})
}

// interpretWebhook applies a call's outcome to the guided steps, while the assistant still runs
// them: a human who took over meanwhile keeps the conversation and the reply is only logged.
func (b *Bridge) interpretWebhook(ctx context.Context, st *step, ev Event) bool {
	if ev.Message == nil || st.site.Steps == nil {
		return false
	}
	var res WebhookResult
	if err := json.Unmarshal([]byte(ev.Message.Text), &res); err != nil {
		return false
	}
	if st.conv.Mode != signals.ModeActive {
		b.log.Warn("webhook result after the guided steps stopped", "website", st.conv.WebsiteID,
			"session", st.conv.SessionID, "block", res.Block, "mode", st.conv.Mode)
		return false
	}
	return b.runSteps(ctx, st, StepInput{Webhook: &res})
}
