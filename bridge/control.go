package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/signalbridge/signalbridge/signals"
)

// Control commands of the admin API.
const (
	ControlStart    = "start"    // switch the assistant on
	ControlPause    = "pause"    // switch it off (reason signal unless given)
	ControlHandover = "handover" // hand over to a human (reason human)
	ControlResume   = "resume"   // give a handed-over or paused conversation back to the assistant
)

// ErrUnknownControl is returned for a control command that does not exist.
var ErrUnknownControl = errors.New("unknown control command")

// controlErase is the internal command of Erase.
const controlErase = "erase"

type control struct {
	erase   func() // controlErase: runs on the shard
	source  signals.Source
	command string
	reason  signals.Reason
	detail  string
	result  chan controlResult
}

type controlResult struct {
	conv Conversation
	err  error
}

// Control applies an external command (source api) to a conversation, in order with its events, and
// returns the conversation's new state. An unknown conversation is ErrNotFound.
func (b *Bridge) Control(ctx context.Context, key Key, command string, reason signals.Reason, detail string) (Conversation, error) {
	switch command {
	case ControlStart, ControlPause, ControlHandover, ControlResume:
	default:
		return Conversation{}, fmt.Errorf("%w: %q", ErrUnknownControl, command)
	}
	return b.control(ctx, key, &control{command: command, reason: reason, detail: detail})
}

func (b *Bridge) control(ctx context.Context, key Key, c *control) (Conversation, error) {
	c.result = make(chan controlResult, 1)
	if err := b.enqueue(ctx, task{key: key, ctrl: c}); err != nil {
		return Conversation{}, err
	}
	select {
	case r := <-c.result:
		return r.conv, r.err
	case <-ctx.Done():
		return Conversation{}, fmt.Errorf("control %s: %w", key, ctx.Err())
	}
}

func (b *Bridge) processControl(ctx context.Context, key Key, c *control) controlResult {
	if c.erase != nil {
		c.erase()
		return controlResult{}
	}
	st, found, err := b.load(ctx, key)
	if err != nil {
		return controlResult{err: err}
	}
	if !found {
		return controlResult{err: fmt.Errorf("conversation %s: %w", key, ErrNotFound)}
	}
	if c.source == signals.SourceTimer && !b.resumeDue(&st.conv, b.opts.Now().UnixMilli()) {
		// Checked again in order with the conversation's events: a human wrote since the sweep.
		return controlResult{conv: st.conv}
	}
	in := signals.Input{Source: c.source, Reason: c.reason, Detail: c.detail}
	if in.Source == "" {
		in.Source = signals.SourceAPI
	}
	switch c.command {
	case ControlStart, ControlResume:
		in.Kind = signals.InputStart
	case ControlPause:
		in.Kind = signals.InputPause
		if in.Reason == "" {
			in.Reason = signals.ReasonSignal
		}
	case ControlHandover:
		in.Kind = signals.InputHandover
		if in.Reason == "" {
			in.Reason = signals.ReasonHuman
		}
	}
	st.apply(in)
	if err := st.commit(ctx, ""); err != nil {
		return controlResult{err: err}
	}
	conv := st.conv
	b.perform(ctx, st)
	return controlResult{conv: conv}
}

// Conversation returns a conversation's state and its most recent audit entries.
func (b *Bridge) Conversation(ctx context.Context, key Key, auditLimit int) (Conversation, []AuditEntry, error) {
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		return Conversation{}, nil, err
	}
	audit, err := b.opts.Store.Audit(ctx, key, auditLimit)
	if err != nil {
		return Conversation{}, nil, err
	}
	return c, audit, nil
}

// List returns stored conversations, filtered by mode when mode is not empty.
func (b *Bridge) List(ctx context.Context, mode signals.Mode, limit int) ([]Conversation, error) {
	return b.opts.Store.List(ctx, mode, limit)
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
