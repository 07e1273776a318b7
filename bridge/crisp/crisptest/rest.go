package crisptest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxBody caps REST request bodies.
const maxBody = 1 << 20

// messagesPage is the page size of GET .../messages. UNCONFIRMED: Crisp's page size.
const messagesPage = 40

// listPage is the default page size of the paginated list routes (conversations, plugin websites);
// maxListPage is the largest per_page the conversation list accepts.
const (
	listPage    = 20
	maxListPage = 50
)

// result is a successful REST answer: its HTTP status, Crisp reason and data.
type result struct {
	status int
	reason string
	data   any
}

// Statuses and reasons of successful answers. UNCONFIRMED: Crisp's exact statuses and reasons for
// send (202 "dispatched"), create (201 "added") and lists (200 "listed"; 206 in Crisp's docs format).
func resolved(data any) result { return result{http.StatusOK, "resolved", data} }
func updated() result          { return result{http.StatusOK, "updated", map[string]any{}} }
func listed(data any) result   { return result{http.StatusOK, "listed", data} }
func deleted() result          { return result{http.StatusOK, "deleted", map[string]any{}} }

type restFunc func(r *http.Request, body []byte) (result, error)

func (s *Server) restRoutes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, f restFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		m.HandleFunc(method+" /v1/"+path, func(w http.ResponseWriter, r *http.Request) {
			body, _ := r.Context().Value(bodyKey{}).([]byte)
			res, err := f(r, body)
			if err != nil {
				writeError(w, err)
				return
			}
			writeEnvelope(w, res.status, false, res.reason, res.data)
		})
	}
	conv := "website/{w}/conversation/{s}"
	h("POST website/{w}/conversation", s.restCreateConversation)
	h("GET website/{w}/conversations/{page}", s.restListConversations)
	h("GET "+conv, s.restGetConversation)
	h("DELETE "+conv, s.restRemoveConversation)
	h("GET "+conv+"/messages", s.restGetMessages)
	h("POST "+conv+"/message", s.restSendMessage)
	h("GET "+conv+"/message/{fp}", s.restGetMessage)
	h("PATCH "+conv+"/message/{fp}", s.restUpdateMessage)
	h("DELETE "+conv+"/message/{fp}", s.restRemoveMessage)
	h("PATCH "+conv+"/compose", s.restCompose)
	h("PATCH "+conv+"/read", s.restRead)
	h("PATCH "+conv+"/unread", s.restNoop)
	h("PATCH "+conv+"/delivered", s.restNoop)
	h("GET "+conv+"/routing", s.restGetRouting)
	h("PATCH "+conv+"/routing", s.restPatchRouting)
	h("PATCH "+conv+"/inbox", s.restPatchInbox)
	h("GET "+conv+"/meta", s.restGetMeta)
	h("PATCH "+conv+"/meta", s.restPatchMeta)
	h("GET "+conv+"/state", s.restGetState)
	h("PATCH "+conv+"/state", s.restPatchState)
	h("GET website/{w}/availability/status", s.restAvailabilityStatus)
	h("GET website/{w}/availability/operators", s.restAvailabilityOperators)
	h("GET website/{w}/operators/list", s.restOperatorsList)
	h("GET website/{w}/operators/active", s.restOperatorsActive)
	h("GET website/{w}/helpdesk/locales/{page}", s.restHelpdeskLocales)
	h("GET website/{w}/helpdesk/locale/{locale}/articles/{page}", s.restHelpdeskArticles)
	h("GET website/{w}/helpdesk/locale/{locale}/article/{id}", s.restHelpdeskArticle)
	h("GET website/connect/endpoints", s.restEndpoints)
	h("GET plugin/connect/endpoints", s.pluginOnly(s.restEndpoints))
	h("GET plugin/connect/account", s.pluginOnly(s.restAccount))
	h("GET plugin/connect/websites/all/{page}", s.pluginOnly(s.restPluginWebsites))
	h("HEAD plugin/connect/session", s.pluginOnly(func(*http.Request, []byte) (result, error) { return resolved(nil), nil }))
	h("GET plugins/subscription/{w}/{plugin}/settings", s.pluginOnly(s.restGetSubscriptionSettings))
	h("PUT plugins/subscription/{w}/{plugin}/settings", s.pluginOnly(s.restSaveSubscriptionSettings))
	h("PATCH plugins/subscription/{w}/{plugin}/settings", s.pluginOnly(s.restSaveSubscriptionSettings))
	m.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusNotFound, true, "not_found", map[string]any{"message": "the route does not exist"})
	})
	return m
}

