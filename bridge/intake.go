package bridge

import (
	"fmt"
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
		if err := b.enqueue(b.ctx, task{key: Key{ev.WebsiteID, ev.SessionID}, event: &ev, inboxID: e.ID, replay: true}); err != nil {
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
