package assistant_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// Conversational messages are told from questions in the four built-in languages; a greeting that
// carries a question is a question. (Phrases written for this test, not taken from any eval set.)
func TestClassifyTurn(t *testing.T) {
	tests := []struct{ text, kind, lang string }{
		{"hello", assistant.TurnGreeting, ""},
		{"Hi there!", assistant.TurnGreeting, ""},
		{"hola, buenas tardes", assistant.TurnGreeting, "es"},
		{"Bonjour", assistant.TurnGreeting, "fr"},
		{"bon dia", assistant.TurnGreeting, "ca"},
		{"thanks a lot!", assistant.TurnThanks, "en"},
		{"Great, thank you so much", assistant.TurnThanks, "en"},
		{"muchas gracias", assistant.TurnThanks, "es"},
		{"merci beaucoup", assistant.TurnThanks, "fr"},
		{"moltes gràcies", assistant.TurnThanks, "ca"},
		{"are you there?", assistant.TurnPresence, ""},
		{"anyone there?", assistant.TurnPresence, "en"},
		{"¿hay alguien?", assistant.TurnPresence, "es"},
		{"ok", assistant.TurnAck, ""},
		{"got it", assistant.TurnAck, "en"},
		{"vale, perfecto", assistant.TurnAck, "es"},
		{"d'accord", assistant.TurnAck, "fr"},
		{"bye!", assistant.TurnBye, "en"},
		{"adiós", assistant.TurnBye, "es"},
		{"au revoir", assistant.TurnBye, "fr"},
		{"hi, how do I reset my password?", assistant.TurnQuestion, ""},
		{"hola, ¿cuánto cuesta el envío?", assistant.TurnQuestion, ""},
		{"thanks, and do you ship to Norway?", assistant.TurnQuestion, ""},
		{"refund", assistant.TurnQuestion, ""},
		{"how are you?", assistant.TurnGreeting, "en"},
		{"have a nice day", assistant.TurnBye, "en"},
		{"¿qué tal?", assistant.TurnGreeting, "es"},
		{"ça marche, merci", assistant.TurnThanks, "fr"},
		{"fins aviat!", assistant.TurnBye, "ca"},
		{"how do I cancel?", assistant.TurnQuestion, ""},
		{"what day do you ship?", assistant.TurnQuestion, ""},
		{"how are you today", assistant.TurnGreeting, "en"},
		{"thanks for the help", assistant.TurnThanks, "en"},
		{"gracias por la ayuda", assistant.TurnThanks, "es"},
		{"help", assistant.TurnAsk, "en"},
		// Presence in the way French and Catalan visitors ask it.
		{"il y a quelqu'un ?", assistant.TurnPresence, "fr"},
		{"t'es là ?", assistant.TurnPresence, "fr"},
		{"hi ha algú?", assistant.TurnPresence, "ca"},
		{"encara hi ets?", assistant.TurnPresence, "ca"},
		{"a reveure", assistant.TurnBye, "ca"},
		// Typed fast: a held letter, or one edit in a word of five letters or more.
		{"holaaa", assistant.TurnGreeting, "es"},
		{"helo", assistant.TurnGreeting, "en"},
		{"thnaks!", assistant.TurnThanks, "en"},
		{"grcias", assistant.TurnThanks, "es"},
		{"mercii", assistant.TurnThanks, "fr"},
		{"thanx", assistant.TurnThanks, "en"},
		{"refnd", assistant.TurnQuestion, ""},
		{"shiping", assistant.TurnQuestion, ""},
		// What the assistant is.
		{"are you a bot?", assistant.TurnIdentity, "en"},
		{"am I talking to a human?", assistant.TurnIdentity, "en"},
		{"¿eres un robot?", assistant.TurnIdentity, "es"},
		{"je parle à une machine ?", assistant.TurnIdentity, "fr"},
		{"estic parlant amb una persona?", assistant.TurnIdentity, "ca"},
		{"human", assistant.TurnQuestion, ""},
		{"can a robot grind my coffee?", assistant.TurnQuestion, ""},
		// Frustration: the answers did not help, and nothing else is asked.
		{"this is useless, none of this helps me", assistant.TurnFrustration, "en"},
		{"not helpful at all", assistant.TurnFrustration, "en"},
		{"esto no sirve para nada", assistant.TurnFrustration, "es"},
		{"ça ne sert à rien", assistant.TurnFrustration, "fr"},
		{"no m'ajudes gens", assistant.TurnFrustration, ""},
		{"this bot is useless, how do I cancel my subscription?", assistant.TurnQuestion, ""},
		{"the grinder is useless, can I return it?", assistant.TurnQuestion, ""},
	}
	for _, tc := range tests {
		kind, lang := assistant.ClassifyTurn(tc.text)
		if kind != tc.kind || (tc.lang != "" && lang != tc.lang) {
			t.Errorf("ClassifyTurn(%q) = %q, %q; want %q, %q", tc.text, kind, lang, tc.kind, tc.lang)
		}
	}
}

