package assistant_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// refusingCompleter fails the test when called: the paths under test must not reach the model.
type refusingCompleter struct {
	tb    testing.TB
	calls atomic.Int32
}

func (c *refusingCompleter) Complete(context.Context, assistant.CompletionRequest) (assistant.Completion, error) {
	c.calls.Add(1)
	c.tb.Errorf("model called, want no model call")
	return assistant.Completion{}, errors.New("refused")
}

// countingCompleter answers "ok" and counts calls.
type countingCompleter struct{ calls atomic.Int32 }

func (c *countingCompleter) Complete(context.Context, assistant.CompletionRequest) (assistant.Completion, error) {
	c.calls.Add(1)
	return assistant.Completion{Text: "ok"}, nil
}

func MustNew(tb testing.TB, cfg assistant.Config, c assistant.Completer, kb *assistant.KnowledgeBase, opts ...assistant.Option) *assistant.Assistant {
	tb.Helper()
	a, err := assistant.New(cfg, c, kb, opts...)
	if err != nil {
		tb.Fatalf("new assistant: %v", err)
	}
	return a
}

// demoAssistant is an offline assistant (no model) on the demo knowledge base.
func demoAssistant(tb testing.TB) *assistant.Assistant {
	tb.Helper()
	return MustNew(tb, assistant.Config{}, nil, MustLoadKB(tb, "testdata/kb-demo"))
}

func ask(text string) assistant.Question {
	return assistant.Question{WebsiteID: "w1", SessionID: "s1", History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: text}}}
}

