package assistant_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

func TestIsHoursQuestion(t *testing.T) {
	for text, want := range map[string]bool{
		"what are your opening hours?":          true,
		"When are you open?":                    true,
		"what time do you close on friday":      true,
		"are you open on saturdays?":            true,
		"r u open now":                          true,
		"business hours?":                       true,
		"¿Cuál es vuestro horario de atención?": true,
		"a qué hora abrís mañana":               true,
		"quels sont vos horaires ?":             true,
		"êtes-vous ouverts le samedi ?":         true,
		"à quelle heure fermez-vous":            true,
		"quin horari teniu?":                    true,
		"a quina hora tanqueu?":                 true,
		"how many hours does delivery take":     false,
		"horario de entrega de los pedidos":     false,
		"when do you close my account?":         false,
		"the reset link is valid for one hour?": false,
		"I opened the bag, can I return it":     false,
		"open the order in my account":          false,
		"horaires de livraison":                 false,
	} {
		if got := assistant.IsHoursQuestion(text); got != want {
			t.Errorf("IsHoursQuestion(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestReplyOpeningHours: a question about opening hours is answered from the website's support
// hours when it has some, with an article that is about opening hours when the knowledge base
// has one, and otherwise with an honest "no", never with an article sharing the word "open".
func TestReplyOpeningHours(t *testing.T) {
	ctx := context.Background()
	ask := func(a *assistant.Assistant, lang, text string, h *assistant.SupportHours) assistant.Answer {
		t.Helper()
		q := assistant.Question{Language: lang, History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: text}}}
		if h != nil {
			q.Hours = func() *assistant.SupportHours { return h }
		}
		ans, err := a.Reply(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	demo := demoAssistant(t)
	hours := &assistant.SupportHours{Zone: "Europe/Madrid",
		Week: map[string]string{"en": "Monday to Friday 9:00–18:00", "fr": "lundi au vendredi de 9h00 à 18h00"},
		Back: map[string]string{"en": "Monday at 9:00", "fr": "lundi à 9h00"}}
	if ans := ask(demo, "en", "when are you open?", hours); ans.Text != "Our team's hours: Monday to Friday 9:00–18:00 (Europe/Madrid time). We are closed right now; we are back Monday at 9:00." || len(ans.Sources) != 0 {
		t.Errorf("with hours: %q, sources %v", ans.Text, ans.Sources)
	}
	if ans := ask(demo, "fr", "quels sont vos horaires ?", hours); !strings.HasPrefix(ans.Text, "Horaires de notre équipe : lundi au vendredi de 9h00 à 18h00") || !strings.Contains(ans.Text, "nous revenons lundi à 9h00") {
		t.Errorf("in French: %q", ans.Text)
	}
	open := *hours
	open.Open = true
	if ans := ask(demo, "en", "are you open?", &open); !strings.HasSuffix(ans.Text, "We are open now.") {
		t.Errorf("open now: %q", ans.Text)
	}
	for _, q := range []string{"what are your opening hours?", "when are you open?", "what time do you close?"} {
		if ans := ask(demo, "en", q, nil); len(ans.Sources) != 0 || !strings.Contains(ans.Text, "couldn't find") {
			t.Errorf("without hours, %q: %q, sources %v; want an honest no", q, ans.Text, ans.Sources)
		}
	}
	withArticle := MustNew(t, assistant.Config{}, nil, assistant.NewKnowledgeBase(map[string]string{
		"hours.md":   "---\ntitle: Opening hours\nlang: en\nurl: https://help.example/hours\n---\nOur shop in Girona is open Monday to Saturday, 10:00 to 20:00.\n",
		"returns.md": "---\ntitle: Returns\nlang: en\nurl: https://help.example/returns\n---\nOpen the order in your account and choose Return items.\n"}))
	if got := ask(withArticle, "en", "what are your opening hours?", hours); len(got.Sources) == 0 || got.Sources[0].URL != "https://help.example/hours" {
		t.Errorf("with an article about opening hours: %q, sources %v", got.Text, got.Sources)
	}
}
