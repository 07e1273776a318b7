package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Several replicas on one shared store (Options.Shared, a store with Leases):
//
//   - One writer per conversation: every task of a conversation runs under its lease
//     ("conv:<website>/<session>", LeaseTTL), taken on the task's shard and released when the task
//     is done, and its commit is fenced by the lease's token (FencedCommitter), so a replica that
//     stalled past its lease cannot overwrite its successor's state.
//   - Any replica accepts any event: it is durable in the shared inbox first, then processed by the
//     replica that accepted it, under the conversation's lease; a duplicate accepted by two replicas
//     (RTM on each, a hook retried to another one) is processed once (de-duplication ids are checked
//     under the lease).
//   - An answer is posted only if it is still the latest one owed (Conversation.ReplyDue, written by
//     whichever replica started it) and the conversation is still active, as read from the shared
//     store right before posting. A replica generating an answer keeps a lease on it ("gen:<key>").
//   - Work a dead replica left is taken over by a sweep that one replica at a time runs
//     ("sweep:takeover"): owed answers whose generation lease lapsed, journal writes overdue, and inbox
//     entries accepted but not processed in time. The resume and retention sweeps also run on one
//     replica at a time.

// Grace periods of the takeover sweep, in lease times: work is taken over only when it is this
// overdue, so the replica doing it has every chance to finish first. A replica that dies holding
// work costs it at most about 1.5 lease times (the lease lapses, then the next sweep).
const (
	takeoverAnswer = 1 // an owed answer whose generation lease lapsed
	takeoverWrite  = 1 // a journal write due and not done
	takeoverInbox  = 3 // an accepted event not processed
)

// replicaID returns a random holder name for this process.
func replicaID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "replica-" + hex.EncodeToString(b[:])
}

func convLease(key Key) string    { return "conv:" + key.String() }
func genLease(key Key) string     { return "gen:" + key.String() }
func effectsLease(key Key) string { return "fx:" + key.String() }

// lockConv takes the conversation's lease for a task, waiting (on this shard) while another replica
// holds it, up to three lease times; it returns the fencing token, or 0 when leases are off.
func (b *Bridge) lockConv(key Key) (int64, error) {
	if !b.shared() {
		return 0, nil
	}
	deadline := time.Now().Add(3 * b.opts.LeaseTTL)
	wait := 5 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(b.ctx, b.opts.CallTimeout)
		tok, ok, err := b.leases.Acquire(ctx, convLease(key), b.opts.Replica, b.opts.LeaseTTL)
		cancel()
		switch {
		case err != nil:
			return 0, fmt.Errorf("lease %s: %w", key, err)
		case ok:
			b.mu.Lock()
			b.tokens[key] = tok
			b.mu.Unlock()
			return tok, nil
		case time.Now().After(deadline):
			return 0, fmt.Errorf("lease %s: held by another replica for over %s", key, 3*b.opts.LeaseTTL)
		}
		select {
		case <-time.After(wait):
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// unlockConv releases the conversation's lease after a task.
func (b *Bridge) unlockConv(key Key) {
	if !b.shared() {
		return
	}
	b.mu.Lock()
	delete(b.tokens, key)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), b.opts.CallTimeout)
	defer cancel()
	if err := b.leases.Release(ctx, convLease(key), b.opts.Replica); err != nil {
		b.log.Warn("release lease", "website", key.WebsiteID, "session", key.SessionID, "err", err)
	}
}

// fence returns the lease token the current task of key holds (0: none).
func (b *Bridge) fence(key Key) int64 {
	if !b.shared() {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens[key]
}

// Replica returns the name this process holds leases under.
func (b *Bridge) Replica() string { return b.opts.Replica }

// shared reports whether the bridge runs as one of several replicas.
func (b *Bridge) shared() bool { return b.leases != nil }

// underLease runs fn under the conversation's lease, kept alive by a heartbeat while fn runs; fn's
// context ends when the lease is lost (a stall past it, another holder), so its Crisp calls stop and
// its fenced commit fails. A task whose lease cannot be had is logged and dropped (its event stays in
// the inbox and is tried again).
func (b *Bridge) underLease(key Key, fn func(ctx context.Context)) bool {
	tok, err := b.lockConv(key)
	if err != nil {
		b.log.Warn("task skipped: no lease", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		return false
	}
	defer b.unlockConv(key)
	ctx, stop := b.hold(b.ctx, convLease(key), tok)
	defer stop()
	fn(ctx)
	return true
}

// hold keeps the lease name, taken with token, while work runs: a heartbeat renews it every third of
// LeaseTTL, and the returned context ends when the lease is lost: taken by another holder (a new
// token), or not renewed before it expires, as far as this process can tell (renewals that fail).
// stop ends the heartbeat; it does not release the lease. Without replicas it only returns a
// cancellable context.
func (b *Bridge) hold(parent context.Context, name string, token int64) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	if !b.shared() {
		return ctx, cancel
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ttl := b.opts.LeaseTTL
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		expire := time.NewTimer(ttl * 9 / 10) // renewed from the taking, conservatively
		defer expire.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-expire.C:
				b.log.Warn("lease expired before it could be renewed", "lease", name)
				cancel()
				return
			case <-tick.C:
			}
			sent := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, ttl/3)
			tok, ok, err := b.leases.Acquire(rctx, name, b.opts.Replica, ttl)
			rcancel()
			switch {
			case err != nil:
				b.log.Warn("renew lease", "lease", name, "err", err)
			case !ok || tok != token:
				b.log.Warn("lease lost to another holder", "lease", name)
				cancel()
				return
			default:
				expire.Reset(ttl*9/10 - time.Since(sent))
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			cancel()
		})
	}
}

