package assistant_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// setFigures answers questions offline, each as a turn after its previous message, and counts
// the questions answered with an expected article (surely or weakly) and the unanswerable ones
// refused.
func setFigures(t *testing.T, kb *assistant.KnowledgeBase, questions []evalQuestion) (hits, answerable, refused, refusable int) {
	t.Helper()
	articles := loadEvalArticles(t, "testdata/kb-demo")
	a := MustNew(t, assistant.Config{}, nil, kb)
	ctx := context.Background()
	for _, q := range questions {
		h, err := evalHistory(ctx, a, q, q.lang)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := a.Reply(ctx, assistant.Question{Language: q.lang, History: h})
		if err != nil {
			t.Fatal(err)
		}
		o := evalJudge(q, ans, articles)
		if q.refusable() {
			refusable++
			if !o.article() {
				refused++
			}
		}
		if !q.answerable() {
			continue
		}
		answerable++
		for _, e := range q.expected {
			if o.article() && evalFile(e) == evalFile(o.cited) {
				hits++
				break
			}
		}
	}
	return hits, answerable, refused, refusable
}

// setCounts are setFigures' counts: answered with an expected article of answerable, refused of
// unanswerable.
type setCounts struct{ hits, n, refused, m int }

// ablation measures a method on the development questions dev and the old set: with it, and with
// it switched off between without() and the restore that returns; kb gives the knowledge base of
// each run (a new one when the method acts while indexing). It logs both sides under name.
func ablation(t *testing.T, name string, kb func() *assistant.KnowledgeBase, dev []evalQuestion, without func() (restore func())) (on, off, oldOn, oldOff setCounts) {
	t.Helper()
	old := loadEvalQuestions(t)
	measure := func(qs []evalQuestion) setCounts {
		var c setCounts
		c.hits, c.n, c.refused, c.m = setFigures(t, kb(), qs)
		return c
	}
	on, oldOn = measure(dev), measure(old)
	restore := without()
	off, oldOff = measure(dev), measure(old)
	restore()
	t.Logf("dev: with %s %d/%d answered, %d/%d refused; without %d/%d, %d/%d", name, on.hits, on.n, on.refused, on.m, off.hits, off.n, off.refused, off.m)
	t.Logf("old set: with %s %d/%d answered, %d/%d refused; without %d/%d, %d/%d", name, oldOn.hits, oldOn.n, oldOn.refused, oldOn.m, oldOff.hits, oldOff.n, oldOff.refused, oldOff.m)
	return on, off, oldOn, oldOff
}

// The place table (cities and countries to the names articles use), measured on the development
// set and the old set (never on the frozen independent set): it must add answers on the first and
// cost none, nor any refusal, on either.
func TestPlacesOnDevSet(t *testing.T) {
	kb := func() *assistant.KnowledgeBase { return MustLoadKB(t, "testdata/kb-demo") }
	on, off, oldOn, oldOff := ablation(t, "places", kb, loadDevQuestions(t), assistant.WithoutPlaces)
	if on.hits <= off.hits || oldOn.hits < oldOff.hits {
		t.Errorf("places add %d answers on the dev set and %d on the old set, want more than 0 and at least 0", on.hits-off.hits, oldOn.hits-oldOff.hits)
	}
	if on.refused < off.refused || oldOn.refused < oldOff.refused {
		t.Errorf("places cost refusals: dev %d against %d, old %d against %d", on.refused, off.refused, oldOn.refused, oldOff.refused)
	}
}

// The weak offer of an article that leads clearly, measured the same way on both development sets
// (dev.tsv and dev2.tsv together): it must add answers there and cost none on the old set; it may
// cost at most six refusals of the 58 unanswerable development questions (it offers, with the
// human option, an article that stands out). Measured: 169 -> 197 of 244 answered for 50 -> 45 of
// 58 refused (the weather in Madrid tomorrow was refused before only because "mañana" read as a
// goodbye; "mon code promo ne marche pas" is offered the discounts article); 174 -> 201 for
// 51 -> 45 since "cambiar" stopped reaching the price-changes article (one refusal more without
// the lead, none with it); 201 -> 210 for 57 -> 53 since the sixth round's vocabulary answers some
// of those questions without it ("didn't go through", "make an account").
func TestLeadOnDevSet(t *testing.T) {
	shared := MustLoadKB(t, "testdata/kb-demo")
	kb := func() *assistant.KnowledgeBase { return shared }
	on, off, oldOn, oldOff := ablation(t, "the lead", kb, append(loadDevQuestions(t), loadDev2Questions(t)...), assistant.WithoutLead)
	if on.hits < off.hits+8 || oldOn.hits < oldOff.hits {
		t.Errorf("the lead adds %d answers on the dev sets and %d on the old set, want at least 8 and 0", on.hits-off.hits, oldOn.hits-oldOff.hits)
	}
	if on.refused < off.refused-6 || oldOn.refused < oldOff.refused {
		t.Errorf("the lead costs refusals: dev %d against %d, old %d against %d", on.refused, off.refused, oldOn.refused, oldOff.refused)
	}
}