type bodyKey struct{}

type tierKey struct{}

func contextWith(ctx context.Context, body []byte, tier string) context.Context {
	return context.WithValue(context.WithValue(ctx, bodyKey{}, body), tierKey{}, tier)
}

// serveREST records the call, applies injected faults and latency, checks authentication, then routes.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	rec := httptest.NewRecorder()
	switch {
	case err != nil:
		writeEnvelope(rec, http.StatusBadRequest, true, "invalid_data", map[string]any{"message": "cannot read body"})
	case len(body) > maxBody:
		writeEnvelope(rec, http.StatusRequestEntityTooLarge, true, "invalid_data", map[string]any{"message": "body too large"})
	default:
		s.serveRESTBody(rec, r, body)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	if r.Method != http.MethodHead {
		w.Write(rec.Body.Bytes())
	}
	s.log.Debug("rest call", "method", r.Method, "path", r.URL.Path, "status", rec.Code)
	s.record(Call{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Tier: r.Header.Get("X-Crisp-Tier"),
		Status: rec.Code, Body: body, Response: rec.Body.Bytes(), At: start, Duration: time.Since(start),
	})
}

func (s *Server) serveRESTBody(w *httptest.ResponseRecorder, r *http.Request, body []byte) {
	if d := s.faults.latency(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	f, hit := s.faults.take(r.Method, path, body)
	if hit && !f.AfterCommit {
		writeFault(w, f)
		return
	}
	user, pass, ok := r.BasicAuth()
	tier := r.Header.Get("X-Crisp-Tier")
	switch {
	case !ok || !s.authorized("plugin", user, pass):
		writeEnvelope(w, http.StatusUnauthorized, true, "not_allowed", map[string]any{"message": "invalid credentials"})
		return
	case tier != "plugin" && tier != "website":
		writeEnvelope(w, http.StatusForbidden, true, "not_allowed", map[string]any{"message": "tier not allowed"})
		return
	}
	ctx := r.Context()
	r = r.WithContext(contextWith(ctx, body, tier))
	if hit {
		// The call is performed, then answered with the fault: a committed write the client sees fail.
		s.rest.ServeHTTP(httptest.NewRecorder(), r)
		if f.OnCommit != nil {
			f.OnCommit()
		}
		if f.Stall {
			select {
			case <-ctx.Done():
			case <-s.ctx.Done():
			}
		}
		writeFault(w, f)
		return
	}
	s.rest.ServeHTTP(w, r)
}

func writeFault(w http.ResponseWriter, f RESTFault) {
	writeEnvelope(w, f.Status, true, f.reason(), map[string]any{})
}

func (s *Server) pluginOnly(f restFunc) restFunc {
	return func(r *http.Request, body []byte) (result, error) {
		if tier, _ := r.Context().Value(tierKey{}).(string); tier != "plugin" {
			return result{}, &apiError{status: http.StatusForbidden, reason: "not_allowed"}
		}
		return f(r, body)
	}
}

// writeEnvelope writes Crisp's {"error","reason","data"} envelope.
func writeEnvelope(w http.ResponseWriter, status int, isErr bool, reason string, data any) {
	if data == nil {
		data = map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(marshalJS(map[string]any{"error": isErr, "reason": reason, "data": data}))
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		writeEnvelope(w, http.StatusInternalServerError, true, "error", map[string]any{"message": err.Error()})
		return
	}
	data := map[string]any{}
	if ae.message != "" {
		data["message"] = ae.message
	}
	writeEnvelope(w, ae.status, true, ae.reasonText(), data)
}

// decodeBody decodes a JSON object body, numbers as json.Number.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errInvalid("data should be object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errInvalid("body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errInvalid("body is not valid JSON: trailing data")
	}
	return nil
}

func decodeAny(raw json.RawMessage) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func fingerprintParam(r *http.Request) (int64, error) {
	fp, err := strconv.ParseInt(r.PathValue("fp"), 10, 64)
	if err != nil || fp <= 0 {
		return 0, errInvalid("fingerprint should be integer")
	}
	return fp, nil
}

