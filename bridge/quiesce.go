package bridge

import (
	"context"
	"fmt"
	"sync"
)

// Quiesce waits until everything queued before the call has been processed: when the resume sweep
// is off, the outbox recovery of Open has queued what the previous run still owed; then a barrier
// passes every shard, so every event, control call and finished generation queued before it has been
// handled (its actions performed). Generations still running are not waited for: combine it with
// Generating to wait for those. It must not be called concurrently with Close.
func (b *Bridge) Quiesce(ctx context.Context) error {
	if !b.opts.ResumeEnabled {
		// Without the resume loop, sweepWG only counts the outbox recovery, which ends by itself.
		done := make(chan struct{})
		go func() { b.sweepWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("quiesce: %w", ctx.Err())
		}
	}
	b.mu.Lock()
	if b.closed || b.shardsClosed {
		b.mu.Unlock()
		return ErrClosed
	}
	shards := b.shards
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, ch := range shards {
		wg.Add(1)
		select {
		case ch <- task{barrier: wg.Done}:
		case <-ctx.Done():
			return fmt.Errorf("quiesce: %w", ctx.Err())
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("quiesce: %w", ctx.Err())
	}
}
