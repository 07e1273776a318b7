// Package crisp is the Crisp adapter: a REST client, an RTM client (Socket.IO over gorilla/websocket)
// and web-hook verification, all decoding Crisp's events into bridge.Event.
package crisp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/signalbridge/signalbridge/bridge"
)

// ErrMalformed wraps every decoding failure of an event.
var ErrMalformed = errors.New("malformed event")

// Handled reports whether the bridge consumes events of this name. Other events are ignored without
// error by both transports.
func Handled(name string) bool {
	switch name {
	case bridge.EventMessageSend, bridge.EventMessageReceived, bridge.EventMessageUpdated,
		bridge.EventMessageComposeSend, bridge.EventSessionSetData, bridge.EventSessionSetState,
		bridge.EventSessionSetSegments, bridge.EventSessionSetRouting, bridge.EventSessionSetEmail,
		bridge.EventUsersAvailable, bridge.EventOperatorAvailability, bridge.EventSessionSyncPages,
		bridge.EventMessageComposeReceive:
		return true
	}
	return false
}

// SubscribedEvents is the event list sent in the RTM authentication payload.
var SubscribedEvents = []string{
	bridge.EventMessageSend, bridge.EventMessageReceived, bridge.EventMessageUpdated,
	bridge.EventMessageComposeSend, bridge.EventSessionSetData, bridge.EventSessionSetState,
	bridge.EventSessionSetSegments, bridge.EventSessionSetRouting, bridge.EventSessionSetEmail,
	bridge.EventUsersAvailable, bridge.EventOperatorAvailability, bridge.EventSessionSyncPages,
	bridge.EventMessageComposeReceive,
}

// wireEvent is the union of the data fields of the events we handle (RTM argument or hook "data").
type wireEvent struct {
	WebsiteID   string          `json:"website_id"`
	SessionID   string          `json:"session_id"`
	Type        string          `json:"type"`
	From        string          `json:"from"`
	Origin      string          `json:"origin"`
	Content     json.RawMessage `json:"content"`
	Fingerprint json.Number     `json:"fingerprint"`
	Timestamp   json.Number     `json:"timestamp"`
	Automated   bool            `json:"automated"`
	User        *struct {
		UserID   string `json:"user_id"`
		Nickname string `json:"nickname"`
	} `json:"user"`
	Data         map[string]json.RawMessage `json:"data"` // values formatted by formatRaw
	State        string                     `json:"state"`
	Segments     []string                   `json:"segments"`
	RoutingID    *string                    `json:"routing_id"`
	Email        string                     `json:"email"`
	Available    *bool                      `json:"available"`
	UserID       string                     `json:"user_id"`
	Availability *struct {
		Type string `json:"type"`
	} `json:"availability"`
	Pages []struct {
		PageURL   string      `json:"page_url"`
		Timestamp json.Number `json:"timestamp"`
	} `json:"pages"`
}

// DecodeEvent decodes the data object of a Crisp event into a bridge.Event. websiteID is used when the
// data does not carry one (web hooks give it in the envelope). It validates the fields the bridge uses.
// data is one JSON value (trailing bytes are malformed).
func DecodeEvent(name string, data []byte, via, websiteID string) (bridge.Event, error) {
	// One json.Unmarshal, no Decoder: a Decoder copies its input into a buffer of its own, and is
	// needed only for UseNumber, which the custom-data values get from formatValue instead.
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return bridge.Event{}, fmt.Errorf("%w: %s: %v", ErrMalformed, name, err)
	}
	return eventOf(name, &w, via, websiteID)
}

