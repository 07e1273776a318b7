package scenario

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Kind is what a block does.
type Kind uint8

// Block kinds. Message, SetData, Segment and Branch are automatic; Picker and Field wait for the
// visitor; Assistant, Handover, Resolve and End end the guided steps.
const (
	KindMessage Kind = iota + 1
	KindPicker
	KindField
	KindSetData
	KindSegment
	KindBranch
	KindAssistant
	KindHandover
	KindResolve
	KindEnd
	// KindWebhook calls the website's own system (webhook.go); it waits for the reply, so it sits
	// after the terminal kinds in number only.
	KindWebhook
)

var kindNames = [...]string{
	KindMessage: "message", KindPicker: "picker", KindField: "field", KindSetData: "set_data",
	KindSegment: "segment", KindBranch: "branch", KindAssistant: "assistant", KindHandover: "handover",
	KindResolve: "resolve", KindEnd: "end", KindWebhook: "webhook",
}

// String returns the YAML name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Waits reports whether a block of this kind waits: for the visitor (picker, field) or for the
// website's system (webhook).
func (k Kind) Waits() bool { return k == KindPicker || k == KindField || k == KindWebhook }

// Terminal reports whether a block of this kind ends the guided steps.
func (k Kind) Terminal() bool { return k >= KindAssistant && k <= KindEnd }

func parseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Validator checks a field's answer.
type Validator uint8

// Field validators.
const (
	ValidateText Validator = iota
	ValidateEmail
	ValidatePhone
)

var validatorNames = [...]string{ValidateText: "text", ValidateEmail: "email", ValidatePhone: "phone"}

// String returns the YAML name of the validator.
func (v Validator) String() string {
	if int(v) < len(validatorNames) {
		return validatorNames[v]
	}
	return "validator(" + strconv.Itoa(int(v)) + ")"
}

// Target is where a picker's or field's answer is stored.
type Target struct {
	Email    bool   // the conversation's email (Crisp meta)
	Language bool   // the conversation's language (and the chatbox locale)
	DataKey  string // a session data key
}

// String returns the YAML form of the target.
func (t Target) String() string {
	switch {
	case t.Email:
		return "email"
	case t.Language:
		return "language"
	default:
		return "data:" + t.DataKey
	}
}

// Program is a compiled scenario: a flat vector of blocks whose successors are indexes. The start
// block is at index 0. A Program is immutable and safe for concurrent use.
type Program struct {
	Languages []string // configured languages; the first is the fallback
	Blocks    []Block  // linearized, depth first from the start, first successor first
	index     map[string]int
	byTag     map[int]int // cursor stamp -> index of waiting blocks, -1 when two blocks share a stamp
}

// Block is one compiled block. Successor fields are indexes into Program.Blocks, -1 when unused.
// Localized fields hold one entry per Program.Languages.
type Block struct {
	ID       string
	Kind     Kind
	StepID   string   // id of the picker or field message sent for this block
	Next     int      // successor of automatic blocks, skipped user steps and choices without their own
	Text     []string // message, picker, field
	Explain  []string // field
	Invalid  []string // picker, field: said before asking again
	Choices  []BlockChoice
	Validate Validator
	Store    []Target
	Data     map[string]string // set_data
	Segments []string          // segment
	Cases    []Case            // branch
	Else     int               // branch
	SkipIf   *Cond             // picker, field
	Webhook  string            // webhook: endpoint name
	Branches map[string]int    // webhook: reply branch -> index
	Failed   int               // webhook: successor when the call fails for good
	Line     int               // YAML line, for diagnostics

	tag     int    // stamped into cursors; see Cursor
	prompts []Step // per language: the step that sends this block's message, picker or field
}

// BlockChoice is one compiled picker choice.
type BlockChoice struct {
	Value  string
	Labels []string // per language
	Next   int
}

// Case is one compiled branch case.
type Case struct {
	When Cond
	Next int
}

// StepIDPrefix starts the id of every picker and field the guided steps send.
const StepIDPrefix = "sb-step-"

// IsStepID reports whether a picker or field id belongs to the guided steps.
func IsStepID(id string) bool {
	return strings.HasPrefix(id, StepIDPrefix) && len(id) > len(StepIDPrefix)
}

// Lookup returns the index of the block with this id, or of the block whose picker or field has this
// step id. It is meant for diagnostics and for resolving answers; resuming never needs it.
func (p *Program) Lookup(id string) (int, bool) {
	if i, ok := p.index[id]; ok {
		return i, true
	}
	i, ok := p.index[strings.TrimPrefix(id, StepIDPrefix)]
	return i, ok
}

