package scenario_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

// kinds returns the kinds of steps, for compact comparisons.
func kinds(steps []scenario.Step) []scenario.StepKind {
	out := make([]scenario.StepKind, len(steps))
	for i, s := range steps {
		out[i] = s.Kind
	}
	return out
}

// MustRun runs one input and checks the kinds of the steps it returns.
func MustRun(tb testing.TB, p *scenario.Program, cur scenario.Cursor, in scenario.Input, c scenario.Context,
	want ...scenario.StepKind) (scenario.Cursor, []scenario.Step) {
	tb.Helper()
	next, steps := p.Run(cur, in, c)
	if got := kinds(steps); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		tb.Fatalf("Run(%d, %#v) steps = %v; want %v\nsteps: %+v", cur, in, got, want, steps)
	}
	return next, steps
}

// waitingAt returns the id of the block a cursor waits at.
func waitingAt(tb testing.TB, p *scenario.Program, cur scenario.Cursor) string {
	tb.Helper()
	i, st := p.Locate(cur)
	if st != scenario.StateWaiting {
		tb.Fatalf("Locate(%d) state = %d; want waiting", cur, st)
	}
	b, _ := p.At(i)
	return b.ID
}

const (
	sendText  = scenario.StepSendText
	picker    = scenario.StepSendPicker
	field     = scenario.StepSendField
	setData   = scenario.StepSetData
	setEmail  = scenario.StepSetEmail
	setLang   = scenario.StepSetLanguage
	segments  = scenario.StepAddSegments
	assistant = scenario.StepStartAssistant
	handover  = scenario.StepHandover
	invalid   = scenario.StepInvalid
	restarted = scenario.StepRestarted
	ignored   = scenario.StepIgnored
)

func TestDefaultNewVisitor(t *testing.T) {
	p := scenario.Default(nil)
	ctx := scenario.Context{Language: "fr-FR"}

	cur, steps := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, ctx, field)
	ask := steps[0]
	if !scenario.IsStepID(ask.ID) || !strings.Contains(ask.Text, "adresse e-mail") || ask.Explain == "" {
		t.Fatalf("email field = %+v; want a French field with a step id and a placeholder", ask)
	}
	if got := waitingAt(t, p, cur); got != "ask_email" {
		t.Fatalf("waiting at %q; want ask_email", got)
	}

	// A wrong answer is refused and the field asked again; the cursor stays.
	again, steps := MustRun(t, p, cur, scenario.FieldValue{FieldID: ask.ID, Value: "not an email"}, ctx, invalid, field)
	if again != cur || !strings.Contains(steps[0].Text, "e-mail") {
		t.Fatalf("after invalid answer cursor = %d (want %d), invalid text %q", again, cur, steps[0].Text)
	}

	cur, steps = MustRun(t, p, cur, scenario.FieldValue{FieldID: ask.ID, Value: "  ana@example.com "}, ctx, setEmail, picker)
	if steps[0].Value != "ana@example.com" {
		t.Errorf("SetEmail value = %q; want the trimmed email", steps[0].Value)
	}
	pick := steps[1]
	wantChoices := []scenario.Choice{{"en", "English"}, {"es", "Español"}, {"ca", "Català"}, {"fr", "Français"}}
	if !reflect.DeepEqual(pick.Choices, wantChoices) {
		t.Errorf("language choices = %v; want %v", pick.Choices, wantChoices)
	}
	if !strings.Contains(pick.Text, "langue") {
		t.Errorf("picker text = %q; want French", pick.Text)
	}

	// The visitor picks Spanish: stored as language and session data, and the next text is Spanish.
	ctx.Email = "ana@example.com"
	cur, steps = MustRun(t, p, cur, scenario.PickerChoice{PickerID: pick.ID, Value: "es"}, ctx, setLang, setData, sendText, assistant)
	if steps[0].Value != "es" || steps[1].Data["language"] != "es" {
		t.Errorf("language steps = %+v, %+v; want es in both", steps[0], steps[1])
	}
	if !strings.Contains(steps[2].Text, "Gracias") {
		t.Errorf("thanks = %q; want it in the chosen language", steps[2].Text)
	}
	if cur != scenario.Done {
		t.Errorf("cursor = %d; want Done", cur)
	}
	MustRun(t, p, cur, scenario.Resume{}, ctx)
	MustRun(t, p, cur, scenario.VisitorText{Text: "hello"}, ctx)
}

