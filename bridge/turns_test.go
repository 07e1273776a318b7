package bridge_test

import (
	"context"
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
