package crisptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The sandbox API drives the fake over JSON, for the demo page. It is not Crisp's API and is not
// authenticated: serve it on loopback only. Every answer is JSON; errors are {"error": "..."} with
// status 400 (bad input) or 404 (unknown website, session, message or operator).

// sandboxRequest is the union of the sandbox POST bodies.
type sandboxRequest struct {
	WebsiteID   string         `json:"website_id"`
	SessionID   string         `json:"session_id"`
	Text        string         `json:"text"`
	Fingerprint int64          `json:"fingerprint"`
	Value       string         `json:"value"`
	Data        map[string]any `json:"data"`
	Email       string         `json:"email"`
	UserID      string         `json:"user_id"`
	State       string         `json:"state"`
	Type        string         `json:"type"` // operator/compose: "start" or "stop"
	Mentions    []string       `json:"mentions"`
	Message     *Message       `json:"message"`
	VisitorInfo
}

const (
	longPollDefault = 25 * time.Second
	longPollMax     = 60 * time.Second
)

func (s *Server) sandboxRoutes() http.Handler {
	m := http.NewServeMux()
	get := func(path string, f func(r *http.Request) (any, error)) {
		m.HandleFunc("GET /_sandbox/"+path, func(w http.ResponseWriter, r *http.Request) {
			out, err := f(r)
			writeSandbox(w, out, err)
		})
	}
	post := func(path string, f func(b *sandboxRequest) (any, error)) {
		m.HandleFunc("POST /_sandbox/"+path, func(w http.ResponseWriter, r *http.Request) {
			var b sandboxRequest
			dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
			dec.UseNumber()
			if err := dec.Decode(&b); err != nil {
				writeSandbox(w, nil, errInvalid("body is not a JSON object: %v", err))
				return
			}
			if b.WebsiteID == "" {
				if ids := s.Websites(); len(ids) == 1 {
					b.WebsiteID = ids[0]
				}
			}
			out, err := f(&b)
			writeSandbox(w, out, err)
		})
	}

	get("websites", func(*http.Request) (any, error) {
		type site struct {
			WebsiteID string     `json:"website_id"`
			Available bool       `json:"available"`
			Operators []Operator `json:"operators"`
		}
		out := []site{}
		for _, id := range s.Websites() {
			ops := s.Operators(id)
			st := site{WebsiteID: id, Operators: ops}
			for _, o := range ops {
				st.Available = st.Available || o.Online
			}
			out = append(out, st)
		}
		return map[string]any{"websites": out}, nil
	})
	get("conversations", func(r *http.Request) (any, error) {
		convs := s.Conversations(r.URL.Query().Get("website_id"))
		if convs == nil {
			convs = []Conversation{}
		}
		return map[string]any{"conversations": convs}, nil
	})
	get("conversation", func(r *http.Request) (any, error) {
		q := r.URL.Query()
		c, ok := s.Conversation(s.defaultSite(q.Get("website_id")), q.Get("session_id"))
		if !ok {
			return nil, errNotFound("conversation not found")
		}
		return c, nil
	})
	m.HandleFunc("GET /_sandbox/events", s.sandboxLongPoll)
	m.HandleFunc("GET /_sandbox/events/stream", s.sandboxStream)

	post("visitor/send", func(b *sandboxRequest) (any, error) {
		v := s.Visitor(b.WebsiteID, b.SessionID, b.VisitorInfo)
		fp, err := v.Send(b.Text)
		return map[string]any{"session_id": v.SessionID(), "fingerprint": fp}, err
	})
	post("visitor/click", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.Visitor(b.WebsiteID, b.SessionID, b.VisitorInfo).Click(b.Fingerprint, b.Value)
	})
	post("visitor/fill", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.Visitor(b.WebsiteID, b.SessionID, b.VisitorInfo).Fill(b.Fingerprint, b.Value)
	})
	post("visitor/data", func(b *sandboxRequest) (any, error) {
		v := s.Visitor(b.WebsiteID, b.SessionID, b.VisitorInfo)
		return map[string]any{"session_id": v.SessionID()}, v.SetData(b.Data)
	})
	post("visitor/email", func(b *sandboxRequest) (any, error) {
		v := s.Visitor(b.WebsiteID, b.SessionID, b.VisitorInfo)
		return map[string]any{"session_id": v.SessionID()}, v.SetEmail(b.Email)
	})
	post("operator/reply", func(b *sandboxRequest) (any, error) {
		fp, err := s.OperatorReply(b.WebsiteID, b.SessionID, b.UserID, b.Text)
		return map[string]any{"fingerprint": fp}, err
	})
	post("operator/note", func(b *sandboxRequest) (any, error) {
		fp, err := s.OperatorNote(b.WebsiteID, b.SessionID, b.UserID, b.Text, b.Mentions...)
		return map[string]any{"fingerprint": fp}, err
	})
	post("operator/message", func(b *sandboxRequest) (any, error) {
		if b.Message == nil {
			return nil, errInvalid("no message")
		}
		fp, err := s.PostMessage(b.WebsiteID, b.SessionID, *b.Message)
		return map[string]any{"fingerprint": fp}, err
	})
	post("operator/compose", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.OperatorCompose(b.WebsiteID, b.SessionID, b.UserID, b.Type)
	})
	post("operator/resolve", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.Resolve(b.WebsiteID, b.SessionID)
	})
	post("operator/state", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.SetState(b.WebsiteID, b.SessionID, b.State)
	})
	post("operator/online", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.SetOperatorOnline(b.WebsiteID, b.UserID, true)
	})
	post("operator/offline", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.SetOperatorOnline(b.WebsiteID, b.UserID, false)
	})
	post("operator/assign", func(b *sandboxRequest) (any, error) {
		return map[string]any{}, s.Assign(b.WebsiteID, b.SessionID, b.UserID)
	})
	m.HandleFunc("/_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		writeSandbox(w, nil, errNotFound("no such sandbox route: "+r.Method+" "+r.URL.Path))
	})
	m.HandleFunc("OPTIONS /_sandbox/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID")
		w.WriteHeader(http.StatusNoContent)
	})
	return s.sandboxGuard(m)
}