func TestReplyHumanPhrases(t *testing.T) {
	c := &countingCompleter{}
	cfg := assistant.Config{Websites: map[string]assistant.Website{
		"custom": {HumanPhrases: map[string][]string{"en": {"get me a manager"}}},
	}}
	a := MustNew(t, cfg, c, nil)
	tests := []struct {
		website, text string
		handover      bool
	}{
		{"w1", "Can I talk to a human please?", true},
		{"w1", "I want to SPEAK TO SOMEONE", true},
		{"w1", "Quiero hablar con una persona", true},
		{"w1", "¿Puedo hablar con un HUMANO?", true},
		{"w1", "Vull parlar amb un humà", true},
		{"w1", "Puc parlar amb algú, si us plau?", true},
		{"w1", "Je veux parler à un humain", true},
		{"w1", "Est-ce que je peux parler à quelqu'un ?", true},
		{"custom", "Get me a manager now", true},
		{"custom", "talk to a human", false}, // the website replaced the English phrases
		{"custom", "hablar con una persona", true},
	}
	for _, tc := range tests {
		q := ask(tc.text)
		q.WebsiteID = tc.website
		got, err := a.Reply(context.Background(), q)
		if tc.handover {
			if err != nil || !got.Handover || got.HandoverReason == "" || got.Text != "" {
				t.Errorf("Reply(%s, %q) = %+v, %v; want a handover with a reason and no text", tc.website, tc.text, got, err)
			}
			continue
		}
		if got.Handover {
			t.Errorf("Reply(%s, %q) = handover, want none", tc.website, tc.text)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("model calls = %d, want 1 (only the non-phrase message)", n)
	}
}

func TestReplyPhraseNeedsWholeWords(t *testing.T) {
	a := MustNew(t, assistant.Config{}, nil, nil)
	// "humane" and "personal" contain phrase words but are not them.
	got, err := a.Reply(context.Background(), ask("Is the packaging humane and is my personal data safe?"))
	if err != nil || got.Handover {
		t.Errorf("Reply = %+v, %v; want no handover", got, err)
	}
}

func TestReplyBudgets(t *testing.T) {
	c := &refusingCompleter{tb: t}
	cfg := assistant.Config{Default: assistant.Website{ConversationTokenBudget: 1000, DailyTokenBudget: 50000}}
	a := MustNew(t, cfg, c, nil)
	tests := []struct {
		name          string
		conv, website int64
	}{
		{"conversation spent", 1000, 0},
		{"conversation over", 5000, 0},
		{"website spent", 10, 50000},
	}
	for _, tc := range tests {
		q := ask("Can I talk to a human?") // budgets come before anything else
		q.ConversationTokens, q.WebsiteTokensToday = tc.conv, tc.website
		_, err := a.Reply(context.Background(), q)
		if !errors.Is(err, assistant.ErrBudgetExhausted) {
			t.Errorf("%s: Reply error = %v, want ErrBudgetExhausted", tc.name, err)
		}
	}
}

func TestReplyOffline(t *testing.T) {
	kb := MustLoadKB(t, "testdata/faq")
	a := MustNew(t, assistant.Config{}, nil, kb)
	if !a.Offline() {
		t.Fatal("Offline() = false with a nil completer")
	}

	got, err := a.Reply(context.Background(), ask("I forgot my password, what do I do?"))
	if err != nil {
		t.Fatal(err)
	}
	wantURL := "https://help.nimbus.example/en/account#reset-your-password"
	if !got.Offline || len(got.Sources) != 1 || got.Sources[0].URL != wantURL {
		t.Fatalf("Reply = %+v, want an offline answer citing %s", got, wantURL)
	}
	if !strings.Contains(got.Text, `click "Forgot password"`) || !strings.Contains(got.Text, "Read more: "+wantURL) {
		t.Errorf("Text = %q, want the reset paragraph and its link", got.Text)
	}
	if strings.Contains(got.Text, "Delete your account") || strings.Contains(got.Text, "Sign up with") {
		t.Errorf("Text = %q, want only the relevant section, not the whole article", got.Text)
	}
	if assistant.OffersHuman(got) {
		t.Error("OffersHuman(answer) = true, want false")
	}

	q := ask("¿Cómo devuelvo un pedido?")
	q.Language = "es"
	got, err = a.Reply(context.Background(), q)
	if err != nil || len(got.Sources) != 1 || !strings.Contains(got.Text, "Más información: https://help.nimbus.example/es/devoluciones") {
		t.Errorf("Reply(es) = %+v, %v; want the Spanish return section with a localized link line", got, err)
	}

	q = ask("Can you recommend a good movie?")
	q.Language = "fr"
	got, err = a.Reply(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	// The message says clearly it is English: that beats the conversation's French.
	if !assistant.OffersHuman(got) || got.Text != assistant.DefaultStrings().Get("en", assistant.StrNoAnswer) {
		t.Errorf("Reply(unrelated) = %+v, want the English no_answer text offering a human", got)
	}

	q = ask("Bitcoin?") // no language of its own: the conversation's French
	q.Language = "fr"
	got, err = a.Reply(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !assistant.OffersHuman(got) || got.Text != assistant.DefaultStrings().Get("fr", assistant.StrNoAnswer) {
		t.Errorf("Reply(Bitcoin?) = %+v, want the French no_answer text offering a human", got)
	}
}

func TestReplyOfflineThanksResolves(t *testing.T) {
	a := MustNew(t, assistant.Config{}, nil, MustLoadKB(t, "testdata/faq"))
	tests := []struct {
		text, lang string
		resolve    bool
	}{
		{"Great, thanks!", "en", true},
		{"Moltes gràcies", "ca", true},
		{"Merci beaucoup", "fr", true},
		{"Thanks, but how do I reset my password?", "en", false},
	}
	for _, tc := range tests {
		// After an answer: thanks close the conversation.
		q := ask(tc.text)
		q.History = append([]assistant.Turn{{Role: "visitor", Text: "How much is shipping?"},
			{Role: "assistant", Text: "Shipping is free over 30 euros."}}, q.History...)
		q.Language = tc.lang
		got, err := a.Reply(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if got.Resolve != tc.resolve {
			t.Errorf("Reply(%q).Resolve = %v, want %v", tc.text, got.Resolve, tc.resolve)
		}
		// As the first message: politeness, nothing was resolved.
		first := ask(tc.text)
		first.Language = tc.lang
		if got, err := a.Reply(context.Background(), first); err != nil || got.Resolve {
			t.Errorf("Reply(%q) as the first message resolves (%v): nothing was answered yet", tc.text, err)
		}
		if tc.resolve && assistant.OffersHuman(got) {
			t.Errorf("OffersHuman(Reply(%q)) = true, want false for a closing", tc.text)
		}
		if tc.resolve && got.Text != assistant.DefaultStrings().Get(tc.lang, assistant.StrClosing) {
			t.Errorf("Reply(%q).Text = %q, want the %s closing string", tc.text, got.Text, tc.lang)
		}
	}
}

func TestReplyWithoutVisitorMessage(t *testing.T) {
	a := MustNew(t, assistant.Config{}, nil, nil)
	_, err := a.Reply(context.Background(), assistant.Question{History: []assistant.Turn{{Role: assistant.RoleAssistant, Text: "hi"}}})
	if err == nil {
		t.Fatal("Reply(no visitor message) = nil error, want an error")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	bad := -1.0
	tests := []assistant.Config{
		{Default: assistant.Website{Temperature: &bad}},
		{Default: assistant.Website{HistoryTokens: -5}},
		{Default: assistant.Website{OfflineMinMatch: 2}},
		{Websites: map[string]assistant.Website{"w": {DefaultLanguage: "not a language"}}},
		{Websites: map[string]assistant.Website{"w": {Prices: map[string]assistant.Price{"m": {Prompt: -1}}}}},
	}
	for i, cfg := range tests {
		if _, err := assistant.New(cfg, nil, nil); err == nil {
			t.Errorf("case %d: New = nil error, want a validation error", i)
		}
	}
}

func TestWebsiteInheritsDefault(t *testing.T) {
	temp := 0.2
	cfg := assistant.Config{
		Default: assistant.Website{Model: "gpt-4o-mini", Temperature: &temp, Strings: assistant.StringTable{"en": {assistant.StrApology: "Oops."}}},
		Websites: map[string]assistant.Website{
			"w2": {Model: "gpt-4.1-mini", Strings: assistant.StringTable{"es": {assistant.StrApology: "¡Ups!"}}},
		},
	}
	a := MustNew(t, cfg, nil, nil)
	w := a.Website("w2")
	if w.Model != "gpt-4.1-mini" || w.Temperature == nil || *w.Temperature != 0.2 || w.HistoryTokens == 0 {
		t.Errorf("Website(w2) = model %q temperature %v history %d; want own model, default temperature, built-in history", w.Model, w.Temperature, w.HistoryTokens)
	}
	tests := []struct{ website, lang, key, want string }{
		{"w2", "es", assistant.StrApology, "¡Ups!"},
		{"w2", "en", assistant.StrApology, "Oops."},
		{"other", "es", assistant.StrApology, assistant.DefaultStrings().Get("es", assistant.StrApology)},
		{"w2", "ca", assistant.StrTalkToHuman, "Parlar amb una persona"},
		{"w2", "de", assistant.StrTalkToHuman, "Talk to a human"}, // falls back to English
		{"w2", "fr", "no_such_key", "no_such_key"},
	}
	for _, tc := range tests {
		if got := a.Text(tc.website, tc.lang, tc.key); got != tc.want {
			t.Errorf("Text(%s, %s, %s) = %q, want %q", tc.website, tc.lang, tc.key, got, tc.want)
		}
	}
}

func TestDefaultStringsComplete(t *testing.T) {
	keys := []string{assistant.StrApology, assistant.StrClosing, assistant.StrNoAnswer, assistant.StrOfferHuman,
		assistant.StrTalkToHuman, assistant.StrResolved, assistant.StrNobodyOnline, assistant.StrAskEmail,
		assistant.StrHandoverAck, assistant.StrReadMore, assistant.StrLanguage, assistant.StrOtherLang}
	table := assistant.DefaultStrings()
	for _, lang := range []string{"en", "es", "ca", "fr"} {
		for _, k := range keys {
			if table[lang][k] == "" {
				t.Errorf("default strings: %s/%s missing", lang, k)
			}
		}
	}
	table["en"][assistant.StrApology] = "mutated"
	if assistant.DefaultStrings().Get("en", assistant.StrApology) == "mutated" {
		t.Error("DefaultStrings returned the shared table, want a copy")
	}
}

func TestResolveLanguage(t *testing.T) {
	tests := []struct {
		data      string
		locales   []string
		def       string
		supported []string
		want      string
	}{
		{"es", nil, "en", nil, "es"},
		{"", []string{"fr-FR", "en-US"}, "en", nil, "fr"},
		{"", []string{"de-DE", "ca-ES"}, "en", []string{"en", "es", "ca"}, "ca"},
		{"Español", nil, "en", []string{"en", "es"}, "es"},
		{"catalan", nil, "en", nil, "ca"},
		{"Français", nil, "en", nil, "fr"},
		{"pt_BR", nil, "en", nil, "pt"},
		{"de", []string{"it"}, "es", []string{"en", "es"}, "es"},
		{"", nil, "", []string{"ca", "es"}, "ca"},
		{"", nil, "", nil, "en"},
		{"start_chatbot", nil, "en", nil, "en"}, // not a language
	}
	for _, tc := range tests {
		if got := assistant.ResolveLanguage(tc.data, tc.locales, tc.def, tc.supported); got != tc.want {
			t.Errorf("ResolveLanguage(%q, %v, %q, %v) = %q, want %q", tc.data, tc.locales, tc.def, tc.supported, got, tc.want)
		}
	}
}

func TestFoldAndTerms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Envío GRATUÏT à Çà", "envio gratuit a ca"},
		{"col·lecció", "colleccio"},
		{"Straße Œuvre", "strasse oeuvre"},
	}
	for _, tc := range tests {
		if got := assistant.Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	same := [][3]string{
		{"en", "deliveries", "delivery"}, {"en", "returned", "returns"}, {"es", "envíos", "envio"},
		{"es", "suscripción", "suscripciones"}, {"es", "aceptáis", "aceptamos"}, {"en", "passwords", "password"},
		{"fr", "livraisons", "livraison"}, {"de", "Lieferungen", "Lieferung"}, {"pt", "devoluções", "devolução"},
		{"it", "spedizioni", "spedizione"}, {"ca", "devolucions", "devolució"},
	}
	for _, p := range same {
		a, b := assistant.TermsIn(p[0], p[1]), assistant.TermsIn(p[0], p[2])
		if len(a) != 1 || len(b) != 1 || a[0] != b[0] {
			t.Errorf("TermsIn(%s, %q) = %v, TermsIn(%s, %q) = %v; want the same single term", p[0], p[1], a, p[0], p[2], b)
		}
	}
	// The Spanish stemmer keeps "paquete" and "tuesday" whole where the old suffix stripper mangled them.
	if got := assistant.TermsIn("es", "paquete"); len(got) != 1 || got[0] != "paquet" {
		t.Errorf(`TermsIn(es, "paquete") = %v, want [paquet]`, got)
	}
	if got := assistant.TermsIn("en", "tuesday"); len(got) != 1 || got[0] != "tuesday" {
		t.Errorf(`TermsIn(en, "tuesday") = %v, want [tuesday]`, got)
	}
	if got := assistant.Terms("how do I get the"); len(got) != 0 {
		t.Errorf("Terms(stop words) = %v, want none", got)
	}
}

// TestReplyOfflineIssueQuestions answers the questions of issue 15 that the demo missed, in the
// visitor's language: a Spanish visitor gets the Spanish article, a French one (no French article)
// the English one introduced in French.
func TestReplyOfflineIssueQuestions(t *testing.T) {
	kb := MustLoadKB(t, "testdata/kb-demo")
	a := MustNew(t, assistant.Config{}, nil, kb)
	tests := []struct {
		lang, q, wantURL, wantText string
	}{
		{"en", "How much is shipping?", "https://help.nimbus.example/en/shipping#shipping-costs", "Shipping is free"},
		{"en", "Do you ship to the UK?", "https://help.nimbus.example/en/shipping#international-shipping", "United Kingdom"},
		{"en", "Do you ship to Portugal?", "https://help.nimbus.example/en/shipping#international-shipping", "all EU countries"},
		{"en", "My parcel never arrived", "https://help.nimbus.example/en/tracking#lost-or-late-parcel", "new parcel"},
		{"es", "¿Cuánto cuesta el envío?", "https://help.nimbus.example/es/envios#gastos-de-envío", "El envío es gratuito"},
		{"es", "¿Cuánto tarda el envío?", "https://help.nimbus.example/es/envios#plazos-de-entrega", "La entrega tarda"},
		{"fr", "Combien coûte la livraison ?", "", "Nous n'avons cette information qu'en "},
	}
	for _, tc := range tests {
		q := ask(tc.q)
		q.Language = tc.lang
		got, err := a.Reply(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Sources) != 1 || (tc.wantURL != "" && got.Sources[0].URL != tc.wantURL) {
			t.Errorf("[%s] %q: sources %+v, want %s", tc.lang, tc.q, got.Sources, tc.wantURL)
			continue
		}
		if !strings.Contains(got.Text, tc.wantText) {
			t.Errorf("[%s] %q: text %q, want it to contain %q", tc.lang, tc.q, got.Text, tc.wantText)
		}
		if tc.lang == "es" && strings.Contains(got.Text, "Shipping") {
			t.Errorf("[es] %q: text %q mixes in the English article", tc.q, got.Text)
		}
	}
}
