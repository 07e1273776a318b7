package scenario

import (
	"fmt"
	"strings"
)

// Cursor is where a conversation stands in the guided steps; it is all a conversation stores. The
// zero value is NotStarted and Done is -1. Otherwise it holds the index of the waiting block (a
// picker or a field) plus one in its low 32 bits and a stamp of that block's id and kind above, so a
// cursor stored before the scenario was edited still finds its block if it moved, and is detected as
// stale if the block is gone, rather than resuming at an unrelated block.
type Cursor int

// Special cursors.
const (
	NotStarted Cursor = 0  // the guided steps have not begun
	Done       Cursor = -1 // the guided steps are over
)

// State tells what a cursor designates in a program.
type State uint8

// Cursor states.
const (
	StateNotStarted State = iota
	StateDone
	StateWaiting // at a picker or field of the program
	StateStale   // points at a block the program no longer has
)

// CursorAt returns the cursor of the block at index i; i must be a valid index.
func (p *Program) CursorAt(i int) Cursor { return Cursor(p.Blocks[i].tag<<32 | (i + 1)) }

// Locate resolves a cursor to a block index, in constant time. The index is only valid with
// StateWaiting. A cursor whose block moved to another index (the scenario was edited, the block kept
// its id and kind) is followed to its new place.
func (p *Program) Locate(c Cursor) (int, State) {
	switch {
	case c == NotStarted:
		return -1, StateNotStarted
	case c == Done:
		return -1, StateDone
	case c < 0:
		return -1, StateStale
	}
	i, tag := int(uint32(c))-1, int(c)>>32
	if i >= 0 && i < len(p.Blocks) && p.Blocks[i].tag == tag && p.Blocks[i].Kind.Waits() {
		return i, StateWaiting
	}
	if j, ok := p.byTag[tag]; ok && j >= 0 && tag != 0 {
		return j, StateWaiting
	}
	return -1, StateStale
}

// Input is what happened in the conversation: Begin, Resume, PickerChoice, FieldValue or VisitorText.
type Input interface{ input() }

// Begin enters the guided steps at the start, whatever the cursor.
type Begin struct{}

// Resume enters the guided steps where the cursor stands: the waiting picker or field is sent again;
// a conversation not started begins; a stale cursor restarts at the start.
type Resume struct{}

// PickerChoice is the visitor's click on a picker button.
type PickerChoice struct {
	PickerID string // the picker message's id, StepIDPrefix + block id
	Value    string // the chosen button's value
}

// FieldValue is the visitor's answer in a field.
type FieldValue struct {
	FieldID string // the field message's id, StepIDPrefix + block id
	Value   string
}

// VisitorText is a message the visitor typed. While a field waits it is taken as the field's
// answer; while a picker waits it selects the choice whose label or value it equals (ignoring case),
// or the picker is asked again. Before the guided steps began it begins them (the text itself is left
// to the bridge); after they are done it does nothing.
type VisitorText struct{ Text string }

func (Begin) input()        {}
func (Resume) input()       {}
func (PickerChoice) input() {}
func (FieldValue) input()   {}
func (VisitorText) input()  {}

// Context is what is known about the conversation, read by conditions and localization. Run never
// modifies it; answers stored during one run are seen by the blocks after them in the same run.
type Context struct {
	Language string // BCP 47 tag; its primary subtag selects the texts ("es-ES" -> "es")
	Email    string
	Data     map[string]string // session data
	Segments []string
	// Closed is true outside the website's support hours (condition open: false); a website
	// without support hours is always open.
	Closed bool
}

// StepKind is what a step asks the bridge to do.
type StepKind uint8

// Step kinds.
const (
	StepSendText       StepKind = iota + 1 // post Text
	StepSendPicker                         // post a picker: ID, Text, Choices
	StepSendField                          // post a field: ID, Text, Explain
	StepSetData                            // merge Data into the session data
	StepSetEmail                           // set the conversation's email to Value
	StepSetLanguage                        // set the conversation language and chatbox locale to Value
	StepAddSegments                        // add Segments to the conversation
	StepStartAssistant                     // the assistant answers from now on
	StepHandover                           // hand the conversation to a human
	StepResolve                            // mark the conversation resolved
	StepEnd                                // the guided steps end; nothing else happens
	StepInvalid                            // post Text: the answer was not accepted; the question follows again
	StepRestarted                          // informational: Text says why the steps restarted (log it)
	StepIgnored                            // informational: Text says why the input was ignored (log it)
	StepWebhook                            // call the endpoint Value for Block with Data, the answers by data key (webhook.go)
)

