package crisp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/effect"
)

// DefaultAvailabilityTTL is how long Platform.Availability trusts what it read from Crisp.
const DefaultAvailabilityTTL = 15 * time.Second

// PlatformOptions configures a Platform.
type PlatformOptions struct {
	AvailabilityTTL time.Duration // cache of Availability per website; default DefaultAvailabilityTTL
	Now             bridge.Clock  // default time.Now
	Logger          *slog.Logger  // default: discard
	// MergeMeta says Crisp merges the data keys and segments of PATCH meta into what it has
	// (UNCONFIRMED: the default assumes it replaces them). Then a write-back is one PATCH of only our
	// keys, with no read first; the price is that a write-back can no longer be conditional on the
	// signal key (a signal written within the PATCH's own round trip may be overwritten).
	MergeMeta bool
}

// Platform implements bridge.Platform over the Crisp REST API. Messages go out as "operator" with
// the client's plugin URN as origin ("chat" without one) and the bot's nickname and avatar.
type Platform struct {
	c   *Client
	ttl time.Duration
	now bridge.Clock
	log *slog.Logger

	merge     bool
	metaLocks [64]sync.Mutex // striped: one read-merge-write of a conversation's meta at a time
	seed      maphash.Seed

	mu    sync.Mutex
	avail map[string]*availEntry // by website id
}

var (
	_ bridge.Platform    = (*Platform)(nil)
	_ bridge.PostChecker = (*Platform)(nil)
)

// availEntry caches the two halves of a website's availability, each with the time it was last
// known in full.
type availEntry struct {
	online   bool
	onlineAt time.Time       // zero: unknown
	ops      map[string]bool // operator user ids online
	opsAt    time.Time       // zero: unknown
}

