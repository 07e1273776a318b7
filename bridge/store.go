package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

// ErrNotFound is returned when a conversation is not stored.
var ErrNotFound = errors.New("not found")

// Key identifies a conversation.
type Key struct {
	WebsiteID string
	SessionID string
}

// String returns "website/session".
func (k Key) String() string { return k.WebsiteID + "/" + k.SessionID }

// Turn is one message of the bounded transcript window kept per conversation.
type Turn struct {
	Role        string   `json:"role"` // "visitor", "assistant" or "operator"
	Text        string   `json:"text"`
	At          int64    `json:"at"` // Unix ms
	Fingerprint int64    `json:"fp,omitempty"`
	Sources     []string `json:"src,omitempty"` // knowledge-base URLs cited by an assistant answer
}

// Conversation is the durable state of one conversation.
type Conversation struct {
	Key
	signals.State
	Language      string   // conversation language (session data "language", locales, website default)
	Country       string   // visitor country, when known
	Email         string   // visitor email, when known
	Locales       []string // visitor browser locales
	MetaLoaded    bool     // Crisp meta was read once for this conversation
	Transcript    []Turn   // bounded window, oldest first
	ScenarioIndex int      // current block of the guided steps; -1 when done or none
	TokensUsed    int64    // model tokens spent in this conversation
	CostUSD       float64  // model cost spent in this conversation
	Replies       int      // assistant answers posted in total
	CreatedAt     int64    // Unix ms
	UpdatedAt     int64    // Unix ms
	// Data is the conversation's session data as last seen (bounded), for guided-steps conditions.
	Data map[string]string
	// Segments are the conversation's segments as last seen.
	Segments []string
	// Deliveries counts, per transport, the deliveries of each signal value ("rtm\x00start_chatbot"
	// -> 2), so a late copy of an old change arriving on the other transport is not a new edge.
	Deliveries map[string]int
	// ReplyDue is when an answer was owed to the visitor (Unix ms), 0 when none: the outbox. A
	// restart answers what is still owed.
	ReplyDue int64
	// Journal holds the Crisp writes decided and not yet performed, oldest first; JournalSeq is the
	// sequence number of the last entry added.
	Journal    []JournalEntry
	JournalSeq uint64
	// Epoch counts the conversation's changes of mode and resolutions: the journal entries decided
	// in an epoch that has ended are dropped (effect.Plan).
	Epoch uint64
	// CrispAt is the newest Crisp timestamp (Unix ms, Crisp's clock) of an event of the
	// conversation: the anchor of the fallback "was it posted?" check, which never reads the
	// bridge's own clock.
	CrispAt int64
	// Matched are the fingerprints of Crisp messages that the fallback check took for one of our
	// entries (newest last, bounded), so that one message never counts for two entries.
	Matched []int64
}

// Owes reports whether the conversation still owes work: an answer or a Crisp write. Stores index
// such conversations so a restart finds them without a scan (Store.Outbox).
func (c *Conversation) Owes() bool { return c.ReplyDue != 0 || len(c.Journal) > 0 }

// AuditEntry is one transition of a conversation, kept in a bounded trail. A refused start is also
// recorded: Refused set, From and To both the unchanged mode.
type AuditEntry struct {
	At     int64          `json:"at"` // Unix ms
	Source signals.Source `json:"source"`
	From   signals.Mode   `json:"from"`
	To     signals.Mode   `json:"to"`
	Reason signals.Reason `json:"reason"`
	Detail string         `json:"detail,omitempty"`
	// Refused marks a start from an untrusted source (data, page, button) refused while a human
	// owns the conversation.
	Refused bool `json:"refused,omitempty"`
}

// Store keeps conversations, processed event ids and audit trails durably. Implementations must be
// safe for concurrent use; the bridge never calls Commit concurrently for the same conversation.
type Store interface {
	// Load returns the stored conversation, or ErrNotFound.
	Load(ctx context.Context, key Key) (Conversation, error)
	// Processed reports whether eventID was committed before (and not yet purged).
	Processed(ctx context.Context, eventID string) (bool, error)
	// Commit atomically saves c, appends audit to its trail and, when eventID is not empty, marks it
	// processed. It is durable when it returns.
	Commit(ctx context.Context, c *Conversation, audit []AuditEntry, eventID string) error
	// Audit returns the most recent audit entries of a conversation, oldest first.
	Audit(ctx context.Context, key Key, limit int) ([]AuditEntry, error)
	// List returns up to limit conversations, filtered by mode when mode is not empty.
	List(ctx context.Context, mode signals.Mode, limit int) ([]Conversation, error)
	// AddUsage adds tokens to a website's usage of one day ("2006-01-02") and returns the new total.
	AddUsage(ctx context.Context, websiteID, day string, tokens int64) (int64, error)
	// Usage returns a website's token usage of one day.
	Usage(ctx context.Context, websiteID, day string) (int64, error)
	// Outbox returns up to limit conversations that owe work (Conversation.Owes: an answer or a
	// journal entry), without scanning the others.
	Outbox(ctx context.Context, limit int) ([]Key, error)
}