// --- conversations ---

func (s *Server) restCreateConversation(r *http.Request, _ []byte) (result, error) {
	session := NewSessionID()
	err := s.update(func(e *emitter) error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		s.newConv(w, session, e.now)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return result{http.StatusCreated, "added", map[string]any{"session_id": session}}, nil
}

// listQuery is the validated query of GET website/{w}/conversations/{page}.
type listQuery struct {
	page, perPage int
	includeEmpty  bool
	start, end    int64 // filter_date_start / filter_date_end in ms, 0 when absent
	order         string
}

// parseListQuery validates the paging, filters and order of the conversation list. per_page is
// between 20 and 50 (default 20), as Crisp's reference says; filter_date_start and filter_date_end
// are ISO 8601 dates compared with the conversation's updated_at (both bounds inclusive:
// UNCONFIRMED); the order_date_* flags are 0 or 1.
func parseListQuery(r *http.Request) (listQuery, error) {
	q := listQuery{perPage: listPage, order: "default"}
	var err error
	if q.page, err = strconv.Atoi(r.PathValue("page")); err != nil || q.page < 1 {
		return q, errInvalid("page should be >= 1")
	}
	v := r.URL.Query()
	if s := v.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < listPage || n > maxListPage {
			return q, errInvalid("per_page should be between %d and %d", listPage, maxListPage)
		}
		q.perPage = n
	}
	flag := func(name string) (bool, error) {
		switch v.Get(name) {
		case "", "0":
			return false, nil
		case "1":
			return true, nil
		}
		return false, errInvalid("%s should be 0 or 1", name)
	}
	if q.includeEmpty, err = flag("include_empty"); err != nil {
		return q, err
	}
	for _, o := range []string{"created", "updated", "waiting"} {
		on, err := flag("order_date_" + o)
		if err != nil {
			return q, err
		}
		if on {
			q.order = o
		}
	}
	date := func(name string) (int64, error) {
		s := v.Get(name)
		if s == "" {
			return 0, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, errInvalid("%s should be an ISO 8601 date", name)
		}
		return t.UnixMilli(), nil
	}
	if q.start, err = date("filter_date_start"); err != nil {
		return q, err
	}
	if q.end, err = date("filter_date_end"); err != nil {
		return q, err
	}
	return q, nil
}

