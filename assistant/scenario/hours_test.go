package scenario_test

import (
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

const weekend = `
start: when
languages: [en]
blocks:
  - id: when
    kind: branch
    cases:
      - when: {open: false, email_known: false}
        next: closed_email
      - when: {open: false}
        next: closed
    else: ai
  - {id: closed_email, kind: message, text: "We're closed; leave your email.", next: human}
  - {id: closed, kind: message, text: "We're closed; we'll write to you.", next: human}
  - {id: ai, kind: assistant}
  - {id: human, kind: handover}
`

func TestOpenCondition(t *testing.T) {
	p, err := scenario.Load([]byte(weekend))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		ctx   scenario.Context
		kinds []scenario.StepKind
		text  string
	}{
		{"open goes to the assistant", scenario.Context{}, []scenario.StepKind{assistant}, ""},
		{"closed without email asks for it", scenario.Context{Closed: true}, []scenario.StepKind{sendText, handover}, "leave your email"},
		{"closed with email", scenario.Context{Closed: true, Email: "a@b.co"}, []scenario.StepKind{sendText, handover}, "write to you"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, steps := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, tc.ctx, tc.kinds...)
			if tc.text != "" && !strings.Contains(steps[0].Text, tc.text) {
				t.Errorf("text = %q, want it to contain %q", steps[0].Text, tc.text)
			}
		})
	}
}

func TestOpenConditionRejectsNonBoolean(t *testing.T) {
	_, err := scenario.Load([]byte(strings.Replace(weekend, "open: false, email_known", "open: sometimes, email_known", 1)))
	if err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("err = %v, want a complaint about open: sometimes", err)
	}
}
