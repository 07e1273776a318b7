package bridge_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/scenario"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/signals"
)

// platCall is one call the bridge made on the model platform, with the clock and the stored mode of
// the conversation at that moment.
type platCall struct {
	Seq    int
	At     int64 // model clock, Unix ms
	Kind   string
	Key    bridge.Key
	Msg    bridge.OutMessage
	Meta   bridge.MetaUpdate
	State  string
	Typing bool
	Mode   signals.Mode // stored mode when the call was made ("" when not stored)
	// Questions are the visitor turns of the stored transcript when a message was sent.
	Questions []string
	// Skipped: an UpdateMeta whose Expect did not match, so its data was not written.
	Skipped bool
}

func (c platCall) String() string {
	switch c.Kind {
	case "send":
		text := c.Msg.Text
		switch {
		case c.Msg.Picker != nil:
			text = "picker " + c.Msg.Picker.ID + " " + c.Msg.Picker.Text
		case c.Msg.Field != nil:
			text = "field " + c.Msg.Field.ID
		}
		return fmt.Sprintf("#%d send %s %s %q (mode %s)", c.Seq, c.Key.SessionID, c.Msg.Type, clipText(text, 70), c.Mode)
	case "meta":
		return fmt.Sprintf("#%d meta %s data=%v expect=%v segs=%v email=%q skipped=%v (mode %s)", c.Seq, c.Key.SessionID,
			c.Meta.Data, c.Meta.Expect, c.Meta.Segments, c.Meta.Email, c.Skipped, c.Mode)
	case "state":
		return fmt.Sprintf("#%d set_state %s %s (mode %s)", c.Seq, c.Key.SessionID, c.State, c.Mode)
	case "compose":
		return fmt.Sprintf("#%d compose %s %v", c.Seq, c.Key.SessionID, c.Typing)
	}
	return fmt.Sprintf("#%d %s %s", c.Seq, c.Kind, c.Key.SessionID)
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// crispConv is what the model platform keeps about a conversation, as Crisp would.
type crispConv struct {
	data     map[string]string
	email    string
	state    string
	segments []string
	typing   bool
	ours     map[string]bool // data keys whose current value the bridge wrote
}

// modelPlatform is a Platform that behaves like Crisp for what the bridge can observe: it stores
// session data (with conditional writes), email, segments and the conversation state (a message
// from the operator side turns a pending conversation unresolved, as Crisp does), and records every
// call with the model clock and the conversation's stored mode at that moment.
type modelPlatform struct {
	now   func() int64
	store func() bridge.Store // the current store (it changes on a restart)

	mu     sync.Mutex
	calls  []platCall
	convs  map[bridge.Key]*crispConv
	online bool
	fp     int64
	// Flood guard: a bridge that loops posting would never let the test end. Past floodCap messages
	// in one conversation for one input the sending goroutine is parked for good (the bridge is left
	// wedged, not closed) and wedged is closed so the test fails at once.
	stepSends map[bridge.Key]int
	wedged    chan struct{}
	flood     string
	// decided: the stored mode and visitor turns just before the commit of each answer (by its
	// fingerprint). An answer is committed with what it decided (a handover, a resolution) before it
	// is posted, so its checks look at the conversation it was decided in.
	decided map[int64]decision
}

type decision struct {
	mode      signals.Mode
	questions []string
}

// decidingStore is the bolt store that tells the model platform, at each commit of a new answer,
// what the conversation held just before it.
type decidingStore struct {
	*bolt.Store
	plat *modelPlatform
}

func (s decidingStore) Commit(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, eventID string) error {
	s.decide(c)
	return s.Store.Commit(ctx, c, audit, eventID)
}

func (s decidingStore) CommitRemoving(ctx context.Context, c *bridge.Conversation, audit []bridge.AuditEntry, eventID, inboxID string) error {
	s.decide(c)
	return s.Store.CommitRemoving(ctx, c, audit, eventID, inboxID)
}

// decide records, for each answer c is about to commit for the first time, the stored state.
func (s decidingStore) decide(c *bridge.Conversation) {
	var fps []int64
	s.plat.mu.Lock()
	for _, e := range c.Journal {
		if _, known := s.plat.decided[e.Fingerprint]; e.Kind == bridge.JournalAnswer && !known {
			fps = append(fps, e.Fingerprint)
		}
	}
	s.plat.mu.Unlock()
	if len(fps) > 0 {
		mode, qs := s.plat.stored(c.Key)
		s.plat.mu.Lock()
		if s.plat.decided == nil {
			s.plat.decided = map[int64]decision{}
		}
		for _, fp := range fps {
			s.plat.decided[fp] = decision{mode: mode, questions: qs}
		}
		s.plat.mu.Unlock()
	}
}

// floodCap is how many messages one input may post in a conversation before the platform wedges.
const floodCap = 40

// beginInput resets the flood guard's counts.
func (p *modelPlatform) beginInput() {
	p.mu.Lock()
	p.stepSends = map[bridge.Key]int{}
	p.mu.Unlock()
}

// isWedged reports whether the flood guard parked a bridge goroutine, and why.
func (p *modelPlatform) isWedged() (bool, string) {
	select {
	case <-p.wedged:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.flood
	default:
		return false, ""
	}
}

func newModelPlatform(now func() int64, store func() bridge.Store) *modelPlatform {
	return &modelPlatform{now: now, store: store, convs: map[bridge.Key]*crispConv{}, online: true, fp: 1 << 40,
		stepSends: map[bridge.Key]int{}, wedged: make(chan struct{})}
}

func (p *modelPlatform) conv(k bridge.Key) *crispConv {
	c := p.convs[k]
	if c == nil {
		c = &crispConv{data: map[string]string{}, ours: map[string]bool{}}
		p.convs[k] = c
	}
	return c
}

// storedMode reads the conversation's committed mode (outside p.mu).
func (p *modelPlatform) storedMode(k bridge.Key) signals.Mode {
	m, _ := p.stored(k)
	return m
}

// stored reads the conversation's committed mode and the visitor turns of its transcript.
func (p *modelPlatform) stored(k bridge.Key) (signals.Mode, []string) {
	c, err := p.store().Load(context.Background(), k)
	if err != nil {
		return "", nil
	}
	var qs []string
	for _, t := range c.Transcript {
		if t.Role == "visitor" {
			qs = append(qs, t.Text)
		}
	}
	return c.Mode, qs
}

func (p *modelPlatform) record(c platCall) {
	c.Seq = len(p.calls) + 1
	c.At = p.now()
	p.calls = append(p.calls, c)
}

func (p *modelPlatform) Send(_ context.Context, w, s string, m bridge.OutMessage) (int64, error) {
	k := bridge.Key{WebsiteID: w, SessionID: s}
	mode, questions := p.stored(k)
	p.mu.Lock()
	p.stepSends[k]++
	if p.stepSends[k] > floodCap {
		if p.flood == "" {
			var last []string
			for _, c := range p.calls[max(0, len(p.calls)-6):] {
				last = append(last, c.String())
			}
			p.flood = fmt.Sprintf("flood: more than %d messages posted in %s for one input; the last calls:\n%s",
				floodCap, s, strings.Join(last, "\n"))
			close(p.wedged)
		}
		p.mu.Unlock()
		select {} // park this bridge goroutine for good: the bridge loops
	}
	defer p.mu.Unlock()
	if d, ok := p.decided[m.Fingerprint]; ok && m.Fingerprint != 0 {
		mode, questions = d.mode, d.questions
	}
	p.record(platCall{Kind: "send", Key: k, Msg: m, Mode: mode, Questions: questions})
	if c := p.conv(k); m.Type != "note" && c.state == "pending" {
		c.state = "unresolved" // Crisp: an operator-side message answers a pending conversation
	}
	p.fp++
	return p.fp, nil
}

func (p *modelPlatform) UpdateMeta(_ context.Context, w, s string, u bridge.MetaUpdate) error {
	k := bridge.Key{WebsiteID: w, SessionID: s}
	mode := p.storedMode(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conv(k)
	skipped := false
	for key, want := range u.Expect {
		if !bridge.ExpectMatches(want, c.data[key]) {
			skipped = true
		}
	}
	if !skipped {
		maps.Copy(c.data, u.Data)
		for key := range u.Data {
			c.ours[key] = true
		}
	}
	if u.Email != "" {
		c.email = u.Email
	}
	for _, sg := range u.Segments {
		if !slices.Contains(c.segments, sg) {
			c.segments = append(c.segments, sg)
		}
	}
	p.record(platCall{Kind: "meta", Key: k, Meta: u, Mode: mode, Skipped: skipped && len(u.Data) > 0})
	return nil
}

func (p *modelPlatform) Meta(_ context.Context, w, s string) (bridge.Meta, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conv(bridge.Key{WebsiteID: w, SessionID: s})
	return bridge.Meta{Email: c.email, Data: maps.Clone(c.data), Segments: slices.Clone(c.segments), Locales: []string{"en-GB"}}, nil
}

func (p *modelPlatform) SetState(_ context.Context, w, s, state string) error {
	k := bridge.Key{WebsiteID: w, SessionID: s}
	mode := p.storedMode(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conv(k).state = state
	p.record(platCall{Kind: "state", Key: k, State: state, Mode: mode})
	return nil
}

func (p *modelPlatform) Compose(_ context.Context, w, s string, typing bool) error {
	k := bridge.Key{WebsiteID: w, SessionID: s}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conv(k).typing = typing
	p.record(platCall{Kind: "compose", Key: k, Typing: typing})
	return nil
}

func (p *modelPlatform) Availability(context.Context, string) (bridge.Availability, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.online {
		return bridge.Availability{Online: true, Operators: []string{"op-1"}}, nil
	}
	return bridge.Availability{}, nil
}

// ObserveAvailability follows website:users:available like the Crisp platform's cache.
func (p *modelPlatform) ObserveAvailability(ev bridge.Event) {
	if ev.Available == nil {
		return
	}
	p.mu.Lock()
	p.online = *ev.Available
	p.mu.Unlock()
}

// snapshot returns the calls from index from on and a copy of a conversation's Crisp side.
func (p *modelPlatform) callsFrom(from int) []platCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls[from:])
}

func (p *modelPlatform) ncalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *modelPlatform) crisp(k bridge.Key) crispConv {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conv(k)
	return crispConv{data: maps.Clone(c.data), email: c.email, state: c.state, segments: slices.Clone(c.segments), typing: c.typing}
}

