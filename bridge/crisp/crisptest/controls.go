package crisptest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
)

// VisitorInfo describes a visitor; it seeds the conversation's meta (nickname, email, device
// locales and geolocation country) when the conversation is created.
type VisitorInfo struct {
	Nickname string   `json:"nickname,omitempty"` // default "visitor" + 6 digits
	Email    string   `json:"email,omitempty"`
	Locales  []string `json:"locales,omitempty"` // browser locales, e.g. ["fr-FR", "fr"]
	Country  string   `json:"country,omitempty"` // geolocation country code, e.g. "FR"
	// Timezone is the browser's UTC offset as Crisp's device.timezone reports it (JavaScript's
	// getTimezoneOffset: minutes behind UTC, -120 for UTC+2); nil leaves it out of the meta.
	Timezone *int `json:"timezone,omitempty"`
}

// Visitor acts as a visitor on the chatbox of a website, like the Crisp chatbox and its $crisp SDK.
// The conversation is created by the visitor's first action.
type Visitor struct {
	s       *Server
	website string
	session string
	info    VisitorInfo
}

// Visitor returns the visitor of a session; sessionID "" starts a new session ("session_<uuid>").
// info is used only if the conversation does not exist yet.
func (s *Server) Visitor(websiteID, sessionID string, info VisitorInfo) *Visitor {
	if sessionID == "" {
		sessionID = NewSessionID()
	}
	if info.Nickname == "" {
		n, _ := rand.Int(rand.Reader, big.NewInt(1000000))
		info.Nickname = fmt.Sprintf("visitor%06d", n.Int64())
	}
	return &Visitor{s: s, website: websiteID, session: sessionID, info: info}
}

// SessionID returns the visitor's session id.
func (v *Visitor) SessionID() string { return v.session }

// WebsiteID returns the visitor's website id.
func (v *Visitor) WebsiteID() string { return v.website }

// conv returns the visitor's conversation, creating it; the caller holds mu.
func (v *Visitor) conv(e *emitter) (*conversation, error) {
	w, err := v.s.site(v.website)
	if err != nil {
		return nil, err
	}
	if c, ok := w.convs[v.session]; ok {
		return c, nil
	}
	c := v.s.newConv(w, v.session, e.now)
	c.nickname, c.email = v.info.Nickname, v.info.Email
	c.locales, c.country = slices.Clone(v.info.Locales), v.info.Country
	c.timezone = v.info.Timezone
	return c, nil
}

// Send sends a text message from the chatbox (message:send) and returns its fingerprint.
func (v *Visitor) Send(text string) (int64, error) {
	if text == "" {
		return 0, fmt.Errorf("visitor send: %w", errInvalid("empty text"))
	}
	return v.SendMessage("text", text)
}

// SendMessage sends a message of any type from the chatbox and returns its fingerprint. content is
// a string for text, or a value encoding to the type's JSON object.
func (v *Visitor) SendMessage(typ string, content any) (int64, error) {
	raw, err := json.Marshal(content)
	if err != nil {
		return 0, fmt.Errorf("visitor send: %w", errInvalid("content: %v", err))
	}
	if !slices.Contains(messageTypes, typ) {
		return 0, fmt.Errorf("visitor send: %w", errInvalid("type %q", typ))
	}
	val, err := validateContent(typ, raw)
	if err != nil {
		return 0, fmt.Errorf("visitor send: %w", err)
	}
	var fp int64
	err = v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		m := &Message{Type: typ, From: "user", Origin: "chat", Content: val,
			User: MessageUser{UserID: c.session, Nickname: c.nickname}}
		v.s.addMessage(e, c, m)
		fp = m.Fingerprint
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("visitor send: %w", err)
	}
	return fp, nil
}

