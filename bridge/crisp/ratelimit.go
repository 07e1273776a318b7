package crisp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// quotaDay is the period of Crisp's plugin quota.
const quotaDay = 24 * time.Hour

// quotaBucket is a client-side token bucket that keeps the client inside Crisp's daily request quota: it holds
// at most burst tokens and refills at (quota-burst)/24h, so that no 24-hour window (and so no quota
// day, whenever Crisp resets it) sees more than quota requests. It hands out reservations like
// golang.org/x/time/rate: a caller takes its token now (the count may go negative) and waits for the
// debt to refill, so waiters are served in order; a caller that gives up returns its token.
type quotaBucket struct {
	mu     sync.Mutex
	tokens float64       // may be negative: tokens reserved by waiters
	burst  float64       // capacity
	per    time.Duration // refill time of one token
	last   time.Time     // time tokens was last brought up to date
	now    func() time.Time
	stats  [numClasses]classStats
}

// newQuotaBucket returns a full bucket for quota requests a day with the given burst (<= 0: an hour's
// worth of quota). It returns nil when quota <= 0 (no limit).
func newQuotaBucket(quota, burst int, now func() time.Time) *quotaBucket {
	if quota <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, quota/24)
	}
	if burst >= quota {
		burst = max(1, quota/2)
	}
	refill := quota - burst
	if refill <= 0 { // quota of 1
		refill = quota
	}
	b := &quotaBucket{
		tokens: float64(burst),
		burst:  float64(burst),
		per:    quotaDay / time.Duration(refill),
		now:    now,
	}
	b.last = now()
	return b
}

// advance brings the token count up to date at t. Callers hold mu.
func (b *quotaBucket) advance(t time.Time) {
	if el := t.Sub(b.last); el > 0 {
		b.tokens = min(b.burst, b.tokens+float64(el)/float64(b.per))
		b.last = t
	}
}

// reserve takes one token at t and returns how long the caller must wait before using it.
func (b *quotaBucket) reserve(t time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(t)
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens * float64(b.per))
}

// cancel gives back a token reserved but not used.
func (b *quotaBucket) cancel() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	b.tokens = min(b.burst, b.tokens+1)
}

// left returns the whole tokens available now.
func (b *quotaBucket) left() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	if b.tokens < 0 {
		return 0
	}
	return int(b.tokens)
}

// floor returns the tokens class c leaves in the bucket for the classes above it.
func (b *quotaBucket) floor(c Class) int {
	return int(classFloor[c] * b.burst)
}

// take takes one token for class c at t when more than the class's floor is left; otherwise it
// returns how long until there would be. The top class (floor 0) always takes, as reserve does.
func (b *quotaBucket) take(c Class, t time.Time) (time.Duration, bool) {
	if c == ClassAnswer {
		return b.reserve(t), true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(t)
	f := float64(b.floor(c))
	if b.tokens-1 >= f {
		b.tokens--
		return 0, true
	}
	return time.Duration((f + 1 - b.tokens) * float64(b.per)), false
}

// wait blocks until a token is available to class c or ctx ends. It fails at once, with
// ErrRateLimited, when ctx's deadline comes before the token would. A class below the top does not
// hold a place in line while it waits: it looks again when its floor should be clear, so a higher
// class arriving meanwhile goes first.
func (b *quotaBucket) wait(ctx context.Context, c Class) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := &b.stats[c]
	waited := false
	defer func() {
		if waited {
			st.waiting.Add(-1)
		}
	}()
	for {
		now := b.now()
		d, took := b.take(c, now)
		if d <= 0 && took {
			st.granted.Add(1)
			return nil
		}
		if !waited {
			waited = true
			st.waited.Add(1)
			st.waiting.Add(1)
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(now.Add(d)) {
			if took {
				b.cancel()
			}
			st.refused.Add(1)
			return fmt.Errorf("%w: daily quota (%s): next token in %s: %w", ErrRateLimited, c, d.Round(time.Millisecond), context.DeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			if took {
				st.granted.Add(1)
				return nil
			}
		case <-ctx.Done():
			t.Stop()
			if took {
				b.cancel()
			}
			st.refused.Add(1)
			return fmt.Errorf("%w: daily quota (%s): %w", ErrRateLimited, c, ctx.Err())
		}
	}
}