// At returns the block at index i.
func (p *Program) At(i int) (Block, bool) {
	if i < 0 || i >= len(p.Blocks) {
		return Block{}, false
	}
	return p.Blocks[i], true
}

// Len returns the number of blocks.
func (p *Program) Len() int { return len(p.Blocks) }

// Load parses and compiles a scenario.
func Load(src []byte) (*Program, error) {
	g, err := Parse(src)
	if err != nil {
		return nil, err
	}
	return Compile(g)
}

// compiler collects every problem of a graph.
type compiler struct {
	g     *Graph
	errs  []error
	index map[string]int // id -> position in g.Blocks
}

func (c *compiler) fail(s *Spec, format string, args ...any) {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if s != nil {
		e.Block, e.Line = s.ID, s.Line
	}
	c.errs = append(c.errs, e)
}

// Compile validates a graph and linearizes it. It returns every problem found, joined, each naming
// its block: duplicate or missing ids, unknown kinds, missing start, unknown successors, unreachable
// blocks, cycles that never wait for the visitor, missing texts or labels for a configured language,
// bad validators and bad store targets.
func Compile(g *Graph) (*Program, error) {
	if g == nil {
		return nil, &Error{Msg: "no scenario"}
	}
	c := &compiler{g: g, index: make(map[string]int, len(g.Blocks))}
	langs := c.languages()
	kinds := make([]Kind, len(g.Blocks))
	for i := range g.Blocks {
		s := &g.Blocks[i]
		if s.ID == "" {
			c.fail(s, "missing id")
			continue
		}
		if j, dup := c.index[s.ID]; dup {
			c.fail(s, "duplicate id (first defined at line %d)", g.Blocks[j].Line)
			continue
		}
		c.index[s.ID] = i
		k, ok := parseKind(s.Kind)
		if !ok {
			c.fail(s, "unknown kind %q (want one of %s)", s.Kind, strings.Join(kindNames[1:], ", "))
		}
		kinds[i] = k
	}
	start, startOK := c.index[g.Start]
	switch {
	case g.Start == "":
		c.fail(nil, "missing start")
	case !startOK:
		c.fail(nil, "start block %q does not exist", g.Start)
	}
	for i := range g.Blocks {
		if kinds[i] != 0 && c.index[g.Blocks[i].ID] == i {
			c.checkBlock(&g.Blocks[i], kinds[i], langs)
		}
	}
	if len(c.errs) > 0 || len(g.Blocks) == 0 {
		if len(g.Blocks) == 0 {
			c.fail(nil, "no blocks")
		}
		return nil, errors.Join(c.errs...)
	}
	order := c.linearize(start, kinds)
	c.checkCycles(kinds)
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return c.build(order, kinds, langs), nil
}

// languages validates the configured languages and returns them normalized.
func (c *compiler) languages() []string {
	if len(c.g.Languages) == 0 {
		c.fail(nil, "missing languages")
		return nil
	}
	var out []string
	for _, l := range c.g.Languages {
		n := normLang(l)
		switch {
		case n == "" || n != strings.ToLower(l) || len(n) > 8 || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz") != "":
			c.fail(nil, "language %q is not a language code such as en, es or ca", l)
		case slices.Contains(out, n):
			c.fail(nil, "language %q listed twice", l)
		default:
			out = append(out, n)
		}
	}
	return out
}

// allowedFields lists which optional fields each kind may set.
var allowedFields = func() map[Kind][]string {
	m := map[Kind][]string{}
	for k, f := range allowed {
		m[k] = strings.Fields(f)
	}
	return m
}()

var allowed = map[Kind]string{
	KindMessage:   "text next",
	KindPicker:    "text invalid next choices store skip_if",
	KindField:     "text explain invalid next validate store skip_if",
	KindSetData:   "data next",
	KindSegment:   "segments next",
	KindBranch:    "cases else",
	KindAssistant: "",
	KindHandover:  "",
	KindResolve:   "",
	KindEnd:       "",
	KindWebhook:   "next webhook branches failed",
}

