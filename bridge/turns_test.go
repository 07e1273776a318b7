package bridge_test

import (
	"context"
	"slices"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// greeter answers every message as conversation (a greeting), as the assistant does for "hello".
type greeter struct{}

func (greeter) Reply(context.Context, assistant.Question) (assistant.Answer, error) {
	return assistant.Answer{Text: "Hello! How can I help you today?", Offline: true, Turn: assistant.TurnGreeting}, nil
}

// An answer to a greeting is plain text: the "resolved / talk to a human" choices follow answers
// to questions only, even on a website that offers them with every answer.
func TestNoAnswerChoicesOnConversation(t *testing.T) {
	f := newFlaky()
	site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en", OfferHuman: 1}
	b, st := openJournal(t, f, "", func(o *bridge.Options) {
		o.Assistant = greeter{}
		o.Websites = func(string) *bridge.Website { return site }
	})
	defer st.Close()
	mustHandle(t, b, visitorMessage("s1", 1))
	waitFor(t, "the greeting posted", func() bool { return len(f.sent("s1")) == 1 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if m := f.sent("s1")[0]; m.Type != "text" || m.Picker != nil {
		t.Errorf("the greeting was posted as %s with picker %v, want plain text", m.Type, m.Picker)
	}
}

// sorry answers every message as the assistant answers "this is useless": a frustration turn.
type sorry struct{}

func (sorry) Reply(context.Context, assistant.Question) (assistant.Answer, error) {
	return assistant.Answer{Text: "I'm sorry I couldn't help.", Offline: true, Turn: assistant.TurnFrustration}, nil
}

// The reply to a visitor's frustration carries the "resolved / talk to a human" choices at once,
// on a website that offers them only from the third answer on; never on one that never offers them.
func TestFrustrationOffersAPersonAtOnce(t *testing.T) {
	for _, c := range []struct {
		offer  int
		picker bool
	}{{3, true}, {0, false}} {
		f := newFlaky()
		site := &bridge.Website{ID: "w", Signals: signals.DefaultConfig(), Language: "en", OfferHuman: c.offer}
		b, st := openJournal(t, f, "", func(o *bridge.Options) {
			o.Assistant = sorry{}
			o.Websites = func(string) *bridge.Website { return site }
		})
		mustHandle(t, b, visitorMessage("s1", 1))
		waitFor(t, "the reply posted", func() bool { return len(f.sent("s1")) == 1 })
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		st.Close()
		m := f.sent("s1")[0]
		if got := m.Picker != nil && slices.ContainsFunc(m.Picker.Choices, func(ch bridge.Choice) bool { return ch.Value == bridge.ChoiceHuman }); got != c.picker {
			t.Errorf("offer_human %d: posted %s with picker %v, want the human choice %v", c.offer, m.Type, m.Picker, c.picker)
		}
	}
}
