package assistant_test

import (
	"context"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

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
