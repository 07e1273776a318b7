package crisptest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"time"
)

// Errors of the model, also answered by REST (not_subscribed and not_found are 404, invalid_data is
// 400). Errors returned by the controls wrap them.
var (
	ErrNotSubscribed = errors.New("not_subscribed")
	ErrNotFound      = errors.New("not_found")
	ErrInvalid       = errors.New("invalid_data")
)

// apiError is a model or REST error with the HTTP status and the Crisp reason it is answered with.
type apiError struct {
	status  int
	kind    error // one of the sentinels; its text is the reason
	reason  string
	message string
}

func (e *apiError) Error() string {
	if e.message == "" {
		return "crisptest: " + e.reasonText()
	}
	return "crisptest: " + e.reasonText() + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.kind }

func (e *apiError) reasonText() string {
	if e.reason != "" {
		return e.reason
	}
	if e.kind != nil {
		return e.kind.Error()
	}
	return "error"
}

func errInvalid(format string, args ...any) error {
	return &apiError{status: 400, kind: ErrInvalid, message: fmt.Sprintf(format, args...)}
}

func errNotFound(what string) error {
	return &apiError{status: 404, kind: ErrNotFound, message: what}
}

var errNotSubscribed = &apiError{status: 404, kind: ErrNotSubscribed}

// Operator is an operator of a website.
type Operator struct {
	UserID   string `json:"user_id"`
	Nickname string `json:"nickname"`
	Email    string `json:"email"`
	Role     string `json:"role"`
	Online   bool   `json:"online"`
	Since    int64  `json:"since"` // ms of the last availability change
}

// Message is a stored message, in Crisp's Message shape. Content is a string (text, note) or a JSON
// object decoded into map[string]any (picker, field, ...), numbers as json.Number.
type Message struct {
	SessionID   string      `json:"session_id"`
	WebsiteID   string      `json:"website_id"`
	Type        string      `json:"type"`
	From        string      `json:"from"`
	Origin      string      `json:"origin"`
	Content     any         `json:"content"`
	Mentions    []string    `json:"mentions"`
	Read        string      `json:"read"`
	Delivered   string      `json:"delivered"`
	Edited      bool        `json:"edited"`
	Automated   bool        `json:"automated"`
	Stealth     bool        `json:"stealth,omitempty"`
	Stamped     bool        `json:"stamped"`
	Fingerprint int64       `json:"fingerprint"`
	Timestamp   int64       `json:"timestamp"`
	User        MessageUser `json:"user"`
}

// MessageUser is the author shown for a message.
type MessageUser struct {
	Type     string `json:"type,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Nickname string `json:"nickname,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
}

// Text returns the text of a text or note message, or the "text" of an object content (picker, field).
func (m Message) Text() string {
	switch c := m.Content.(type) {
	case string:
		return c
	case map[string]any:
		t, _ := c["text"].(string)
		return t
	}
	return ""
}

// Conversation is a snapshot of one conversation, deep-copied: changing it changes nothing.
type Conversation struct {
	WebsiteID string         `json:"website_id"`
	SessionID string         `json:"session_id"`
	State     string         `json:"state"` // pending, unresolved, resolved
	Messages  []Message      `json:"messages"`
	Nickname  string         `json:"nickname"`
	Email     string         `json:"email"`
	Phone     string         `json:"phone"`
	Subject   string         `json:"subject"`
	Data      map[string]any `json:"data"`
	Segments  []string       `json:"segments"`
	Locales   []string       `json:"locales"`
	Country   string         `json:"country"`
	// Compose is the operator compose state: "start" or "stop" after PATCH compose, "" before any
	// and after an operator message cleared it.
	Compose   string `json:"compose"`
	Assigned  string `json:"assigned"` // operator user_id or ""
	InboxID   string `json:"inbox_id"`
	CreatedAt int64  `json:"created_at"`
	UpdatedAt int64  `json:"updated_at"`
}

// Message returns the message with the fingerprint.
func (c Conversation) Message(fingerprint int64) (Message, bool) {
	for _, m := range c.Messages {
		if m.Fingerprint == fingerprint {
			return m, true
		}
	}
	return Message{}, false
}

// Filter returns the messages matching from ("user", "operator" or "" for any) and typ ("" for any).
func (c Conversation) Filter(from, typ string) []Message {
	var out []Message
	for _, m := range c.Messages {
		if (from == "" || m.From == from) && (typ == "" || m.Type == typ) {
			out = append(out, m)
		}
	}
	return out
}

