package crisp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Route templates, the route label passed to ClientConfig.Observe.
const (
	RouteMessages         = "website/{website}/conversation/{session}/messages"
	RouteMessage          = "website/{website}/conversation/{session}/message"
	RouteMessageFP        = "website/{website}/conversation/{session}/message/{fingerprint}"
	RouteConversation     = "website/{website}/conversation/{session}"
	RouteConversations    = "website/{website}/conversations/{page}"
	RouteMeta             = "website/{website}/conversation/{session}/meta"
	RouteState            = "website/{website}/conversation/{session}/state"
	RouteCompose          = "website/{website}/conversation/{session}/compose"
	RouteRouting          = "website/{website}/conversation/{session}/routing"
	RouteAvailability     = "website/{website}/availability/status"
	RouteOperatorsAvail   = "website/{website}/availability/operators"
	RouteOperatorsActive  = "website/{website}/operators/active"
	RouteConnectEndpoints = "{tier}/connect/endpoints"
	RouteConnectAccount   = "plugin/connect/account"
	RouteConnectWebsites  = "plugin/connect/websites/all/{page}"
)

// maxInstalledPages guards AllInstalledWebsites against a server that never returns an empty page.
const maxInstalledPages = 10000

// path joins escaped path segments.
func restPath(segments ...string) string {
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return strings.Join(segments, "/")
}

// restConvPath returns website/{w}/conversation/{s}[/rest...], validating the ids.
func restConvPath(websiteID, sessionID string, rest ...string) (string, error) {
	if websiteID == "" || sessionID == "" {
		return "", errors.New("website id and session id are required")
	}
	return restPath(append([]string{"website", websiteID, "conversation", sessionID}, rest...)...), nil
}

// MessageUser overrides the author shown on a message.
type MessageUser struct {
	Type     string `json:"type,omitempty"` // "participant", "website", ...
	Nickname string `json:"nickname,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
}

// PickerContent is the content of a "picker" message.
type PickerContent struct {
	ID       string         `json:"id"`
	Text     string         `json:"text"`
	Choices  []PickerChoice `json:"choices"`
	Required bool           `json:"required,omitempty"`
}

// PickerChoice is one button of a picker.
type PickerChoice struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected"`
	Icon     string `json:"icon,omitempty"`
}

// FieldContent is the content of a "field" message.
type FieldContent struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Explain  string `json:"explain"` // required by Crisp, even empty
	Value    string `json:"value,omitempty"`
	Required bool   `json:"required,omitempty"`
}

// MessageNew is the body of a sent message. Content is a string for "text" and "note", a
// PickerContent for "picker" and a FieldContent for "field". SendMessage fills From ("operator"),
// Origin (the plugin URN or "chat") and User (the bot's nickname and avatar) when they are empty.
type MessageNew struct {
	Type      string       `json:"type"`
	From      string       `json:"from"`
	Origin    string       `json:"origin"`
	Content   any          `json:"content"`
	User      *MessageUser `json:"user,omitempty"`
	Mentions  []string     `json:"mentions,omitempty"`
	Automated bool         `json:"automated,omitempty"`
	Stealth   bool         `json:"stealth,omitempty"`
	// Fingerprint is the client-supplied identity of the message (the send route accepts one;
	// UNCONFIRMED whether Crisp keeps it: Platform.Posted falls back to type and text).
	Fingerprint int64 `json:"fingerprint,omitempty"`
}

// Message is a message read back from a conversation. Content is raw JSON: a string or an object
// depending on Type.
type Message struct {
	SessionID   string          `json:"session_id"`
	WebsiteID   string          `json:"website_id"`
	Type        string          `json:"type"`
	From        string          `json:"from"`
	Origin      string          `json:"origin"`
	Content     json.RawMessage `json:"content"`
	Fingerprint int64           `json:"fingerprint"`
	Timestamp   int64           `json:"timestamp"`
	Automated   bool            `json:"automated"`
	Edited      bool            `json:"edited"`
	Mentions    []string        `json:"mentions"`
	User        struct {
		Type     string `json:"type"`
		UserID   string `json:"user_id"`
		Nickname string `json:"nickname"`
		Avatar   string `json:"avatar"`
	} `json:"user"`
}