func TestIsFollowUp(t *testing.T) {
	for text, want := range map[string]bool{
		"and to Norway?":                   true,
		"what about Canada?":               true,
		"can I pause it instead?":          true,
		"y a Francia?":                     true,
		"et pour la Suisse ?":              true,
		"how long does that take?":         true,
		"how do I reset my password?":      false,
		"do you ship to Norway?":           false,
		"what payment methods do you take": false,
		"I would like to know how long the delivery to Portugal usually takes, and whether it is tracked": false,
		// A preposition and an interrogative with a subject of their own open a new question; with
		// only a measure, a fragment of the previous one.
		"¿con qué transportista enviáis?":       false,
		"¿a qué hora pasa el repartidor?":       false,
		"for how long max?":                     true,
		"pour combien de temps max ?":           true,
		"can i pay in pounds instead of euros?": false,
	} {
		if got := assistant.IsFollowUp(text); got != want {
			t.Errorf("IsFollowUp(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestMessageLanguage(t *testing.T) {
	for text, want := range map[string]string{
		"¿Cuánto tarda el envío a Madrid?":      "es",
		"How long does delivery take?":          "en",
		"Combien de temps prend la livraison ?": "fr",
		"Quant triga l'enviament?":              "",
		"paypal":                                "",
	} {
		if got := assistant.MessageLanguage(text); got != want && want != "" {
			t.Errorf("MessageLanguage(%q) = %q, want %q", text, got, want)
		}
	}
}

// A conversation with a greeting, a question, a follow-up and thanks, offline: the greeting and
// the thanks are answered in the visitor's language without a search (never "I couldn't find"),
// the follow-up leans on the previous question, and an unrelated earlier message does not change
// the answer to a question.
func TestReplyConversationTurns(t *testing.T) {
	gaps := &assistant.Gaps{}
	a := MustNew(t, assistant.Config{}, nil, MustLoadKB(t, "testdata/kb-demo"), assistant.WithGaps(gaps))
	strs := assistant.DefaultStrings()
	var h []assistant.Turn
	say := func(lang, text string) assistant.Answer {
		t.Helper()
		h = append(h, assistant.Turn{Role: assistant.RoleVisitor, Text: text})
		ans, err := a.Reply(context.Background(), assistant.Question{WebsiteID: "w", Language: lang, History: h})
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, assistant.Turn{Role: assistant.RoleAssistant, Text: ans.Text})
		return ans
	}
	if ans := say("en", "hola"); ans.Text != strs.Get("es", assistant.StrGreeting) || len(ans.Sources) > 0 || ans.Turn != assistant.TurnGreeting {
		t.Fatalf("hola in an English browser = %+v, want the Spanish greeting", ans)
	}
	ans := say("en", "¿Hacéis envíos a Portugal?")
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "/es/envios") || ans.Language != "es" {
		t.Fatalf("Spanish question in an English browser = %+v, want the Spanish shipping article", ans)
	}
	if strings.Contains(ans.Text, "Solo tenemos") || strings.Contains(ans.Text, "We only have") {
		t.Fatalf("answer %q says the article is in another language, but it is in Spanish", ans.Text)
	}
	ans = say("en", "¿y a Noruega?")
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "envios") {
		t.Fatalf("follow-up = %+v, want the shipping article again", ans)
	}
	if ans := say("en", "¡muchas gracias!"); ans.Text != strs.Get("es", assistant.StrClosing) || !ans.Resolve {
		t.Fatalf("thanks = %+v, want the Spanish closing and resolve", ans)
	}

	// The same question alone and after an unrelated message gets the same answer.
	alone, err := a.Reply(context.Background(), assistant.Question{Language: "en",
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "What are your opening hours?"}}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := a.Reply(context.Background(), assistant.Question{Language: "en", History: []assistant.Turn{
		{Role: assistant.RoleVisitor, Text: "How do I return my order?"},
		{Role: assistant.RoleAssistant, Text: "..."},
		{Role: assistant.RoleVisitor, Text: "What are your opening hours?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if alone.Text != after.Text {
		t.Fatalf("answer depends on an unrelated earlier message:\nalone: %q\nafter: %q", alone.Text, after.Text)
	}
	if (len(alone.Sources) != 0 && !alone.Weak) || !assistant.OffersHuman(alone) {
		t.Fatalf("opening hours (no article) = %+v, want no sure answer, with the human option", alone)
	}
	if g := gaps.List("", 10); len(g) != 1 || g[0].Count != 2 {
		t.Fatalf("gaps = %+v, want the refused question twice", g)
	}
}

// Thanks or a goodbye among words that are not all conversational is answered as conversation
// when no article answers it, never with "I couldn't find"; a question that thanks in advance
// is still answered.
func TestReplyClosingAmongOtherWords(t *testing.T) {
	a := demoAssistant(t)
	strs := assistant.DefaultStrings()
	for _, tc := range []struct{ lang, text, want string }{
		{"en", "great, thanks a lot for sorting all that out so quickly", strs.Get("en", assistant.StrClosing)},
		{"fr", "parfait, merci pour votre réponse rapide", strs.Get("fr", assistant.StrClosing)},
	} {
		ans, err := a.Reply(context.Background(), assistant.Question{Language: tc.lang,
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: tc.text}}})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Text != tc.want || ans.Turn != assistant.TurnThanks {
			t.Errorf("%q = %q (turn %q), want %q", tc.text, ans.Text, ans.Turn, tc.want)
		}
	}
	ans, err := a.Reply(context.Background(), assistant.Question{Language: "en",
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "how do I reset my password? thanks"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "account") {
		t.Errorf("a question that thanks in advance = %+v, want the account article", ans)
	}
}

// A weak match is offered as "This article may help" with its link and the human option; it is
// recorded as a knowledge gap.
func TestReplyWeakMatch(t *testing.T) {
	kb := assistant.NewKnowledgeBase(map[string]string{
		"gift.md": "---\ntitle: Gift cards\nurl: https://help.example/gift\n---\n## Buying a gift card\n\nGift cards are sold in the shop in amounts of 20, 50 and 100 euros, valid one year.\n",
	})
	gaps := &assistant.Gaps{}
	cfg := assistant.Config{}
	cfg.Default.OfflineMinMatch, cfg.Default.OfflineWeakMatch = 0.9, 0.2
	a := MustNew(t, cfg, nil, kb, assistant.WithGaps(gaps))
	ans, err := a.Reply(context.Background(), assistant.Question{Language: "en",
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "how long is my gift card valid?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Weak || !assistant.OffersHuman(ans) || !strings.HasPrefix(ans.Text, "This article may help: Gift cards — Buying a gift card — https://help.example/gift#buying-a-gift-card") ||
		!strings.Contains(ans.Text, assistant.DefaultStrings().Get("en", assistant.StrOfferHuman)) {
		t.Fatalf("weak match = %+v", ans)
	}
	if g := gaps.List("", 0); len(g) != 1 {
		t.Fatalf("gaps = %+v, want the weakly answered question", g)
	}
}

// Personal data never reaches the gaps; questions are clipped; the least asked make room.
func TestGapsCleanAndBound(t *testing.T) {
	g := &assistant.Gaps{MaxPerWebsite: 2}
	g.Record("w", "call me on +34 600 123 456 or write to bob.smith@example.org about order 123456789")
	got := g.List("w", 0)[0].Question
	if strings.Contains(got, "600") || strings.Contains(got, "example.org") || strings.Contains(got, "123456789") {
		t.Fatalf("gap %q keeps personal data", got)
	}
	g.Record("w", strings.Repeat("very long question ", 40))
	if q := g.List("w", 0); len([]rune(q[0].Question)) > 201 && len([]rune(q[1].Question)) > 201 {
		t.Fatalf("gap not clipped: %+v", q)
	}
	g.Record("w", "asked twice")
	g.Record("w", "asked twice")
	if l := g.List("w", 0); len(l) != 2 || l[0].Question != "asked twice" {
		t.Fatalf("gaps = %+v, want at most 2, the most asked first", l)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); g.Record("x", "concurrent"); g.List("x", 1) }()
	}
	wg.Wait()
	if l := g.List("x", 0); l[0].Count != 8 {
		t.Fatalf("concurrent count = %d, want 8", l[0].Count)
	}
}

// An article's "questions:" front matter is indexed with the chunk each question is closest to,
// never shown: the visitor's words find the section the article's words do not.
func TestFrontMatterQuestions(t *testing.T) {
	article := "---\ntitle: Your account\nurl: https://help.example/account\nquestions:\n  - how do I sign up as a new customer?\n  - please erase my profile\n---\n" +
		"## Create an account\n\nClick Create account on the home page and confirm your email address.\n\n" +
		"## Delete your account\n\nWrite to privacy@example.com from your account email; we delete your data within 30 days.\n"
	kb := assistant.NewKnowledgeBase(map[string]string{"account.md": article})
	for q, want := range map[string]string{"sign up": "Create an account", "erase my profile": "Delete your account"} {
		got := kb.Search(q, 1)
		if len(got) == 0 || got[0].Section != want {
			t.Fatalf("Search(%q) = %+v, want section %q", q, got, want)
		}
		if strings.Contains(got[0].Text, "sign up") || strings.Contains(got[0].Text, "erase") {
			t.Fatalf("the questions are shown: %q", got[0].Text)
		}
	}
	helpdesk := assistant.NewKnowledgeBase(nil)
	if err := helpdesk.SetArticles([]assistant.Article{{Name: "hd/account", Title: "Account", Lang: "en", URL: "https://help.example/a",
		Content: "## Delete your account\n\nWrite to us and we delete your data.\n\n## Payments\n\nWe take cards.\n", Questions: []string{"erase my profile"}}}); err != nil {
		t.Fatal(err)
	}
	if got := helpdesk.Search("erase profile", 1); len(got) == 0 || got[0].Section != "Delete your account" {
		t.Fatalf("helpdesk article questions: %+v", got)
	}
}

// A message with no word of its own ("how much?") is searched with the previous one.
func TestReplyEllipsis(t *testing.T) {
	a := demoAssistant(t)
	ask := func(texts ...string) assistant.Answer {
		t.Helper()
		var h []assistant.Turn
		for _, x := range texts {
			h = append(h, assistant.Turn{Role: assistant.RoleVisitor, Text: x})
		}
		ans, err := a.Reply(context.Background(), assistant.Question{Language: "en", History: h})
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	if ans := ask("what does shipping cost?", "how much?"); len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "shipping") {
		t.Fatalf("how much? after a shipping question = %+v, want the shipping article", ans)
	}
}

// A language the visitor chose (a picker, session data) stands against the message's language; a
// browser locale does not.
func TestReplyChosenLanguage(t *testing.T) {
	a := demoAssistant(t)
	ask := func(chosen bool) assistant.Answer {
		ans, err := a.Reply(context.Background(), assistant.Question{Language: "es", LanguageChosen: chosen,
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "What are the opening hours of the shop?"}}})
		if err != nil {
			t.Fatal(err)
		}
		return ans
	}
	if ans := ask(true); ans.Language != "es" {
		t.Fatalf("chosen Spanish, English message: answered in %q: %q", ans.Language, ans.Text)
	}
	if ans := ask(false); ans.Language != "en" {
		t.Fatalf("Spanish locale, English message: answered in %q: %q", ans.Language, ans.Text)
	}
	// Spanish chosen, an English question answered from an English article: the visitor reads it;
	// "we only have this in English" would be a claim nothing checked.
	ans, err := a.Reply(context.Background(), assistant.Question{Language: "es", LanguageChosen: true,
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "Do you accept PayPal payments?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Sources) == 0 || strings.Contains(ans.Text, "Solo tenemos") {
		t.Fatalf("answer = %+v, want the payments article without the other-language notice", ans)
	}
}

// A message with nothing to search ("hmm, so?") is conversation, never "I couldn't find".
func TestReplyNothingToSearch(t *testing.T) {
	a := demoAssistant(t)
	ans, err := a.Reply(context.Background(), assistant.Question{Language: "en",
		History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "hmm, so?"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Turn == assistant.TurnQuestion || len(ans.Sources) > 0 || ans.Text == assistant.DefaultStrings().Get("en", assistant.StrNoAnswer) {
		t.Fatalf("hmm, so? = %+v, want a conversational answer", ans)
	}
}

// A word that goes with a goodbye in a short message ("plus", "mañana", "day", "later") does not
// make a longer message one: "il n'avance plus" is a parcel that does not move, not "à plus".
func TestClosingNeedsAClosingPhrase(t *testing.T) {
	a := demoAssistant(t)
	for text, want := range map[string]string{
		"mon colis est bloqué depuis 6 jours ouvrés, il n'avance plus": "",
		"et s'il ne bouge plus depuis 6 jours ?":                       "",
		"the parcel is a day late, can you check it later":             "",
		"¿me llega mañana si pido hoy?":                                "",
		"great, thanks a lot for sorting that out":                     assistant.TurnThanks,
		"vale, muchas gracias por la ayuda":                            assistant.TurnThanks,
		"ok bye then, have a nice day":                                 assistant.TurnBye,
		"bon, au revoir et bonne journée":                              assistant.TurnBye,
		"perfecte, fins aviat":                                         assistant.TurnBye,
		// Thanks with a question or a request is not a closing, even when nothing answers it.
		"thanks! and do you sell gift vouchers?":                    "",
		"please remove every trace of me from your systems, thanks": "",
		"merci, vous vendez aussi des tasses ?":                     "",
	} {
		ans, err := a.Reply(context.Background(), assistant.Question{Language: "en",
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: "how long does delivery take?"}, {Role: assistant.RoleVisitor, Text: text}}})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Turn != want {
			t.Errorf("%q answered as turn %q (%q), want %q", text, ans.Turn, ans.Text, want)
		}
	}
}

// firstPassageCiter stands in for a model: it answers with the first passage link of its prompt.
type firstPassageCiter struct{}

var promptURL = regexp.MustCompile(`(?m)^URL: (\S+)$`)

func (firstPassageCiter) Complete(_ context.Context, req assistant.CompletionRequest) (assistant.Completion, error) {
	if m := promptURL.FindStringSubmatch(req.Messages[0].Content); m != nil {
		return assistant.Completion{Text: "See " + m[1]}, nil
	}
	return assistant.Completion{Text: "Sorry, I don't know."}, nil
}

// With a model as offline, a follow-up whose own words point surely nowhere else is given the
// article it follows first ("can I pause it instead?" after the cancelling answer), and one whose
// words do point elsewhere is not held to it ("and do you ship to Norway?").
func TestFollowUpStaysOnItsArticle(t *testing.T) {
	kb := MustLoadKB(t, "testdata/kb-demo")
	for _, model := range []assistant.Completer{nil, firstPassageCiter{}} {
		a := MustNew(t, assistant.Config{}, model, kb)
		for _, tc := range []struct{ first, cited, next, want string }{
			{"how do I cancel my subscription", "https://help.nimbus.example/en/subscription#cancel-your-subscription", "can i pause it instead?", "/en/subscription#pause-your-subscription"},
			{"comment suspendre mon abonnement", "https://help.nimbus.example/en/subscription#pause-your-subscription", "pour combien de temps max ?", "/en/subscription#"},
			{"how do I cancel my subscription", "https://help.nimbus.example/en/subscription#cancel-your-subscription", "and do you ship to Norway?", "/en/shipping#international-shipping"},
		} {
			h := []assistant.Turn{{Role: assistant.RoleVisitor, Text: tc.first},
				{Role: assistant.RoleAssistant, Text: "Read more: " + tc.cited},
				{Role: assistant.RoleVisitor, Text: tc.next}}
			ans, err := a.Reply(context.Background(), assistant.Question{Language: "en", History: h})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ans.Text, tc.want) {
				t.Errorf("model %v: %q after %q = %q, want a link to %s", model != nil, tc.next, tc.first, ans.Text, tc.want)
			}
		}
	}
}

