package scenario_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

// MustLoad parses and compiles a scenario or fails the test.
func MustLoad(tb testing.TB, src string) *scenario.Program {
	tb.Helper()
	p, err := scenario.Load([]byte(src))
	if err != nil {
		tb.Fatalf("load scenario: %v", err)
	}
	return p
}

// errorList returns the joined errors one by one.
func errorList(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestLoadRejectsBrokenScenarios(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // substrings of one of the errors, block id first
	}{
		{"unknown successor", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: hi, next: nowhere}
`, []string{`block "a"`, `unknown successor "nowhere"`}},
		{"unknown choice successor", `
start: a
languages: [en]
blocks:
  - id: a
    kind: picker
    text: pick
    choices: [{value: x, label: X, next: ghost}]
`, []string{`block "a"`, `"ghost"`}},
		{"unreachable block", `
start: a
languages: [en]
blocks:
  - {id: a, kind: assistant}
  - {id: orphan, kind: end}
`, []string{`block "orphan"`, "unreachable"}},
		{"cycle without a user step", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: one, next: b}
  - {id: b, kind: set_data, data: {k: v}, next: a}
`, []string{`block "a"`, "cycle", "blocks a, b"}},
		{"self loop", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: one, next: a}
`, []string{`block "a"`, "cycle"}},
		{"cycle through a skippable field", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: one, next: f}
  - {id: f, kind: field, text: "email?", skip_if: {email_known: true}, validate: email, store: email, next: a}
`, []string{`block "f"`, "cycle"}},
		{"missing text for a language", `
start: a
languages: [en, es]
blocks:
  - {id: a, kind: message, text: {en: hi}, next: z}
  - {id: z, kind: end}
`, []string{`block "a"`, `missing text for language "es"`}},
		{"missing label for a language", `
start: a
languages: [en, es]
blocks:
  - id: a
    kind: picker
    text: {en: pick, es: elige}
    choices: [{value: x, label: {en: X}}]
    next: z
  - {id: z, kind: end}
`, []string{`block "a"`, `choice "x" label for language "es"`}},
		{"text in a language not configured", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: {en: hi, sp: hola}, next: z}
  - {id: z, kind: end}
`, []string{`block "a"`, `language "sp"`}},
		{"duplicate ids in a list", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: hi, next: z}
  - {id: a, kind: end}
  - {id: z, kind: end}
`, []string{`block "a"`, "duplicate id"}},
		{"duplicate ids in a map", `
start: a
languages: [en]
blocks:
  a: {kind: message, text: hi, next: z}
  z: {kind: end}
  a: {kind: end}
`, []string{`block "a"`, "duplicate id"}},
		{"missing start", `
languages: [en]
blocks:
  - {id: a, kind: end}
`, []string{"missing start"}},
		{"unknown start", `
start: nope
languages: [en]
blocks:
  - {id: a, kind: end}
`, []string{`start block "nope"`}},
		{"bad validator", `
start: f
languages: [en]
blocks:
  - {id: f, kind: field, text: "mail?", validate: emial, store: email, next: z}
  - {id: z, kind: end}
`, []string{`block "f"`, `bad validator "emial"`}},
		{"bad store target", `
start: f
languages: [en]
blocks:
  - {id: f, kind: field, text: "mail?", validate: email, store: meta, next: z}
  - {id: z, kind: end}
`, []string{`block "f"`, `bad store target "meta"`}},
		{"bad data key in store", `
start: f
languages: [en]
blocks:
  - {id: f, kind: field, text: "name?", store: "data:my key", next: z}
  - {id: z, kind: end}
`, []string{`block "f"`, `bad store target "data:my key"`}},
		{"unknown kind", `
start: a
languages: [en]
blocks:
  - {id: a, kind: mesage, text: hi}
`, []string{`block "a"`, `unknown kind "mesage"`}},
		{"unknown key", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: hi, nxt: z}
  - {id: z, kind: end}
`, []string{`block "a"`, `unknown key "nxt"`}},
		{"unknown condition key", `
start: a
languages: [en]
blocks:
  - id: a
    kind: branch
    cases: [{when: {emial_known: true}, next: z}]
    else: z
  - {id: z, kind: end}
`, []string{`block "a"`, `unknown key "emial_known"`}},
		{"branch without else", `
start: a
languages: [en]
blocks:
  - id: a
    kind: branch
    cases: [{when: {email_known: true}, next: z}]
  - {id: z, kind: end}
`, []string{`block "a"`, "missing else"}},
		{"empty condition", `
start: a
languages: [en]
blocks:
  - id: a
    kind: branch
    cases: [{when: {}, next: z}]
    else: z
  - {id: z, kind: end}
