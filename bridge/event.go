package bridge

import "strings"

// Crisp event names the bridge understands. Both transports (RTM and web hooks) deliver the same
// names with the same data shapes; the adapter in bridge/crisp decodes them into an Event.
const (
	EventMessageSend          = "message:send"         // visitor -> operator message
	EventMessageReceived      = "message:received"     // operator-side message (humans, Crisp's bot, our own sends)
	EventMessageUpdated       = "message:updated"      // picker click, field input, edit
	EventMessageComposeSend   = "message:compose:send" // visitor typing
	EventSessionSetData       = "session:set_data"     // custom data written (scenario, $crisp, REST)
	EventSessionSetState      = "session:set_state"    // pending / unresolved / resolved
	EventSessionSetSegments   = "session:set_segments" // segments replaced
	EventSessionSetRouting    = "session:set_routing"  // assignment changed
	EventSessionSetEmail      = "session:set_email"    // visitor email set
	EventUsersAvailable       = "website:users:available"
	EventOperatorAvailability = "website:update_operators_availability"
	EventSessionSyncPages     = "session:sync:pages" // the visitor's page views (proactive greeting)
)

// Transport names where an event came from.
const (
	ViaRTM     = "rtm"
	ViaHooks   = "hooks"
	ViaAPI     = "api"
	ViaCatchup = "catchup" // read back over REST after a gap (Reconciler): lateCopy neither counts nor drops it
)

// Event is one Crisp event decoded from either transport. Only the fields of its Name are set.
type Event struct {
	Name        string // Crisp event name, e.g. "message:send"
	Via         string // ViaRTM, ViaHooks or ViaAPI
	WebsiteID   string
	SessionID   string
	Fingerprint int64 // message events; 0 otherwise
	Timestamp   int64 // milliseconds since the epoch, when Crisp gave one

	Message *Message // message:send, message:received, message:updated

	Data     map[string]string // session:set_data; values formatted as strings
	State    string            // session:set_state
	Segments []string          // session:set_segments
	RoutedTo string            // session:set_routing: operator user id or ""
	Email    string            // session:set_email
	Typing   string            // message:compose:send: "start" or "stop"
	PageURL  string            // session:sync:pages: the most recent page's URL

	Available    *bool  // website:users:available
	OperatorID   string // website:update_operators_availability; message:compose:receive: the typing operator
	OperatorType string // website:update_operators_availability: "online", "away", "offline"
}

// Message is the content of a message event.
type Message struct {
	Type      string // text, note, picker, field, file, ...
	From      string // "user" (visitor) or "operator"
	Origin    string // "chat", "urn:crisp.im:bot:0", our plugin URN, ...
	Text      string // text or note content; picker/field prompt text
	Picker    *Picker
	Field     *Field
	UserID    string
	Nickname  string
	Automated bool
}

// Picker is a button picker message.
type Picker struct {
	ID      string   `json:"id"`
	Text    string   `json:"text"`
	Choices []Choice `json:"choices"`
}

// Selected returns the selected choice, if any.
func (p *Picker) Selected() (Choice, bool) {
	if p == nil {
		return Choice{}, false
	}
	for _, c := range p.Choices {
		if c.Selected {
			return c, true
		}
	}
	return Choice{}, false
}

// Choice is one button of a picker.
type Choice struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Selected bool   `json:"selected"`
}

// Field is an input field message; Value is filled when the visitor answered.
type Field struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Explain string `json:"explain,omitempty"`
	Value   string `json:"value,omitempty"`
}

// OutMessage is a message the bridge posts into a conversation, always as operator with our origin.
type OutMessage struct {
	Type     string // "text", "picker", "field" or "note"
	Text     string // text and note content
	Picker   *Picker
	Field    *Field
	Mentions []string // operator user ids to ping (notes)
	// Fingerprint is the message's identity, derived from the journal entry that posts it and sent to
	// Crisp as the client-supplied fingerprint (0: let Crisp choose).
	Fingerprint int64
}

// MetaUpdate is a change to a conversation's meta. Data and Segments are merged into what Crisp
// already has (other keys and segments survive); empty fields are left alone.
type MetaUpdate struct {
	Email    string
	Nickname string
	Data     map[string]string
	Segments []string
	// Expect makes the Data write conditional: it is skipped when a key's current value (absent
	// counts as "") differs, so a signal written meanwhile by someone else is not overwritten. A
	// value may list alternatives separated by ExpectOr (ExpectMatches).
	Expect map[string]string
}

// ExpectOr separates alternatives in a MetaUpdate.Expect value.
const ExpectOr = "\x00"

// ExpectMatches reports whether a key's current value satisfies an Expect value.
func ExpectMatches(want, got string) bool {
	if want == got {
		return true
	}
	for alt := range strings.SplitSeq(want, ExpectOr) {
		if alt == got {
			return true
		}
	}
	return false
}

// Meta is what the bridge reads once about a new conversation.
type Meta struct {
	Email    string
	Nickname string
	Country  string
	Locales  []string
	Data     map[string]string
	Segments []string
	// Timezone is the visitor's browser UTC offset in minutes behind UTC (JavaScript's
	// getTimezoneOffset, as Crisp's device.timezone), nil when unknown.
	Timezone *int
}

// Availability tells whether humans can answer now.
type Availability struct {
	Online    bool     // the website's chatbox is seen as online
	Operators []string // user ids of operators currently online
}