// restListConversations answers one page of a website's conversations. Without include_empty=1 the
// conversations without any message are left out. The default order is the most recently updated
// first (UNCONFIRMED: Crisp's default order); order_date_updated asks for it explicitly,
// order_date_created orders by creation and order_date_waiting by the oldest waiting visitor message
// first (UNCONFIRMED).
func (s *Server) restListConversations(r *http.Request, _ []byte) (result, error) {
	q, err := parseListQuery(r)
	if err != nil {
		return result{}, err
	}
	out := []any{}
	err = s.view(func() error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		convs := make([]*conversation, 0, len(w.convs))
		for _, c := range w.convs {
			if (!q.includeEmpty && len(c.msgs) == 0) || (q.start != 0 && c.updated < q.start) || (q.end != 0 && c.updated > q.end) {
				continue
			}
			convs = append(convs, c)
		}
		key := func(c *conversation) int64 { return -c.updated } // ascending key
		switch q.order {
		case "created":
			key = func(c *conversation) int64 { return -c.created }
		case "waiting":
			key = func(c *conversation) int64 { return c.waitingSince() }
		}
		slices.SortFunc(convs, func(a, b *conversation) int {
			if c := cmp.Compare(key(a), key(b)); c != 0 {
				return c
			}
			return strings.Compare(a.session, b.session)
		})
		for i := (q.page - 1) * q.perPage; i < len(convs) && i < q.page*q.perPage; i++ {
			out = append(out, s.conversationJSON(convs[i]))
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return listed(out), nil
}

func (s *Server) restGetConversation(r *http.Request, _ []byte) (result, error) {
	return s.getConv(r, func(c *conversation) any { return s.conversationJSON(c) })
}

func (s *Server) restRemoveConversation(r *http.Request, _ []byte) (result, error) {
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		delete(s.websites[c.website].convs, c.session)
		e.emit(c.website, c.session, "session:removed", map[string]any{"website_id": c.website, "session_id": c.session})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return deleted(), nil
}

func stateStatus(state string) int {
	switch state {
	case "unresolved":
		return 1
	case "resolved":
		return 2
	}
	return 0
}

// conversationJSON is Crisp's Conversation object; the caller holds mu.
func (s *Server) conversationJSON(c *conversation) map[string]any {
	out := map[string]any{
		"session_id": c.session, "website_id": c.website, "inbox_id": nullable(c.inbox),
		"state": c.state, "status": stateStatus(c.state),
		"is_verified": false, "is_blocked": false, "availability": "online",
		"active":   map[string]any{"now": false, "last": c.updated},
		"mentions": []string{}, "participants": []any{},
		"unread":     map[string]any{"operator": 0, "visitor": 0},
		"meta":       s.metaJSON(c),
		"created_at": c.created, "updated_at": c.updated,
		"last_message": "",
	}
	if n := len(c.msgs); n > 0 {
		m := c.msgs[n-1]
		out["last_message"] = m.Text()
		out["preview_message"] = map[string]any{"type": m.Type, "from": m.From, "excerpt": m.Text(), "fingerprint": m.Fingerprint}
	}
	if ws := c.waitingSince(); ws != math.MaxInt64 {
		out["waiting_since"] = ws
	}
	compose := map[string]any{}
	if c.compose != "" {
		op := map[string]any{"type": c.compose, "timestamp": c.composeAt, "user": c.composeUser}
		if c.composeExcerpt != "" {
			op["excerpt"] = c.composeExcerpt
		}
		compose["operator"] = op
	}
	out["compose"] = compose
	if c.assigned != "" {
		out["assigned"] = map[string]any{"user_id": c.assigned}
	}
	return out
}

// --- messages ---

// sendBody is the body of POST .../message.
type sendBody struct {
	Type       string          `json:"type"`
	From       string          `json:"from"`
	Origin     *string         `json:"origin"`
	Content    json.RawMessage `json:"content"`
	User       *MessageUser    `json:"user"`
	Mentions   []string        `json:"mentions"`
	Timestamp  int64           `json:"timestamp"`
	Stealth    bool            `json:"stealth"`
	Automated  bool            `json:"automated"`
	Translated bool            `json:"translated"`
	// Fingerprint is client-supplied (the route accepts one; UNCONFIRMED whether Crisp keeps it).
	Fingerprint int64 `json:"fingerprint"`
}

var messageTypes = []string{"text", "note", "file", "animation", "audio", "picker", "field", "carousel", "event"}

// validateContent checks a message content against its type, as Crisp's schema does.
func validateContent(typ string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errInvalid("data should have required property '.content'")
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, errInvalid("data.content is not valid JSON")
	}
	switch typ {
	case "text", "note":
		str, ok := v.(string)
		if !ok {
			return nil, errInvalid("data.content should be string")
		}
		if str == "" {
			return nil, errInvalid("data.content should NOT be shorter than 1 characters")
		}
		return str, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errInvalid("data.content should be object")
	}
	need := func(keys ...string) error {
		for _, k := range keys {
			if _, ok := obj[k].(string); !ok {
				return errInvalid("data.content should have required property '.%s'", k)
			}
		}
		return nil
	}
	switch typ {
	case "picker":
		if err := need("id", "text"); err != nil {
			return nil, err
		}
		choices, ok := obj["choices"].([]any)
		if !ok {
			return nil, errInvalid("data.content should have required property '.choices'")
		}
		for i, ch := range choices {
			c, ok := ch.(map[string]any)
			if !ok {
				return nil, errInvalid("data.content.choices[%d] should be object", i)
			}
			for _, k := range []string{"value", "label"} {
				if _, ok := c[k].(string); !ok {
					return nil, errInvalid("data.content.choices[%d] should have required property '.%s'", i, k)
				}
			}
			if sel, ok := c["selected"]; ok {
				if _, ok := sel.(bool); !ok {
					return nil, errInvalid("data.content.choices[%d].selected should be boolean", i)
				}
			} else {
				c["selected"] = false
			}
		}
	case "field":
		if err := need("id", "text", "explain"); err != nil {
			return nil, err
		}
	case "file", "animation", "audio":
		if err := need("url"); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

func (s *Server) restSendMessage(r *http.Request, body []byte) (result, error) {
	var b sendBody
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	if b.Type == "" {
		return result{}, errInvalid("data should have required property '.type'")
	}
	if !slices.Contains(messageTypes, b.Type) {
		return result{}, errInvalid("data.type should be equal to one of the allowed values")
	}
	if b.From == "" {
		return result{}, errInvalid("data should have required property '.from'")
	}
	if b.From != "user" && b.From != "operator" {
		return result{}, errInvalid("data.from should be equal to one of the allowed values")
	}
	if b.Origin == nil {
		return result{}, errInvalid("data should have required property '.origin'")
	}
	if *b.Origin == "" {
		return result{}, errInvalid("data.origin should NOT be shorter than 1 characters")
	}
	content, err := validateContent(b.Type, b.Content)
	if err != nil {
		return result{}, err
	}
	var fp int64
	err = s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		m := &Message{
			Type: b.Type, From: b.From, Origin: *b.Origin, Content: content, Mentions: b.Mentions,
			Timestamp: b.Timestamp, Stealth: b.Stealth, Automated: b.Automated,
		}
		if b.Fingerprint > 0 && !s.opts.IgnoreClientFingerprint {
			m.Fingerprint = b.Fingerprint
		}
		if b.User != nil {
			m.User = *b.User
		}
		if b.From == "user" && m.User.UserID == "" {
			m.User.UserID = c.session
			if m.User.Nickname == "" {
				m.User.Nickname = c.nickname
			}
		}
		s.addMessage(e, c, m)
		fp = m.Fingerprint
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return result{http.StatusAccepted, "dispatched", map[string]any{"fingerprint": fp}}, nil
}

func (s *Server) restGetMessages(r *http.Request, _ []byte) (result, error) {
	q := r.URL.Query()
	var before, after int64
	var err error
	if v := q.Get("timestamp_before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil {
			return result{}, errInvalid("timestamp_before should be integer")
		}
	}
	if v := q.Get("timestamp_after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil {
			return result{}, errInvalid("timestamp_after should be integer")
		}
	}
	var out []Message
	err = s.view(func() error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		for _, m := range c.msgs {
			if (before == 0 || m.Timestamp < before) && (after == 0 || m.Timestamp > after) {
				out = append(out, copyMessage(m))
			}
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	// A page: the oldest ones after timestamp_after, else the newest ones (before timestamp_before).
	if len(out) > messagesPage {
		if after != 0 && before == 0 {
			out = out[:messagesPage]
		} else {
			out = out[len(out)-messagesPage:]
		}
	}
	if out == nil {
		out = []Message{}
	}
	return listed(out), nil
}

func (s *Server) restGetMessage(r *http.Request, _ []byte) (result, error) {
	fp, err := fingerprintParam(r)
	if err != nil {
		return result{}, err
	}
	var out Message
	err = s.view(func() error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		m := c.message(fp)
		if m == nil {
			return errNotFound("message not found")
		}
		out = copyMessage(m)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return resolved(out), nil
}

func (s *Server) restUpdateMessage(r *http.Request, body []byte) (result, error) {
	fp, err := fingerprintParam(r)
	if err != nil {
		return result{}, err
	}
	var b struct {
		Content json.RawMessage `json:"content"`
	}
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	err = s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		m := c.message(fp)
		if m == nil {
			return errNotFound("message not found")
		}
		content, err := validateContent(m.Type, b.Content)
		if err != nil {
			return err
		}
		s.updateContent(e, c, m, content)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restRemoveMessage(r *http.Request, _ []byte) (result, error) {
	fp, err := fingerprintParam(r)
	if err != nil {
		return result{}, err
	}
	err = s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		i := slices.IndexFunc(c.msgs, func(m *Message) bool { return m.Fingerprint == fp })
		if i < 0 {
			return errNotFound("message not found")
		}
		c.msgs = slices.Delete(c.msgs, i, i+1)
		c.updated = e.now
		e.emit(c.website, c.session, "message:removed", map[string]any{
			"website_id": c.website, "session_id": c.session, "fingerprint": fp,
		})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return deleted(), nil
}

// --- compose, read, routing, inbox ---

func (s *Server) restCompose(r *http.Request, body []byte) (result, error) {
	var b struct {
		Type      string `json:"type"`
		From      string `json:"from"`
		Excerpt   string `json:"excerpt"`
		Stealth   bool   `json:"stealth"`
		Automated bool   `json:"automated"`
	}
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	if b.Type != "start" && b.Type != "stop" {
		return result{}, errInvalid("data.type should be equal to one of the allowed values")
	}
	if b.From != "operator" && b.From != "user" {
		return result{}, errInvalid("data.from should be equal to one of the allowed values")
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		if b.From == "user" {
			e.emit(c.website, c.session, "message:compose:send", map[string]any{
				"website_id": c.website, "session_id": c.session, "type": b.Type, "excerpt": b.Excerpt, "timestamp": e.now,
			})
			return nil
		}
		s.setCompose(e, c, b.Type, b.Excerpt, MessageUser{}, b.Automated)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restRead(r *http.Request, body []byte) (result, error) {
	var b struct {
		From         string  `json:"from"`
		Origin       *string `json:"origin"`
		Fingerprints []int64 `json:"fingerprints"`
	}
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	if b.From != "operator" && b.From != "user" {
		return result{}, errInvalid("data.from should be equal to one of the allowed values")
	}
	if b.Origin == nil {
		return result{}, errInvalid("data should have required property '.origin'")
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		var fps []int64
		for _, m := range c.msgs {
			// The reader marks the other side's messages read.
			if m.From != b.From && (len(b.Fingerprints) == 0 || slices.Contains(b.Fingerprints, m.Fingerprint)) {
				m.Read = *b.Origin
				fps = append(fps, m.Fingerprint)
			}
		}
		if fps == nil {
			fps = []int64{}
		}
		// UNCONFIRMED: which acknowledge event each side's read produces.
		name := "message:acknowledge:read:received"
		if b.From == "user" {
			name = "message:acknowledge:read:send"
		}
		e.emit(c.website, c.session, name, map[string]any{
			"website_id": c.website, "session_id": c.session, "origin": *b.Origin, "fingerprints": fps,
		})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restNoop(r *http.Request, body []byte) (result, error) {
	var b map[string]any
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	if err := s.view(func() error { _, err := s.conv(r.PathValue("w"), r.PathValue("s")); return err }); err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restGetRouting(r *http.Request, _ []byte) (result, error) {
	return s.getConv(r, func(c *conversation) any {
		out := map[string]any{"assigned": nil}
		if c.assigned != "" {
			out["assigned"] = map[string]any{"user_id": c.assigned}
		}
		return out
	})
}

func (s *Server) restPatchRouting(r *http.Request, body []byte) (result, error) {
	var b map[string]json.RawMessage
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	raw, ok := b["assigned"]
	if !ok {
		return result{}, errInvalid("data should have required property '.assigned'")
	}
	var userID string
	if string(raw) != "null" {
		var a struct {
			UserID string `json:"user_id"`
		}
		if err := json.Unmarshal(raw, &a); err != nil || a.UserID == "" {
			return result{}, errInvalid("data.assigned should have required property '.user_id'")
		}
		userID = a.UserID
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		if userID != "" && s.websites[c.website].operator(userID) == nil {
			return errInvalid("data.assigned.user_id is not an operator of the website")
		}
		s.setRouting(e, c, userID)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restPatchInbox(r *http.Request, body []byte) (result, error) {
	var b struct {
		InboxID *string `json:"inbox_id"`
	}
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	inbox := ""
	if b.InboxID != nil {
		inbox = *b.InboxID
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		if c.inbox == inbox {
			return nil
		}
		prev := c.inbox
		c.inbox = inbox
		e.emit(c.website, c.session, "session:set_inbox", map[string]any{
			"website_id": c.website, "session_id": c.session, "inbox_id": nullable(inbox), "previous_inbox_id": nullable(prev),
		})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

// --- meta and state ---

// metaJSON is Crisp's Meta object; the caller holds mu.
func (s *Server) metaJSON(c *conversation) map[string]any {
	segments := c.segments
	if segments == nil {
		segments = []string{}
	}
	locales := c.locales
	if locales == nil {
		locales = []string{}
	}
	device := map[string]any{"capabilities": []string{}, "locales": slices.Clone(locales)}
	if c.timezone != nil {
		device["timezone"] = *c.timezone
	}
	if c.country != "" {
		device["geolocation"] = map[string]any{"country": c.country}
	}
	return map[string]any{
		"nickname": c.nickname, "email": c.email, "phone": c.phone, "address": c.address,
		"subject": c.subject, "ip": c.ip, "avatar": c.avatar, "origin": c.origin,
		"segments": slices.Clone(segments), "data": copyMap(c.data), "device": device,
	}
}

func (s *Server) restGetMeta(r *http.Request, _ []byte) (result, error) {
	return s.getConv(r, func(c *conversation) any { return s.metaJSON(c) })
}

var metaStrings = []string{"nickname", "email", "phone", "address", "subject", "avatar", "ip", "origin"}

// metaPatch is a validated PATCH meta body.
type metaPatch struct {
	strs     map[string]string
	data     map[string]any
	segments []string
	locales  []string
	country  *string
}

func parseMetaPatch(body []byte) (*metaPatch, error) {
	var b map[string]json.RawMessage
	if err := decodeBody(body, &b); err != nil {
		return nil, err
	}
	p := &metaPatch{strs: map[string]string{}}
	for _, k := range metaStrings {
		raw, ok := b[k]
		if !ok {
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, errInvalid("data.%s should be string", k)
		}
		p.strs[k] = v
	}
	if e, ok := p.strs["email"]; ok && e != "" && !strings.Contains(e, "@") {
		return nil, errInvalid("data.email should match format \"email\"")
	}
	if raw, ok := b["segments"]; ok {
		if err := json.Unmarshal(raw, &p.segments); err != nil || p.segments == nil {
			return nil, errInvalid("data.segments should be array of strings")
		}
	}
	if raw, ok := b["data"]; ok {
		v, err := decodeAny(raw)
		obj, isObj := v.(map[string]any)
		if err != nil || !isObj {
			return nil, errInvalid("data.data should be object")
		}
		if err := validateData(obj); err != nil {
			return nil, err
		}
		p.data = obj
	}
	if raw, ok := b["device"]; ok {
		var d struct {
			Locales     []string `json:"locales"`
			Geolocation *struct {
				Country string `json:"country"`
			} `json:"geolocation"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, errInvalid("data.device should be object")
		}
		p.locales = d.Locales
		if d.Geolocation != nil {
			p.country = &d.Geolocation.Country
		}
	}
	return p, nil
}

// validateData checks custom data: keys non-empty, values string, number or boolean.
func validateData(data map[string]any) error {
	for k, v := range data {
		if k == "" {
			return errInvalid("data.data keys should NOT be empty")
		}
		switch v.(type) {
		case string, json.Number, bool:
		case float64, int, int64:
		default:
			return errInvalid("data.data['%s'] should be string, number or boolean", k)
		}
	}
	return nil
}

func (s *Server) restPatchMeta(r *http.Request, body []byte) (result, error) {
	p, err := parseMetaPatch(body)
	if err != nil {
		return result{}, err
	}
	err = s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		fields := map[string]*string{
			"nickname": &c.nickname, "email": &c.email, "phone": &c.phone, "subject": &c.subject,
			"address": &c.address, "avatar": &c.avatar, "ip": &c.ip, "origin": &c.origin,
		}
		for _, k := range metaStrings {
			v, ok := p.strs[k]
			if !ok {
				continue
			}
			switch k {
			case "nickname", "email", "phone", "subject":
				setField(e, c, fields[k], k, v)
			default:
				*fields[k] = v
			}
		}
		if p.data != nil {
			s.setData(e, c, p.data, s.opts.MergeMeta)
		}
		if p.segments != nil {
			s.setSegments(e, c, p.segments, s.opts.MergeMeta)
		}
		if p.locales != nil {
			c.locales = slices.Clone(p.locales)
		}
		if p.country != nil {
			c.country = *p.country
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

func (s *Server) restGetState(r *http.Request, _ []byte) (result, error) {
	return s.getConv(r, func(c *conversation) any { return map[string]any{"state": c.state} })
}

// getConv answers a GET route that reads one conversation: render runs under the read lock.
func (s *Server) getConv(r *http.Request, render func(*conversation) any) (result, error) {
	var out any
	err := s.view(func() error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		out = render(c)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return resolved(out), nil
}

func (s *Server) restPatchState(r *http.Request, body []byte) (result, error) {
	var b struct {
		State string `json:"state"`
	}
	if err := decodeBody(body, &b); err != nil {
		return result{}, err
	}
	if !validState(b.State) {
		return result{}, errInvalid("data.state should be equal to one of the allowed values")
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(r.PathValue("w"), r.PathValue("s"))
		if err != nil {
			return err
		}
		s.setState(e, c, b.State)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return updated(), nil
}

// --- website availability and operators ---

func (s *Server) restAvailabilityStatus(r *http.Request, _ []byte) (result, error) {
	return s.getSite(r, resolved, func(w *website) any {
		// UNCONFIRMED: "away" as the status when no operator is online.
		status := "away"
		if w.anyOnline() {
			status = "online"
		}
		return map[string]any{"status": status, "since": w.since}
	})
}

func availabilityType(o *Operator) string {
	if o.Online {
		return "online"
	}
	return "offline"
}

func (s *Server) restAvailabilityOperators(r *http.Request, _ []byte) (result, error) {
	now := time.Now().UnixMilli()
	return s.getSite(r, listed, func(w *website) any {
		out := []any{}
		for _, o := range w.operators {
			out = append(out, map[string]any{
				"user_id": o.UserID, "type": availabilityType(o),
				"time": map[string]any{"for": (now - o.Since) / 1000, "since": o.Since},
			})
		}
		return out
	})
}

func (s *Server) restOperatorsList(r *http.Request, _ []byte) (result, error) {
	return s.getSite(r, listed, func(w *website) any {
		out := []any{}
		for _, o := range w.operators {
			first, last, _ := strings.Cut(o.Nickname, " ")
			out = append(out, map[string]any{
				"type": "operator",
				"details": map[string]any{
					"user_id": o.UserID, "email": o.Email, "avatar": "", "first_name": first, "last_name": last,
					"role": o.Role, "title": "", "availability": availabilityType(o), "has_token": false,
				},
			})
		}
		return out
	})
}

func (s *Server) restOperatorsActive(r *http.Request, _ []byte) (result, error) {
	return s.getSite(r, listed, func(w *website) any {
		out := []any{}
		ops := slices.Clone(w.operators)
		slices.SortStableFunc(ops, func(a, b *Operator) int { return int(b.Since - a.Since) })
		for _, o := range ops {
			out = append(out, map[string]any{"user_id": o.UserID, "avatar": "", "nickname": o.Nickname, "timestamp": o.Since})
		}
		return out
	})
}

// getSite answers a GET route that reads one website: render runs under the read lock and wrap
// builds the envelope (resolved or listed).
func (s *Server) getSite(r *http.Request, wrap func(any) result, render func(*website) any) (result, error) {
	var out any
	err := s.view(func() error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		out = render(w)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return wrap(out), nil
}

// --- plugin connect ---

func (s *Server) restEndpoints(r *http.Request, _ []byte) (result, error) {
	// Advertise the host the client reached us on, so New behind any listener works too.
	app := "ws://" + r.Host + rtmPath
	return resolved(map[string]any{
		"socket": map[string]any{"app": app},
		"rescue": map[string]any{"socket": map[string]any{"app": app}},
	}), nil
}

func (s *Server) restAccount(*http.Request, []byte) (result, error) {
	return resolved(map[string]any{"plugin_id": s.opts.PluginID}), nil
}

func (s *Server) restPluginWebsites(r *http.Request, _ []byte) (result, error) {
	page, err := strconv.Atoi(r.PathValue("page"))
	if err != nil || page < 1 {
		return result{}, errInvalid("page should be >= 1")
	}
	ids := s.Websites()
	out := []any{}
	for i := (page - 1) * listPage; i < len(ids) && i < page*listPage; i++ {
		settings := s.SubscriptionSettings(ids[i])
		if settings == nil {
			settings = map[string]any{}
		}
		out = append(out, map[string]any{
			"website_id": ids[i], "token": s.WebsiteToken(ids[i]), "settings": settings,
			"plan": map[string]any{"id": "", "name": "", "trialing": false},
		})
	}
	return listed(out), nil
}
