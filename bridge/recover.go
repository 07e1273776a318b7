package bridge

import (
	"context"

	"github.com/signalbridge/signalbridge/signals"
)

// recoverOutbox queues, after a start, every conversation that still owed the visitor an answer
// when the previous process stopped (crash, kill -9): its answer is generated again, unless Crisp
// shows it was posted.
func (b *Bridge) recoverOutbox() {
	defer b.sweepWG.Done()
	keys, err := b.opts.Store.Outbox(b.ctx, 100000)
	if err != nil {
		b.log.Error("read outbox", "err", err)
		return
	}
	if len(keys) > 0 {
		b.log.Info("answering what was owed before the restart", "conversations", len(keys))
	}
	for _, k := range keys {
		select {
		case <-b.stopSweep:
			return
		default:
		}
		if err := b.enqueue(b.ctx, task{key: k, recover: true}); err != nil {
			return
		}
	}
}

// recoverOne runs on the conversation's shard: it performs the journal the conversation left (every
// entry looked up in Crisp before it is posted again), and answers what is still owed. An owed answer
// was never posted: an answer is committed (and the debt cleared) before it is posted.
func (b *Bridge) recoverOne(ctx context.Context, key Key) {
	log := b.log.With("website", key.WebsiteID, "session", key.SessionID)
	st, found, err := b.load(ctx, key)
	if err != nil || !found {
		return
	}
	c := &st.conv
	b.kickJournal(ctx, st) // Crisp writes decided before the restart
	if c.ReplyDue == 0 {
		return
	}
	b.mu.Lock()
	_, running := b.gens[key]
	b.mu.Unlock()
	if running {
		return // a new message already started an answer
	}
	// A crash may have left the typing indicator on.
	tctx, cancel := context.WithTimeout(ctx, b.typingTimeout())
	if err := b.opts.Platform.Compose(tctx, key.WebsiteID, key.SessionID, false); err != nil {
		log.Warn("stop typing after restart", "err", err)
	}
	cancel()
	if c.Mode != signals.ModeActive {
		c.ReplyDue = 0
		st.dirty = true
		if err := st.commit(ctx, ""); err != nil {
			log.Error("persist outbox", "err", err)
		}
		return
	}
	log.Info("answering a message owed before the restart")
	b.startGeneration(c)
}