func (c *compiler) checkBlock(s *Spec, k Kind, langs []string) {
	set := [...]struct {
		name string
		set  bool
	}{
		{"text", len(s.Text) > 0}, {"explain", len(s.Explain) > 0}, {"invalid", len(s.Invalid) > 0},
		{"next", s.Next != ""}, {"choices", len(s.Choices) > 0}, {"validate", s.Validate != ""},
		{"store", len(s.Store) > 0}, {"data", len(s.Data) > 0}, {"segments", len(s.Segments) > 0},
		{"cases", len(s.Cases) > 0}, {"else", s.Else != ""}, {"skip_if", s.SkipIf != nil},
		{"webhook", s.Webhook != ""}, {"branches", len(s.Branches) > 0}, {"failed", s.Failed != ""},
	}
	for _, f := range set {
		if f.set && !slices.Contains(allowedFields[k], f.name) {
			c.fail(s, "%s is not used by a %s block", f.name, k)
		}
	}
	succ := func(what, id string, required bool) {
		if id == "" {
			if required {
				c.fail(s, "missing %s", what)
			}
			return
		}
		if _, ok := c.index[id]; !ok {
			c.fail(s, "unknown successor %q in %s", id, what)
		}
	}
	switch k {
	case KindMessage:
		c.text(s, "text", s.Text, langs, true)
		succ("next", s.Next, true)
	case KindPicker:
		c.text(s, "text", s.Text, langs, true)
		c.text(s, "invalid", s.Invalid, langs, false)
		c.store(s)
		if len(s.Choices) == 0 {
			c.fail(s, "a picker needs choices")
		}
		// A skipped picker goes to next, so it must exist then.
		succ("next", s.Next, s.SkipIf != nil)
		for i, ch := range s.Choices {
			what := func() string {
				if ch.Value != "" {
					return fmt.Sprintf("choice %q", ch.Value)
				}
				return fmt.Sprintf("choice %d", i+1)
			}
			switch {
			case strings.TrimSpace(ch.Value) == "":
				c.fail(s, "%s has no value", what())
			case slices.ContainsFunc(s.Choices[:i], func(o ChoiceSpec) bool { return o.Value == ch.Value }):
				c.fail(s, "%s listed twice", what())
			}
			if !textComplete(ch.Label, langs) {
				c.text(s, what()+" label", ch.Label, langs, true)
			}
			if ch.Next == "" && s.Next == "" {
				c.fail(s, "%s has no next and the picker has no next", what())
			}
			if ch.Next != "" {
				if _, ok := c.index[ch.Next]; !ok {
					c.fail(s, "unknown successor %q in %s next", ch.Next, what())
				}
			}
		}
		c.cond(s, "skip_if", s.SkipIf, langs)
	case KindField:
		c.text(s, "text", s.Text, langs, true)
		c.text(s, "explain", s.Explain, langs, false)
		c.text(s, "invalid", s.Invalid, langs, false)
		if _, ok := parseValidator(s.Validate); !ok {
			c.fail(s, "bad validator %q (want email, phone or text)", s.Validate)
		}
		c.store(s)
		succ("next", s.Next, true)
		c.cond(s, "skip_if", s.SkipIf, langs)
	case KindSetData:
		if len(s.Data) == 0 {
			c.fail(s, "a set_data block needs data")
		}
		for key := range s.Data {
			if !validDataKey(key) {
				c.fail(s, "bad data key %q (letters, digits, _ . -)", key)
			}
		}
		succ("next", s.Next, true)
	case KindSegment:
		if len(s.Segments) == 0 {
			c.fail(s, "a segment block needs segments")
		}
		for _, seg := range s.Segments {
			if strings.TrimSpace(seg) == "" {
				c.fail(s, "empty segment")
			}
		}
		succ("next", s.Next, true)
	case KindBranch:
		for i, cs := range s.Cases {
			what := fmt.Sprintf("case %d", i+1)
			c.cond(s, what, &cs.When, langs)
			succ(what+" next", cs.Next, true)
		}
		succ("else", s.Else, true)
	case KindWebhook:
		c.webhook(s, succ)
	}
}

// text checks that a localized text has an entry for every configured language and none for others.
func (c *compiler) text(s *Spec, what string, t Text, langs []string, required bool) {
	if len(t) == 0 {
		if required {
			c.fail(s, "missing %s", what)
		}
		return
	}
	for l := range t {
		if l != "" && !slices.Contains(langs, l) {
			c.fail(s, "%s has language %q, which is not in languages %v", what, l, langs)
		}
	}
	for _, l := range langs {
		if strings.TrimSpace(t.get(l)) == "" {
			c.fail(s, "missing %s for language %q", what, l)
		}
	}
}

// textComplete reports whether c.text would find nothing wrong with a required text.
func textComplete(t Text, langs []string) bool {
	if len(t) == 0 || len(t) > len(langs)+1 {
		return false
	}
	for l := range t {
		if l != "" && !slices.Contains(langs, l) {
			return false
		}
	}
	for _, l := range langs {
		if strings.TrimSpace(t.get(l)) == "" {
			return false
		}
	}
	return true
}