// The light words (verbs and fillers of asking: "download", "need", "trouver") dropped when the
// articles never use them, measured on both development sets and the old set: they must add
// answers on the first and cost none, nor any refusal, on either. Measured: 193 -> 197 of 244.
func TestLightWordsOnDevSets(t *testing.T) {
	shared := MustLoadKB(t, "testdata/kb-demo")
	kb := func() *assistant.KnowledgeBase { return shared }
	on, off, oldOn, oldOff := ablation(t, "light words", kb, append(loadDevQuestions(t), loadDev2Questions(t)...), assistant.WithoutLightWords)
	if on.hits <= off.hits || oldOn.hits < oldOff.hits {
		t.Errorf("light words add %d answers on the dev sets and %d on the old set, want more than 0 and at least 0", on.hits-off.hits, oldOn.hits-oldOff.hits)
	}
	if on.refused < off.refused || oldOn.refused < oldOff.refused {
		t.Errorf("light words cost refusals: dev %d against %d, old %d against %d", on.refused, off.refused, oldOn.refused, oldOff.refused)
	}
}

// oldSetFigures answers the old set (questions.tsv, both splits) offline and counts the questions
// answered with an expected article (surely or weakly) and the unanswerable ones refused.
func oldSetFigures(t *testing.T, kb *assistant.KnowledgeBase) (hits, answerable, refused, refusable int) {
	t.Helper()
	articles := loadEvalArticles(t, "testdata/kb-demo")
	a := MustNew(t, assistant.Config{}, nil, kb)
	for _, q := range loadEvalQuestions(t) {
		ans, err := a.Reply(context.Background(), assistant.Question{Language: q.lang,
			History: []assistant.Turn{{Role: assistant.RoleVisitor, Text: q.text}}})
		if err != nil {
			t.Fatal(err)
		}
		o := evalJudge(q, ans, articles)
		if !q.answerable() {
			refusable++
			if !o.article() {
				refused++
			}
			continue
		}
		answerable++
		for _, e := range q.expected {
			if o.article() && evalFile(e) == evalFile(o.cited) {
				hits++
				break
			}
		}
	}
	return hits, answerable, refused, refusable
}

// The vocabulary beyond the articles' words, measured on the old set (never on the frozen
// independent set): the hand lexicon of general customer-service words must add answers, and the
// thesaurus must not cost any. (On the old set, written with the lexicon, the thesaurus has little
// left to add; docs/knowledge-base.md reports both sets.)
func TestVocabularyOnOldSet(t *testing.T) {
	hits, n, refused, m := oldSetFigures(t, MustLoadKB(t, "testdata/kb-demo"))
	noThes, _, noThesRefused, _ := oldSetFigures(t, MustLoadKB(t, "testdata/kb-demo", assistant.WithSynonyms(false)))
	restore := assistant.WithoutLexicon()
	noLex, _, noLexRefused, _ := oldSetFigures(t, MustLoadKB(t, "testdata/kb-demo"))
	restore()
	t.Logf("old set, offline: full %d/%d answered, %d/%d refused; without thesaurus %d/%d, %d/%d; without lexicon %d/%d, %d/%d",
		hits, n, refused, m, noThes, n, noThesRefused, m, noLex, n, noLexRefused, m)
	if hits < noLex+5 {
		t.Errorf("the lexicon adds %d answers on the old set, want at least 5", hits-noLex)
	}
	if hits < noThes || refused < noThesRefused {
		t.Errorf("the thesaurus costs answers or refusals on the old set: %d/%d against %d/%d without", hits, refused, noThes, noThesRefused)
	}
}

// The thesaurus headwords as dictionaries for language detection, measured on the development and
// old sets (never on the frozen independent set): more messages must be recognised in their own
// language, and no more in a wrong one.
func TestDictionaryHintsOnDevSet(t *testing.T) {
	count := func() (right, wrong int) {
		for _, q := range append(loadDevQuestions(t), loadEvalQuestions(t)...) {
			switch l := assistant.MessageLanguage(q.text); {
			case l == q.lang:
				right++
			case l != "":
				wrong++
			}
		}
		return right, wrong
	}
	right, wrong := count()
	restore := assistant.WithoutDictionaryHints()
	noRight, noWrong := count()
	restore()
	t.Logf("dev and old sets: message language right %d, wrong %d with the dictionaries; %d, %d without", right, wrong, noRight, noWrong)
	if right <= noRight || wrong > noWrong {
		t.Errorf("dictionaries: %d right, %d wrong; without %d, %d: want more right and no more wrong", right, wrong, noRight, noWrong)
	}
}

// Catalan's everyday verbs and question words ("faig", "fa", "quants", "estic") are stop words as
// their Spanish counterparts are ("hago" aside): "com faig una devolució?" and "quants dies tinc per
// tornar un molinet?" reach the returns passages rather than weighing "faig" and "quants" as
// subjects the articles lack. Catalan on the development sets: dev 0.71 -> 0.82, dev3 0.72 -> 0.89.
func TestCatalanEverydayWordsAreStopWords(t *testing.T) {
	kb := MustLoadKB(t, "testdata/kb-demo")
	a := MustNew(t, assistant.Config{}, nil, kb)
	for _, q := range []string{"com faig una devolució d'una comanda?", "quants dies tinc per tornar una comanda?"} {
		if ans := replyTo(t, a, "ca", q); len(ans.Sources) == 0 || !strings.Contains(ans.Sources[0].URL, "devoluciones") && !strings.Contains(ans.Sources[0].URL, "returns") {
			t.Errorf("%q: %q, want a returns passage", q, ans.Text)
		}
	}
}
