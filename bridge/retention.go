package bridge

import (
	"context"
	"fmt"
)

// SweepRetention erases every conversation idle for longer than Retention and returns how many, in
// batches that read only what is due (the store's retention index). It does nothing when the store
// cannot erase or retention is off.
func (b *Bridge) SweepRetention(ctx context.Context) (int, error) {
	er, ok := b.opts.Store.(Expirer)
	if !ok || b.opts.Retention <= 0 {
		return 0, nil
	}
	before := b.opts.Now().Add(-b.opts.Retention).UnixMilli()
	n := 0
	for {
		keys, err := er.Expire(ctx, before, 1000)
		if err != nil {
			return n, fmt.Errorf("retention: %w", err)
		}
		n += len(keys)
		for _, k := range keys {
			b.forget(k)
		}
		if len(keys) < 1000 {
			return n, nil
		}
	}
}

// Erase deletes a conversation's stored state (an erasure request): on its shard, in order with its
// events, after cancelling an answer being written. Erasing a conversation that is not stored is not
// an error; a later event starts it afresh.
func (b *Bridge) Erase(ctx context.Context, key Key) error {
	er, ok := b.opts.Store.(Eraser)
	if !ok {
		return fmt.Errorf("erase %s: the store cannot erase", key)
	}
	res := make(chan error, 1)
	c := &control{command: controlErase, erase: func() { b.forget(key); res <- er.Delete(b.ctx, key) }}
	if _, err := b.control(ctx, key, c); err != nil && !isNotFound(err) {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("erase %s: %w", key, ctx.Err())
	}
}

// forget drops what the process holds about a conversation: its answer in flight, its journal job.
func (b *Bridge) forget(key Key) {
	b.cancelGeneration(key)
	b.mu.Lock()
	if j := b.jobs[key]; j != nil {
		if j.timer != nil {
			j.timer.Stop()
		}
		if j.flush != nil {
			j.flush.Stop()
		}
	}
	delete(b.jobs, key)
	b.mu.Unlock()
}