func (t Text) get(lang string) string {
	if v, ok := t[lang]; ok {
		return v
	}
	return t[""]
}

func (c *compiler) store(s *Spec) {
	for _, st := range s.Store {
		if _, ok := parseTarget(st); !ok {
			c.fail(s, "bad store target %q (want email, language or data:<key>)", st)
		}
	}
}

func (c *compiler) cond(s *Spec, what string, cd *Cond, langs []string) {
	if cd == nil {
		return
	}
	if cd.empty() {
		c.fail(s, "%s has an empty condition", what)
	}
	for _, l := range cd.Language {
		if normLang(l) == "" {
			c.fail(s, "%s has an empty language", what)
		}
	}
	for _, keys := range [][]string{cd.Has, cd.Missing, mapKeys(cd.Data)} {
		for _, k := range keys {
			if !validDataKey(k) {
				c.fail(s, "%s has a bad data key %q", what, k)
			}
		}
	}
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func parseValidator(s string) (Validator, bool) {
	switch s {
	case "", "text":
		return ValidateText, true
	case "email":
		return ValidateEmail, true
	case "phone":
		return ValidatePhone, true
	}
	return 0, false
}

func parseTarget(s string) (Target, bool) {
	switch {
	case s == "email":
		return Target{Email: true}, true
	case s == "language":
		return Target{Language: true}, true
	case strings.HasPrefix(s, "data:") && validDataKey(s[len("data:"):]):
		return Target{DataKey: s[len("data:"):]}, true
	}
	return Target{}, false
}

// validDataKey accepts the custom data keys Crisp shows; UNCONFIRMED which characters Crisp itself
// allows, so the set is kept conservative.
func validDataKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// successors returns the ids a block may continue to, first successor first.
func successors(s *Spec, k Kind) []string {
	var out []string
	add := func(id string) {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	switch k {
	case KindPicker:
		for _, ch := range s.Choices {
			add(ch.Next)
		}
		add(s.Next)
	case KindBranch:
		for _, cs := range s.Cases {
			add(cs.Next)
		}
		add(s.Else)
	case KindWebhook:
		add(s.Next)
		for _, b := range slices.Sorted(maps.Keys(s.Branches)) {
			add(s.Branches[b])
		}
		add(s.Failed)
	default:
		add(s.Next)
	}
	return out
}

// linearize orders the blocks depth first from the start, first successor first, so that the
// common path is contiguous; it reports blocks that cannot be reached.
func (c *compiler) linearize(start int, kinds []Kind) []int {
	g := c.g
	seen := make([]bool, len(g.Blocks))
	order := make([]int, 0, len(g.Blocks))
	stack := []int{start}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[i] {
			continue
		}
		seen[i] = true
		order = append(order, i)
		next := successors(&g.Blocks[i], kinds[i])
		for j := len(next) - 1; j >= 0; j-- {
			if n := c.index[next[j]]; !seen[n] {
				stack = append(stack, n)
			}
		}
	}
	for i := range g.Blocks {
		if !seen[i] {
			c.fail(&g.Blocks[i], "unreachable from start %q", g.Start)
		}
	}
	return order
}

// checkCycles reports cycles along which the visitor is never asked anything: they would loop
// forever. Pickers and fields with skip_if may be passed over, so they do not break a cycle.
func (c *compiler) checkCycles(kinds []Kind) {
	g := c.g
	n := len(g.Blocks)
	auto := func(i int) bool { return !kinds[i].Waits() || g.Blocks[i].SkipIf != nil }
	edges := func(i int) []int {
		if !auto(i) {
			return nil
		}
		var out []int
		ids := successors(&g.Blocks[i], kinds[i])
		if kinds[i].Waits() {
			ids = []string{g.Blocks[i].Next} // only the skip edge runs without the visitor
		}
		for _, id := range ids {
			if j := c.index[id]; auto(j) {
				out = append(out, j)
			}
		}
		return out
	}
	// Tarjan's strongly connected components, iterative so that long chains cannot exhaust the stack.
	const unvisited = -1
	idx := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range idx {
		idx[i] = unvisited
	}
	var stack []int
	next := 0
	type frame struct {
		v    int
		succ []int
		pos  int
	}
	for root := 0; root < n; root++ {
		if idx[root] != unvisited || !auto(root) {
			continue
		}
		calls := []frame{{v: root, succ: edges(root)}}
		idx[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if f.pos < len(f.succ) {
				w := f.succ[f.pos]
				f.pos++
				switch {
				case idx[w] == unvisited:
					idx[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{v: w, succ: edges(w)})
				case onStack[w]:
					low[f.v] = min(low[f.v], idx[w])
				}
				continue
			}
			v := f.v
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != idx[v] {
				continue
			}
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) == 1 && !slices.Contains(edges(v), v) {
				continue
			}
			slices.Sort(comp)
			ids := make([]string, len(comp))
			for i, b := range comp {
				ids[i] = g.Blocks[b].ID
			}
			for _, b := range comp {
				c.fail(&g.Blocks[b], "in a cycle that never waits for the visitor (blocks %s)", strings.Join(ids, ", "))
			}
		}
	}
}

