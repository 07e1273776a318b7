package bridge

import (
	"context"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

func (b *Bridge) resumeLoop() {
	defer b.sweepWG.Done()
	t := time.NewTicker(b.opts.ResumeSweep)
	defer t.Stop()
	for {
		select {
		case <-b.stopSweep:
			return
		case <-t.C:
			if n, err := b.SweepResume(b.ctx); err != nil {
				b.log.Error("resume sweep", "err", err)
			} else if n > 0 {
				b.log.Info("resumed conversations without a human reply", "count", n)
			}
		}
	}
}

// SweepResume gives back to the assistant every conversation of a website with ResumeAfter set that
// was handed over (or paused by an operator) and where no human has written for that long. The
// resume is an ordinary start input with source timer, queued in order with the conversation's
// events. It returns how many were resumed.
func (b *Bridge) SweepResume(ctx context.Context) (int, error) {
	now := b.opts.Now().UnixMilli()
	n := 0
	for _, mode := range []signals.Mode{signals.ModeHuman, signals.ModePaused} {
		convs, err := b.opts.Store.List(ctx, mode, 10000)
		if err != nil {
			return n, err
		}
		for _, c := range convs {
			site := b.website(c.WebsiteID)
			// Budget handovers stay with the humans: the budget is still spent.
			if site.ResumeAfter <= 0 || mode == signals.ModePaused && c.Reason != signals.ReasonOperator ||
				c.Reason == signals.ReasonBudget {
				continue
			}
			last := c.Since
			for _, t := range c.Transcript {
				if t.Role == "operator" && t.At > last {
					last = t.At
				}
			}
			if now-last < site.ResumeAfter.Milliseconds() {
				continue
			}
			_, err := b.control(ctx, c.Key, &control{source: signals.SourceTimer, command: ControlResume,
				detail: "no human reply for " + site.ResumeAfter.String()})
			if err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