// setData is a write by someone else (a visitor, a Bot scenario, REST): Crisp stores it.
func (p *modelPlatform) setData(k bridge.Key, data map[string]string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.conv(k)
	maps.Copy(c.data, data)
	for key := range data {
		c.ours[key] = false
	}
	return maps.Clone(c.data)
}

// wroteLast reports whether the bridge wrote the current value of a data key.
func (p *modelPlatform) wroteLast(k bridge.Key, key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conv(k).ours[key]
}

func (p *modelPlatform) setState(k bridge.Key, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conv(k).state = state
}

func (p *modelPlatform) isAnswer(m bridge.OutMessage) bool {
	if m.Picker != nil {
		return m.Picker.ID == bridge.PickerAnswer
	}
	return m.Type == "text" && strings.HasPrefix(m.Text, answerPrefix)
}

// answerPrefix starts every answer of the gated assistant: "re:<last visitor text>#<generation>".
const answerPrefix = "re:"

// outcome is how the test ends a pending generation.
type outcome struct {
	answer assistant.Answer
	err    error
}

// pendingGen is one Reply call blocked until the test decides its outcome (or its context ends).
type pendingGen struct {
	id       int
	key      bridge.Key
	question string // the last visitor text of the history
	ctx      context.Context
	decide   chan outcome
}