func TestDefaultEmailKnownGoesStraightToLanguage(t *testing.T) {
	p := scenario.Default(nil)
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, scenario.Context{Email: "a@b.co", Language: "ca"}, picker)
	if got := waitingAt(t, p, cur); got != "ask_language" {
		t.Errorf("waiting at %q; want ask_language", got)
	}
}

func TestDefaultVisitorTypesInsteadOfClicking(t *testing.T) {
	p := scenario.Default(nil)
	ctx := scenario.Context{Language: "en"}
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.VisitorText{Text: "hi there"}, ctx, field)
	cur, _ = MustRun(t, p, cur, scenario.VisitorText{Text: "bob@example.org"}, ctx, setEmail, picker)
	cur, steps := MustRun(t, p, cur, scenario.VisitorText{Text: "klingon"}, ctx, invalid, picker)
	if !strings.Contains(steps[0].Text, "options") {
		t.Errorf("invalid text = %q; want the default picker message", steps[0].Text)
	}
	_, steps = MustRun(t, p, cur, scenario.VisitorText{Text: " català "}, ctx, setLang, setData, sendText, assistant)
	if steps[0].Value != "ca" {
		t.Errorf("language = %q; want ca chosen by its label", steps[0].Value)
	}
}

func TestDefaultLanguages(t *testing.T) {
	p := scenario.Default([]string{"EN", "de-DE", "de", "", "not a code"})
	if want := []string{"en", "de"}; !reflect.DeepEqual(p.Languages, want) {
		t.Fatalf("Languages = %v; want %v", p.Languages, want)
	}
	_, steps := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, scenario.Context{Email: "a@b.co", Language: "de"}, picker)
	if want := []scenario.Choice{{"en", "English"}, {"de", "Deutsch"}}; !reflect.DeepEqual(steps[0].Choices, want) {
		t.Errorf("choices = %v; want %v", steps[0].Choices, want)
	}
	if !strings.Contains(steps[0].Text, "Which language") {
		t.Errorf("German text = %q; want the English fallback", steps[0].Text)
	}
}

func TestDefaultYAMLLoads(t *testing.T) {
	p := MustLoad(t, string(scenario.DefaultYAML()))
	if got, want := p.Languages, scenario.DefaultLanguages; !reflect.DeepEqual(got, want) {
		t.Errorf("Languages = %v; want %v", got, want)
	}
}

const menu = `
start: hello
languages: [en, es]
blocks:
  - {id: hello, kind: message, text: {en: Hello, es: Hola}, next: topic}
  - id: topic
    kind: picker
    text: {en: "Topic?", es: "¿Tema?"}
    store: data:topic
    choices:
      - {value: sales, label: {en: Sales, es: Ventas}}
      - {value: tech, label: {en: Tech, es: Técnica}, next: phone}
    next: tag
  - {id: tag, kind: segment, segments: [sales-lead], next: ai}
  - id: phone
    kind: field
    text: {en: "Your phone?", es: "¿Tu teléfono?"}
    validate: phone
    store: data:phone
    next: human
  - {id: ai, kind: assistant}
  - {id: human, kind: handover}
`

func TestResumeAtStoredIndex(t *testing.T) {
	p := MustLoad(t, menu)
	ctx := scenario.Context{Language: "es"}
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, ctx, sendText, picker)
	cur, _ = MustRun(t, p, cur, scenario.PickerChoice{PickerID: "sb-step-topic", Value: "tech"}, ctx, setData, field)

	// The service restarts: the same scenario compiled again resumes the stored cursor.
	p2 := MustLoad(t, menu)
	_, steps := MustRun(t, p2, cur, scenario.Resume{}, ctx, field)
	if steps[0].ID != "sb-step-phone" || steps[0].Text != "¿Tu teléfono?" {
		t.Errorf("resumed step = %+v; want the Spanish phone field", steps[0])
	}
	_, steps = MustRun(t, p2, cur, scenario.FieldValue{FieldID: "sb-step-phone", Value: "+34 (600) 11-22-33"}, ctx, setData, handover)
	if got := steps[0].Data["phone"]; got != "+34600112233" {
		t.Errorf("stored phone = %q; want +34600112233", got)
	}
	// A cursor made from an index resumes there too.
	i, _ := p2.Lookup("topic")
	MustRun(t, p2, p2.CursorAt(i), scenario.Resume{}, ctx, picker)
	// Not started resumes at the start.
	MustRun(t, p2, scenario.NotStarted, scenario.Resume{}, ctx, sendText, picker)
}