// Click picks the choice with value in the picker message fp: that choice becomes selected, the
// others unselected, and message:updated carries the full picker content. UNCONFIRMED: whether
// Crisp also emits a visitor message:send for the click (it does not here).
func (v *Visitor) Click(fp int64, value string) error {
	err := v.updateContent(fp, "picker", func(next map[string]any) error {
		choices, _ := next["choices"].([]any)
		found := false
		for _, ch := range choices {
			ch, ok := ch.(map[string]any)
			if !ok {
				continue
			}
			hit := ch["value"] == value
			found = found || hit
			ch["selected"] = hit
		}
		if !found {
			return errInvalid("picker %d has no choice %q", fp, value)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor click: %w", err)
	}
	return nil
}

// updateContent changes a copy of the object content of message fp, which must be of type typ, and
// emits message:updated with it.
func (v *Visitor) updateContent(fp int64, typ string, change func(next map[string]any) error) error {
	return v.s.update(func(e *emitter) error {
		c, err := v.s.conv(v.website, v.session)
		if err != nil {
			return err
		}
		m := c.message(fp)
		if m == nil {
			return errNotFound("message not found")
		}
		obj, ok := m.Content.(map[string]any)
		if m.Type != typ || !ok {
			return errInvalid("message %d is a %s, not a %s", fp, m.Type, typ)
		}
		next := copyMap(obj)
		if err := change(next); err != nil {
			return err
		}
		v.s.updateContent(e, c, m, next)
		return nil
	})
}

// Fill answers the field message fp: content.value is set and message:updated carries the full
// field content.
func (v *Visitor) Fill(fp int64, value string) error {
	err := v.updateContent(fp, "field", func(next map[string]any) error {
		next["value"] = value
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor fill: %w", err)
	}
	return nil
}

// SetData writes session data as $crisp.push(["set","session:data",[[[k,v],...]]]) does: keys are
// merged into the current data, an empty string deletes a key, and session:set_data carries the
// full map. A write that changes nothing emits nothing unless Options.EmitUnchangedData is set.
func (v *Visitor) SetData(data map[string]any) error {
	norm, err := normalizeData(data)
	if err != nil {
		return fmt.Errorf("visitor set data: %w", err)
	}
	err = v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		v.s.setData(e, c, norm, true)
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor set data: %w", err)
	}
	return nil
}

// normalizeData validates data and converts its values to their JSON-decoded form (numbers as
// json.Number), so equal values compare equal whatever Go type they were given as.
func normalizeData(data map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, errInvalid("data: %v", err)
	}
	v, err := decodeAny(raw)
	if err != nil {
		return nil, errInvalid("data: %v", err)
	}
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if err := validateData(m); err != nil {
		return nil, err
	}
	return m, nil
}

// SetSegments sets segments as $crisp session:segments does: added to the current ones, or
// replacing them when overwrite is set.
func (v *Visitor) SetSegments(segments []string, overwrite bool) error {
	err := v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		v.s.setSegments(e, c, segments, !overwrite)
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor set segments: %w", err)
	}
	return nil
}

// Browse shows the visitor on a page of the website: session:sync:pages with that page, as the
// chatbox reports page views (payload of the official clients: go-crisp-api
// EventsReceiveSessionSyncPages, node-crisp-api EventsSessionSyncPages). It creates the
// conversation, as a chatbox session exists before the visitor writes.
func (v *Visitor) Browse(url, title string) error {
	err := v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		page := map[string]any{"page_title": title, "page_url": url, "timestamp": e.now}
		e.emit(c.website, c.session, "session:sync:pages", map[string]any{
			"website_id": c.website, "session_id": c.session, "inbox_id": nullable(c.inbox),
			"pages": []any{page},
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor browse: %w", err)
	}
	return nil
}

// SetEmail sets the visitor's email (session:set_email when it changed).
func (v *Visitor) SetEmail(email string) error {
	err := v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		setField(e, c, &c.email, "email", email)
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor set email: %w", err)
	}
	return nil
}

// Compose shows the visitor typing ("start") or stopping ("stop"): message:compose:send.
func (v *Visitor) Compose(typ, excerpt string) error {
	if typ != "start" && typ != "stop" {
		return fmt.Errorf("visitor compose: %w", errInvalid("type %q", typ))
	}
	err := v.s.update(func(e *emitter) error {
		c, err := v.conv(e)
		if err != nil {
			return err
		}
		data := map[string]any{"website_id": c.website, "session_id": c.session, "type": typ, "timestamp": e.now}
		if excerpt != "" {
			data["excerpt"] = excerpt
		}
		e.emit(c.website, c.session, "message:compose:send", data)
		return nil
	})
	if err != nil {
		return fmt.Errorf("visitor compose: %w", err)
	}
	return nil
}

// --- operator controls ---

// operator returns the operator userID of w, or the first operator for ""; the caller holds mu.
func operatorOf(w *website, userID string) (*Operator, error) {
	if userID == "" {
		if len(w.operators) == 0 {
			return nil, errNotFound("website has no operator")
		}
		return w.operators[0], nil
	}
	if o := w.operator(userID); o != nil {
		return o, nil
	}
	return nil, errNotFound("operator not found")
}

// AddOperator adds (or replaces, by UserID) an operator of a website, with no event.
func (s *Server) AddOperator(websiteID string, o Operator) error {
	if o.UserID == "" {
		return fmt.Errorf("add operator: %w", errInvalid("no user_id"))
	}
	return s.update(func(e *emitter) error {
		w, err := s.site(websiteID)
		if err != nil {
			return fmt.Errorf("add operator: %w", err)
		}
		if o.Since == 0 {
			o.Since = e.now
		}
		if cur := w.operator(o.UserID); cur != nil {
			*cur = o
			return nil
		}
		w.operators = append(w.operators, &o)
		return nil
	})
}

func (s *Server) operatorMessage(websiteID, sessionID, userID, typ, text string, mentions []string) (int64, error) {
	if text == "" {
		return 0, errInvalid("empty text")
	}
	var fp int64
	err := s.update(func(e *emitter) error {
		c, err := s.conv(websiteID, sessionID)
		if err != nil {
			return err
		}
		o, err := operatorOf(s.websites[websiteID], userID)
		if err != nil {
			return err
		}
		m := &Message{Type: typ, From: "operator", Origin: "chat", Content: text, Mentions: slices.Clone(mentions),
			User: MessageUser{UserID: o.UserID, Nickname: o.Nickname}}
		s.addMessage(e, c, m)
		fp = m.Fingerprint
		return nil
	})
	return fp, err
}