// gatedAssistant is a Replier whose every answer waits for the test: latency is controlled by gate
// channels the test releases, never by sleeps, and each answer can succeed, fail or hand over.
type gatedAssistant struct {
	mu      sync.Mutex
	seq     int
	pending []*pendingGen
	calls   int
}

func (a *gatedAssistant) Reply(ctx context.Context, q assistant.Question) (assistant.Answer, error) {
	last := ""
	for _, t := range q.History {
		if t.Role == assistant.RoleVisitor {
			last = t.Text
		}
	}
	a.mu.Lock()
	a.seq++
	a.calls++
	g := &pendingGen{id: a.seq, key: bridge.Key{WebsiteID: q.WebsiteID, SessionID: q.SessionID}, question: last,
		ctx: ctx, decide: make(chan outcome, 1)}
	a.pending = append(a.pending, g)
	a.mu.Unlock()
	select {
	case o := <-g.decide:
		return o.answer, o.err
	case <-ctx.Done():
		a.remove(g)
		return assistant.Answer{}, ctx.Err()
	}
}

func (a *gatedAssistant) remove(g *pendingGen) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.Index(a.pending, g)
	if i < 0 {
		return false
	}
	a.pending = slices.Delete(a.pending, i, i+1)
	return true
}

// blocked returns how many Reply calls are waiting for the test.
func (a *gatedAssistant) blocked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// live returns the pending generations whose context is not done.
func (a *gatedAssistant) live() []*pendingGen {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []*pendingGen
	for _, g := range a.pending {
		if g.ctx.Err() == nil {
			out = append(out, g)
		}
	}
	return out
}

