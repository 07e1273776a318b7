package crisptest

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// RESTFault makes the next Count REST calls matching Method and Path answer Status.
type RESTFault struct {
	Status int    // HTTP status to answer, e.g. 429, 420, 500, 503
	Count  int    // how many matching calls fail; <= 0 means 1
	Method string // "" matches any method
	Path   string // substring of the path after /v1/, e.g. "/message" or "/meta"; "" matches any
	Reason string // Crisp reason in the envelope; default from Status
	// AfterCommit performs the call before answering the fault, as when Crisp commits a write and
	// the answer is lost or fails: a client that retries then duplicates the write.
	AfterCommit bool
	// BodyContains restricts the fault to calls whose body contains it ("" matches any body).
	BodyContains string
	// OnCommit, with AfterCommit, is called once the call is performed and before it is answered
	// (a test kills the client at that instant).
	OnCommit func()
	// Stall, with AfterCommit, never answers: the connection is held until the client gives up or
	// the server closes (an answer lost on the way).
	Stall bool
}

// reason is the envelope reason of the fault. UNCONFIRMED: Crisp's reasons for 429/420/5xx.
func (f RESTFault) reason() string {
	if f.Reason != "" {
		return f.Reason
	}
	switch {
	case f.Status == http.StatusTooManyRequests, f.Status == 420:
		return "rate_limited"
	case f.Status >= 500:
		return "internal_error"
	}
	return "error"
}

// HookFaults changes how hooks are delivered.
type HookFaults struct {
	// Duplicate delivers every hook twice (identical requests, attempt count 1 each), as happens when
	// a delivery is replayed.
	Duplicate bool
	// ReorderWindow > 1 delivers the hooks of a worker in groups of up to that many, each group in
	// reverse order (only what is already queued is reordered; deliveries are not held back).
	ReorderWindow int
	// FailFirstAttempt sends the first attempt but treats it as failed whatever the answer, so the
	// receiver sees attempt 1 and then attempt 2 of the same event.
	FailFirstAttempt bool
	// DropFirstAttempt never sends the first attempt (a network loss), so the receiver sees the event
	// first with X-Delivery-Attempt-Count 2.
	DropFirstAttempt bool
}

// faults holds the injected faults; safe for concurrent use.
type faults struct {
	mu    sync.Mutex
	rest  []RESTFault
	delay time.Duration
	hooks HookFaults
}

func (f *faults) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay
}

// take consumes one matching REST fault.
func (f *faults) take(method, path string, body []byte) (RESTFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.rest {
		r := &f.rest[i]
		if (r.Method == "" || r.Method == method) && strings.Contains(path, r.Path) &&
			(r.BodyContains == "" || strings.Contains(string(body), r.BodyContains)) {
			out := *r
			r.Count--
			if r.Count <= 0 {
				f.rest = append(f.rest[:i], f.rest[i+1:]...)
			}
			return out, true
		}
	}
	return RESTFault{}, false
}

func (f *faults) hookFaults() HookFaults {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hooks
}

// FailNext queues a REST fault; faults are matched in the order they were queued.
func (s *Server) FailNext(f RESTFault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	f.Path = strings.TrimPrefix(f.Path, "/v1/")
	s.faults.mu.Lock()
	s.faults.rest = append(s.faults.rest, f)
	s.faults.mu.Unlock()
}

// PendingFaults returns how many REST failures are still queued.
func (s *Server) PendingFaults() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	n := 0
	for _, f := range s.faults.rest {
		n += f.Count
	}
	return n
}

// SetLatency adds d before every REST answer (0 removes it).
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.delay = d
	s.faults.mu.Unlock()
}

// SetHookFaults replaces the hook delivery faults (the zero value removes them).
func (s *Server) SetHookFaults(f HookFaults) {
	s.faults.mu.Lock()
	s.faults.hooks = f
	s.faults.mu.Unlock()
}

// ClearFaults removes every injected REST, latency and hook fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.rest, s.faults.delay, s.faults.hooks = nil, 0, HookFaults{}
	s.faults.mu.Unlock()
}

// DropRTM closes every RTM connection; clients are expected to reconnect.
func (s *Server) DropRTM() { s.hub.DropAll() }

// RTMConnections returns the number of open RTM connections.
func (s *Server) RTMConnections() int { return s.hub.Connections() }

// SetRTMDown starts (true) or ends (false) an RTM outage: starting one drops every socket, as DropRTM
// does, and until it ends new connections are refused with 503. Events emitted meanwhile reach no
// socket, and Crisp does not replay them: only a REST catch-up finds them.
func (s *Server) SetRTMDown(down bool) { s.hub.SetDown(down) }

// RTMRefused returns how many RTM connection attempts outages refused.
func (s *Server) RTMRefused() int64 { return s.hub.Refused() }
