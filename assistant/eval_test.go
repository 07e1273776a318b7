package assistant_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

// Kinds of evaluation lines (testdata/eval/independent.tsv; questions.tsv has question and none).
const (
	kindQuestion  = "question"  // answerable from the articles
	kindNone      = "none"      // support-like, the articles do not answer it
	kindSmalltalk = "smalltalk" // conversation: greetings, thanks, ok, bye
	kindFollowup  = "followup"  // answerable, only with the previous message
	kindOfftopic  = "offtopic"  // unrelated to the shop
)

// evalQuestion is one line of an evaluation set.
type evalQuestion struct {
	set      string // "old" (questions.tsv) or "independent" (independent.tsv)
	line     int
	split    string   // old set: "tune" or "heldout"; independent set: "frozen"
	kind     string   // one of the kind* constants
	lang     string   // the visitor's language
	expected []string // "file#Section" alternatives; empty: nothing answers it
	text     string
	previous string // the visitor's previous message ("" for none)
}

func (q evalQuestion) answerable() bool { return len(q.expected) > 0 }

func (q evalQuestion) refusable() bool { return q.kind == kindNone || q.kind == kindOfftopic }

// loadEvalQuestions reads testdata/eval/questions.tsv: split, lang, expected, question.
func loadEvalQuestions(tb testing.TB) []evalQuestion {
	tb.Helper()
	var out []evalQuestion
	evalLines(tb, "questions.tsv", func(n int, cols []string) {
		if len(cols) != 4 || (cols[0] != "tune" && cols[0] != "heldout") {
			tb.Fatalf("questions.tsv:%d: want split, lang, expected, question separated by tabs", n)
		}
		q := evalQuestion{set: "old", line: n, split: cols[0], kind: kindNone, lang: cols[1], text: cols[3]}
		if cols[2] != "-" {
			q.kind, q.expected = kindQuestion, strings.Split(cols[2], "|")
		}
		out = append(out, q)
	})
	return out
}

// loadIndependentQuestions reads the frozen testdata/eval/independent.tsv: kind, lang, expected,
// question, previous. Nothing may be tuned on it: only its totals are read.
func loadIndependentQuestions(tb testing.TB) []evalQuestion {
	tb.Helper()
	return loadKindQuestions(tb, "independent.tsv", "independent", "frozen")
}

// loadDevQuestions reads testdata/eval/dev.tsv, a development set in the independent set's
// columns, written the same way by someone who never saw the code: it may be read and tuned on.
func loadDevQuestions(tb testing.TB) []evalQuestion {
	tb.Helper()
	return loadKindQuestions(tb, "dev.tsv", "dev", "dev")
}

// loadDev2Questions reads testdata/eval/dev2.tsv, a second development set written the same way
// (from the articles alone, by someone who never saw the code or any other set).
func loadDev2Questions(tb testing.TB) []evalQuestion {
	return loadKindQuestions(tb, "dev2.tsv", "dev2", "dev")
}

// laterSets are the sets written after dev2, each the same way (from the articles alone, by someone
// who never saw the code or any other set), in the order they were written (docs/knowledge-base.md):
// dev3 and dev4 were measured before the changes they were used for; dev5 against the code before
// and after the fifth round's changes, then tuned on; dev6 (half of it unanswerable questions close
// to an article) before it was tuned on; dev7 at the very end, measured once and never tuned on (a
// held-out estimate: its misses are not listed); dev8 (90 unanswerable questions, most of them close
// to an article, and many short Spanish messages) before it was tuned on; dev9 held out like dev7,
// written at the start of the sixth round (its lines never read); dev10 (120
// conversation turns and 40 questions that open like one) before it was tuned on; dev11 (150
// conversation turns through a chat's life) against the code before and after the turns it was
// written for; dev12 (paraphrases in everyday words) against the code at the start of the sixth
// round and at the time it was written, before it was tuned on.
var laterSets = []string{"dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10", "dev11", "dev12"}

// heldOut are the sets never tuned on besides the frozen one: their misses are not listed.
var heldOut = []string{"dev7", "dev9"}