// Text returns the content of a text or note message ("" for object contents).
func (m Message) Text() string {
	var s string
	if json.Unmarshal(m.Content, &s) != nil {
		return ""
	}
	return s
}

// SendMessage posts a message and returns its fingerprint. A failed send is never repeated once the
// request may have reached Crisp.
func (c *Client) SendMessage(ctx context.Context, websiteID, sessionID string, m MessageNew) (int64, error) {
	p, err := restConvPath(websiteID, sessionID, "message")
	if err != nil {
		return 0, fmt.Errorf("send message: %w", err)
	}
	if m.Type == "" || m.Content == nil {
		return 0, errors.New("send message: type and content are required")
	}
	if m.From == "" {
		m.From = "operator"
	}
	if m.Origin == "" {
		m.Origin = c.Origin()
	}
	if m.User == nil && (c.cfg.BotNickname != "" || c.cfg.BotAvatar != "") {
		m.User = &MessageUser{Type: "participant", Nickname: c.cfg.BotNickname, Avatar: c.cfg.BotAvatar}
	}
	var out struct {
		Fingerprint json.Number `json:"fingerprint"`
	}
	if err := c.do(ctx, restCall{op: "send message", method: http.MethodPost, route: RouteMessage, path: p, in: m, out: &out}); err != nil {
		return 0, err
	}
	fp, err := number(out.Fingerprint)
	if err != nil || fp == 0 {
		return 0, fmt.Errorf("send message: no fingerprint in answer %q", out.Fingerprint)
	}
	return fp, nil
}

// UpdateMessage replaces a message's content: a string for text and note, a PickerContent or
// FieldContent for those types.
func (c *Client) UpdateMessage(ctx context.Context, websiteID, sessionID string, fingerprint int64, content any) error {
	p, err := restConvPath(websiteID, sessionID, "message", strconv.FormatInt(fingerprint, 10))
	if err != nil {
		return fmt.Errorf("update message: %w", err)
	}
	body := struct {
		Content any `json:"content"`
	}{content}
	return c.do(ctx, restCall{op: "update message", method: http.MethodPatch, route: RouteMessageFP, path: p, in: body})
}

// RemoveMessage deletes a message.
func (c *Client) RemoveMessage(ctx context.Context, websiteID, sessionID string, fingerprint int64) error {
	p, err := restConvPath(websiteID, sessionID, "message", strconv.FormatInt(fingerprint, 10))
	if err != nil {
		return fmt.Errorf("remove message: %w", err)
	}
	return c.do(ctx, restCall{op: "remove message", method: http.MethodDelete, route: RouteMessageFP, path: p})
}

// Messages returns a page of a conversation's messages; before (ms, 0 for the latest) pages back
// with timestamp_before.
func (c *Client) Messages(ctx context.Context, websiteID, sessionID string, before int64) ([]Message, error) {
	p, err := restConvPath(websiteID, sessionID, "messages")
	if err != nil {
		return nil, fmt.Errorf("get messages: %w", err)
	}
	var q url.Values
	if before > 0 {
		q = url.Values{"timestamp_before": {strconv.FormatInt(before, 10)}}
	}
	var out []Message
	err = c.do(ctx, restCall{op: "get messages", method: http.MethodGet, route: RouteMessages, path: p, query: q, out: &out})
	return out, err
}

// Conversation is a conversation as Crisp describes it (the fields a bot uses).
type Conversation struct {
	SessionID    string `json:"session_id"`
	WebsiteID    string `json:"website_id"`
	InboxID      string `json:"inbox_id"`
	State        string `json:"state"`
	IsBlocked    bool   `json:"is_blocked"`
	Availability string `json:"availability"` // the visitor's presence
	LastMessage  string `json:"last_message"`
	Assigned     *struct {
		UserID string `json:"user_id"`
	} `json:"assigned"`
	Meta      ConversationMeta `json:"meta"`
	CreatedAt int64            `json:"created_at"`
	UpdatedAt int64            `json:"updated_at"`
}