// build lays out the program in the linearized order.
func (c *compiler) build(order []int, kinds []Kind, langs []string) *Program {
	g := c.g
	pos := make([]int, len(g.Blocks)) // graph position -> program index
	for i, gi := range order {
		pos[gi] = i
	}
	at := func(id string) int {
		if id == "" {
			return -1
		}
		return pos[c.index[id]]
	}
	loc := func(t Text) []string {
		if len(t) == 0 {
			return nil
		}
		out := make([]string, len(langs))
		for i, l := range langs {
			out[i] = strings.TrimSpace(t.get(l))
		}
		return out
	}
	p := &Program{Languages: langs, Blocks: make([]Block, len(order)), index: make(map[string]int, len(order)),
		byTag: map[int]int{}}
	for i, gi := range order {
		s := &g.Blocks[gi]
		k := kinds[gi]
		b := Block{
			ID: s.ID, Kind: k, Next: at(s.Next), Else: at(s.Else), Line: s.Line,
			Text: loc(s.Text), Explain: loc(s.Explain), Invalid: loc(s.Invalid),
			Data: s.Data, Segments: s.Segments, SkipIf: s.SkipIf, tag: tagOf(s.ID, k),
			Webhook: s.Webhook, Failed: at(s.Failed),
		}
		if len(s.Branches) > 0 {
			b.Branches = make(map[string]int, len(s.Branches))
			for name, id := range s.Branches {
				b.Branches[name] = at(id)
			}
		}
		if k.Waits() {
			b.StepID = StepIDPrefix + s.ID
		}
		b.Validate, _ = parseValidator(s.Validate)
		for _, st := range s.Store {
			t, _ := parseTarget(st)
			b.Store = append(b.Store, t)
		}
		for _, ch := range s.Choices {
			next := at(ch.Next)
			if next < 0 {
				next = b.Next
			}
			b.Choices = append(b.Choices, BlockChoice{Value: ch.Value, Labels: loc(ch.Label), Next: next})
		}
		for _, cs := range s.Cases {
			b.Cases = append(b.Cases, Case{When: cs.When, Next: at(cs.Next)})
		}
		b.prompts = prompts(&b, len(langs))
		if k.Waits() && b.tag != 0 {
			if _, dup := p.byTag[b.tag]; dup {
				p.byTag[b.tag] = -1
			} else {
				p.byTag[b.tag] = i
			}
		}
		p.Blocks[i] = b
		p.index[s.ID] = i
	}
	return p
}

// prompts renders, once per language, the step that sends a block's message, picker or field.
func prompts(b *Block, nlang int) []Step {
	var out []Step
	switch b.Kind {
	case KindMessage:
		out = make([]Step, nlang)
		for l := range out {
			out[l] = Step{Kind: StepSendText, Block: b.ID, Text: b.Text[l]}
		}
	case KindPicker:
		out = make([]Step, nlang)
		for l := range out {
			choices := make([]Choice, len(b.Choices))
			for i, ch := range b.Choices {
				choices[i] = Choice{Value: ch.Value, Label: ch.Labels[l]}
			}
			out[l] = Step{Kind: StepSendPicker, Block: b.ID, ID: b.StepID, Text: b.Text[l], Choices: choices}
		}
	case KindField:
		out = make([]Step, nlang)
		for l := range out {
			st := Step{Kind: StepSendField, Block: b.ID, ID: b.StepID, Text: b.Text[l]}
			if b.Explain != nil {
				st.Explain = b.Explain[l]
			}
			out[l] = st
		}
	}
	return out
}

// tagOf is the stamp a cursor carries for a block: 31 bits of a hash of its id and kind. It is 0 on
// platforms whose int has 32 bits, where cursors carry the index only.
func tagOf(id string, k Kind) int {
	if strconv.IntSize < 64 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	h.Write([]byte{0, byte(k)})
	return int(h.Sum32() & 0x7fffffff)
}