// Just above the sure threshold, a passage is sure only when its article stands above the others:
// two articles sharing the question's words make it a weak offer; a knowledge base's only article
// on the subject stays a sure answer.
func TestSureNeedsALead(t *testing.T) {
	demo := demoAssistant(t)
	treks := MustNew(t, assistant.Config{}, nil, assistant.NewKnowledgeBase(map[string]string{
		"treks.md": "---\ntitle: Llama treks\nlang: en\nurl: https://help.example/treks\n---\nOur guided llama treks leave from the farm gate at nine in the morning.\n\n## Duration\nEvery llama trek lasts three hours, with a picnic stop by the lake.\n",
		"wool.md":  "---\ntitle: Llama wool\nlang: en\nurl: https://help.example/wool\n---\nWe shear the llamas in May and sell the wool in the farm shop.\n"}))
	for _, tc := range []struct {
		a    *assistant.Assistant
		text string
		weak bool
	}{
		{demo, "do i have to pay shipping on my subscription", true},
		{treks, "How long does a llama trek last?", false},
		{demo, "How long does delivery take?", false},
	} {
		ans, err := tc.a.Reply(context.Background(), assistant.Question{Language: "en",
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: tc.text}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(ans.Sources) == 0 || ans.Weak != tc.weak {
			t.Errorf("%q: weak %v, sources %v (%q), want weak %v with a source", tc.text, ans.Weak, ans.Sources, ans.Text, tc.weak)
		}
	}
}

// An opener that announces a question ("different question:", "otra pregunta,", "au fait") is not
// searched for: its words are no subject, and the question after it is answered as if alone, not
// as a follow-up of the previous message.
func TestQuestionOpenerIsNotSearched(t *testing.T) {
	a := demoAssistant(t)
	for _, tc := range []struct{ lang, plain, opened string }{
		{"en", "can i skip one month of my subscription", "Different question: can i skip one month of my subscription"},
		{"en", "can i skip one month of my subscription", "one more thing - can i skip one month of my subscription"},
		{"es", "¿cuánto tarda la entrega a Valencia?", "Otra pregunta, ¿cuánto tarda la entrega a Valencia?"},
	} {
		// The plain question in a new conversation; the opened one after an unrelated message.
		plain, opened := replyTo(t, a, tc.lang, tc.plain), replyTo(t, a, tc.lang, "thanks, the tracking link works now", tc.opened)
		if len(plain.Sources) == 0 {
			t.Fatalf("%q: no article (%q); the test needs one", tc.plain, plain.Text)
		}
		if opened.Text != plain.Text {
			t.Errorf("%q answered %q, want the answer to %q: %q", tc.opened, opened.Text, tc.plain, plain.Text)
		}
	}
}

// A short message that takes up a word of the answer before it after "the", "ese", "ce" ("how long
// is the link good for?" after the reset link's answer) asks about that answer and stays on its
// article; one that only shares a word without pointing to it is answered as if alone.
func TestDefiniteReferenceFollowsTheAnswer(t *testing.T) {
	a := demoAssistant(t)
	reply := func(h ...string) assistant.Answer {
		t.Helper()
		q := assistant.Question{Language: "en"}
		for _, text := range h {
			q.History = append(q.History, assistant.Turn{Role: assistant.RoleVisitor, Text: text})
			ans, err := a.Reply(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if text == h[len(h)-1] {
				return ans
			}
			q.History = append(q.History, assistant.Turn{Role: assistant.RoleAssistant, Text: ans.Text})
		}
		return assistant.Answer{}
	}
	ans := reply("i forgot my password", "how long is the link valid?")
	if len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "account#reset-your-password") {
		t.Errorf("after the reset answer, %q cited %v (%q), want the reset-password passage", "how long is the link valid?", ans.Sources, ans.Text)
	}
	alone := reply("what payment methods do you take")
	after := reply("how much does delivery cost?", "what payment methods do you take")
	if after.Text != alone.Text {
		t.Errorf("after a shipping-costs answer, %q answered %q, want as alone: %q", "what payment methods do you take", after.Text, alone.Text)
	}
}

// Articles and numbers are no pointers back: "dar de baja la suscripción", "quelle est la capitale
// du Canada ?", "price of one bag?" stand alone; "où" is no "ou" (or).
func TestArticlesAreNoFollowUp(t *testing.T) {
	for _, text := range []string{"dar de baja la suscripcion", "quelle est la capitale du canada", "lo quiero devolver todo",
		"price of one bag without subscribing?", "où je trouve ma facture"} {
		if assistant.IsFollowUp(text) {
			t.Errorf("IsFollowUp(%q) = true, want false", text)
		}
	}
	for _, text := range []string{"ou en Suisse ?", "can I pause it instead?", "i això?"} {
		if !assistant.IsFollowUp(text) {
			t.Errorf("IsFollowUp(%q) = false, want true", text)
		}
	}
}

// A visitor who addresses the shop in the second person plural ("¿enviáis?", "teneis", "envieu")
// says their language even without accents, and in an English browser is answered in it: between
// languages of different families one clear word is enough.
func TestAddressFormsSayTheLanguage(t *testing.T) {
	a := demoAssistant(t)
	strs := assistant.DefaultStrings()
	for _, tc := range []struct{ text, lang string }{
		{"teneis cafe descafeinado?", "es"},
		{"enviais a noruega?", "es"},
		{"envieu a Noruega?", "ca"},
		{"can you ship to Norway?", "en"},
	} {
		if got := assistant.MessageLanguage(tc.text); got != tc.lang {
			t.Errorf("MessageLanguage(%q) = %q, want %q", tc.text, got, tc.lang)
		}
		ans := replyTo(t, a, "en", tc.text)
		if ans.Language != tc.lang {
			t.Errorf("%q in an English browser answered in %q (%q), want %q", tc.text, ans.Language, ans.Text, tc.lang)
		}
		if len(ans.Sources) == 0 && !strings.Contains(ans.Text, strs.Get(tc.lang, assistant.StrNoAnswer)) {
			t.Errorf("%q: %q is neither an answer nor %q's no-answer", tc.text, ans.Text, tc.lang)
		}
	}
}

// A message that is clearly not in the browser's English but does not say which of two close
// languages it is in ("dame una receta de paella": Spanish or Catalan words) is answered in the
// likelier of them, not in English; an English message stays English.
func TestCloseLanguagesBeatADistantBrowser(t *testing.T) {
	a := demoAssistant(t)
	for text, want := range map[string]string{
		"dame una receta de paella":        "es",
		"give me a recipe for paella":      "en",
		"do you have a receta for paella?": "en",
	} {
		if ans := replyTo(t, a, "en", text); ans.Language != want {
			t.Errorf("%q in an English browser answered in %q (%q), want %q", text, ans.Language, ans.Text, want)
		}
	}
}

// Catalan spelling says Catalan where Spanish and Catalan share the short words ("he", "la", "el"):
// "ny" and "tx" where Spanish writes "ñ" and "ch", "tll", an elided article or pronoun ("s'ha",
// "l'any"); and a language the website does not answer in (Portuguese "com", "em") does not stand
// between the two. Spanish and French stay what they are.
func TestCatalanSpellingSaysTheLanguage(t *testing.T) {
	a := demoAssistant(t)
	for text, want := range map[string]string{
		"he oblidat la contrasenya":                 "ca",
		"el molinet s'ha espatllat, té garantia?":   "ca",
		"com em registro?":                          "ca",
		"vull saltar-me el proper enviament":        "ca",
		"i si pago tot l'any de cop?":               "ca",
		"he olvidado la contraseña":                 "es",
		"el molinillo se ha roto, ¿tiene garantía?": "es",
		"quiero saltarme el próximo envío":          "es",
		"j'ai oublié mon mot de passe":              "fr",
		"l'abonnement coûte combien ?":              "fr",
		// A function word whose accent says its language ("és", not "es").
		"l'enviament és gratis?": "ca",
	} {
		if ans := replyTo(t, a, "en", text); ans.Language != want {
			t.Errorf("%q in an English browser answered in %q (%q), want %q", text, ans.Language, ans.Text, want)
		}
	}
}

// The reply to "this is useless" says sorry and offers a person (OffersHuman), in the visitor's
// language, and never "I couldn't find".
func TestFrustrationIsAnsweredWithAPerson(t *testing.T) {
	a := demoAssistant(t)
	strs := assistant.DefaultStrings()
	for text, lang := range map[string]string{
		"this is useless, none of this helps me": "en",
		"no me ayudas nada":                      "es",
		"ça ne sert à rien":                      "fr",
	} {
		ans := replyTo(t, a, lang, "how do I stop my plan", text)
		if ans.Turn != assistant.TurnFrustration || !assistant.OffersHuman(ans) || ans.Text != strs.Get(lang, assistant.StrFrustration) {
			t.Errorf("%q: %+v, want the %s frustration string and the offer of a person", text, ans, lang)
		}
	}
}

// A short follow-up that says no language ("i a Italia?") takes its previous message's, also when
// that one is only likelier Catalan than the English browser ("quant tarda a arribar a
// Barcelona?"), not clearly Catalan against Spanish.
func TestFollowUpTakesThePreviousLikelierLanguage(t *testing.T) {
	a := demoAssistant(t)
	if ans := replyTo(t, a, "en", "quant tarda a arribar a Barcelona?", "i a Italia?"); ans.Language != "ca" {
		t.Errorf("answered in %q (%q), want ca", ans.Language, ans.Text)
	}
	if ans := replyTo(t, a, "en", "how long to Barcelona?", "i a Italia?"); ans.Language != "en" {
		t.Errorf("after an English question: answered in %q, want en", ans.Language)
	}
}

// Praise that asks nothing and no article answers surely is thanked for, never "I couldn't find"
// nor offered an article ("j'adore votre café" shares "café" with the returns article); a question
// with a word of praise is still searched.
func TestPraiseIsAcknowledged(t *testing.T) {
	a := demoAssistant(t)
	for _, text := range []string{"lol you're quicker than the last support chat I used", "genial, eres muy rápido",
		"love your coffee!!", "sois los mejores", "j'adore votre café", "m'encanta el vostre cafè"} {
		if ans := replyTo(t, a, "en", text); ans.Turn != assistant.TurnPraise || len(ans.Sources) > 0 {
			t.Errorf("%q: %+v, want an acknowledgement", text, ans)
		}
	}
	for _, text := range []string{"great, do you ship to Norway?", "love your coffee, do you ship to Norway?"} {
		if ans := replyTo(t, a, "en", text); len(ans.Sources) == 0 {
			t.Errorf("a question with praise %q: %+v, want an article", text, ans)
		}
	}
}

// A visitor who asks for a moment, apologises for a message meant elsewhere or announces a
// question is answered as conversation, in their language, without a search; the same words with
// a subject are a question.
func TestPhrasedTurns(t *testing.T) {
	for _, c := range []struct{ text, kind, lang string }{
		{"one sec", assistant.TurnWait, "en"},
		{"let me check", assistant.TurnWait, "en"},
		{"hold on please", assistant.TurnWait, "en"},
		{"un momento", assistant.TurnWait, "es"},
		{"déjame mirar", assistant.TurnWait, "es"},
		{"un instant svp", assistant.TurnWait, "fr"},
		{"sorry, wrong chat", assistant.TurnApology, "en"},
		{"perdón", assistant.TurnApology, "es"},
		{"perdona, me he equivocado de chat", assistant.TurnApology, "es"},
		{"désolé, je me suis trompé de fenêtre", assistant.TurnApology, "fr"},
		{"can I ask you something?", assistant.TurnAsk, "en"},
		{"hi, I have a question", assistant.TurnAsk, "en"},
		{"tengo una duda", assistant.TurnAsk, "es"},
		{"¿puedo preguntarte algo?", assistant.TurnAsk, "es"},
		{"bonjour, j'ai une question", assistant.TurnAsk, "fr"},
		{"tinc un dubte", assistant.TurnAsk, "ca"},
		{"no entiendes nada", assistant.TurnFrustration, "es"},
		{"ugh", assistant.TurnFrustration, ""},
		{"jajaja", assistant.TurnAck, ""},
		{"hmmm", assistant.TurnAck, ""},
		{"makes sense", assistant.TurnAck, "en"},
		{"vale, ja ho tinc", assistant.TurnAck, "ca"},
		{"hey there, anyone around?", assistant.TurnPresence, "en"},
		{"ei, hi ha algú?", assistant.TurnPresence, "ca"},
		{"good afternoon, hope you're doing well", assistant.TurnGreeting, "en"},
		{"bonsoir, vous allez bien ?", assistant.TurnGreeting, "fr"},
		{"hola, com estàs?", assistant.TurnGreeting, "ca"},
		{"a reveure, que vagi bé", assistant.TurnBye, "ca"},
		{"¿hablo con una persona de verdad?", assistant.TurnIdentity, "es"},
		{"grax", assistant.TurnThanks, "es"},
		{"no thanks, that's all", assistant.TurnBye, "en"},
		{"no gracias, eso es todo", assistant.TurnBye, "es"},
		{"non merci c'est tout", assistant.TurnBye, "fr"},
		{"no, res més", assistant.TurnBye, "ca"},
		{"have a nice evening", assistant.TurnBye, "en"},
		{"great, that's what I needed", assistant.TurnThanks, "en"},
		{"sorry what do you mean", assistant.TurnConfused, "en"},
		{"no entiendo", assistant.TurnConfused, "es"},
		{"je ne comprends pas", assistant.TurnConfused, "fr"},
		{"you don't understand", assistant.TurnFrustration, "en"},
		{"I've been waiting forever", assistant.TurnFrustration, "en"},
		{"vous êtes toujours là ?", assistant.TurnPresence, "fr"},
		{"test", assistant.TurnPresence, "en"},
		{"de nada", assistant.TurnAck, "es"},
		{"Hi, my name is Anna", assistant.TurnGreeting, "en"},
		{"hola, soy Marta", assistant.TurnGreeting, "es"},
		{"bonjour, je m'appelle Julie", assistant.TurnGreeting, "fr"},
		{"hola, em dic Pere", assistant.TurnGreeting, "ca"},
		{"I'm back", assistant.TurnGreeting, "en"},
		{"ok I'll try that", assistant.TurnAck, "en"},
		{"ho provaré", assistant.TurnAck, "ca"},
		{"talk soon", assistant.TurnBye, "en"},
		{"Hello Nimbus team!", assistant.TurnGreeting, "en"},
		{"hi from London", assistant.TurnGreeting, "en"},
		{"hola desde Madrid", assistant.TurnGreeting, "es"},
		{"bonjour de Paris !", assistant.TurnGreeting, "fr"},
		{"help me", assistant.TurnAsk, "en"},
		{"hola? hay alguien que me pueda ayudar?", assistant.TurnAsk, "es"},
		{"ajuda", assistant.TurnAsk, "ca"},
		{"bona tarda, em podeu ajudar?", assistant.TurnAsk, "ca"},
		// With a subject: questions.
		{"hi from London, do you ship to Manchester?", assistant.TurnQuestion, ""},
		{"help, my order never arrived", assistant.TurnQuestion, ""},
		{"soy estudiante, ¿hay descuento?", assistant.TurnQuestion, ""},
		{"hi, I'm Anna and my parcel never arrived", assistant.TurnQuestion, ""},
		{"no thanks, that's all I wanted to know about shipping to Norway", assistant.TurnQuestion, ""},
		{"no entiendo cómo devolver un pedido", assistant.TurnQuestion, ""},
		{"nothing arrived yet", assistant.TurnQuestion, ""},
		{"wait, how long does shipping take?", assistant.TurnQuestion, ""},
		{"sorry, my order arrived broken", assistant.TurnQuestion, ""},
		{"tengo una duda sobre la devolución", assistant.TurnQuestion, ""},
		{"un momento, ¿cuánto cuesta el envío?", assistant.TurnQuestion, ""},
		{"error", assistant.TurnQuestion, ""},
		{"jajaja cuánto cuesta el envío", assistant.TurnQuestion, ""},
	} {
		kind, lang := assistant.ClassifyTurn(c.text)
		if kind != c.kind || c.lang != "" && lang != c.lang {
			t.Errorf("%q: %q in %q, want %q in %q", c.text, kind, lang, c.kind, c.lang)
		}
	}
	a := demoAssistant(t)
	for _, c := range []struct{ text, want string }{
		{"un momento", "Sin prisa"},
		{"sorry, wrong chat", "No problem"},
		{"tinc un dubte", "explica-m'ho"},
	} {
		if ans := replyTo(t, a, "en", c.text); !strings.Contains(ans.Text, c.want) || len(ans.Sources) > 0 {
			t.Errorf("%q: %q, want %q", c.text, ans.Text, c.want)
		}
	}
}

// replyTo answers the last of the visitor's messages, the earlier ones (if any) as its history, in
// a conversation whose language is lang.
func replyTo(t *testing.T, a *assistant.Assistant, lang string, visitor ...string) assistant.Answer {
	t.Helper()
	q := assistant.Question{Language: lang}
	for _, text := range visitor {
		q.History = append(q.History, assistant.Turn{Role: assistant.RoleVisitor, Text: text})
	}
	ans, err := a.Reply(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return ans
}

// A new question is answered the same after an unrelated exchange: a short Catalan question keeps
// the Catalan conversation's language after an English question, and a question opened by a
// preposition and an interrogative is not read as a follow-up of the password article.
func TestNewQuestionIgnoresAnUnrelatedExchange(t *testing.T) {
	a := demoAssistant(t)
	for _, c := range []struct{ lang, text string }{
		{"ca", "l'enviament és gratis?"},
		{"ca", "on trobo la factura?"},
		{"es", "¿con qué transportista enviáis?"},
		{"en", "can i pay in pounds instead of euros?"},
	} {
		alone := replyTo(t, a, c.lang, c.text)
		after := replyTo(t, a, c.lang, "how do I reset my password?", c.text)
		if alone.Language != after.Language || len(alone.Sources) != len(after.Sources) ||
			len(alone.Sources) > 0 && alone.Sources[0].URL != after.Sources[0].URL {
			t.Errorf("%q: alone %s %v, after the password question %s %v", c.text, alone.Language, alone.Sources, after.Language, after.Sources)
		}
	}
}

// An answer that offers a person ("Would you like to talk to a person from our team?") answered
// "yes please" hands the conversation over; "no thanks" or a yes with no offer before it does not.
func TestYesToTheOfferOfAPerson(t *testing.T) {
	a := demoAssistant(t)
	ctx := context.Background()
	for _, c := range []struct {
		lang, question, reply string
		handover              bool
	}{
		{"en", "can I put my coffee deliveries on hold", "yes please", true},
		{"es", "¿puedo poner mis envíos en pausa?", "sí, por favor", true},
		{"fr", "je peux mettre mes livraisons en pause ?", "oui, une personne svp", true},
		{"en", "this is useless", "yes", true},
		{"en", "can I put my coffee deliveries on hold", "no thanks", false},
		{"en", "can I put my coffee deliveries on hold", "yes, and how long can I pause for?", false},
		{"en", "hello", "yes please", false},
	} {
		q := assistant.Question{Language: c.lang, History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: c.question}}}
		first, err := a.Reply(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		q.History = append(q.History, assistant.Turn{Role: assistant.RoleAssistant, Text: first.Text},
			assistant.Turn{Role: assistant.RoleVisitor, Text: c.reply})
		ans, err := a.Reply(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if ans.Handover != c.handover {
			t.Errorf("%q after %q (%q): handover %v, want %v", c.reply, c.question, first.Text, ans.Handover, c.handover)
		}
	}
}