// free reports whether nobody holds the lease name: a probe that takes it for a millisecond.
func (b *Bridge) free(ctx context.Context, name string) bool {
	_, ok, err := b.leases.Acquire(ctx, name, b.opts.Replica+"-probe", time.Millisecond)
	return err == nil && ok
}

// takeGenLease takes the lease of the answer about to be generated for key and keeps it until the
// returned release is called: after the answer is committed (or dropped), not when the model
// returns, so that no other replica takes the answer over while its result waits for the shard. The
// returned context ends when the lease is lost. ok is false when another replica holds it.
func (b *Bridge) takeGenLease(key Key) (ctx context.Context, token int64, release func(), ok bool) {
	if !b.shared() {
		return b.ctx, 0, func() {}, true
	}
	lctx, cancel := context.WithTimeout(b.ctx, b.opts.CallTimeout)
	tok, ok, err := b.leases.Acquire(lctx, genLease(key), b.opts.Replica, b.opts.LeaseTTL)
	cancel()
	if err != nil || !ok {
		if err != nil {
			b.log.Warn("generation lease", "website", key.WebsiteID, "session", key.SessionID, "err", err)
		}
		return nil, 0, nil, false
	}
	hctx, stop := b.hold(b.ctx, genLease(key), tok)
	return hctx, tok, func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), b.opts.CallTimeout)
		defer cancel()
		_ = b.leases.Release(rctx, genLease(key), b.opts.Replica)
	}, true
}

// stillHolds reports whether this replica still holds name with token (a renewal that checks).
func (b *Bridge) stillHolds(ctx context.Context, name string, token int64) bool {
	if !b.shared() {
		return true
	}
	tok, ok, err := b.leases.Acquire(ctx, name, b.opts.Replica, b.opts.LeaseTTL)
	return err == nil && ok && tok == token
}

// sweepLease takes the lease of a background job for one pass; false when another replica runs it.
func (b *Bridge) sweepLease(ctx context.Context, name string, ttl time.Duration) bool {
	if !b.shared() {
		return true
	}
	_, ok, err := b.leases.Acquire(ctx, "sweep:"+name, b.opts.Replica, ttl)
	if err != nil {
		b.log.Warn("sweep lease", "sweep", name, "err", err)
	}
	return err == nil && ok
}

// SweepTakeover queues here the work other replicas left undone (see the comment at the top of this
// file) and returns how many tasks it queued. Everything it queues goes through the normal,
// de-duplicated, leased path, so taking over work that was in fact done is harmless.
func (b *Bridge) SweepTakeover(ctx context.Context) (int, error) {
	if !b.shared() || !b.sweepLease(ctx, "takeover", b.opts.LeaseTTL) {
		return 0, nil
	}
	now := b.opts.Now()
	n := 0
	keys, err := b.opts.Store.Outbox(ctx, 10_000)
	if err != nil {
		return 0, fmt.Errorf("takeover: outbox: %w", err)
	}
	for _, k := range keys {
		c, err := b.opts.Store.Load(ctx, k)
		if err != nil {
			continue
		}
		overdue := false
		if c.ReplyDue != 0 && now.Sub(time.UnixMilli(c.ReplyDue)) > takeoverAnswer*b.opts.LeaseTTL && b.free(ctx, genLease(k)) {
			overdue = true
		}
		for _, e := range c.Journal {
			// Only a claim that expired is taken over (the effects lease, timed by the store): a
			// live holder's heartbeat keeps it however long its calls take.
			if now.Sub(time.UnixMilli(max(e.NextAt, e.Created))) > takeoverWrite*b.opts.LeaseTTL && b.free(ctx, effectsLease(k)) {
				overdue = true
				break
			}
		}
		if !overdue {
			continue
		}
		if err := b.enqueue(ctx, task{key: k, recover: true}); err != nil {
			return n, err
		}
		n++
	}
	if b.inbox != nil {
		entries, err := b.inbox.Unprocessed(ctx, 10_000)
		if err != nil {
			return n, fmt.Errorf("takeover: inbox: %w", err)
		}
		for i := range entries {
			e := &entries[i]
			if now.Sub(time.UnixMilli(e.AcceptedAt)) < takeoverInbox*b.opts.LeaseTTL || e.Event.WebsiteID == "" || e.Event.SessionID == "" {
				continue
			}
			ev := e.Event
			if err := b.enqueue(ctx, task{key: Key{ev.WebsiteID, ev.SessionID}, event: replayed(&ev, e.ID, 0)}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