var stepNames = [...]string{
	StepSendText: "send_text", StepSendPicker: "send_picker", StepSendField: "send_field",
	StepSetData: "set_data", StepSetEmail: "set_email", StepSetLanguage: "set_language",
	StepAddSegments: "add_segments", StepStartAssistant: "start_assistant", StepHandover: "handover",
	StepResolve: "resolve", StepEnd: "end", StepInvalid: "invalid", StepRestarted: "restarted",
	StepIgnored: "ignored", StepWebhook: "webhook",
}

// String returns the step kind's name.
func (k StepKind) String() string {
	if int(k) < len(stepNames) && stepNames[k] != "" {
		return stepNames[k]
	}
	return fmt.Sprintf("step(%d)", int(k))
}

// Step is one instruction for the bridge. Only the fields of its Kind are set. Steps may share their
// slices and maps with the Program: treat them as read-only.
type Step struct {
	Kind     StepKind
	Block    string            // id of the block that produced the step
	ID       string            // picker or field id (StepIDPrefix + block id)
	Text     string            // message, picker or field text; reason of Restarted and Ignored
	Explain  string            // field placeholder
	Choices  []Choice          // picker buttons
	Data     map[string]string // SetData
	Value    string            // SetEmail, SetLanguage
	Segments []string          // AddSegments
}

// Choice is a picker button as sent.
type Choice struct {
	Value string
	Label string
}

// Run advances a conversation's guided steps by one input and returns the new cursor and the steps
// for the bridge, in order. It is pure and safe for concurrent use; resuming costs the same whatever
// the size of the program.
func (p *Program) Run(cur Cursor, in Input, c Context) (Cursor, []Step) {
	r := runner{p: p, ctx: c, lang: c.Language, li: -1, email: c.Email}
	switch in := in.(type) {
	case Begin:
		return r.from(0)
	case Resume:
		i, next, steps, waiting := r.enter(cur)
		if !waiting {
			return next, steps
		}
		if p.Blocks[i].Kind == KindWebhook {
			return cur, nil // the call is on its way; its result moves on
		}
		return r.from(i)
	case PickerChoice:
		i, ok := r.answering(cur, in.PickerID, KindPicker)
		if !ok {
			return r.unanswerable(cur, i)
		}
		b := &p.Blocks[i]
		for _, ch := range b.Choices {
			if ch.Value == in.Value {
				r.store(b, ch.Value)
				return r.from(ch.Next)
			}
		}
		r.add(Step{Kind: StepIgnored, Block: b.ID, Text: fmt.Sprintf("picker %q has no choice %q", b.ID, in.Value)})
		return r.end(cur)
	case FieldValue:
		i, ok := r.answering(cur, in.FieldID, KindField)
		if !ok {
			return r.unanswerable(cur, i)
		}
		return r.field(i, in.Value)
	case VisitorText:
		i, next, steps, waiting := r.enter(cur)
		if !waiting {
			return next, steps
		}
		b := &p.Blocks[i]
		if b.Kind == KindField {
			return r.field(i, in.Text)
		}
		if b.Kind == KindWebhook {
			r.add(Step{Kind: StepIgnored, Block: b.ID, Text: fmt.Sprintf("visitor text while webhook %q is in flight", b.ID)})
			return r.end(cur)
		}
		text := strings.TrimSpace(in.Text)
		for _, ch := range b.Choices {
			if strings.EqualFold(text, ch.Value) || containsFold(ch.Labels, text) {
				r.store(b, ch.Value)
				return r.from(ch.Next)
			}
		}
		r.invalid(b)
		return r.from(i)
	}
	if in, ok := in.(WebhookResult); ok {
		return r.webhookResult(cur, in)
	}
	r.add(Step{Kind: StepIgnored, Text: fmt.Sprintf("unknown input %T", in)})
	return r.end(cur)
}

