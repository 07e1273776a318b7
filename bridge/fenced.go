package bridge

import "context"

// FencedCommitter is a Store whose commits can be made under a lease (see Leases): CommitFenced is
// Commit, except that it writes nothing and fails with ErrFenced unless the lease name is still held
// with token, checked atomically with the write. A replica that stalled past its lease therefore
// cannot overwrite what its successor wrote.
type FencedCommitter interface {
	CommitFenced(ctx context.Context, name string, token int64, c *Conversation, audit []AuditEntry, eventID string) error
}

// InboxCommitter is a Store whose commit can also remove the event's processed inbox entry in the
// same transaction (one write per event instead of a decision and a later removal).
type InboxCommitter interface {
	CommitRemoving(ctx context.Context, c *Conversation, audit []AuditEntry, eventID, inboxID string) error
}

// UnprocessedLoader is a Store that checks an event's de-duplication id and loads its conversation
// in one read (one bbolt transaction, one Redis round trip) instead of two.
type UnprocessedLoader interface {
	// LoadUnprocessed reports whether eventID ("" none) was processed. When it was not, it also
	// returns the stored conversation of key, or an error wrapping ErrNotFound when there is none;
	// when it was, the conversation is the zero value.
	LoadUnprocessed(ctx context.Context, key Key, eventID string) (c Conversation, processed bool, err error)
}
