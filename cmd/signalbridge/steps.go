package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/signalbridge/signalbridge/assistant/scenario"
	"github.com/signalbridge/signalbridge/bridge"
)

// loadSteps compiles a website's guided steps: "" none, "default" the built-in scenario, else a YAML
// file. Errors name the broken blocks.
func loadSteps(spec string, languages []string) (bridge.Steps, error) {
	switch spec {
	case "":
		return nil, nil
	case "default":
		return steps{p: scenario.Default(languages)}, nil
	}
	src, err := os.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	p, err := scenario.Load(src)
	if err != nil {
		return nil, err
	}
	return steps{p: p}, nil
}

// steps adapts a linearized scenario program to the bridge: the conversation stores only its cursor
// (Conversation.ScenarioIndex), so resuming is one lookup.
type steps struct {
	p      *scenario.Program
	closed func() bool // outside support hours now (hours.go); nil: always open
}

var _ bridge.Steps = steps{}

func (s steps) context(c *bridge.Conversation) scenario.Context {
	return scenario.Context{Language: c.Language, Email: c.Email, Data: c.Data, Segments: c.Segments, Closed: s.closedNow()}
}

// Enter starts the steps, or resumes them at the stored cursor.
func (s steps) Enter(_ context.Context, c *bridge.Conversation) (bridge.StepResult, error) {
	cur, out := s.p.Run(scenario.Cursor(c.ScenarioIndex), scenario.Resume{}, s.context(c))
	return s.result(c, cur, out), nil
}

// Input feeds a visitor input to the step waiting for it.
func (s steps) Input(_ context.Context, c *bridge.Conversation, in bridge.StepInput) (bridge.StepResult, bool, error) {
	cur := scenario.Cursor(c.ScenarioIndex)
	if _, state := s.p.Locate(cur); state == scenario.StateDone {
		return bridge.StepResult{}, false, nil
	}
	var sin scenario.Input
	switch {
	case in.Webhook != nil:
		w := in.Webhook
		sin = scenario.WebhookResult{Block: w.Block, Failed: w.Failed, Message: w.Message, Data: w.Data, Branch: w.Branch}
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
	res := s.result(c, next, out)
	return res, true, nil
}

// result turns scenario steps into what the bridge performs and stores the new cursor.
func (s steps) result(c *bridge.Conversation, cur scenario.Cursor, out []scenario.Step) bridge.StepResult {
	c.ScenarioIndex = int(cur)
	var r bridge.StepResult
	var notes []string
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
			for k, v := range st.Data {
				r.Meta.Data[k] = v
			}
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
		case scenario.StepRestarted, scenario.StepIgnored:
			notes = append(notes, st.Kind.String()+": "+st.Text)
		case scenario.StepWebhook:
			r.Webhook = &bridge.WebhookCall{Block: st.Block, Endpoint: st.Value, Answers: st.Data}
		}
	}
	r.Note = strings.Join(notes, "; ")
	return r
}