// NewPlatform returns a Platform over c.
func NewPlatform(c *Client, opts PlatformOptions) *Platform {
	p := &Platform{c: c, ttl: opts.AvailabilityTTL, now: opts.Now, log: opts.Logger, merge: opts.MergeMeta,
		seed: maphash.MakeSeed(), avail: make(map[string]*availEntry)}
	if p.ttl <= 0 {
		p.ttl = DefaultAvailabilityTTL
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// Client returns the REST client under the platform, for routes beyond bridge.Platform.
func (p *Platform) Client() *Client { return p.c }

// Send posts a message as operator with our origin and returns its fingerprint.
func (p *Platform) Send(ctx context.Context, websiteID, sessionID string, m bridge.OutMessage) (int64, error) {
	nm := MessageNew{Type: m.Type, Mentions: m.Mentions}
	switch m.Type {
	case "text", "note":
		if m.Text == "" {
			return 0, fmt.Errorf("send message: %s without text", m.Type)
		}
		nm.Content = m.Text
	case "picker":
		if m.Picker == nil || len(m.Picker.Choices) == 0 {
			return 0, errors.New("send message: picker without choices")
		}
		pc := PickerContent{ID: m.Picker.ID, Text: m.Picker.Text, Choices: make([]PickerChoice, len(m.Picker.Choices))}
		for i, ch := range m.Picker.Choices {
			pc.Choices[i] = PickerChoice{Value: ch.Value, Label: ch.Label, Selected: ch.Selected}
		}
		nm.Content = pc
	case "field":
		if m.Field == nil {
			return 0, errors.New("send message: field without content")
		}
		nm.Content = FieldContent{ID: m.Field.ID, Text: m.Field.Text, Explain: m.Field.Explain, Value: m.Field.Value}
	default:
		return 0, fmt.Errorf("send message: type %q: want text, note, picker or field", m.Type)
	}
	nm.From, nm.Origin = "operator", p.c.Origin() // SendMessage adds the bot's nickname and avatar
	nm.Fingerprint = m.Fingerprint
	if _, set := ctx.Value(classKey{}).(Class); !set {
		ctx = WithClass(ctx, sendClass(m))
	}
	return p.c.SendMessage(ctx, websiteID, sessionID, nm)
}

// UpdateMeta merges u into the conversation's meta. When data or segments change it reads the meta,
// merges (keys and segments already there survive) and writes the full data and segment list, since
// whether Crisp replaces or merges them is UNCONFIRMED. Read-merge-writes of one conversation are
// serialised within this process.
func (p *Platform) UpdateMeta(ctx context.Context, websiteID, sessionID string, u bridge.MetaUpdate) error {
	if _, set := ctx.Value(classKey{}).(Class); !set {
		ctx = WithClass(ctx, ClassWriteBack) // its read too
	}
	patch := MetaPatch{Email: u.Email, Nickname: u.Nickname}
	if p.merge && (len(u.Data) > 0 || len(u.Segments) > 0) {
		// Crisp merges: send only what changes, in one call.
		if len(u.Data) > 0 {
			patch.Data = make(map[string]any, len(u.Data))
			for k, v := range u.Data {
				patch.Data[k] = v
			}
		}
		patch.Segments = slices.Clone(u.Segments)
		return p.c.UpdateMeta(ctx, websiteID, sessionID, patch)
	}
	if len(u.Data) == 0 && len(u.Segments) == 0 {
		if patch.Email == "" && patch.Nickname == "" {
			return nil
		}
		return p.c.UpdateMeta(ctx, websiteID, sessionID, patch)
	}
	l := &p.metaLocks[maphash.String(p.seed, websiteID+"/"+sessionID)%uint64(len(p.metaLocks))]
	l.Lock()
	defer l.Unlock()
	cur, err := p.c.GetMeta(ctx, websiteID, sessionID)
	if err != nil {
		return fmt.Errorf("merge meta: %w", err)
	}
	for k, want := range u.Expect {
		if !bridge.ExpectMatches(want, formatValue(cur.Data[k])) {
			// Someone wrote the key after we decided (a newer signal): theirs wins, and reaches the
			// bridge as its own event. A window of one GET..PATCH remains (no compare-and-set in Crisp).
			p.log.Debug("conditional data write skipped", "website", websiteID, "session", sessionID, "key", k)
			u.Data = nil
			if len(u.Segments) == 0 && patch.Email == "" && patch.Nickname == "" {
				return nil
			}
			break
		}
	}
	if len(u.Data) > 0 {
		patch.Data = make(map[string]any, len(cur.Data)+len(u.Data))
		for k, v := range cur.Data {
			patch.Data[k] = v
		}
		for k, v := range u.Data {
			patch.Data[k] = v
		}
	}
	if len(u.Segments) > 0 {
		patch.Segments = slices.Clone(cur.Segments)
		for _, s := range u.Segments {
			if s != "" && !slices.Contains(patch.Segments, s) {
				patch.Segments = append(patch.Segments, s)
			}
		}
	}
	return p.c.UpdateMeta(ctx, websiteID, sessionID, patch)
}

// Meta reads the conversation's email, nickname, country, locales, data and segments.
func (p *Platform) Meta(ctx context.Context, websiteID, sessionID string) (bridge.Meta, error) {
	m, err := p.c.GetMeta(ctx, websiteID, sessionID)
	if err != nil {
		return bridge.Meta{}, err
	}
	out := bridge.Meta{
		Email:    m.Email,
		Nickname: m.Nickname,
		Country:  m.Device.Geolocation.Country,
		Locales:  m.Device.Locales,
		Segments: m.Segments,
		Data:     make(map[string]string, len(m.Data)),
		Timezone: m.Device.Timezone,
	}
	for k, v := range m.Data {
		out.Data[k] = formatValue(v)
	}
	return out, nil
}

// SetState sets the conversation state: "pending", "unresolved" or "resolved".
func (p *Platform) SetState(ctx context.Context, websiteID, sessionID, state string) error {
	return p.c.SetState(ctx, websiteID, sessionID, state)
}

// Compose starts (typing=true) or stops the operator typing indicator.
func (p *Platform) Compose(ctx context.Context, websiteID, sessionID string, typing bool) error {
	if typing {
		return p.c.ComposeStart(ctx, websiteID, sessionID)
	}
	return p.c.ComposeStop(ctx, websiteID, sessionID)
}

// Availability tells whether the website's chatbox is online (status "online") and which operators
// are online (type "online"). Each half is cached for the TTL and kept current between reads by
// ObserveAvailability.
func (p *Platform) Availability(ctx context.Context, websiteID string) (bridge.Availability, error) {
	now := p.now()
	p.mu.Lock()
	e := p.avail[websiteID]
	needOnline := e == nil || e.onlineAt.IsZero() || now.Sub(e.onlineAt) >= p.ttl
	needOps := e == nil || e.opsAt.IsZero() || now.Sub(e.opsAt) >= p.ttl
	p.mu.Unlock()

	var (
		online bool
		ops    map[string]bool
	)
	if needOnline {
		st, err := p.c.WebsiteAvailability(ctx, websiteID)
		if err != nil {
			return bridge.Availability{}, err
		}
		online = st.Status == "online"
	}
	if needOps {
		list, err := p.c.OperatorAvailabilities(ctx, websiteID)
		if err != nil {
			return bridge.Availability{}, err
		}
		ops = make(map[string]bool, len(list))
		for _, o := range list {
			if o.Type == "online" && o.UserID != "" {
				ops[o.UserID] = true
			}
		}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	e = p.entry(websiteID)
	if needOnline {
		e.online, e.onlineAt = online, now
	}
	if needOps {
		e.ops, e.opsAt = ops, now
	}
	av := bridge.Availability{Online: e.online, Operators: make([]string, 0, len(e.ops))}
	for id := range e.ops {
		av.Operators = append(av.Operators, id)
	}
	slices.Sort(av.Operators)
	return av, nil
}

// entry returns the cache entry of a website, creating it. Callers hold mu.
func (p *Platform) entry(websiteID string) *availEntry {
	e := p.avail[websiteID]
	if e == nil {
		e = &availEntry{ops: map[string]bool{}}
		p.avail[websiteID] = e
	}
	return e
}

// ObserveAvailability feeds the availability cache from RTM or hook events:
// website:users:available sets the website's online flag (and counts as a fresh read of it);
// website:update_operators_availability updates one operator in a known list (without making the
// list fresh: the TTL still bounds how long it is trusted). Other events are ignored.
func (p *Platform) ObserveAvailability(ev bridge.Event) {
	if ev.WebsiteID == "" {
		return
	}
	switch ev.Name {
	case bridge.EventUsersAvailable:
		if ev.Available == nil {
			return
		}
		p.mu.Lock()
		e := p.entry(ev.WebsiteID)
		e.online, e.onlineAt = *ev.Available, p.now()
		p.mu.Unlock()
	case bridge.EventOperatorAvailability:
		if ev.OperatorID == "" {
			return
		}
		p.mu.Lock()
		e := p.entry(ev.WebsiteID)
		if ev.OperatorType == "online" {
			e.ops[ev.OperatorID] = true
		} else {
			delete(e.ops, ev.OperatorID)
		}
		p.mu.Unlock()
	}
}

// Posted looks a message of ours up in the latest page of the conversation's messages (one GET): by
// its client-supplied fingerprint first; when Crisp did not keep it (UNCONFIRMED whether it does),
// by type and text among our messages at or after q.After (Crisp's own time of the newest message
// the decision saw, never this machine's clock), skipping those already matched to other entries.
// It returns the fingerprint found, 0 when the message is not there.
func (p *Platform) Posted(ctx context.Context, websiteID, sessionID string, q bridge.PostCheck) (int64, error) {
	msgs, err := p.c.Messages(ctx, websiteID, sessionID, 0)
	if err != nil {
		return 0, fmt.Errorf("posted: %w", err)
	}
	m := q.Message
	if m.Fingerprint != 0 {
		for _, x := range msgs {
			if x.Fingerprint == m.Fingerprint {
				return x.Fingerprint, nil
			}
		}
	}
	origin := p.c.Origin()
	want := m.Text
	switch {
	case m.Picker != nil:
		want = m.Picker.Text
	case m.Field != nil:
		want = m.Field.Text
	}
	for _, x := range msgs {
		if x.Origin != origin || x.Type != m.Type || x.Timestamp < q.After || messageText(x) != want ||
			slices.Contains(q.Exclude, x.Fingerprint) || effect.Ours(x.Fingerprint) {
			continue // an own fingerprint that is not this message's belongs to another entry
		}
		return x.Fingerprint, nil
	}
	return 0, nil
}

// messageText is the text of a message read back: the content of a text or note, the prompt of a
// picker or field.
func messageText(m Message) string {
	if s := m.Text(); s != "" {
		return s
	}
	var obj struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &obj) == nil {
		return obj.Text
	}
	return ""
}