// eventOf validates a decoded event and turns it into a bridge.Event (see DecodeEvent).
func eventOf(name string, w *wireEvent, via, websiteID string) (bridge.Event, error) {
	ev := bridge.Event{Name: name, Via: via, WebsiteID: w.WebsiteID, SessionID: w.SessionID}
	if ev.WebsiteID == "" {
		ev.WebsiteID = websiteID
	}
	if ev.WebsiteID == "" {
		return bridge.Event{}, fmt.Errorf("%w: %s: no website_id", ErrMalformed, name)
	}
	var err error
	if ev.Fingerprint, err = number(w.Fingerprint); err != nil {
		return bridge.Event{}, fmt.Errorf("%w: %s: fingerprint: %v", ErrMalformed, name, err)
	}
	if ev.Timestamp, err = number(w.Timestamp); err != nil {
		return bridge.Event{}, fmt.Errorf("%w: %s: timestamp: %v", ErrMalformed, name, err)
	}
	needSession := true
	switch name {
	case bridge.EventMessageSend, bridge.EventMessageReceived, bridge.EventMessageUpdated:
		if ev.Fingerprint == 0 {
			return bridge.Event{}, fmt.Errorf("%w: %s: no fingerprint", ErrMalformed, name)
		}
		m, err := decodeMessage(w)
		if err != nil {
			return bridge.Event{}, fmt.Errorf("%w: %s: %v", ErrMalformed, name, err)
		}
		ev.Message = m
	case bridge.EventMessageComposeSend:
		ev.Typing = w.Type
	case bridge.EventMessageComposeReceive:
		ev.Typing = w.Type
		if w.User != nil && !w.Automated {
			ev.OperatorID = w.User.UserID // a human operator typing; our own indicator has none
		}
	case bridge.EventSessionSetData:
		if w.Data == nil {
			return bridge.Event{}, fmt.Errorf("%w: %s: no data", ErrMalformed, name)
		}
		ev.Data = make(map[string]string, len(w.Data))
		for k, raw := range w.Data {
			v, err := formatRaw(raw)
			if err != nil {
				return bridge.Event{}, fmt.Errorf("%w: %s: data %q: %v", ErrMalformed, name, k, err)
			}
			ev.Data[k] = v
		}
	case bridge.EventSessionSetState:
		switch w.State {
		case "pending", "unresolved", "resolved":
			ev.State = w.State
		default:
			return bridge.Event{}, fmt.Errorf("%w: %s: state %q", ErrMalformed, name, w.State)
		}
	case bridge.EventSessionSetSegments:
		ev.Segments = w.Segments
	case bridge.EventSessionSetRouting:
		if w.RoutingID != nil {
			ev.RoutedTo = *w.RoutingID
		}
	case bridge.EventSessionSetEmail:
		ev.Email = w.Email
	case bridge.EventSessionSyncPages:
		var latest int64 = -1
		for _, p := range w.Pages {
			at, err := number(p.Timestamp)
			if err != nil {
				return bridge.Event{}, fmt.Errorf("%w: %s: page timestamp: %v", ErrMalformed, name, err)
			}
			if at >= latest && p.PageURL != "" {
				latest, ev.PageURL = at, p.PageURL
			}
		}
	case bridge.EventUsersAvailable:
		needSession = false
		if w.Available == nil {
			return bridge.Event{}, fmt.Errorf("%w: %s: no available flag", ErrMalformed, name)
		}
		ev.Available = w.Available
	case bridge.EventOperatorAvailability:
		needSession = false
		ev.OperatorID = w.UserID
		if w.Availability != nil {
			ev.OperatorType = w.Availability.Type
		}
		if ev.OperatorID == "" {
			return bridge.Event{}, fmt.Errorf("%w: %s: no user_id", ErrMalformed, name)
		}
	default:
		needSession = false
	}
	if needSession && ev.SessionID == "" {
		return bridge.Event{}, fmt.Errorf("%w: %s: no session_id", ErrMalformed, name)
	}
	return ev, nil
}

func decodeMessage(w *wireEvent) (*bridge.Message, error) {
	m := &bridge.Message{Type: w.Type, From: w.From, Origin: w.Origin, Automated: w.Automated}
	if w.User != nil {
		m.UserID, m.Nickname = w.User.UserID, w.User.Nickname
	}
	if len(w.Content) == 0 || string(w.Content) == "null" {
		return m, nil
	}
	if w.Content[0] == '"' {
		text, err := jsonText(w.Content)
		if err != nil {
			return nil, fmt.Errorf("content: %v", err)
		}
		m.Text = text
		return m, nil
	}
	if w.Content[0] != '{' {
		return m, nil // other content shapes (numbers, arrays) carry nothing we use
	}
	// An object: a picker has choices, a field has an id and maybe a value. message:updated carries no
	// type, so the shape decides.
	var obj struct {
		ID      string          `json:"id"`
		Text    string          `json:"text"`
		Explain string          `json:"explain"`
		Value   *string         `json:"value"`
		Choices []bridge.Choice `json:"choices"`
	}
	if err := json.Unmarshal(w.Content, &obj); err != nil {
		return nil, fmt.Errorf("content: %v", err)
	}
	switch {
	case obj.Choices != nil || m.Type == "picker":
		m.Picker = &bridge.Picker{ID: obj.ID, Text: obj.Text, Choices: obj.Choices}
		if m.Type == "" {
			m.Type = "picker"
		}
	case obj.Value != nil || m.Type == "field" || obj.Explain != "":
		m.Field = &bridge.Field{ID: obj.ID, Text: obj.Text, Explain: obj.Explain}
		if obj.Value != nil {
			m.Field.Value = *obj.Value
		}
		if m.Type == "" {
			m.Type = "field"
		}
	}
	m.Text = obj.Text
	return m, nil
}

// jsonText decodes a JSON string already checked by the decoder that delivered it. Most texts have
// no escape and are valid UTF-8: they are the bytes between the quotes, with no second decoding.
func jsonText(q []byte) (string, error) {
	if len(q) >= 2 && q[0] == '"' && q[len(q)-1] == '"' && bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1 : len(q)-1]), nil
	}
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

func number(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64() // 1.5e14 fits exactly in a float64
	if err != nil {
		return 0, err
	}
	return int64(f), nil
}

// formatRaw is formatValue of one raw custom-data value as a UseNumber decoder would give it: a
// string as is, a number as written, a boolean as true/false, null as "", an object or an array as
// compact JSON with sorted keys and numbers as written.
func formatRaw(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 'n': // null
		return "", nil
	case 't', 'f', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw), nil // a literal exactly as the sender wrote it (json.Number's text)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