type website struct {
	id        string
	operators []*Operator
	convs     map[string]*conversation
	since     int64                                  // availability status since
	helpdesk  map[string]map[string]*HelpdeskArticle // locale -> article id -> article
	settings  map[string]any                         // plugin subscription settings (subscription.go)
}

func (w *website) operator(userID string) *Operator {
	for _, o := range w.operators {
		if o.UserID == userID {
			return o
		}
	}
	return nil
}

func (w *website) anyOnline() bool {
	return slices.ContainsFunc(w.operators, func(o *Operator) bool { return o.Online })
}

type conversation struct {
	website, session string
	state            string
	created, updated int64
	msgs             []*Message
	nickname, email  string
	phone, subject   string
	avatar, ip       string
	address, origin  string
	data             map[string]any
	segments         []string
	locales          []string
	country          string
	timezone         *int // device.timezone, nil when the visitor's browser did not give it
	compose          string
	composeExcerpt   string
	composeAt        int64
	composeUser      MessageUser
	assigned         string
	inbox            string
}

func (c *conversation) message(fp int64) *Message {
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Fingerprint == fp {
			return c.msgs[i]
		}
	}
	return nil
}

// waitingSince returns when the visitor started waiting: the time of the first visitor message after
// the last operator message (notes aside), or math.MaxInt64 when nobody waits.
func (c *conversation) waitingSince() int64 {
	since := int64(math.MaxInt64)
	for _, m := range c.msgs {
		switch {
		case m.From == "operator" && m.Type != "note":
			since = math.MaxInt64
		case m.From == "user" && since == math.MaxInt64:
			since = m.Timestamp
		}
	}
	return since
}

func (c *conversation) snapshot() Conversation {
	out := Conversation{
		WebsiteID: c.website, SessionID: c.session, State: c.state,
		Nickname: c.nickname, Email: c.email, Phone: c.phone, Subject: c.subject,
		Data: copyMap(c.data), Segments: slices.Clone(c.segments), Locales: slices.Clone(c.locales),
		Country: c.country, Compose: c.compose, Assigned: c.assigned, InboxID: c.inbox,
		CreatedAt: c.created, UpdatedAt: c.updated,
		Messages: make([]Message, len(c.msgs)),
	}
	for i, m := range c.msgs {
		out.Messages[i] = copyMessage(m)
	}
	return out
}

func copyMessage(m *Message) Message {
	c := *m
	c.Content = deepCopy(m.Content)
	c.Mentions = slices.Clone(m.Mentions)
	return c
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

// deepCopy copies JSON-decoded values.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyMap(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// outEvent is an emitted event, its data already encoded.
type outEvent struct {
	website, session, name string
	data                   []byte
	at                     int64
}

// emitter collects the events of one model change.
type emitter struct {
	evs []outEvent
	now int64
}

func (e *emitter) emit(website, session, name string, data any) {
	e.evs = append(e.evs, outEvent{website: website, session: session, name: name, data: marshalJS(data), at: e.now})
}

// update runs fn with the model locked, then publishes the events it emitted, in order, to the RTM
// hub, the hooks and the event log. When fn fails nothing is published (fn must not have changed
// anything then).
func (s *Server) update(fn func(e *emitter) error) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	e := &emitter{now: time.Now().UnixMilli()}
	s.mu.Lock()
	if err := fn(e); err != nil {
		s.mu.Unlock()
		return err
	}
	s.emitMu.Lock()
	s.mu.Unlock()
	for _, ev := range e.evs {
		s.publish(ev)
	}
	s.emitMu.Unlock()
	s.notify()
	return nil
}

// view runs fn with the model locked, for reads.
func (s *Server) view(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

func (s *Server) site(id string) (*website, error) {
	w, ok := s.websites[id]
	if !ok {
		return nil, errNotSubscribed
	}
	return w, nil
}

func (s *Server) conv(websiteID, session string) (*conversation, error) {
	w, err := s.site(websiteID)
	if err != nil {
		return nil, err
	}
	c, ok := w.convs[session]
	if !ok {
		return nil, errNotFound("session not found")
	}
	return c, nil
}

// newConv creates a pending conversation; the caller holds mu.
func (s *Server) newConv(w *website, session string, now int64) *conversation {
	c := &conversation{website: w.id, session: session, state: "pending", created: now, updated: now, data: map[string]any{}}
	w.convs[session] = c
	return c
}

// nextFP assigns a fingerprint: the ms timestamp followed by two digits, strictly increasing.
func (s *Server) nextFP(now int64) int64 {
	fp := now * 100
	if fp <= s.lastFP {
		fp = s.lastFP + 1
	}
	s.lastFP = fp
	return fp
}

// AddWebsite installs the plugin on a website (idempotent) and seeds Options.Operators on it.
func (s *Server) AddWebsite(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.websites[id]; ok {
		return
	}
	now := time.Now().UnixMilli()
	w := &website{id: id, convs: make(map[string]*conversation), since: now}
	for _, o := range s.opts.Operators {
		o := o
		if o.Since == 0 {
			o.Since = now
		}
		w.operators = append(w.operators, &o)
	}
	s.websites[id] = w
}

// Websites returns the ids of the websites the plugin is installed on, sorted.
func (s *Server) Websites() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.websites))
	for id := range s.websites {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Operators returns the operators of a website.
func (s *Server) Operators(websiteID string) []Operator {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.websites[websiteID]
	if !ok {
		return nil
	}
	out := make([]Operator, len(w.operators))
	for i, o := range w.operators {
		out[i] = *o
	}
	return out
}

// Conversation returns a snapshot of a conversation.
func (s *Server) Conversation(websiteID, sessionID string) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.conv(websiteID, sessionID)
	if err != nil {
		return Conversation{}, false
	}
	return c.snapshot(), true
}