func TestStaleCursorRestarts(t *testing.T) {
	p := MustLoad(t, menu)
	ctx := scenario.Context{Language: "en"}
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, ctx, sendText, picker)
	cur, _ = MustRun(t, p, cur, scenario.PickerChoice{PickerID: "sb-step-topic", Value: "tech"}, ctx, setData, field)

	// The scenario is edited between restarts: the phone block is gone.
	edited := MustLoad(t, `
start: hello
languages: [en, es]
blocks:
  - {id: hello, kind: message, text: {en: Hi, es: Hola}, next: topic}
  - id: topic
    kind: picker
    text: {en: "Topic?", es: "¿Tema?"}
    choices: [{value: sales, label: Sales}, {value: tech, label: Tech}]
    next: ai
  - {id: ai, kind: assistant}
`)
	if _, st := edited.Locate(cur); st != scenario.StateStale {
		t.Fatalf("Locate state = %d; want stale", st)
	}
	next, steps := MustRun(t, edited, cur, scenario.Resume{}, ctx, restarted, sendText, picker)
	if steps[1].Text != "Hi" || waitingAt(t, edited, next) != "topic" {
		t.Errorf("restart steps = %+v; want the edited start", steps)
	}
	MustRun(t, edited, cur, scenario.VisitorText{Text: "555"}, ctx, restarted, sendText, picker)
	MustRun(t, edited, cur, scenario.FieldValue{FieldID: "sb-step-phone", Value: "555 123 456"}, ctx, restarted, sendText, picker)
	// An answer to a block that still exists is taken even though the cursor is stale.
	MustRun(t, edited, cur, scenario.PickerChoice{PickerID: "sb-step-topic", Value: "sales"}, ctx, assistant)

	for _, c := range []scenario.Cursor{-7, scenario.Cursor(1 << 31), 999} {
		if _, st := edited.Locate(c); st != scenario.StateStale {
			t.Errorf("Locate(%d) state = %d; want stale", c, st)
		}
	}
}

func TestIgnoredAnswers(t *testing.T) {
	p := MustLoad(t, menu)
	ctx := scenario.Context{}
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, ctx, sendText, picker)
	tests := []struct {
		name string
		cur  scenario.Cursor
		in   scenario.Input
	}{
		{"unknown choice", cur, scenario.PickerChoice{PickerID: "sb-step-topic", Value: "refunds"}},
		{"another block's answer", cur, scenario.FieldValue{FieldID: "sb-step-phone", Value: "600112233"}},
		{"someone else's picker", cur, scenario.PickerChoice{PickerID: "routing", Value: "sales"}},
		{"answer after the end", scenario.Done, scenario.PickerChoice{PickerID: "sb-step-topic", Value: "sales"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, _ := MustRun(t, p, tt.cur, tt.in, ctx, ignored)
			if next != tt.cur {
				t.Errorf("cursor = %d; want unchanged %d", next, tt.cur)
			}
		})
	}
}

const branching = `
start: mark
languages: [en]
blocks:
  - {id: mark, kind: set_data, data: {source: scenario}, next: route}
  - id: route
    kind: branch
    cases:
      - {when: {data: {plan: pro}, segment: [vip]}, next: vip}
      - {when: {data: {plan: pro}}, next: pro}
      - {when: {missing: [plan], email_known: false}, next: anon}
      - {when: {language: [es, ca]}, next: iberian}
      - {when: {has: [plan]}, next: known}
      - {when: {data: {source: elsewhere}}, next: never}
    else: other
  - {id: vip, kind: handover}
  - {id: pro, kind: segment, segments: [pro], next: tagged}
  - id: tagged
    kind: branch
    cases: [{when: {segment: [pro], data: {source: scenario}}, next: known}]
    else: other
  - {id: anon, kind: resolve}
  - {id: iberian, kind: message, text: Hola, next: other}
  - {id: known, kind: assistant}
  - {id: never, kind: end}
  - {id: other, kind: end}
`

