package bridge

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// replayInbox queues, at start-up, every event that was accepted (acknowledged) but not processed
// when the previous process stopped, oldest first. They go through the normal de-duplication: an
// entry whose event was committed before the crash is skipped.
func (b *Bridge) replayInbox() error {
	const max = 1_000_000 // a bound on memory; what is beyond it is replayed at the next start
	entries, err := b.inbox.Unprocessed(b.ctx, max)
	if err != nil {
		return fmt.Errorf("replay inbox: %w", err)
	}
	for i := range entries {
		e := &entries[i]
		ev := e.Event
		if ev.WebsiteID == "" || ev.SessionID == "" {
			b.removals <- e.ID
			continue
		}
		if err := b.enqueue(b.ctx, task{key: Key{ev.WebsiteID, ev.SessionID}, event: replayed(&ev, e.ID, 0)}); err != nil {
			return fmt.Errorf("replay inbox: %w", err)
		}
	}
	if len(entries) > 0 {
		b.log.Info("processing events accepted before the restart", "events", len(entries), "more", len(entries) == max)
	}
	return nil
}

// removeInbox marks an inbox entry processed; the remover deletes such entries in batches.
func (b *Bridge) removeInbox(id string) {
	if id != "" && b.removals != nil {
		b.removals <- id
	}
}

// remover deletes processed inbox entries in batches (one write per batch). A batch lost in a crash
// is harmless: those entries are replayed and skipped by their de-duplication ids.
func (b *Bridge) remover() {
	defer b.removerWG.Done()
	batch := make([]string, 0, 512)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := b.inbox.Remove(b.ctx, batch); err != nil {
			b.log.Warn("remove processed inbox entries", "entries", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case id, ok := <-b.removals:
			if !ok {
				flush()
				return
			}
			batch = append(batch, id)
			if len(batch) == cap(batch) {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// asyncEvent is an event offered by a reader that must not wait for its own fsync. The intake
// buffer holds pointers (64 KB for its 8,192 places rather than 2 MB of events): an event costs its
// bytes only while it waits.
type asyncEvent struct {
	ev   Event
	done func(error)
}

// HandleEventAsync accepts an event from a reader that must not wait for each event's fsync (the
// RTM socket, one goroutine reading events in order): the events are made durable in batches (one
// inbox commit per batch) by one intake goroutine, then queued in the order they were offered, and
// done (if not nil) is called with the outcome once the event is durable and queued. It returns
// ErrBusy when the intake buffer is full and ErrClosed after Close; without an inbox it is
// HandleEvent.
func (b *Bridge) HandleEventAsync(ctx context.Context, ev Event, done func(error)) error {
	if b.inbox == nil {
		err := b.HandleEvent(ctx, ev)
		if done != nil {
			done(err)
		}
		return err
	}
	b.asyncMu.Lock()
	defer b.asyncMu.Unlock()
	if b.asyncClosed {
		return ErrClosed
	}
	b.asyncPending.Add(1)
	a := &asyncEvent{ev: ev, done: done}
	select {
	case b.async <- a:
		return nil
	default:
	}
	// Full: wait a little for the batcher (it empties the buffer every commit), then give up.
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case b.async <- a:
		return nil
	case <-t.C:
		b.asyncPending.Add(-1)
		return fmt.Errorf("handle event %s: %w", ev.Name, ErrBusy)
	case <-ctx.Done():
		b.asyncPending.Add(-1)
		return fmt.Errorf("handle event %s: %w", ev.Name, ctx.Err())
	}
}

// batcher makes offered events durable in batches and queues them in order.
func (b *Bridge) batcher() {
	defer b.batcherWG.Done()
	const max = 1024
	batch := make([]*asyncEvent, 0, max)
	for first := range b.async {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < max {
			select {
			case e, ok := <-b.async:
				if !ok {
					break drain
				}
				batch = append(batch, e)
			default:
				break drain
			}
		}
		b.intakeBatch(batch)
		clear(batch)
	}
}

// intakeBatch accepts a batch in one inbox commit (retried briefly: the reader has moved on, so a
// failure here is logged, and the catch-up after the next reconnect is what recovers such events),
// then queues each event.
func (b *Bridge) intakeBatch(batch []*asyncEvent) {
	tasks := make([]task, 0, len(batch))
	entries := make([]InboxEntry, 0, len(batch))
	outcome := make([]error, len(batch))
	idx := make([]int, 0, len(batch))
	for i := range batch {
		ev := batch[i].ev
		if queue, err := b.admit(ev); !queue {
			outcome[i] = err
			continue
		}
		id := b.newInboxID()
		entries = append(entries, InboxEntry{ID: id, AcceptedAt: b.opts.Now().UnixMilli(), Event: ev})
		tasks = append(tasks, task{key: Key{ev.WebsiteID, ev.SessionID}, event: queue(&ev, id)})
		idx = append(idx, i)
	}
	if len(entries) > 0 {
		var err error
		for attempt := range 3 {
			ctx, cancel := context.WithTimeout(b.ctx, b.opts.CallTimeout)
			err = b.inbox.Accept(ctx, entries)
			cancel()
			if err == nil || b.ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
		if err != nil {
			b.log.Error("durable intake of a batch failed; a gap opens and the catch-up recovers it", "events", len(entries), "err", err)
			b.mu.Lock()
			listeners := slices.Clone(b.intakeFailed)
			b.mu.Unlock()
			for _, i := range idx {
				outcome[i] = fmt.Errorf("durable intake: %w", err)
				for _, fn := range listeners {
					fn(batch[i].ev)
				}
			}
			tasks = nil
		}
	}
	for n, t := range tasks {
		if err := b.enqueue(b.ctx, t); err != nil {
			outcome[idx[n]] = err
		}
	}
	for i := range batch {
		if batch[i].done != nil {
			batch[i].done(outcome[i])
		}
	}
	b.asyncPending.Add(-int64(len(batch)))
}

// stopAsync stops taking offered events and waits until those offered are queued.
func (b *Bridge) stopAsync() {
	b.asyncMu.Lock()
	if b.asyncClosed {
		b.asyncMu.Unlock()
		return
	}
	b.asyncClosed = true
	close(b.async)
	b.asyncMu.Unlock()
	b.batcherWG.Wait()
}
