package bridge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
)

// askThenWelcome is guided steps that ask the email, then post a welcome ("Thanks! How can I
// help?") and hand over to the assistant in the same step, as the default scenario does.
type askThenWelcome struct{}

func (askThenWelcome) Enter(_ context.Context, c *bridge.Conversation) (bridge.StepResult, error) {
	return bridge.StepResult{Messages: []bridge.OutMessage{{Type: "field",
		Field: &bridge.Field{ID: "step-email", Text: "Your email?"}}}}, nil
}

func (s askThenWelcome) Input(ctx context.Context, c *bridge.Conversation, in bridge.StepInput) (bridge.StepResult, bool, error) {
	if in.Text != "" && c.ScenarioIndex == 0 { // the question that begins the steps
		c.ScenarioIndex = 1
		res, err := s.Enter(ctx, c)
		return res, true, err
	}
	if in.FieldID != "step-email" {
		return bridge.StepResult{}, false, nil
	}
	c.ScenarioIndex = -1
	return bridge.StepResult{Assistant: true, Meta: bridge.MetaUpdate{Email: in.Value},
		Messages: []bridge.OutMessage{{Type: "text", Text: "Thanks! How can I help?"}}}, true, nil
}

// slowSend posts the steps' welcome slowly (a Crisp call taking its time), so that an answer
// started at once would overtake it.
type slowSend struct{ *crispish }

func (s slowSend) Send(ctx context.Context, w, sess string, m bridge.OutMessage) (int64, error) {
	if m.Text == "Thanks! How can I help?" {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return s.crispish.Send(ctx, w, sess, m)
}

// The guided steps' last message comes before the assistant's answer to the question that began
// the steps, however long the message takes to post: the steps' messages keep their order.
func TestStepsWelcomeBeforeTheAnswer(t *testing.T) {
	p := newCrispish()
	b, st := openFlows(t, slowSend{p}, echo{}, "", func(w *bridge.Website) { w.Steps = askThenWelcome{} })
	defer st.Close()
	mustHandle(t, b, visitorMessage("s1", 1))
	settle(t, b, "s1")
	mustHandle(t, b, bridge.Event{Name: bridge.EventMessageUpdated, Via: bridge.ViaRTM, WebsiteID: "w", SessionID: "s1",
		Fingerprint: 99, Message: &bridge.Message{Type: "field", From: "operator", Origin: "urn:test:bridge:0",
			Field: &bridge.Field{ID: "step-email", Value: "ana@example.com"}}})
	waitFor(t, "the answer", func() bool {
		for _, m := range p.sent("s1") {
			if m.Text == "re:1" {
				return true
			}
		}
		return false
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range p.sent("s1") {
		if m.Type == "text" {
			texts = append(texts, m.Text)
		}
	}
	if len(texts) != 2 || texts[0] != "Thanks! How can I help?" || texts[1] != "re:1" {
		t.Fatalf("texts posted = %q, want the steps' welcome, then the answer", texts)
	}
}

// spanishReply answers in Spanish whatever the conversation's language, as the assistant does for a
// visitor writing Spanish in an English browser.
type spanishReply struct{}

func (spanishReply) Reply(context.Context, assistant.Question) (assistant.Answer, error) {
	return assistant.Answer{Text: "El envío es gratuito.", Language: "es", Offline: true}, nil
}

// The buttons under an answer speak the answer's language, and the conversation follows it.
func TestAnswerLanguageLeadsTheButtons(t *testing.T) {
	p := newCrispish()
	b, st := openFlows(t, p, spanishReply{}, "", func(w *bridge.Website) {
		w.OfferHuman = 1
		w.Text = func(lang, key string) string { return lang + ":" + key }
	})
	defer st.Close()
	mustHandle(t, b, visitorMessage("s1", 1))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	var picker *bridge.Picker
	for _, m := range p.sent("s1") {
		if m.Type == "picker" {
			picker = m.Picker
		}
	}
	if picker == nil || len(picker.Choices) != 2 || !strings.HasPrefix(picker.Choices[0].Label, "es:") {
		t.Fatalf("picker = %+v, want Spanish labels", picker)
	}
	if c := load(t, st, "s1"); c.Language != "es" {
		t.Fatalf("conversation language = %q, want es", c.Language)
	}
}