// enter resolves the stored cursor for an input that may start the steps: not started begins them,
// done does nothing, stale restarts them. waiting reports that the cursor is at block i instead.
func (r *runner) enter(cur Cursor) (i int, next Cursor, steps []Step, waiting bool) {
	i, st := r.p.Locate(cur)
	switch st {
	case StateNotStarted:
		next, steps = r.from(0)
	case StateDone:
		next = Done
	case StateStale:
		next, steps = r.restart(cur)
	default:
		return i, cur, nil, true
	}
	return i, next, steps, false
}

// runner is the state of one Run: the steps so far and what they changed, so that later blocks of
// the same run see answers and data set before them.
type runner struct {
	p     *Program
	ctx   Context
	steps []Step
	lang  string            // current language (raw or normalized)
	li    int               // index of lang in the program's languages, -1 until computed
	email string            // current email
	data  map[string]string // data set during this run, over ctx.Data
	segs  []string          // segments added during this run
}

func (r *runner) add(s Step) { r.steps = append(r.steps, s) }

func (r *runner) end(c Cursor) (Cursor, []Step) { return c, r.steps }

func (r *runner) restart(cur Cursor) (Cursor, []Step) {
	r.add(Step{Kind: StepRestarted, Text: fmt.Sprintf("stored cursor %d does not match the scenario; restarting at the start", cur)})
	return r.from(0)
}

// langIndex returns the index of the current language in the program, 0 (the fallback) when it is
// not configured.
func (r *runner) langIndex() int {
	if r.li >= 0 {
		return r.li
	}
	r.li = 0
	lang := primary(r.lang)
	for i, l := range r.p.Languages {
		if strings.EqualFold(lang, l) {
			r.li = i
			break
		}
	}
	return r.li
}

// unanswerable ends a run whose answer cannot be taken: a stale cursor (i < 0) restarts, otherwise
// the cursor stays.
func (r *runner) unanswerable(cur Cursor, i int) (Cursor, []Step) {
	if i < 0 {
		return r.restart(cur)
	}
	return r.end(cur)
}

// answering finds the block an answer is for. The cursor's block must be the one named; when the
// cursor is stale (the scenario was edited) the named block is used if it still exists, otherwise it
// returns -1 so that the steps restart.
func (r *runner) answering(cur Cursor, id string, k Kind) (int, bool) {
	i, st := r.p.Locate(cur)
	switch st {
	case StateDone:
		r.add(Step{Kind: StepIgnored, Text: fmt.Sprintf("answer to %q after the guided steps ended", id)})
		return 0, false
	case StateWaiting:
		if b := &r.p.Blocks[i]; b.StepID == id && b.Kind == k {
			return i, true
		}
		r.add(Step{Kind: StepIgnored, Block: r.p.Blocks[i].ID,
			Text: fmt.Sprintf("answer to %q while waiting at %q", id, r.p.Blocks[i].ID)})
		return 0, false
	}
	if IsStepID(id) {
		if j, ok := r.p.Lookup(id); ok && r.p.Blocks[j].Kind == k {
			return j, true
		}
	}
	if st == StateStale {
		return -1, false
	}
	r.add(Step{Kind: StepIgnored, Text: fmt.Sprintf("answer to unknown %s %q", k, id)})
	return 0, false
}

// field validates an answer to the field at i and moves on, or asks again.
func (r *runner) field(i int, value string) (Cursor, []Step) {
	b := &r.p.Blocks[i]
	v, ok := validate(b.Validate, value)
	if !ok {
		r.invalid(b)
		return r.from(i)
	}
	r.store(b, v)
	return r.from(b.Next)
}

func (r *runner) invalid(b *Block) {
	text := ""
	if b.Invalid != nil {
		text = b.Invalid[r.langIndex()]
	} else {
		text = defaultInvalid(b, r.p.Languages[r.langIndex()])
	}
	r.add(Step{Kind: StepInvalid, Block: b.ID, ID: b.StepID, Text: text})
}

// store records an accepted answer in the block's targets.
func (r *runner) store(b *Block, v string) {
	var data map[string]string
	for _, t := range b.Store {
		switch {
		case t.Email:
			r.email = v
			r.add(Step{Kind: StepSetEmail, Block: b.ID, Value: v})
		case t.Language:
			r.lang, r.li = normLang(v), -1
			r.add(Step{Kind: StepSetLanguage, Block: b.ID, Value: r.lang})
		default:
			if data == nil {
				data = map[string]string{}
			}
			data[t.DataKey] = v
			r.setData(t.DataKey, v)
		}
	}
	if data != nil {
		r.add(Step{Kind: StepSetData, Block: b.ID, Data: data})
	}
}