// release ends generation g with o; it is removed from the pending list at once, so a quiescence
// check right after sees it as running, not blocked.
func (a *gatedAssistant) release(g *pendingGen, o outcome) bool {
	if !a.remove(g) {
		return false
	}
	g.decide <- o
	return true
}

// answerText is the text of a successful answer to g.
func answerText(g *pendingGen) string {
	return fmt.Sprintf("%s%s#%d", answerPrefix, g.question, g.id)
}

// answeredQuestion returns the visitor text an answer posted by the gated assistant refers to.
func answeredQuestion(text string) string {
	s := strings.TrimPrefix(text, answerPrefix)
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return s
}

var errModel = errors.New("model failed (test)")

// scenarioSteps adapts a compiled scenario to bridge.Steps, as cmd/signalbridge does (a copy of its
// adapter, which lives in package main): the conversation stores only its cursor.
type scenarioSteps struct{ p *scenario.Program }

func (s scenarioSteps) context(c *bridge.Conversation) scenario.Context {
	return scenario.Context{Language: c.Language, Email: c.Email, Data: c.Data, Segments: c.Segments}
}

func (s scenarioSteps) Enter(_ context.Context, c *bridge.Conversation) (bridge.StepResult, error) {
	cur, out := s.p.Run(scenario.Cursor(c.ScenarioIndex), scenario.Resume{}, s.context(c))
	return s.result(c, cur, out), nil
}

func (s scenarioSteps) Input(_ context.Context, c *bridge.Conversation, in bridge.StepInput) (bridge.StepResult, bool, error) {
	cur := scenario.Cursor(c.ScenarioIndex)
	if _, state := s.p.Locate(cur); state == scenario.StateDone {
		return bridge.StepResult{}, false, nil
	}
	var sin scenario.Input
	switch {
	case in.PickerID != "":
		if !scenario.IsStepID(in.PickerID) {
			return bridge.StepResult{}, false, nil
		}
		sin = scenario.PickerChoice{PickerID: in.PickerID, Value: in.Choice}
	case in.FieldID != "":
		if !scenario.IsStepID(in.FieldID) {
			return bridge.StepResult{}, false, nil
		}
		sin = scenario.FieldValue{FieldID: in.FieldID, Value: in.Value}
	default:
		sin = scenario.VisitorText{Text: in.Text}
	}
	next, out := s.p.Run(cur, sin, s.context(c))
	return s.result(c, next, out), true, nil
}

func (s scenarioSteps) result(c *bridge.Conversation, cur scenario.Cursor, out []scenario.Step) bridge.StepResult {
	c.ScenarioIndex = int(cur)
	var r bridge.StepResult
	for _, st := range out {
		switch st.Kind {
		case scenario.StepSendText, scenario.StepInvalid:
			r.Messages = append(r.Messages, bridge.OutMessage{Type: "text", Text: st.Text})
		case scenario.StepSendPicker:
			p := &bridge.Picker{ID: st.ID, Text: st.Text}
			for _, ch := range st.Choices {
				p.Choices = append(p.Choices, bridge.Choice{Value: ch.Value, Label: ch.Label})
			}
			r.Messages = append(r.Messages, bridge.OutMessage{Type: "picker", Picker: p})
		case scenario.StepSendField:
			r.Messages = append(r.Messages, bridge.OutMessage{Type: "field", Field: &bridge.Field{ID: st.ID, Text: st.Text, Explain: st.Explain}})
		case scenario.StepSetData:
			if r.Meta.Data == nil {
				r.Meta.Data = map[string]string{}
			}
			maps.Copy(r.Meta.Data, st.Data)
		case scenario.StepSetEmail:
			r.Meta.Email = st.Value
		case scenario.StepSetLanguage:
			r.Language = st.Value
			if r.Meta.Data == nil {
				r.Meta.Data = map[string]string{}
			}
			r.Meta.Data["language"] = st.Value
		case scenario.StepAddSegments:
			r.Meta.Segments = append(r.Meta.Segments, st.Segments...)
		case scenario.StepStartAssistant, scenario.StepEnd:
			r.Assistant = true
		case scenario.StepHandover:
			r.Handover = true
		case scenario.StepResolve:
			r.Resolve = true
		}
	}
	return r
}

// Ids of the default scenario's picker and field.
const (
	stepEmailField     = scenario.StepIDPrefix + "ask_email"
	stepLanguagePicker = scenario.StepIDPrefix + "ask_language"
	stepMenuPicker     = scenario.StepIDPrefix + "welcome" // menuSteps
)