`, []string{`block "a"`, "empty condition"}},
		{"field that does not belong to the kind", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: hi, validate: email, next: z}
  - {id: z, kind: end}
`, []string{`block "a"`, "validate is not used by a message block"}},
		{"picker without choices", `
start: a
languages: [en]
blocks:
  - {id: a, kind: picker, text: pick, next: z}
  - {id: z, kind: end}
`, []string{`block "a"`, "needs choices"}},
		{"missing next", `
start: a
languages: [en]
blocks:
  - {id: a, kind: message, text: hi}
`, []string{`block "a"`, "missing next"}},
		{"missing languages", `
start: a
blocks:
  - {id: a, kind: end}
`, []string{"missing languages"}},
		{"not yaml", "start: [a", []string{"parse scenario"}},
		{"empty", "", []string{"empty document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := scenario.Load([]byte(tt.src))
			if err == nil {
				t.Fatalf("Load = %v, nil; want an error containing %q", p, tt.want)
			}
			for _, e := range errorList(err) {
				if containsAll(e.Error(), tt.want) {
					return
				}
			}
			t.Errorf("Load error = %q; want one error containing all of %q", err, tt.want)
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestLoadReportsEveryProblemNamingItsBlock(t *testing.T) {
	_, err := scenario.Load([]byte(`
start: a
languages: [en, es]
blocks:
  - {id: a, kind: message, text: {en: hi}, next: b}
  - {id: b, kind: field, text: "mail?", validate: mail, store: phone, next: nowhere}
  - {id: c, kind: end}
`))
	if err == nil {
		t.Fatal("Load = nil error; want errors")
	}
	errs := errorList(err)
	if len(errs) < 4 {
		t.Errorf("got %d errors %q; want at least 4 (text, validator, store, successor)", len(errs), err)
	}
	for _, e := range errs {
		var se *scenario.Error
		if !errors.As(e, &se) || se.Block == "" || !strings.Contains(e.Error(), `block "`+se.Block+`"`) {
			t.Errorf("error %q does not name its block", e)
		}
	}
}

func TestLoadAcceptsLoopThroughAPicker(t *testing.T) {
	p := MustLoad(t, `
start: menu
languages: [en]
blocks:
  menu:
    kind: picker
    text: What now?
    choices:
      - {value: again, label: Again, next: note}
      - {value: ai, label: Ask the AI, next: ai}
  note: {kind: message, text: Once more., next: menu}
  ai: {kind: assistant}
`)
	if got, want := p.Len(), 3; got != want {
		t.Fatalf("Len = %d; want %d", got, want)
	}
	if b, ok := p.At(0); !ok || b.ID != "menu" {
		t.Errorf("At(0) = %q, %v; want the start block menu", b.ID, ok)
	}
	// Depth first, first successor first: menu, note, ai.
	for i, id := range []string{"menu", "note", "ai"} {
		if got, ok := p.Lookup(id); !ok || got != i {
			t.Errorf("Lookup(%q) = %d, %v; want %d", id, got, ok, i)
		}
	}
	b, _ := p.At(0)
	if b.Choices[0].Next != 1 || b.Choices[1].Next != 2 {
		t.Errorf("choice successors = %d, %d; want indexes 1, 2", b.Choices[0].Next, b.Choices[1].Next)
	}
	if _, ok := p.At(3); ok {
		t.Error("At(3) ok; want false past the end")
	}
}

func TestCompileGraphBuiltInGo(t *testing.T) {
	if _, err := scenario.Compile(nil); err == nil {
		t.Error("Compile(nil) = nil error; want one")
	}
	g := &scenario.Graph{
		Start:     "hi",
		Languages: []string{"en", "fr"},
		Blocks: []scenario.Spec{
			{ID: "hi", Kind: "message", Text: scenario.Text{"": "Hello", "fr": "Bonjour"}, Next: "bye"},
			{ID: "bye", Kind: "end"},
		},
	}
	p, err := scenario.Compile(g)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	if b, _ := p.At(0); b.Text[0] != "Hello" || b.Text[1] != "Bonjour" || b.Next != 1 {
		t.Errorf("block 0 = %+v; want Hello/Bonjour then index 1", b)
	}
	_, steps := p.Run(scenario.NotStarted, scenario.Begin{}, scenario.Context{Language: "fr"})
	if got := kinds(steps); len(got) != 2 || got[1] != scenario.StepEnd || steps[0].Text != "Bonjour" {
		t.Errorf("steps = %+v; want Bonjour then end", steps)
	}
}

func TestParseErrorsCarryTheLine(t *testing.T) {
	_, err := scenario.Parse([]byte("start: a\nlanguages: [en]\nblocks:\n  a:\n    kind: end\n    colour: red\n"))
	var se *scenario.Error
	if !errors.As(err, &se) || se.Block != "a" || se.Line != 6 {
		t.Fatalf("Parse error = %v (%+v); want block a at line 6", err, se)
	}
}