// OperatorReply posts a text reply from a human operator (userID "" = the website's first
// operator), origin "chat": message:received, and pending -> unresolved.
func (s *Server) OperatorReply(websiteID, sessionID, userID, text string) (int64, error) {
	fp, err := s.operatorMessage(websiteID, sessionID, userID, "text", text, nil)
	if err != nil {
		return 0, fmt.Errorf("operator reply: %w", err)
	}
	return fp, nil
}

// OperatorNote posts a private note from an operator (userID "" = the first operator).
func (s *Server) OperatorNote(websiteID, sessionID, userID, text string, mentions ...string) (int64, error) {
	fp, err := s.operatorMessage(websiteID, sessionID, userID, "note", text, mentions)
	if err != nil {
		return 0, fmt.Errorf("operator note: %w", err)
	}
	return fp, nil
}

// SetState changes a conversation's state as an operator would (session:set_state when it changed).
func (s *Server) SetState(websiteID, sessionID, state string) error {
	if !validState(state) {
		return fmt.Errorf("set state: %w", errInvalid("state %q", state))
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(websiteID, sessionID)
		if err != nil {
			return err
		}
		s.setState(e, c, state)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set state: %w", err)
	}
	return nil
}

// Resolve marks a conversation resolved, as an operator would.
func (s *Server) Resolve(websiteID, sessionID string) error {
	return s.SetState(websiteID, sessionID, "resolved")
}

// Assign assigns a conversation to an operator (userID "" unassigns): session:set_routing.
func (s *Server) Assign(websiteID, sessionID, userID string) error {
	err := s.update(func(e *emitter) error {
		c, err := s.conv(websiteID, sessionID)
		if err != nil {
			return err
		}
		if userID != "" {
			if _, err := operatorOf(s.websites[websiteID], userID); err != nil {
				return err
			}
		}
		s.setRouting(e, c, userID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	return nil
}

// SetOperatorOnline sets an operator online or offline (userID "" = the first operator):
// website:update_operators_availability, and website:users:available when "anyone online" flips.
func (s *Server) SetOperatorOnline(websiteID, userID string, online bool) error {
	err := s.update(func(e *emitter) error {
		w, err := s.site(websiteID)
		if err != nil {
			return err
		}
		o, err := operatorOf(w, userID)
		if err != nil {
			return err
		}
		s.setOperatorOnline(e, w, o, online)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set operator online: %w", err)
	}
	return nil
}

// OperatorCompose sets the operator compose state as an operator typing in the inbox would.
func (s *Server) OperatorCompose(websiteID, sessionID, userID, typ string) error {
	if typ != "start" && typ != "stop" {
		return fmt.Errorf("operator compose: %w", errInvalid("type %q", typ))
	}
	err := s.update(func(e *emitter) error {
		c, err := s.conv(websiteID, sessionID)
		if err != nil {
			return err
		}
		o, err := operatorOf(s.websites[websiteID], userID)
		if err != nil {
			return err
		}
		s.setCompose(e, c, typ, "", MessageUser{UserID: o.UserID, Nickname: o.Nickname}, false)
		return nil
	})
	if err != nil {
		return fmt.Errorf("operator compose: %w", err)
	}
	return nil
}

// PostMessage posts any message as Crisp's own side would, e.g. a Crisp Bot picker (From
// "operator", Origin "urn:crisp.im:bot:0", Automated true). Only Type, From (default "operator"),
// Origin (default "chat"), Content, User, Mentions and Automated are used; the fingerprint is
// returned. It has the same effects as POST .../message.
func (s *Server) PostMessage(websiteID, sessionID string, m Message) (int64, error) {
	if m.From == "" {
		m.From = "operator"
	}
	if m.Origin == "" {
		m.Origin = "chat"
	}
	if m.From != "operator" && m.From != "user" {
		return 0, fmt.Errorf("post message: %w", errInvalid("from %q", m.From))
	}
	if !slices.Contains(messageTypes, m.Type) {
		return 0, fmt.Errorf("post message: %w", errInvalid("type %q", m.Type))
	}
	raw, err := json.Marshal(m.Content)
	if err != nil {
		return 0, fmt.Errorf("post message: %w", errInvalid("content: %v", err))
	}
	content, err := validateContent(m.Type, raw)
	if err != nil {
		return 0, fmt.Errorf("post message: %w", err)
	}
	var fp int64
	err = s.update(func(e *emitter) error {
		c, err := s.conv(websiteID, sessionID)
		if err != nil {
			return err
		}
		msg := &Message{Type: m.Type, From: m.From, Origin: m.Origin, Content: content, User: m.User,
			Mentions: slices.Clone(m.Mentions), Automated: m.Automated}
		s.addMessage(e, c, msg)
		fp = msg.Fingerprint
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("post message: %w", err)
	}
	return fp, nil
}