// Conversations returns snapshots of all conversations of a website ("" = every website), most
// recently updated first.
func (s *Server) Conversations(websiteID string) []Conversation {
	s.mu.Lock()
	var out []Conversation
	for _, w := range s.websites {
		if websiteID != "" && w.id != websiteID {
			continue
		}
		for _, c := range w.convs {
			out = append(out, c.snapshot())
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].UpdatedAt != out[j].UpdatedAt {
			return out[i].UpdatedAt > out[j].UpdatedAt
		}
		return out[i].SessionID < out[j].SessionID
	})
	return out
}

// --- model changes; the caller holds mu and passes the change's emitter ---

// msgEventData is the data of message:send / message:received, in the field order of Crisp's
// web-hook quickstart example.
type msgEventData struct {
	WebsiteID   string       `json:"website_id"`
	SessionID   string       `json:"session_id"`
	Type        string       `json:"type"`
	Content     any          `json:"content"`
	From        string       `json:"from"`
	Origin      string       `json:"origin"`
	Stamped     bool         `json:"stamped"`
	Timestamp   int64        `json:"timestamp"`
	Fingerprint int64        `json:"fingerprint"`
	User        *MessageUser `json:"user,omitempty"`
	Mentions    []string     `json:"mentions,omitempty"`
	Automated   bool         `json:"automated,omitempty"`
}

// addMessage stores m (fingerprint and timestamp assigned here) and applies Crisp's side effects:
// the echo event, pending -> unresolved at the first operator reply, reopening on a visitor message.
func (s *Server) addMessage(e *emitter, c *conversation, m *Message) {
	m.WebsiteID, m.SessionID = c.website, c.session
	if m.Timestamp == 0 {
		m.Timestamp = e.now
	}
	if m.Fingerprint == 0 {
		m.Fingerprint = s.nextFP(e.now)
	}
	m.Stamped = true
	if m.Mentions == nil {
		m.Mentions = []string{}
	}
	c.msgs = append(c.msgs, m)
	c.updated = e.now
	name := "message:send"
	if m.From == "operator" {
		name = "message:received"
	}
	user := m.User
	e.emit(c.website, c.session, name, msgEventData{
		WebsiteID: c.website, SessionID: c.session, Type: m.Type, Content: deepCopy(m.Content),
		From: m.From, Origin: m.Origin, Stamped: true, Timestamp: m.Timestamp, Fingerprint: m.Fingerprint,
		User: &user, Mentions: m.Mentions, Automated: m.Automated,
	})
	switch {
	case m.From == "operator" && m.Type != "note":
		// UNCONFIRMED: a posted operator message also ends the operator compose state.
		if !s.opts.KeepComposeOnMessage {
			c.compose, c.composeExcerpt = "", ""
		}
		// "pending = no agent reply yet, whether human or automated" (help center).
		if c.state == "pending" {
			s.setState(e, c, "unresolved")
		}
	case m.From == "user" && c.state == "resolved":
		// UNCONFIRMED: the exact state a visitor message reopens a resolved conversation to.
		s.setState(e, c, "unresolved")
	}
}

func validState(state string) bool {
	return state == "pending" || state == "unresolved" || state == "resolved"
}

// setState changes the state and emits session:set_state; an unchanged state emits nothing.
func (s *Server) setState(e *emitter, c *conversation, state string) {
	if c.state == state {
		return
	}
	c.state = state
	c.updated = e.now
	e.emit(c.website, c.session, "session:set_state", map[string]any{
		"website_id": c.website, "session_id": c.session, "state": state,
	})
}