// Platform is what the bridge needs from Crisp. bridge/crisp implements it over REST.
type Platform interface {
	// Send posts a message as operator with our origin and returns its fingerprint.
	Send(ctx context.Context, websiteID, sessionID string, m OutMessage) (int64, error)
	// UpdateMeta merges the update into the conversation's meta (read-merge-write of data and segments).
	UpdateMeta(ctx context.Context, websiteID, sessionID string, u MetaUpdate) error
	// Meta reads a conversation's meta (used once per conversation, not per message).
	Meta(ctx context.Context, websiteID, sessionID string) (Meta, error)
	// SetState sets the conversation state: "pending", "unresolved" or "resolved".
	SetState(ctx context.Context, websiteID, sessionID, state string) error
	// Compose starts (typing=true) or stops the operator typing indicator.
	Compose(ctx context.Context, websiteID, sessionID string, typing bool) error
	// Availability tells whether humans can answer the website now.
	Availability(ctx context.Context, websiteID string) (Availability, error)
}

// Clock returns the current time; tests inject their own.
type Clock func() time.Time

// InboxEntry is one accepted event waiting to be processed: the durable intake. ID is unique per
// accepted delivery; it doubles as the event's de-duplication id when the event has none of its own,
// so re-processing an entry after a crash is harmless.
type InboxEntry struct {
	ID         string `json:"id"`
	AcceptedAt int64  `json:"at"` // Unix ms
	Event      Event  `json:"event"`
}

// Inbox keeps accepted events durably until they are processed. A hook is acknowledged (2xx), and an
// RTM event processed, only after Accept returned. Implementations group the fsyncs of concurrent
// Accept calls into one commit.
type Inbox interface {
	// Accept makes the entries durable; it returns once they are (or with an error, in which case
	// none of them is acknowledged).
	Accept(ctx context.Context, entries []InboxEntry) error
	// Unprocessed returns up to limit accepted entries not yet removed, oldest first (at start-up,
	// what a crash left).
	Unprocessed(ctx context.Context, limit int) ([]InboxEntry, error)
	// Remove forgets processed entries. It need not be durable at once: an entry processed again
	// after a crash is skipped by its de-duplication id.
	Remove(ctx context.Context, ids []string) error
}

// Cursors keeps small named positions durably, for example the time of the last event seen per
// website, from which a catch-up after a gap starts.
type Cursors interface {
	// Cursor returns the stored value of name, 0 when none.
	Cursor(ctx context.Context, name string) (int64, error)
	// SetCursor stores v for name when it is greater than the stored value (cursors never go back).
	SetCursor(ctx context.Context, name string, v int64) error
}

// Leases hands out per-name leases with fencing tokens, for several replicas sharing one store: one
// replica at a time processes a conversation (name "conv:<website>/<session>") or runs a piece of
// background work (name "sweep:resume"). A holder that stalls past its lease loses it; the fencing
// token of a newer holder is greater, and writes made with an older token fail with ErrFenced.
type Leases interface {
	// Acquire takes or renews the lease of name for holder, for ttl. ok is false when another
	// holder has it; token is the fencing token, greater than every token handed out before.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (token int64, ok bool, err error)
	// Release gives the lease up if holder still has it.
	Release(ctx context.Context, name, holder string) error
}

// ErrFenced is returned by a write made under a lease that has since passed to another holder.
var ErrFenced = errors.New("lease lost: fenced by a newer holder")

// Pager is implemented by stores that list conversations page by page (the resume sweep reads every
// due conversation, not only the first page).
type Pager interface {
	// ListAfter returns up to limit conversations in key order after after (from the start when it
	// is the zero Key), filtered by mode when mode is not empty.
	ListAfter(ctx context.Context, mode signals.Mode, after Key, limit int) ([]Conversation, error)
}

// Eraser is implemented by stores that erase a conversation on request (an erasure request).
type Eraser interface {
	// Delete erases a conversation's stored state: the conversation, its audit trail, its indexes.
	Delete(ctx context.Context, key Key) error
}

// Expirer is implemented by stores that erase conversations idle for too long (retention).
type Expirer interface {
	// Expire erases up to limit conversations last changed before idleBefore (Unix ms; stores may
	// round to the day) and returns their keys, reading only what is due.
	Expire(ctx context.Context, idleBefore int64, limit int) ([]Key, error)
}