func TestBranchConditions(t *testing.T) {
	p := MustLoad(t, branching)
	tests := []struct {
		name string
		ctx  scenario.Context
		want []scenario.StepKind
	}{
		{"data and segment", scenario.Context{Data: map[string]string{"plan": "pro"}, Segments: []string{"vip"}},
			[]scenario.StepKind{setData, handover}},
		{"first match wins, and later blocks see earlier ones", scenario.Context{Data: map[string]string{"plan": "pro"}},
			[]scenario.StepKind{setData, segments, assistant}},
		{"missing data and no email", scenario.Context{}, []scenario.StepKind{setData, scenario.StepResolve}},
		{"language", scenario.Context{Email: "a@b.co", Language: "ca-ES"}, []scenario.StepKind{setData, sendText, scenario.StepEnd}},
		{"presence", scenario.Context{Email: "a@b.co", Data: map[string]string{"plan": "free"}}, []scenario.StepKind{setData, assistant}},
		{"set_data overrides the context", scenario.Context{Email: "a@b.co", Data: map[string]string{"source": "elsewhere"}},
			[]scenario.StepKind{setData, scenario.StepEnd}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, steps := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, tt.ctx, tt.want...)
			if cur != scenario.Done {
				t.Errorf("cursor = %d; want Done", cur)
			}
			if last := steps[len(steps)-1]; tt.name == "set_data overrides the context" && last.Block != "other" {
				t.Errorf("ended at %q; want other (the never branch must not match)", last.Block)
			}
		})
	}
}

func TestSkipIfSeesAnswersOfTheSameRun(t *testing.T) {
	p := MustLoad(t, `
start: pick
languages: [en]
blocks:
  - id: pick
    kind: picker
    text: Have an account?
    store: data:account
    choices: [{value: "yes", label: "Yes"}, {value: "no", label: "No"}]
    next: mail
  - id: mail
    kind: field
    text: Your email?
    validate: email
    store: email
    skip_if: {data: {account: "no"}}
    next: ai
  - {id: ai, kind: assistant}
`)
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, scenario.Context{}, picker)
	MustRun(t, p, cur, scenario.PickerChoice{PickerID: "sb-step-pick", Value: "no"}, scenario.Context{}, setData, assistant)
	MustRun(t, p, cur, scenario.PickerChoice{PickerID: "sb-step-pick", Value: "yes"}, scenario.Context{}, setData, field)
}

func TestLocalizationFallback(t *testing.T) {
	p := MustLoad(t, menu)
	tests := []struct{ lang, want string }{
		{"es", "Hola"}, {"ES-mx", "Hola"}, {"es_AR", "Hola"}, {"en-GB", "Hello"}, {"de", "Hello"}, {"", "Hello"},
	}
	for _, tt := range tests {
		_, steps := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, scenario.Context{Language: tt.lang}, sendText, picker)
		if steps[0].Text != tt.want {
			t.Errorf("language %q: text = %q; want %q", tt.lang, steps[0].Text, tt.want)
		}
	}
}

