package bridge

import (
	"context"
	"fmt"
	"sync"
)

// Settle returns once every event and control call accepted before it has been processed: a
// barrier is queued on every shard and Settle waits until all of them passed. Answers still being
// generated are not waited for (Generating tells how many there are); their results are processed
// by a later Settle.
func (b *Bridge) Settle(ctx context.Context) error {
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