// setData writes custom data (merged or replacing the map) and emits session:set_data with the full
// map (UNCONFIRMED: Crisp may send only the changed keys) unless nothing changed and
// EmitUnchangedData is off. An empty string value deletes a key when merging, as the JS SDK does.
func (s *Server) setData(e *emitter, c *conversation, data map[string]any, merge bool) {
	next := map[string]any{}
	if merge {
		next = copyMap(c.data)
		for k, v := range data {
			if sv, ok := v.(string); ok && sv == "" {
				delete(next, k)
				continue
			}
			next[k] = deepCopy(v)
		}
	} else {
		next = copyMap(data)
	}
	if reflect.DeepEqual(next, c.data) && !s.opts.EmitUnchangedData {
		return
	}
	c.data = next
	c.updated = e.now
	e.emit(c.website, c.session, "session:set_data", map[string]any{
		"website_id": c.website, "session_id": c.session, "data": copyMap(next),
	})
}

func (s *Server) setSegments(e *emitter, c *conversation, segments []string, merge bool) {
	next := slices.Clone(segments)
	if merge {
		next = slices.Clone(c.segments)
		for _, sg := range segments {
			if !slices.Contains(next, sg) {
				next = append(next, sg)
			}
		}
	}
	if next == nil {
		next = []string{}
	}
	if slices.Equal(next, c.segments) && c.segments != nil {
		return
	}
	c.segments = next
	c.updated = e.now
	e.emit(c.website, c.session, "session:set_segments", map[string]any{
		"website_id": c.website, "session_id": c.session, "segments": slices.Clone(next),
	})
}

// setField sets an identity field and emits session:set_<name> {<name>: value} when it changed.
func setField(e *emitter, c *conversation, field *string, name, value string) {
	if *field == value {
		return
	}
	*field = value
	c.updated = e.now
	e.emit(c.website, c.session, "session:set_"+name, map[string]any{
		"website_id": c.website, "session_id": c.session, name: value,
	})
}

func (s *Server) setCompose(e *emitter, c *conversation, typ, excerpt string, user MessageUser, automated bool) {
	c.compose, c.composeExcerpt, c.composeAt, c.composeUser = typ, excerpt, e.now, user
	data := map[string]any{
		"website_id": c.website, "session_id": c.session, "type": typ, "timestamp": e.now,
		"user": user,
	}
	if excerpt != "" {
		data["excerpt"] = excerpt
	}
	if automated {
		data["automated"] = true
	}
	e.emit(c.website, c.session, "message:compose:receive", data)
}

func (s *Server) setRouting(e *emitter, c *conversation, userID string) {
	if c.assigned == userID {
		return
	}
	prev := c.assigned
	c.assigned = userID
	c.updated = e.now
	data := map[string]any{"website_id": c.website, "session_id": c.session, "routing_id": nullable(userID)}
	if prev != "" {
		data["previous_routing_id"] = prev
	}
	e.emit(c.website, c.session, "session:set_routing", data)
}

// updateContent replaces a message's content and emits message:updated {fingerprint, content}.
func (s *Server) updateContent(e *emitter, c *conversation, m *Message, content any) {
	m.Content = content
	m.Edited = true
	c.updated = e.now
	e.emit(c.website, c.session, "message:updated", map[string]any{
		"website_id": c.website, "session_id": c.session, "fingerprint": m.Fingerprint, "content": deepCopy(content),
	})
}

// setOperatorOnline changes an operator's availability, emitting
// website:update_operators_availability and, when "any operator online" flips,
// website:users:available.
func (s *Server) setOperatorOnline(e *emitter, w *website, o *Operator, online bool) {
	if o.Online == online {
		return
	}
	before := w.anyOnline()
	o.Online, o.Since = online, e.now
	typ := "offline"
	if online {
		typ = "online"
	}
	e.emit(w.id, "", "website:update_operators_availability", map[string]any{
		"website_id": w.id, "user_id": o.UserID, "availability": map[string]any{"type": typ},
	})
	if after := w.anyOnline(); after != before {
		w.since = e.now
		e.emit(w.id, "", "website:users:available", map[string]any{"website_id": w.id, "available": after})
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// marshalJS encodes v as compact JSON the way JavaScript's JSON.stringify does for our values: no
// HTML escaping, no trailing newline.
func marshalJS(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only values built by this package are encoded; they always encode.
		panic(fmt.Sprintf("crisptest: encode: %v", err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewSessionID returns a fresh Crisp session id, "session_<uuid>".
func NewSessionID() string { return "session_" + newUUID() }
