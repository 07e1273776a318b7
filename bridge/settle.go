package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Settle returns once every event and control call accepted before it has been processed (events
// offered with HandleEventAsync included) and the Crisp writes they decided that are due have been
// attempted (journal passes, and their results, included; the removal of performed entries
// committed). Answers still being generated are not waited for (Generating tells how many there
// are); their results are processed by a later Settle. Retries not yet due are not waited for.
func (b *Bridge) Settle(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for b.asyncPending.Load() > 0 { // events offered by a reader are queued first
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("settle: %w", ctx.Err())
		}
	}
	for round := 0; ; round++ {
		b.flushCompletions(ctx) // removals of performed entries that wait for a commit: now
		if err := b.barrier(ctx); err != nil {
			return err
		}
		// Removals deferred while the barrier passed are flushed by one more round; a flush whose
		// commit failed is retried later, not waited for.
		if b.passes.Load() == 0 && (round >= 2 || !b.completionsPending()) {
			return nil
		}
		// A pass is running: its result is queued on its shard when it ends; pass another barrier.
		for b.passes.Load() > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return fmt.Errorf("settle: %w", ctx.Err())
			}
		}
	}
}

// barrier waits until a barrier queued now on every shard has passed.
func (b *Bridge) barrier(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range b.shards {
		wg.Add(1)
		if err := b.enqueueOn(ctx, i, task{barrier: wg.Done}); err != nil {
			return fmt.Errorf("settle: %w", err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("settle: %w", ctx.Err())
	}
}