// evalSets are the sets TestEval prints, in order.
var evalSets = append(append([]string{"independent", "dev", "dev2"}, laterSets...), "old")

// loadLaterQuestions reads testdata/eval/<set>.tsv of every laterSets.
func loadLaterQuestions(tb testing.TB) []evalQuestion {
	var out []evalQuestion
	for _, set := range laterSets {
		split := "dev"
		if slices.Contains(heldOut, set) {
			split = set
		}
		out = append(out, loadKindQuestions(tb, set+".tsv", set, split)...)
	}
	return out
}

// loadKindQuestions reads a set of lines kind, lang, expected, question, previous.
func loadKindQuestions(tb testing.TB, name, set, split string) []evalQuestion {
	tb.Helper()
	var out []evalQuestion
	evalLines(tb, name, func(n int, cols []string) {
		if len(cols) == 4 {
			cols = append(cols, "")
		}
		if len(cols) != 5 || !slices.Contains([]string{kindQuestion, kindNone, kindSmalltalk, kindFollowup, kindOfftopic}, cols[0]) {
			tb.Fatalf("%s:%d: want kind, lang, expected, question, previous separated by tabs", name, n)
		}
		q := evalQuestion{set: set, line: n, split: split, kind: cols[0], lang: cols[1], text: cols[3], previous: cols[4]}
		if cols[2] != "-" && cols[2] != "" {
			q.expected = strings.Split(cols[2], "|")
		}
		out = append(out, q)
	})
	return out
}

func evalLines(tb testing.TB, name string, line func(n int, cols []string)) {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "eval", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		line(n, strings.Split(l, "\t"))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
}

// evalArticle is what the harness knows of a demo article, read independently of the code under test.
type evalArticle struct {
	lang, url string
}

func loadEvalArticles(tb testing.TB, dir string) map[string]evalArticle {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]evalArticle{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		var a evalArticle
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "lang:"); ok {
				a.lang = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "url:"); ok {
				a.url = strings.TrimSpace(v)
			}
		}
		out[e.Name()] = a
	}
	return out
}

// evalSlug is a GitHub-style heading anchor, as the knowledge base links sections.
func evalSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// evalOutcome is what one mode did with one question.
type evalOutcome struct {
	ranked   []string // "file#Section" of the ranked passages, best first
	answered bool     // an article was cited confidently
	weak     bool     // an article was offered as a weak match ("This article may help")
	cited    string   // "file#Section" of the cited or offered article ("" when none)
	noFind   bool     // the answer says it found nothing ("I couldn't find an answer")
	wrong    bool     // the answer is not in the visitor's language, or says so wrongly
}

func (o evalOutcome) article() bool { return o.answered || o.weak }

// evalMode runs one question through one retrieval mode.
type evalMode struct {
	name string
	run  func(q evalQuestion) evalOutcome
}

// evalStats accumulates figures for one (mode, set, split, lang).
type evalStats struct {
	n, answerable, hits, confident, secHits, falseAnswers, weakWrong                          int
	refusable, refused, smalltalk, smalltalkOK, followups, followupsOK, wrongLang, noFindTalk int
	rr                                                                                        float64
}

func evalFile(fs string) string { f, _, _ := strings.Cut(fs, "#"); return f }

func (s *evalStats) add(q evalQuestion, o evalOutcome) {
	s.n++
	if o.wrong {
		s.wrongLang++
	}
	switch {
	case q.kind == kindSmalltalk:
		s.smalltalk++
		if !o.article() && !o.noFind {
			s.smalltalkOK++
		}
		if o.noFind {
			s.noFindTalk++
		}
		if o.answered {
			s.falseAnswers++
		}
		return
	case q.refusable():
		s.refusable++
		if !o.article() {
			s.refused++
		}
		if o.answered {
			s.falseAnswers++
		}
		return
	case !q.answerable():
		return
	}
	s.answerable++
	expFiles := map[string]bool{}
	for _, e := range q.expected {
		expFiles[evalFile(e)] = true
	}
	for i, r := range o.ranked {
		if expFiles[evalFile(r)] {
			s.rr += 1 / float64(i+1)
			break
		}
	}
	hit := o.article() && expFiles[evalFile(o.cited)]
	if q.kind == kindFollowup {
		s.followups++
		if hit {
			s.followupsOK++
		}
	}
	switch {
	case hit:
		s.hits++
		if o.answered {
			s.confident++
		}
		if slices.Contains(q.expected, o.cited) {
			s.secHits++
		}
	case o.answered:
		s.falseAnswers++
	case o.weak:
		s.weakWrong++
	}
}

