package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

// One answer per burst: visitors often write in bursts ("hi" / "I have a question" / "about my
// order"). With a Burst policy, an answer waits, before it starts, until the visitor has been quiet
// for Window (no new line, not typing, as their compose events tell) or until Max after the burst's
// first line, whichever comes first. Each new line supersedes the answer waiting (as it supersedes one
// being written), so the burst is answered once, with every line in the history. The added latency
// of a single line is Window: keep it short (the default configuration is 700 ms).

// Burst is a website's burst policy.
type Burst struct {
	Window time.Duration // quiet time after the last line (or the end of typing)
	Max    time.Duration // longest wait after the burst's first line
}

// maxBursts bounds the bursts kept before stale ones are pruned.
const maxBursts = 10000

// burstState is, per conversation, the burst being waited on.
type burstState struct {
	mu    sync.Mutex
	convs map[Key]*burstConv
}

type burstConv struct {
	start   time.Time     // the burst's first line
	last    time.Time     // the last line, or the last typing event
	typing  bool          // the visitor is typing
	changed chan struct{} // closed and replaced on every change
}

func (s *burstState) conv(key Key, now time.Time, maxWait time.Duration) *burstConv {
	if s.convs == nil {
		s.convs = map[Key]*burstConv{}
	}
	c := s.convs[key]
	if c == nil || now.Sub(c.last) > 2*maxWait {
		c = &burstConv{start: now, last: now, changed: make(chan struct{})}
		s.convs[key] = c
	}
	return c
}

func (c *burstConv) touch(now time.Time) {
	c.last = now
	close(c.changed)
	c.changed = make(chan struct{})
}

// burstLine records a visitor line the assistant is to answer, in a website with a burst policy.
func (b *Bridge) burstLine(st *step) {
	site := st.site
	if site.Burst == nil || st.conv.Mode != signals.ModeActive {
		return
	}
	s := &b.burst
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if len(s.convs) >= maxBursts {
		for k, c := range s.convs { // bursts whose answer never came (the assistant was stopped)
			if now.Sub(c.last) > 2*site.Burst.Max {
				delete(s.convs, k)
			}
		}
	}
	c := s.conv(st.conv.Key, now, site.Burst.Max)
	c.typing = false
	c.touch(now)
}

// burstTyping records the visitor's compose events ("start" / "stop"); it changes nothing stored.
func (b *Bridge) burstTyping(site *Website, ev Event) bool {
	if site.Burst == nil {
		return false
	}
	s := &b.burst
	s.mu.Lock()
	defer s.mu.Unlock()
	key := Key{ev.WebsiteID, ev.SessionID}
	c := s.convs[key]
	if c == nil {
		return false // typing before any line: the first line starts the burst
	}
	c.typing = ev.Typing == "start"
	c.touch(time.Now())
	return false
}

// burstWait waits, in an answer's goroutine before it takes a slot, until the burst is over. It
// returns false when life ends first (a newer line superseded the answer, or shutdown).
func (b *Bridge) burstWait(life context.Context, key Key) bool {
	site := b.website(key.WebsiteID)
	if site == nil || site.Burst == nil {
		return true
	}
	p := site.Burst
	s := &b.burst
	for {
		s.mu.Lock()
		c := s.convs[key]
		if c == nil {
			s.mu.Unlock()
			return true
		}
		end := c.start.Add(p.Max)
		if !c.typing {
			end = minTime(end, c.last.Add(p.Window))
		}
		wait, changed := time.Until(end), c.changed
		if wait <= 0 {
			delete(s.convs, key) // the next line starts a new burst
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-life.Done():
			t.Stop()
			return false
		case <-changed:
			t.Stop()
		case <-t.C:
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