func TestFieldValidators(t *testing.T) {
	p := MustLoad(t, `
start: email
languages: [en]
blocks:
  - {id: email, kind: field, text: e, validate: email, store: data:e, next: phone}
  - {id: phone, kind: field, text: p, validate: phone, store: data:p, next: text}
  - {id: text, kind: field, text: t, store: data:t, next: ai}
  - {id: ai, kind: assistant}
`)
	at := func(id string) scenario.Cursor {
		i, ok := p.Lookup(id)
		if !ok {
			t.Fatalf("no block %q", id)
		}
		return p.CursorAt(i)
	}
	tests := []struct {
		block, value string
		ok           bool
		stored       string
	}{
		{"email", "a@b.co", true, "a@b.co"},
		{"email", " A.B+c@sub.example.org ", true, "A.B+c@sub.example.org"},
		{"email", "Ana <a@b.co>", false, ""},
		{"email", "a@b", false, ""},
		{"email", "a@@b.co", false, ""},
		{"email", "", false, ""},
		{"phone", "+1 (555) 010-9999", true, "+15550109999"},
		{"phone", "600.11.22.33", true, "600112233"},
		{"phone", "12345", false, ""},
		{"phone", "call me", false, ""},
		{"phone", "1+2345678", false, ""},
		{"text", "  anything  ", true, "anything"},
		{"text", "   ", false, ""},
		{"text", strings.Repeat("x", 1001), false, ""},
	}
	for _, tt := range tests {
		cur := at(tt.block)
		next, steps := p.Run(cur, scenario.FieldValue{FieldID: scenario.StepIDPrefix + tt.block, Value: tt.value}, scenario.Context{})
		switch {
		case tt.ok && (len(steps) == 0 || steps[0].Kind != setData || steps[0].Data[tt.block[:1]] != tt.stored):
			t.Errorf("%s %q: steps %+v; want stored %q", tt.block, tt.value, steps, tt.stored)
		case !tt.ok && (next != cur || kinds(steps)[0] != invalid):
			t.Errorf("%s %q: cursor %d steps %v; want invalid and cursor unchanged", tt.block, tt.value, next, kinds(steps))
		}
	}
}

func TestRunIsPure(t *testing.T) {
	p := MustLoad(t, branching)
	data := map[string]string{"plan": "pro"}
	segs := []string{"x"}
	p.Run(scenario.NotStarted, scenario.Begin{}, scenario.Context{Data: data, Segments: segs})
	if len(data) != 1 || len(segs) != 1 || segs[0] != "x" {
		t.Errorf("context changed: data %v segments %v", data, segs)
	}
}

func TestStepIDs(t *testing.T) {
	p := scenario.Default(nil)
	for _, tt := range []struct {
		id string
		ok bool
	}{{"sb-step-ask_language", true}, {"sb-step-", false}, {"routing", false}} {
		if got := scenario.IsStepID(tt.id); got != tt.ok {
			t.Errorf("IsStepID(%q) = %v; want %v", tt.id, got, tt.ok)
		}
	}
	if i, ok := p.Lookup("sb-step-ask_language"); !ok || p.Blocks[i].ID != "ask_language" {
		t.Errorf("Lookup(step id) = %d, %v; want ask_language", i, ok)
	}
}

func TestEditedScenarioFollowsMovedBlocks(t *testing.T) {
	v1 := MustLoad(t, `
start: a
languages: [en]
blocks:
  - {id: a, kind: field, text: A, store: data:a, next: b}
  - {id: b, kind: field, text: B, store: data:b, next: ai}
  - {id: ai, kind: assistant}
`)
	cur, _ := MustRun(t, v1, scenario.NotStarted, scenario.Begin{}, scenario.Context{}, field)
	cur, _ = MustRun(t, v1, cur, scenario.VisitorText{Text: "x"}, scenario.Context{}, setData, field)
	if got := waitingAt(t, v1, cur); got != "b" {
		t.Fatalf("waiting at %q; want b", got)
	}
	// Edited: the order changed and a block was inserted; index 1 is now another field.
	v2 := MustLoad(t, `
start: intro
languages: [en]
blocks:
  - {id: intro, kind: field, text: I, store: data:i, next: a}
  - {id: b, kind: field, text: B2, store: data:b, next: ai}
  - {id: a, kind: field, text: A2, store: data:a, next: b}
  - {id: ai, kind: assistant}
`)
	if i, _ := v2.Lookup("b"); i == 1 {
		t.Fatalf("test needs b to move; it is still at index %d", i)
	}
	if b, _ := v2.At(1); !b.Kind.Waits() {
		t.Fatalf("test needs another waiting block at index 1; got %s", b.Kind)
	}
	_, steps := MustRun(t, v2, cur, scenario.Resume{}, scenario.Context{}, field)
	if steps[0].Text != "B2" {
		t.Errorf("resumed at %q; want the moved block b", steps[0].Text)
	}
}
