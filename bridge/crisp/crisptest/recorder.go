package crisptest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// Call is one recorded REST call.
type Call struct {
	Method   string
	Path     string // full path, e.g. "/v1/website/W/conversation/S/message"
	Query    string // raw query
	Tier     string // X-Crisp-Tier
	Status   int
	Body     []byte // request body
	Response []byte // response body
	At       time.Time
	Duration time.Duration
}

// Matches reports whether the call has the method ("" = any) and its path contains path.
func (c Call) Matches(method, path string) bool {
	return (method == "" || c.Method == method) && strings.Contains(c.Path, path)
}

func (s *Server) record(c Call) {
	s.recMu.Lock()
	s.calls = append(s.calls, c)
	s.recMu.Unlock()
	s.notify()
}

// Calls returns the recorded REST calls, oldest first.
func (s *Server) Calls() []Call {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts the recorded REST calls with the method ("" = any) whose path contains path.
func (s *Server) CallCount(method, path string) int {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Matches(method, path) {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded REST calls.
func (s *Server) ResetCalls() {
	s.recMu.Lock()
	s.calls = nil
	s.recMu.Unlock()
}

// WaitCalls waits until at least n REST calls match method and path (see CallCount).
func (s *Server) WaitCalls(ctx context.Context, method, path string, n int) error {
	return s.Wait(ctx, func(s *Server) bool { return s.CallCount(method, path) >= n })
}

// Event is one emitted Crisp event, as delivered to RTM sockets (Data) and hooks (wrapped).
type Event struct {
	Seq       int64           `json:"seq"` // 1, 2, ... in emission order
	WebsiteID string          `json:"website_id"`
	SessionID string          `json:"session_id,omitempty"` // "" for website events
	Name      string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp int64           `json:"timestamp"` // ms
}

// publish sends an event to the RTM hub, the event log and the hooks. The caller holds emitMu.
func (s *Server) publish(ev outEvent) {
	s.hub.Publish(ev.website, ev.name, ev.data)
	s.logMu.Lock()
	s.seq++
	s.events = append(s.events, Event{Seq: s.seq, WebsiteID: ev.website, SessionID: ev.session, Name: ev.name, Data: ev.data, Timestamp: ev.at})
	if n := len(s.events); n >= 2*s.opts.EventLog {
		s.events = append([]Event(nil), s.events[n-s.opts.EventLog:]...)
	}
	s.logMu.Unlock()
	s.hooks.enqueue(ev)
}

// LastSeq returns the sequence number of the last emitted event (0 before any).
func (s *Server) LastSeq() int64 {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.seq
}

// Events returns the logged events with a sequence number above after, oldest first. The log keeps
// at least the last Options.EventLog events.
func (s *Server) Events(after int64) []Event {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	i := len(s.events)
	for i > 0 && s.events[i-1].Seq > after {
		i--
	}
	return append([]Event(nil), s.events[i:]...)
}

// WaitEvent waits for the first event after sequence number after that match accepts (nil accepts
// any) and returns it.
func (s *Server) WaitEvent(ctx context.Context, after int64, match func(Event) bool) (Event, error) {
	var found Event
	err := s.Wait(ctx, func(s *Server) bool {
		for _, ev := range s.Events(after) {
			if match == nil || match(ev) {
				found = ev
				return true
			}
			after = ev.Seq
		}
		return false
	})
	return found, err
}

// Subscribe returns a channel receiving every event emitted from now on, in order, and a function
// that ends the subscription. The channel is closed when the subscription ends or the server
// closes. A subscriber falling more than Options.EventLog events behind misses the oldest ones.
func (s *Server) Subscribe() (<-chan Event, func()) {
	out := make(chan Event, 64)
	done := make(chan struct{})
	cursor := s.LastSeq()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		for {
			ch := s.changedCh()
			evs := s.Events(cursor)
			for _, ev := range evs {
				select {
				case out <- ev:
					cursor = ev.Seq
				case <-done:
					return
				case <-s.ctx.Done():
					return
				}
			}
			if len(evs) > 0 {
				continue
			}
			select {
			case <-ch:
			case <-done:
				return
			case <-s.ctx.Done():
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done) }) }
}

// WaitMessages waits until the conversation exists with at least n messages and returns its snapshot.
func (s *Server) WaitMessages(ctx context.Context, websiteID, sessionID string, n int) (Conversation, error) {
	var c Conversation
	err := s.Wait(ctx, func(s *Server) bool {
		var ok bool
		c, ok = s.Conversation(websiteID, sessionID)
		return ok && len(c.Messages) >= n
	})
	return c, err
}

// WaitConversation waits until the conversation exists and cond accepts its snapshot, and returns it.
func (s *Server) WaitConversation(ctx context.Context, websiteID, sessionID string, cond func(Conversation) bool) (Conversation, error) {
	var c Conversation
	err := s.Wait(ctx, func(s *Server) bool {
		var ok bool
		c, ok = s.Conversation(websiteID, sessionID)
		return ok && cond(c)
	})
	return c, err
}