// GetConversation reads a conversation.
func (c *Client) GetConversation(ctx context.Context, websiteID, sessionID string) (Conversation, error) {
	var out Conversation
	p, err := restConvPath(websiteID, sessionID)
	if err != nil {
		return out, fmt.Errorf("get conversation: %w", err)
	}
	err = c.do(ctx, restCall{op: "get conversation", method: http.MethodGet, route: RouteConversation, path: p, out: &out})
	return out, err
}

// Bounds of ListOptions.PerPage, from Crisp's reference (default 20).
const (
	MinConversationsPage = 20
	MaxConversationsPage = 50
)

// ListOptions filter and order a page of ListConversations.
type ListOptions struct {
	PerPage      int       // 20 to 50; 0 leaves Crisp's default (20)
	OrderUpdated bool      // most recently updated first (order_date_updated=1)
	UpdatedSince time.Time // only conversations updated at or after (filter_date_start); zero: no bound
	UpdatedUntil time.Time // only conversations updated at or before (filter_date_end); zero: no bound
	IncludeEmpty bool      // also conversations without any message (include_empty=1)
}

// query encodes the options; the dates are ISO 8601 in UTC with milliseconds, as Crisp's reference
// writes them (2018-03-01T17:00:00.000Z).
func (o ListOptions) query() (url.Values, error) {
	q := url.Values{}
	if o.PerPage != 0 {
		if o.PerPage < MinConversationsPage || o.PerPage > MaxConversationsPage {
			return nil, fmt.Errorf("per page %d: want %d to %d", o.PerPage, MinConversationsPage, MaxConversationsPage)
		}
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	if o.OrderUpdated {
		q.Set("order_date_updated", "1")
	}
	const iso = "2006-01-02T15:04:05.000Z"
	if !o.UpdatedSince.IsZero() {
		q.Set("filter_date_start", o.UpdatedSince.UTC().Format(iso))
	}
	if !o.UpdatedUntil.IsZero() {
		q.Set("filter_date_end", o.UpdatedUntil.UTC().Format(iso))
	}
	if o.IncludeEmpty {
		q.Set("include_empty", "1")
	}
	return q, nil
}

// ListConversations returns one page (from 1) of a website's conversations, each with its state and
// meta. A page shorter than the page size is the last one.
func (c *Client) ListConversations(ctx context.Context, websiteID string, page int, o ListOptions) ([]Conversation, error) {
	if websiteID == "" {
		return nil, errors.New("list conversations: website id is required")
	}
	if page < 1 {
		return nil, fmt.Errorf("list conversations: page %d: want >= 1", page)
	}
	q, err := o.query()
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	var out []Conversation
	err = c.do(ctx, restCall{op: "list conversations", method: http.MethodGet, route: RouteConversations,
		path: restPath("website", websiteID, "conversations", strconv.Itoa(page)), query: q, out: &out})
	return out, err
}

// ConversationMeta is a conversation's meta. Data values are strings, booleans or json.Number, as
// Crisp stored them.
type ConversationMeta struct {
	Nickname string         `json:"nickname"`
	Email    string         `json:"email"`
	Phone    string         `json:"phone"`
	Subject  string         `json:"subject"`
	Avatar   string         `json:"avatar"`
	IP       string         `json:"ip"`
	Origin   string         `json:"origin"`
	Segments []string       `json:"segments"`
	Data     map[string]any `json:"data"`
	Device   struct {
		Geolocation struct {
			Country string `json:"country"`
			Region  string `json:"region"`
			City    string `json:"city"`
		} `json:"geolocation"`
		Locales  []string `json:"locales"`
		Timezone *int     `json:"timezone"` // minutes behind UTC (JavaScript's getTimezoneOffset); nil when absent
	} `json:"device"`
}

// GetMeta reads a conversation's meta.
func (c *Client) GetMeta(ctx context.Context, websiteID, sessionID string) (ConversationMeta, error) {
	var out ConversationMeta
	p, err := restConvPath(websiteID, sessionID, "meta")
	if err != nil {
		return out, fmt.Errorf("get meta: %w", err)
	}
	err = c.do(ctx, restCall{op: "get meta", method: http.MethodGet, route: RouteMeta, path: p, out: &out})
	return out, err
}

// MetaPatch is the body of an update of a conversation's meta. Empty strings and nil maps or slices
// are left out; an empty non-nil Data or Segments is sent (and, if Crisp replaces, clears them).
// Whether Crisp replaces or merges data and segments is UNCONFIRMED: Platform.UpdateMeta always
// sends the full, merged values.
type MetaPatch struct {
	Nickname string         `json:"nickname,omitempty"`
	Email    string         `json:"email,omitempty"`
	Phone    string         `json:"phone,omitempty"`
	Subject  string         `json:"subject,omitempty"`
	Avatar   string         `json:"avatar,omitempty"`
	Segments []string       `json:"segments,omitzero"`
	Data     map[string]any `json:"data,omitzero"`
}

// UpdateMeta patches a conversation's meta.
func (c *Client) UpdateMeta(ctx context.Context, websiteID, sessionID string, m MetaPatch) error {
	p, err := restConvPath(websiteID, sessionID, "meta")
	if err != nil {
		return fmt.Errorf("update meta: %w", err)
	}
	return c.do(ctx, restCall{op: "update meta", method: http.MethodPatch, route: RouteMeta, path: p, in: m})
}

// Conversation states.
const (
	StatePending    = "pending"
	StateUnresolved = "unresolved"
	StateResolved   = "resolved"
)

func validState(s string) bool {
	return s == StatePending || s == StateUnresolved || s == StateResolved
}

// GetState returns a conversation's state: "pending", "unresolved" or "resolved".
func (c *Client) GetState(ctx context.Context, websiteID, sessionID string) (string, error) {
	p, err := restConvPath(websiteID, sessionID, "state")
	if err != nil {
		return "", fmt.Errorf("get state: %w", err)
	}
	var out struct {
		State string `json:"state"`
	}
	err = c.do(ctx, restCall{op: "get state", method: http.MethodGet, route: RouteState, path: p, out: &out})
	return out.State, err
}

// SetState changes a conversation's state to "pending", "unresolved" or "resolved".
func (c *Client) SetState(ctx context.Context, websiteID, sessionID, state string) error {
	if !validState(state) {
		return fmt.Errorf("set state: state %q: want pending, unresolved or resolved", state)
	}
	p, err := restConvPath(websiteID, sessionID, "state")
	if err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	body := map[string]string{"state": state}
	return c.do(ctx, restCall{op: "set state", method: http.MethodPatch, route: RouteState, path: p, in: body})
}

// ComposeNew is the body of a typing-indicator change.
type ComposeNew struct {
	Type      string `json:"type"` // "start" or "stop"
	From      string `json:"from"` // "operator"
	Excerpt   string `json:"excerpt,omitempty"`
	Stealth   bool   `json:"stealth,omitempty"`
	Automated bool   `json:"automated,omitempty"`
}

// Compose changes the typing indicator; From defaults to "operator".
func (c *Client) Compose(ctx context.Context, websiteID, sessionID string, m ComposeNew) error {
	if m.Type != "start" && m.Type != "stop" {
		return fmt.Errorf("compose: type %q: want start or stop", m.Type)
	}
	if m.From == "" {
		m.From = "operator"
	}
	p, err := restConvPath(websiteID, sessionID, "compose")
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return c.do(ctx, restCall{op: "compose " + m.Type, method: http.MethodPatch, route: RouteCompose, path: p, in: m})
}

// ComposeStart shows the operator typing indicator to the visitor.
func (c *Client) ComposeStart(ctx context.Context, websiteID, sessionID string) error {
	return c.Compose(ctx, websiteID, sessionID, ComposeNew{Type: "start"})
}

// ComposeStop hides the operator typing indicator.
func (c *Client) ComposeStop(ctx context.Context, websiteID, sessionID string) error {
	return c.Compose(ctx, websiteID, sessionID, ComposeNew{Type: "stop"})
}

// assignedUser is the "assigned" object of routing bodies.
type assignedUser struct {
	UserID string `json:"user_id"`
}

// GetRouting returns the operator user id the conversation is assigned to, or "".
func (c *Client) GetRouting(ctx context.Context, websiteID, sessionID string) (string, error) {
	p, err := restConvPath(websiteID, sessionID, "routing")
	if err != nil {
		return "", fmt.Errorf("get routing: %w", err)
	}
	var out struct {
		Assigned *assignedUser `json:"assigned"`
	}
	if err := c.do(ctx, restCall{op: "get routing", method: http.MethodGet, route: RouteRouting, path: p, out: &out}); err != nil {
		return "", err
	}
	if out.Assigned == nil {
		return "", nil
	}
	return out.Assigned.UserID, nil
}

// Assign routes the conversation to an operator; silent is passed through (semantics UNCONFIRMED).
func (c *Client) Assign(ctx context.Context, websiteID, sessionID, userID string, silent bool) error {
	if userID == "" {
		return errors.New("assign routing: user id is required")
	}
	p, err := restConvPath(websiteID, sessionID, "routing")
	if err != nil {
		return fmt.Errorf("assign routing: %w", err)
	}
	body := struct {
		Assigned *assignedUser `json:"assigned"`
		Silent   bool          `json:"silent,omitempty"`
	}{&assignedUser{userID}, silent}
	return c.do(ctx, restCall{op: "assign routing", method: http.MethodPatch, route: RouteRouting, path: p, in: body})
}

// Unassign removes the conversation's assignment ({"assigned": null}).
func (c *Client) Unassign(ctx context.Context, websiteID, sessionID string) error {
	p, err := restConvPath(websiteID, sessionID, "routing")
	if err != nil {
		return fmt.Errorf("unassign routing: %w", err)
	}
	body := struct {
		Assigned *assignedUser `json:"assigned"`
	}{}
	return c.do(ctx, restCall{op: "unassign routing", method: http.MethodPatch, route: RouteRouting, path: p, in: body})
}

// AvailabilityStatus is whether the website's chatbox is seen as online by visitors.
type AvailabilityStatus struct {
	Status string `json:"status"` // "online"; other values ("away", ...) are UNCONFIRMED
	Since  int64  `json:"since"`  // ms
}

// WebsiteAvailability reads the website's availability status.
func (c *Client) WebsiteAvailability(ctx context.Context, websiteID string) (AvailabilityStatus, error) {
	var out AvailabilityStatus
	if websiteID == "" {
		return out, errors.New("get website availability: website id is required")
	}
	err := c.do(ctx, restCall{op: "get website availability", method: http.MethodGet, route: RouteAvailability,
		path: restPath("website", websiteID, "availability", "status"), out: &out})
	return out, err
}

// OperatorAvailability is one operator's availability.
type OperatorAvailability struct {
	UserID string `json:"user_id"`
	Type   string `json:"type"` // "online", "away", "offline"
	Time   struct {
		For   int64 `json:"for"`   // seconds
		Since int64 `json:"since"` // ms
	} `json:"time"`
}

// OperatorAvailabilities reads the availability of every operator of the website.
func (c *Client) OperatorAvailabilities(ctx context.Context, websiteID string) ([]OperatorAvailability, error) {
	if websiteID == "" {
		return nil, errors.New("get operator availabilities: website id is required")
	}
	var out []OperatorAvailability
	err := c.do(ctx, restCall{op: "get operator availabilities", method: http.MethodGet, route: RouteOperatorsAvail,
		path: restPath("website", websiteID, "availability", "operators"), out: &out})
	return out, err
}

// ActiveOperator is an operator recently active on the website.
type ActiveOperator struct {
	UserID    string `json:"user_id"`
	Nickname  string `json:"nickname"`
	Avatar    string `json:"avatar"`
	Timestamp int64  `json:"timestamp"`
}

// LastActiveOperators lists the operators last active on the website.
func (c *Client) LastActiveOperators(ctx context.Context, websiteID string) ([]ActiveOperator, error) {
	if websiteID == "" {
		return nil, errors.New("get last active operators: website id is required")
	}
	var out []ActiveOperator
	err := c.do(ctx, restCall{op: "get last active operators", method: http.MethodGet, route: RouteOperatorsActive,
		path: restPath("website", websiteID, "operators", "active"), out: &out})
	return out, err
}

// ConnectEndpoints is the RTM endpoint discovery answer.
type ConnectEndpoints struct {
	Socket struct {
		App string `json:"app"`
	} `json:"socket"`
	Rescue struct {
		Socket struct {
			App string `json:"app"`
		} `json:"socket"`
	} `json:"rescue"`
}

// ConnectEndpoints reads the RTM endpoints of the client's tier ({tier}/connect/endpoints).
func (c *Client) ConnectEndpoints(ctx context.Context) (ConnectEndpoints, error) {
	var out ConnectEndpoints
	err := c.do(ctx, restCall{op: "get connect endpoints", method: http.MethodGet, route: RouteConnectEndpoints,
		path: restPath(c.cfg.Tier, "connect", "endpoints"), out: &out})
	return out, err
}

// Endpoints returns the RTM Socket.IO URL to connect to (data.socket.app).
func (c *Client) Endpoints(ctx context.Context) (string, error) {
	e, err := c.ConnectEndpoints(ctx)
	if err != nil {
		return "", err
	}
	if e.Socket.App == "" {
		return "", errors.New("get connect endpoints: no socket.app in answer")
	}
	return e.Socket.App, nil
}

// ConnectAccount returns the plugin id of the token (plugin tier).
func (c *Client) ConnectAccount(ctx context.Context) (string, error) {
	var out struct {
		PluginID string `json:"plugin_id"`
	}
	err := c.do(ctx, restCall{op: "get connect account", method: http.MethodGet, route: RouteConnectAccount,
		path: restPath("plugin", "connect", "account"), out: &out})
	return out.PluginID, err
}

// InstalledWebsite is a website that installed the plugin. Token is that website's plugin token:
// a secret, never log it.
type InstalledWebsite struct {
	WebsiteID string          `json:"website_id"`
	Token     string          `json:"token"`
	Settings  json.RawMessage `json:"settings"`
	Plan      *struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Trialing bool   `json:"trialing"`
	} `json:"plan"`
}

