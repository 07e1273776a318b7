package scenario_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant/scenario"
)

const booking = `
start: name
languages: [en]
blocks:
  - {id: name, kind: field, text: "Your name?", store: data:name, next: day}
  - id: day
    kind: picker
    text: "Which day?"
    store: data:day
    choices: [{value: mon, label: Monday}, {value: tue, label: Tuesday}]
    next: book
  - id: book
    kind: webhook
    webhook: booking
    next: booked
    branches: {full: day, vip: human}
    failed: sorry
  - {id: booked, kind: message, text: "See you then.", next: ai}
  - {id: sorry, kind: message, text: "Booking is down; a person will help.", next: human}
  - {id: ai, kind: assistant}
  - {id: human, kind: handover}
`

func TestWebhookBlock(t *testing.T) {
	p, err := scenario.Load([]byte(booking))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.WebhookEndpoints(); !reflect.DeepEqual(got, []string{"booking"}) {
		t.Fatalf("WebhookEndpoints = %v", got)
	}
	ctx := scenario.Context{Language: "en", Email: "a@b.co", Data: map[string]string{"other": "x"}}
	cur, _ := MustRun(t, p, scenario.NotStarted, scenario.Begin{}, ctx, field)
	cur, _ = MustRun(t, p, cur, scenario.FieldValue{FieldID: "sb-step-name", Value: "Ana"}, ctx, setData, picker)
	ctx.Data = map[string]string{"other": "x", "name": "Ana"} // the session data write came back
	// Choosing a day runs into the webhook block: the call, with every answer so far, and a wait.
	cur, steps := MustRun(t, p, cur, scenario.PickerChoice{PickerID: "sb-step-day", Value: "tue"}, ctx, setData, scenario.StepWebhook)
	call := steps[1]
	if call.Block != "book" || call.Value != "booking" || !reflect.DeepEqual(call.Data, map[string]string{"name": "Ana", "day": "tue"}) {
		t.Fatalf("call = %+v", call)
	}
	waiting := cur

	// While the call is in flight: visitor text is not an answer, Resume sends nothing again.
	if c, s := p.Run(waiting, scenario.VisitorText{Text: "hello?"}, ctx); c != waiting || !reflect.DeepEqual(kinds(s), []scenario.StepKind{scenario.StepIgnored}) {
		t.Fatalf("text while in flight: cursor %v, steps %v", c, kinds(s))
	}
	if c, s := p.Run(waiting, scenario.Resume{}, ctx); c != waiting || len(s) != 0 {
		t.Fatalf("resume while in flight: cursor %v, steps %v", c, kinds(s))
	}

	// The reply: message, data, then next (no branch).
	c, s := MustRun(t, p, waiting, scenario.WebhookResult{Block: "book", Message: "Booked: B-17", Data: map[string]string{"booking_id": "B-17"}},
		ctx, sendText, setData, sendText, assistant)
	if c != scenario.Done || s[0].Text != "Booked: B-17" || s[1].Data["booking_id"] != "B-17" || s[2].Text != "See you then." {
		t.Fatalf("reply steps = %+v", s)
	}
	// A branch back to the picker: the day is asked again.
	c, _ = MustRun(t, p, waiting, scenario.WebhookResult{Block: "book", Message: "That day is full.", Branch: "full"}, ctx, sendText, picker)
	if i, st := p.Locate(c); st != scenario.StateWaiting || p.Blocks[i].ID != "day" {
		t.Fatalf("after branch full: waiting at %d (%v)", i, st)
	}
	// An unknown branch takes next, and says so for the log.
	MustRun(t, p, waiting, scenario.WebhookResult{Block: "book", Branch: "nope"}, ctx, scenario.StepIgnored, sendText, assistant)
	// A failure takes failed.
	MustRun(t, p, waiting, scenario.WebhookResult{Block: "book", Failed: true}, ctx, sendText, handover)
	// A result for another block (a late duplicate after the steps moved on) is ignored.
	if c, s := p.Run(scenario.Done, scenario.WebhookResult{Block: "book"}, ctx); c != scenario.Done || !reflect.DeepEqual(kinds(s), []scenario.StepKind{scenario.StepIgnored}) {
		t.Fatalf("late result: cursor %v, steps %v", c, kinds(s))
	}
}

func TestWebhookBlockCompileErrors(t *testing.T) {
	src := strings.NewReplacer("webhook: booking", "webhook: \"\"", "failed: sorry", "failed: nowhere", "vip: human", "vip: gone").Replace(booking)
	_, err := scenario.Load([]byte(src))
	if err == nil {
		t.Fatal("Load accepted a broken webhook block")
	}
	for _, want := range []string{
		`block "book" (line 12): a webhook block needs webhook: the name of an endpoint`,
		`block "book" (line 12): unknown successor "nowhere" in failed`,
		`block "book" (line 12): unknown successor "gone" in branches.vip`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
	_, err = scenario.Load([]byte(strings.Replace(booking, "    failed: sorry\n", "", 1)))
	if err == nil || !strings.Contains(err.Error(), `block "book" (line 12): missing failed`) {
		t.Errorf("missing failed: err = %v", err)
	}
	_, err = scenario.Load([]byte(strings.Replace(booking, "{id: booked, kind: message,", "{id: booked, kind: message, webhook: x,", 1)))
	if err == nil || !strings.Contains(err.Error(), "webhook is not used by a message block") {
		t.Errorf("webhook on a message block: err = %v", err)
	}
}