func (r *runner) setData(k, v string) {
	if r.data == nil {
		r.data = map[string]string{}
	}
	r.data[k] = v
}

func (r *runner) dataValue(k string) string {
	if v, ok := r.data[k]; ok {
		return v
	}
	return r.ctx.Data[k]
}

func (r *runner) hasSegment(s string) bool {
	for _, x := range r.ctx.Segments {
		if x == s {
			return true
		}
	}
	for _, x := range r.segs {
		if x == s {
			return true
		}
	}
	return false
}

// match evaluates a condition against the context and what this run changed.
func (r *runner) match(c *Cond) bool {
	for k, v := range c.Data {
		if r.dataValue(k) != v {
			return false
		}
	}
	for _, k := range c.Has {
		if r.dataValue(k) == "" {
			return false
		}
	}
	for _, k := range c.Missing {
		if r.dataValue(k) != "" {
			return false
		}
	}
	for _, s := range c.Segment {
		if !r.hasSegment(s) {
			return false
		}
	}
	if len(c.Language) > 0 {
		ok := false
		for _, l := range c.Language {
			ok = ok || primaryEqual(r.lang, l)
		}
		if !ok {
			return false
		}
	}
	if c.EmailKnown != nil && (r.email != "") != *c.EmailKnown {
		return false
	}
	if c.Open != nil && !r.ctx.Closed != *c.Open {
		return false
	}
	return true
}

// from runs the program from block i until a block waits for the visitor or a terminal ends the
// guided steps.
func (r *runner) from(i int) (Cursor, []Step) {
	p := r.p
	// Compile rejects cycles that never wait, so a run visits each block at most once; the bound
	// only guards against a Program assembled by hand.
	for n := 0; n <= len(p.Blocks); n++ {
		b := &p.Blocks[i]
		switch b.Kind {
		case KindMessage:
			r.add(b.prompts[r.langIndex()])
			i = b.Next
		case KindSetData:
			r.add(Step{Kind: StepSetData, Block: b.ID, Data: b.Data})
			for k, v := range b.Data {
				r.setData(k, v)
			}
			i = b.Next
		case KindSegment:
			r.add(Step{Kind: StepAddSegments, Block: b.ID, Segments: b.Segments})
			r.segs = append(r.segs, b.Segments...)
			i = b.Next
		case KindBranch:
			i = b.Else
			for _, cs := range b.Cases {
				if r.match(&cs.When) {
					i = cs.Next
					break
				}
			}
		case KindPicker, KindField:
			if b.SkipIf != nil && r.match(b.SkipIf) {
				i = b.Next
				continue
			}
			l := r.langIndex()
			if len(r.steps) == 0 {
				// Resuming sends only the prompt: share the prerendered one, capacity capped so
				// that appending to it copies.
				return p.CursorAt(i), b.prompts[l : l+1 : l+1]
			}
			r.add(b.prompts[l])
			return p.CursorAt(i), r.steps
		case KindWebhook:
			return r.callWebhook(i)
		case KindAssistant:
			r.add(Step{Kind: StepStartAssistant, Block: b.ID})
			return Done, r.steps
		case KindHandover:
			r.add(Step{Kind: StepHandover, Block: b.ID})
			return Done, r.steps
		case KindResolve:
			r.add(Step{Kind: StepResolve, Block: b.ID})
			return Done, r.steps
		default:
			r.add(Step{Kind: StepEnd, Block: b.ID})
			return Done, r.steps
		}
	}
	r.add(Step{Kind: StepEnd, Text: "the guided steps loop without waiting for the visitor"})
	return Done, r.steps
}

// normLang returns the lowercased primary subtag of a language tag: "es-ES" -> "es".
func normLang(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// primaryEqual reports whether two language tags share their primary subtag, without allocating.
func primaryEqual(a, b string) bool {
	a, b = primary(a), primary(b)
	return a != "" && strings.EqualFold(a, b)
}

// primary returns the primary subtag of a language tag, as written.
func primary(s string) string {
	if len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ') {
		s = strings.TrimSpace(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '_' {
			return s[:i]
		}
	}
	return s
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