// InstalledWebsites returns one page (from 1) of the websites that installed the plugin;
// configuredOnly keeps those that saved the plugin's settings. An empty page ends the list.
func (c *Client) InstalledWebsites(ctx context.Context, page int, configuredOnly bool) ([]InstalledWebsite, error) {
	if page < 1 {
		return nil, fmt.Errorf("list installed websites: page %d: want >= 1", page)
	}
	q := url.Values{"filter_configured": {"0"}}
	if configuredOnly {
		q.Set("filter_configured", "1")
	}
	var out []InstalledWebsite
	err := c.do(ctx, restCall{op: "list installed websites", method: http.MethodGet, route: RouteConnectWebsites,
		path: restPath("plugin", "connect", "websites", "all", strconv.Itoa(page)), query: q, out: &out})
	return out, err
}

// AllInstalledWebsites pages through InstalledWebsites until an empty page.
func (c *Client) AllInstalledWebsites(ctx context.Context, configuredOnly bool) ([]InstalledWebsite, error) {
	var all []InstalledWebsite
	for page := 1; page <= maxInstalledPages; page++ {
		ws, err := c.InstalledWebsites(ctx, page, configuredOnly)
		if err != nil {
			return all, err
		}
		if len(ws) == 0 {
			return all, nil
		}
		all = append(all, ws...)
	}
	return all, fmt.Errorf("list installed websites: more than %d pages", maxInstalledPages)
}