func ratio(n, d int) string {
	if d == 0 {
		return "  -  "
	}
	return fmt.Sprintf("%.2f", float64(n)/float64(d))
}

func frac(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", n, d)
}

// TestEval scores the assistant on three evaluation sets: the older testdata/eval/questions.tsv
// (tuning and held-aside splits, written by the lexicon's author), the development sets
// testdata/eval/dev.tsv, dev2.tsv, dev3.tsv and dev4.tsv (each written from the articles alone by someone
// who never saw the code; tuned on) and the frozen testdata/eval/independent.tsv (written the same way; never tuned on, only its
// totals are read). Each line is a whole turn through Assistant.Reply, its previous message
// given as conversation history. It prints per mode, set, split and language: hit@1 (the answer
// cites or offers an expected article), conf (of those, cited confidently), sec@1 (the expected
// section), MRR (of the first expected article in the ranking), false answers (a share of all
// lines: a wrong article cited confidently, or any article cited confidently for a line nothing
// answers), weak misses (a wrong article offered as a weak match), refusals of the
// unanswerable (kind none and offtopic: no article), small talk handled (no article, never "I
// couldn't find") and nofind (small talk answered "I couldn't find"), follow-ups right, and wrong-language answers. Mode offline-en is offline with
// an English browser locale whatever the visitor writes. With SB_EVAL_MISSES=1 it lists the misses
// of the development sets and of the old set's tuning split (never the held-aside split's nor the
// independent set's).
func TestEval(t *testing.T) {
	const dir = "testdata/kb-demo"
	articles := loadEvalArticles(t, dir)
	questions := slices.Concat(loadEvalQuestions(t), loadDevQuestions(t), loadDev2Questions(t), loadLaterQuestions(t), loadIndependentQuestions(t))
	modes := evalModes(t, dir, articles)

	type key struct{ mode, set, split, lang string }
	stats := map[key]*evalStats{}
	get := func(k key) *evalStats {
		if stats[k] == nil {
			stats[k] = &evalStats{}
		}
		return stats[k]
	}
	langs := []string{"en", "es", "fr", "ca"}
	// Context stability: a question that stands alone is asked again after an unrelated exchange
	// (offline mode); its answer should not change (issue 20: "answers depend on the previous
	// message").
	unrelated := []struct{ file, text string }{
		{"account.md", "how do I reset my password?"}, {"shipping.md", "do you ship to Norway?"},
		{"warranty.md", "what does the grinder warranty cover?"},
	}
	ctxChanged, ctxAsked := map[string]int{}, map[string]int{}
	for _, m := range modes {
		for _, q := range questions {
			o := m.run(q)
			if m.name == "offline" && q.previous == "" && (q.kind == kindQuestion || q.refusable()) {
				for i, u := range unrelated {
					if strings.Contains(strings.Join(q.expected, "|"), u.file+"#") && i < len(unrelated)-1 {
						continue
					}
					q2 := q
					q2.previous = u.text
					o2 := m.run(q2)
					ctxAsked[q.set]++
					if o2.cited != o.cited || o2.article() != o.article() || o2.noFind != o.noFind {
						ctxChanged[q.set]++
						if os.Getenv("SB_EVAL_MISSES") != "" && q.set != "independent" && !slices.Contains(heldOut, q.set) && !(q.set == "old" && q.split == "heldout") {
							t.Logf("context changes %s line %d %q after %q: %q -> %q", q.set, q.line, q.text, u.text, o.cited, o2.cited)
						}
					}
					break
				}
			}
			for _, split := range []string{q.split, "all"} {
				for _, lang := range []string{q.lang, "all"} {
					get(key{m.name, q.set, split, lang}).add(q, o)
				}
			}
			if os.Getenv("SB_EVAL_MISSES") != "" && (strings.HasPrefix(q.set, "dev") && !slices.Contains(heldOut, q.set) || q.set == "old" && q.split == "tune") {
				miss := q.answerable() != o.article()
				if q.answerable() && o.article() {
					miss = !strings.Contains(strings.Join(q.expected, "|")+"|", evalFile(o.cited)+"#")
				}
				secMiss := !miss && q.answerable() && !slices.Contains(q.expected, o.cited)
				if q.kind == kindSmalltalk && o.noFind {
					miss = true
				}
				if miss || secMiss || o.wrong {
					t.Logf("%s %s miss line %d %s sec-only %v [%s] %q (prev %q): want %v, cited %q (weak %v, nofind %v, wrong-lang %v), ranked %v", m.name, q.set, q.line, q.kind, secMiss, q.lang, q.text, q.previous, q.expected, o.cited, o.weak, o.noFind, o.wrong, o.ranked)
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-10s %-11s %-7s %-4s %4s %6s %6s %6s %6s %6s %6s %8s %9s %6s %8s %5s\n", "mode", "set", "split", "lang", "n",
		"hit@1", "conf", "sec@1", "MRR", "false", "weak-x", "refused", "smalltalk", "nofind", "followup", "wlang")
	for _, m := range modes {
		for _, set := range evalSets {
			splits := []string{"all"}
			if set == "old" {
				splits = []string{"tune", "heldout", "all"}
			}
			for _, split := range splits {
				for _, lang := range append([]string{"all"}, langs...) {
					s := get(key{m.name, set, split, lang})
					mrr := "  -  "
					if s.answerable > 0 {
						mrr = fmt.Sprintf("%.2f", s.rr/float64(s.answerable))
					}
					fmt.Fprintf(&b, "%-10s %-11s %-7s %-4s %4d %6s %6s %6s %6s %6s %6d %8s %9s %6d %8s %5d\n", m.name, set, split, lang, s.n,
						ratio(s.hits, s.answerable), ratio(s.confident, s.answerable), ratio(s.secHits, s.answerable), mrr,
						ratio(s.falseAnswers, s.n), s.weakWrong, frac(s.refused, s.refusable),
						frac(s.smalltalkOK, s.smalltalk), s.noFindTalk, frac(s.followupsOK, s.followups), s.wrongLang)
				}
			}
		}
	}
	for _, set := range evalSets {
		fmt.Fprintf(&b, "context: %s: %d of %d standalone questions answered otherwise after an unrelated exchange\n", set, ctxChanged[set], ctxAsked[set])
	}
	t.Log(b.String())
	// Measured 4 + 10 + 6 before articles stopped counting as pointers back ("la", "lo", "one") and
	// "où" as "ou"; 0 + 3 + 1 after.
	if n := ctxChanged["dev"] + ctxChanged["dev2"] + ctxChanged["dev3"]; n > 8 {
		t.Errorf("development sets: %d standalone questions answered otherwise after an unrelated exchange, want <= 8", n)
	}
	evalFloors(t, func(mode, set, lang string) *evalStats { return get(key{mode, set, "all", lang}) })
}

// evalPassageKey names a passage as the questions file does.
func evalPassageKey(p assistant.Passage) string { return filepath.Base(p.File) + "#" + p.Section }

// evalHistory is the conversation a line stands for: the previous visitor message and the
// assistant's answer to it, then the question.
func evalHistory(ctx context.Context, a *assistant.Assistant, q evalQuestion, lang string) ([]assistant.Turn, error) {
	var h []assistant.Turn
	if q.previous != "" {
		h = append(h, assistant.Turn{Role: assistant.RoleVisitor, Text: q.previous})
		ans, err := a.Reply(ctx, assistant.Question{WebsiteID: "eval", SessionID: "eval", Language: lang, History: h})
		if err != nil {
			return nil, err
		}
		if ans.Text != "" {
			h = append(h, assistant.Turn{Role: assistant.RoleAssistant, Text: ans.Text})
		}
	}
	return append(h, assistant.Turn{Role: assistant.RoleVisitor, Text: q.text}), nil
}

// evalJudge turns an answer into an outcome: the article it cites (confidently or as a weak
// match), whether it says it found nothing, and whether its language is wrong. The answer's own
// language is read from the localized strings it contains and the cited article's language; an
// article in another language than the visitor's is right only when no expected article is in the
// visitor's language and the answer says so in the visitor's language.
func evalJudge(q evalQuestion, ans assistant.Answer, articles map[string]evalArticle) evalOutcome {
	var o evalOutcome
	strs := assistant.DefaultStrings()
	for _, lang := range []string{"en", "es", "fr", "ca"} {
		if strings.Contains(ans.Text, strs.Get(lang, assistant.StrNoAnswer)) {
			o.noFind = true
		}
	}
	if len(ans.Sources) > 0 {
		o.cited = evalCited(ans.Sources[0].URL, articles)
		o.weak = evalWeak(ans)
		o.answered = !o.weak
	}
	// The language of the answer's own words: the localized strings it contains.
	textLangs := map[string]bool{}
	for lang, m := range strs {
		for _, s := range m {
			if p, _, _ := strings.Cut(s, "{"); len(p) > 12 && strings.Contains(ans.Text, p) {
				textLangs[lang] = true
			}
		}
	}
	if len(textLangs) > 0 && !textLangs[q.lang] {
		o.wrong = true
	}
	if !o.article() || !ans.Offline {
		return o
	}
	notice, _, _ := strings.Cut(strs.Get(q.lang, assistant.StrOtherLang), "{")
	noticed := strings.Contains(ans.Text, notice)
	artLang := articles[evalFile(o.cited)].lang
	if artLang == q.lang {
		o.wrong = o.wrong || noticed // "we only have this in X" said of an article in the visitor's language
		return o
	}
	native := false
	for _, e := range q.expected {
		native = native || articles[evalFile(e)].lang == q.lang
	}
	if native || !noticed {
		o.wrong = true
	}
	return o
}

// evalWeak reports an answer that offers its article as a weak match rather than citing it.
func evalWeak(ans assistant.Answer) bool { return ans.Weak }

// evalOffline answers through Assistant.Reply without a model, as the demo does; browser, when
// set, is the conversation's language whatever the visitor writes (a browser locale).
func evalOffline(t *testing.T, name, dir, browser string, articles map[string]evalArticle) evalMode {
	kb := MustLoadKB(t, dir)
	cfg := assistant.Config{}
	if v, err := strconv.ParseFloat(os.Getenv("SB_EVAL_THRESHOLD"), 64); err == nil {
		cfg.Default.OfflineMinMatch = v
	}
	a, err := assistant.New(cfg, nil, kb)
	if err != nil {
		t.Fatal(err)
	}
	return evalMode{name: name, run: func(q evalQuestion) evalOutcome {
		ctx := context.Background()
		lang := q.lang
		if browser != "" {
			lang = browser
		}
		h, err := evalHistory(ctx, a, q, lang)
		if err != nil {
			t.Fatalf("reply %q: %v", q.previous, err)
		}
		ans, err := a.Reply(ctx, assistant.Question{WebsiteID: "eval", SessionID: "eval", Language: lang, History: h})
		if err != nil {
			t.Fatalf("reply %q: %v", q.text, err)
		}
		o := evalJudge(q, ans, articles)
		for _, p := range kb.Search(q.text, 10) {
			o.ranked = append(o.ranked, evalPassageKey(p))
		}
		return o
	}}
}

// evalCited maps a source URL back to "file#Section" through the articles' URLs and section slugs.
func evalCited(url string, articles map[string]evalArticle) string {
	base, anchor, _ := strings.Cut(url, "#")
	for f, a := range articles {
		if a.url != base {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("testdata", "kb-demo", f))
		for _, l := range strings.Split(string(b), "\n") {
			if h, ok := strings.CutPrefix(l, "## "); ok && evalSlug(strings.TrimSpace(h)) == anchor {
				return f + "#" + strings.TrimSpace(h)
			}
		}
		return f + "#"
	}
	return url
}

func evalModes(t *testing.T, dir string, articles map[string]evalArticle) []evalMode {
	return []evalMode{
		evalOffline(t, "offline", dir, "", articles),
		evalOffline(t, "offline-en", dir, "en", articles),
		evalHybrid(t, "hybrid", dir, articles, false),
		evalHybrid(t, "hybrid-rw", dir, articles, true),
	}
}

// evalHybrid answers as the assistant does with a model configured: the knowledge base embedded
// through assistant/openai (the fake server's bag-of-words /embeddings), hybrid retrieval, and a
// stand-in model that cites the first passage of its prompt (evalCiter). It measures what reaches
// the model, in the order given. With SB_EVAL_EMBEDDINGS_URL (and SB_EVAL_EMBEDDINGS_KEY,
// SB_EVAL_EMBEDDINGS_MODEL) it uses a real endpoint for embeddings instead of the fake.
func evalHybrid(t *testing.T, name, dir string, articles map[string]evalArticle, rewrite bool) evalMode {
	cfg := openai.Config{BaseURL: os.Getenv("SB_EVAL_EMBEDDINGS_URL"), APIKey: os.Getenv("SB_EVAL_EMBEDDINGS_KEY"),
		EmbeddingModel: os.Getenv("SB_EVAL_EMBEDDINGS_MODEL")}
	if cfg.BaseURL == "" {
		cfg.BaseURL = openaitest.MustStart(t).URL()
	}
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	kb := MustLoadKB(t, dir, assistant.WithEmbeddings(c, assistant.NewMemoryEmbeddingCache()))
	acfg := assistant.Config{}
	if v, err := strconv.ParseFloat(os.Getenv("SB_EVAL_SIMILARITY"), 64); err == nil {
		acfg.Default.MinSimilarity = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("SB_EVAL_PASSAGE_MATCH"), 64); err == nil {
		acfg.Default.MinPassageMatch = v
	}
	citer := &evalCiter{}
	var opts []assistant.Option
	if rewrite {
		opts = append(opts, assistant.WithQueryRewrite(0))
		if m := os.Getenv("SB_EVAL_CHAT_MODEL"); m != "" && os.Getenv("SB_EVAL_EMBEDDINGS_URL") != "" {
			cfg.Model = m
			rc, err := openai.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			citer.rewriter = rc
		}
	}
	a, err := assistant.New(acfg, citer, kb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return evalMode{name: name, run: func(q evalQuestion) evalOutcome {
		ctx := context.Background()
		h, err := evalHistory(ctx, a, q, q.lang)
		if err != nil {
			t.Fatalf("reply %q: %v", q.previous, err)
		}
		ans, err := a.Reply(ctx, assistant.Question{WebsiteID: "eval", SessionID: "eval", Language: q.lang, History: h})
		if err != nil {
			t.Fatalf("reply %q: %v", q.text, err)
		}
		o := evalJudge(q, ans, articles)
		hits, err := kb.Retrieve(ctx, assistant.Query{Text: q.text, Lang: q.lang}, 10)
		if err != nil {
			t.Fatalf("retrieve %q: %v", q.text, err)
		}
		for _, p := range hits {
			o.ranked = append(o.ranked, evalPassageKey(p))
		}
		return o
	}}
}

// evalCiter stands in for the model: it answers with the link of the first passage of its prompt,
// or says it does not know. A query rewrite goes to rewriter (a real model, SB_EVAL_CHAT_MODEL)
// or, without one, gets the message back unchanged in each language (the fake cannot translate:
// this measures the path, not a model's rewriting).
type evalCiter struct{ rewriter assistant.Completer }

var (
	evalURL   = regexp.MustCompile(`(?m)^URL: (\S+)$`)
	evalLangs = regexp.MustCompile(`([a-z]{2}) \(`)
)

func (c *evalCiter) Complete(ctx context.Context, req assistant.CompletionRequest) (assistant.Completion, error) {
	if req.Metadata[assistant.MetaPurpose] == assistant.PurposeSearchQuery {
		if c.rewriter != nil {
			return c.rewriter.Complete(ctx, req)
		}
		msg := req.Messages[len(req.Messages)-1].Content
		var b strings.Builder
		for _, m := range evalLangs.FindAllStringSubmatch(req.Messages[0].Content, -1) {
			fmt.Fprintf(&b, "%s: %s\n", m[1], msg)
		}
		return assistant.Completion{Text: b.String()}, nil
	}
	if m := evalURL.FindStringSubmatch(req.Messages[0].Content); m != nil {
		return assistant.Completion{Text: "See " + m[1]}, nil
	}
	return assistant.Completion{Text: "Sorry, I don't know."}, nil
}

// evalFloors guards against regressions on the old set, well below the measured figures
// (docs/knowledge-base.md): they catch a broken analyzer or lexicon, not a point of tuning.
func evalFloors(t *testing.T, get func(mode, set, lang string) *evalStats) {
	floors := map[string]struct{ hit, lang, refusals float64 }{
		"offline": {0.8, 0.7, 0.75},
		"hybrid":  {0.7, 0.6, 0.5}, // with the fake's bag-of-words embeddings
	}
	for mode, f := range floors {
		all := get(mode, "old", "all")
		if all.answerable == 0 {
			continue
		}
		if r := float64(all.hits) / float64(all.answerable); r < f.hit {
			t.Errorf("%s hit@1 = %.2f, want >= %.2f", mode, r, f.hit)
		}
		if r := float64(all.refused) / float64(all.refusable); r < f.refusals {
			t.Errorf("%s refusals = %.2f, want >= %.2f", mode, r, f.refusals)
		}
		if all.wrongLang > 3 {
			t.Errorf("%s wrong-language answers = %d, want <= 3", mode, all.wrongLang)
		}
		for _, lang := range []string{"en", "es", "fr", "ca"} {
			s := get(mode, "old", lang)
			if r := float64(s.hits) / float64(s.answerable); r < f.lang {
				t.Errorf("%s hit@1 in %s = %.2f, want >= %.2f", mode, lang, r, f.lang)
			}
		}
	}
	// The development set is tuned on (docs/knowledge-base.md): its floors, below its figures,
	// catch a regression of the methods measured on it.
	dev := get("offline", "dev", "all")
	if dev.n > 0 {
		if float64(dev.hits) < 0.55*float64(dev.answerable) {
			t.Errorf("dev set: hit@1 %d/%d, want >= 0.55", dev.hits, dev.answerable)
		}
		if dev.noFindTalk > 0 {
			t.Errorf("dev set: small talk answered \"I couldn't find\" %d times, want 0", dev.noFindTalk)
		}
		// 70%: "qué tiempo hará mañana en Madrid" (the weather) was refused only because "mañana"
		// made it a goodbye, and is now offered the delivery-times article as a weak match; "mon
		// code promo ne marche pas" is offered the discounts article (index.go, foreign).
		if float64(dev.refused) < 0.7*float64(dev.refusable) {
			t.Errorf("dev set: %d/%d unanswerable refused, want >= 70%%", dev.refused, dev.refusable)
		}
		if dev.wrongLang > 0 {
			t.Errorf("dev set: %d wrong-language answers, want 0", dev.wrongLang)
		}
	}
	// The four development sets together (tuned on): floors below their figures of 2026-12-07
	// (hit@1 0.83, refused 123/139, false answers 1.7%, no wrong-language answer with the
	// visitor's browser language or an English one).
	var devAll evalStats
	for _, set := range []string{"dev", "dev2", "dev3", "dev4"} {
		s := get("offline", set, "all")
		devAll.n += s.n
		devAll.hits += s.hits
		devAll.answerable += s.answerable
		devAll.refused += s.refused
		devAll.refusable += s.refusable
		devAll.falseAnswers += s.falseAnswers
		devAll.wrongLang += s.wrongLang + get("offline-en", set, "all").wrongLang
	}
	if devAll.n > 0 {
		t.Logf("development sets together: hit@1 %d/%d, refused %d/%d, false answers %d/%d, wrong language %d",
			devAll.hits, devAll.answerable, devAll.refused, devAll.refusable, devAll.falseAnswers, devAll.n, devAll.wrongLang)
		if float64(devAll.hits) < 0.78*float64(devAll.answerable) {
			t.Errorf("development sets: hit@1 %d/%d, want >= 0.78", devAll.hits, devAll.answerable)
		}
		if float64(devAll.refused) < 0.82*float64(devAll.refusable) {
			t.Errorf("development sets: %d/%d unanswerable refused, want >= 82%%", devAll.refused, devAll.refusable)
		}
		if float64(devAll.falseAnswers) > 0.03*float64(devAll.n) {
			t.Errorf("development sets: %d/%d false answers, want <= 3%%", devAll.falseAnswers, devAll.n)
		}
		if devAll.wrongLang > 1 {
			t.Errorf("development sets: %d wrong-language answers (browser language or English), want <= 1", devAll.wrongLang)
		}
	}
	// The frozen set is never tuned on; these floors, well below its figures, only catch a
	// regression of what issue 20 built (conversation, refusals, language).
	ind := get("offline", "independent", "all")
	if ind.n > 0 {
		if ind.noFindTalk > 2 {
			t.Errorf("independent set: small talk answered \"I couldn't find\" %d times, want <= 2", ind.noFindTalk)
		}
		if float64(ind.refused) < 0.85*float64(ind.refusable) {
			t.Errorf("independent set: %d/%d unanswerable refused, want >= 85%%", ind.refused, ind.refusable)
		}
		if ind.wrongLang > 2 {
			t.Errorf("independent set: %d wrong-language answers, want <= 2", ind.wrongLang)
		}
		if float64(ind.hits) < 0.6*float64(ind.answerable) {
			t.Errorf("independent set: hit@1 %d/%d, want >= 0.6", ind.hits, ind.answerable)
		}
		// Issue 20's targets, met on 2026-12-07 (docs/knowledge-base.md, sixth round): hit@1 at
		// least 0.85 in each language, false answers at most 3%, unanswerable questions refused
		// at least 90%, no wrong-language answer, small talk never "I couldn't find".
		for _, lang := range []string{"en", "es", "fr", "ca"} {
			if s := get("offline", "independent", lang); float64(s.hits) < 0.85*float64(s.answerable) {
				t.Errorf("independent set: hit@1 in %s %d/%d, want >= 0.85 (issue 20)", lang, s.hits, s.answerable)
			}
		}
		if float64(ind.falseAnswers) > 0.03*float64(ind.n) {
			t.Errorf("independent set: %d/%d false answers, want <= 3%% (issue 20)", ind.falseAnswers, ind.n)
		}
		if float64(ind.refused) < 0.9*float64(ind.refusable) {
			t.Errorf("independent set: %d/%d unanswerable refused, want >= 90%% (issue 20)", ind.refused, ind.refusable)
		}
		if ind.wrongLang > 0 || ind.noFindTalk > 0 {
			t.Errorf("independent set: %d wrong-language answers, small talk %d times \"I couldn't find\", want none (issue 20)",
				ind.wrongLang, ind.noFindTalk)
		}
	}
	// The conversation sets (dev10, dev11; tuned on): small talk is conversation, at most a few
	// messages of 270 searched.
	for _, set := range []string{"dev10", "dev11"} {
		if s := get("offline", set, "all"); s.smalltalk > 0 && float64(s.smalltalkOK) < 0.95*float64(s.smalltalk) {
			t.Errorf("%s: small talk handled %d/%d, want >= 95%%", set, s.smalltalkOK, s.smalltalk)
		}
	}
}