// sandboxGuard lets only the sandbox's own page (and Options.SandboxOrigins) drive it. The sandbox is
// unauthenticated, so a browser is the threat: a page of another site could post to it (a "simple"
// text/plain POST needs no preflight) or, with DNS rebinding, read it as its own origin. So:
//   - the Host must be a loopback name (a rebound name is refused: 421);
//   - a request with an Origin must come from the sandbox's own origin or a listed one (else 403),
//     and only listed origins get CORS headers (never "*");
//   - a POST must be application/json (415 otherwise), which a cross-origin page can send only
//     after a preflight that is refused.
//
// Requests without an Origin (tests, curl) are not browsers' cross-origin requests and pass.
func (s *Server) sandboxGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeSandbox(w, nil, &apiError{status: http.StatusMisdirectedRequest, reason: "host_not_allowed", message: "sandbox: host " + strconv.Quote(r.Host) + " is not a loopback name"})
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" {
			listed := slices.Contains(s.opts.SandboxOrigins, origin)
			if !listed && origin != "http://"+r.Host && origin != "https://"+r.Host {
				writeSandbox(w, nil, &apiError{status: http.StatusForbidden, reason: "origin_not_allowed", message: "sandbox: origin not allowed"})
				return
			}
			if listed {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Add("Vary", "Origin")
			}
		}
		if r.Method == http.MethodPost {
			if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
				writeSandbox(w, nil, &apiError{status: http.StatusUnsupportedMediaType, reason: "json_only", message: "sandbox: POST bodies must be application/json"})
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names the loopback interface.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// defaultSite returns id, or the only website when id is "" and there is exactly one.
func (s *Server) defaultSite(id string) string {
	if id == "" {
		if ids := s.Websites(); len(ids) == 1 {
			return ids[0]
		}
	}
	return id
}

func writeSandbox(w http.ResponseWriter, out any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		status := http.StatusInternalServerError
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			status = ae.status
		case errors.Is(err, ErrClosed):
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		w.Write(marshalJS(map[string]any{"error": err.Error()}))
		return
	}
	w.Write(marshalJS(out))
}

// afterParam reads the "after" sequence number from the Last-Event-ID header, else the query. The
// header wins: an EventSource reconnects to the same URL (with its first ?after=) and sends the id of
// the last event it received, where the stream must resume.
func afterParam(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errInvalid("after should be a sequence number")
	}
	return n, nil
}

// sandboxLongPoll answers GET /_sandbox/events?after=N&timeout=MS with {"events": [...], "last": N, "run": RunID}
// as soon as an event after N exists, or empty at the timeout.
func (s *Server) sandboxLongPoll(w http.ResponseWriter, r *http.Request) {
	after, err := afterParam(r)
	if err != nil {
		writeSandbox(w, nil, err)
		return
	}
	timeout := longPollDefault
	if v := r.URL.Query().Get("timeout"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			writeSandbox(w, nil, errInvalid("timeout should be milliseconds"))
			return
		}
		timeout = min(time.Duration(ms)*time.Millisecond, longPollMax)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	var evs []Event
	s.Wait(ctx, func(s *Server) bool {
		evs = s.Events(after)
		return len(evs) > 0
	})
	if evs == nil {
		evs = []Event{}
	}
	writeSandbox(w, map[string]any{"events": evs, "last": s.LastSeq(), "run": s.runID}, nil)
}

// sandboxStream serves the events as Server-Sent Events: first a "run" event whose data is
// {"run": RunID, "last": N}, then one "data:" line per event (an Event object as JSON) with "id:"
// its sequence number, starting after Last-Event-ID or ?after=N. A ": ping" comment every 15 s
// keeps an idle stream alive; "retry: 1000" asks a browser to reconnect after a second.
func (s *Server) sandboxStream(w http.ResponseWriter, r *http.Request) {
	after, err := afterParam(r)
	if err != nil {
		writeSandbox(w, nil, err)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeSandbox(w, nil, fmt.Errorf("streaming unsupported"))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": crisptest events\nretry: 1000\n\nevent: run\ndata: %s\n\n", marshalJS(map[string]any{"run": s.runID, "last": s.LastSeq()}))
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	var buf bytes.Buffer
	for {
		ch := s.changedCh()
		evs := s.Events(after)
		if len(evs) > 0 {
			buf.Reset()
			for _, ev := range evs {
				fmt.Fprintf(&buf, "id: %d\ndata: %s\n\n", ev.Seq, marshalJS(ev))
				after = ev.Seq
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return
			}
			flusher.Flush()
			continue
		}
		select {
		case <-ch:
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}
