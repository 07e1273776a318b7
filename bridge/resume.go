package bridge

import (
	"context"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

// every runs sweep every interval until Close, on one replica at a time when replicas share the
// store (the lease "sweep:<name>" for the interval), logging what it did.
func (b *Bridge) every(name string, interval time.Duration, sweep func(context.Context) (int, error), did string) {
	defer b.sweepWG.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stopSweep:
			return
		case <-t.C:
			if !b.sweepLease(b.ctx, name, interval) {
				continue // another replica runs this pass
			}
			if n, err := sweep(b.ctx); err != nil && b.ctx.Err() == nil {
				b.log.Error("sweep", "sweep", name, "err", err)
			} else if n > 0 {
				b.log.Info(did, "sweep", name, "count", n)
			}
		}
	}
}

// SweepResume gives back to the assistant every conversation of a website with ResumeAfter set that
// was handed over (or paused by an operator) and where no human has written for that long. It reads
// every such conversation, page by page when the store can (Pager). The resume is an ordinary start
// input with source timer, queued in order with the conversation's events; the condition is checked
// again on the conversation's shard when it is applied, so a human who wrote meanwhile keeps it. It
// returns how many were resumed.
func (b *Bridge) SweepResume(ctx context.Context) (int, error) {
	const page = 1000
	now := b.opts.Now().UnixMilli()
	pager, _ := b.opts.Store.(Pager)
	n := 0
	for _, mode := range []signals.Mode{signals.ModeHuman, signals.ModePaused} {
		var after Key
		for {
			var convs []Conversation
			var err error
			if pager != nil {
				convs, err = pager.ListAfter(ctx, mode, after, page)
			} else {
				convs, err = b.opts.Store.List(ctx, mode, 10*page)
			}
			if err != nil {
				return n, err
			}
			for i := range convs {
				c := &convs[i]
				if !b.resumeDue(c, now) {
					continue
				}
				res, err := b.control(ctx, c.Key, &control{source: signals.SourceTimer, command: ControlResume,
					detail: "no human reply for " + b.website(c.WebsiteID).ResumeAfter.String()})
				if err != nil {
					return n, err
				}
				if res.Mode == signals.ModeActive || res.Mode == signals.ModeWaiting {
					n++
				}
			}
			if pager == nil || len(convs) < page {
				break
			}
			after = convs[len(convs)-1].Key
		}
	}
	return n, nil
}

// resumeDue reports whether c is to be given back to the assistant at now (Unix ms): its website
// resumes after a delay, it was handed over or paused by an operator (not for a spent budget), and
// no human has written in it for that long.
func (b *Bridge) resumeDue(c *Conversation, now int64) bool {
	site := b.website(c.WebsiteID)
	switch {
	case site.ResumeAfter <= 0, c.Reason == signals.ReasonBudget:
		return false
	case c.Mode == signals.ModeHuman:
	case c.Mode == signals.ModePaused && c.Reason == signals.ReasonOperator:
	default:
		return false
	}
	last := c.Since
	for _, t := range c.Transcript {
		if t.Role == "operator" && t.At > last {
			last = t.At
		}
	}
	return now-last >= site.ResumeAfter.Milliseconds()
}
