package assistant

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// oldBuildLexicon is the former compilation of lexiconSource, kept as the reference: words a map
// of its own, built like byFold.
func oldBuildLexicon() *lexicon {
	lx := &lexicon{byStem: map[string][]string{}, byFold: map[string][]string{}, phrases: map[string][][]string{}, words: map[string][]string{}}
	add := func(m map[string][]string, k, tok string) {
		for _, t := range m[k] {
			if t == tok {
				return
			}
		}
		m[k] = append(m[k], tok)
	}
	for _, c := range lexiconSource {
		tok := conceptToken(c.concept)
		for lang, list := range c.words {
			a := analyzerFor(lang)
			for _, entry := range strings.Split(list, ",") {
				ws := lowerWords(strings.TrimSpace(entry))
				switch {
				case len(ws) == 0:
				case len(ws) == 1:
					if !strings.HasPrefix(strings.TrimSpace(entry), "=") {
						add(lx.byStem, lang+"\x00"+a.term(ws[0]), tok)
					}
					add(lx.byFold, Fold(ws[0]), tok)
					add(lx.words, Fold(ws[0]), tok)
				default:
					p := make([]string, 0, len(ws)+1)
					for _, w := range ws {
						p = append(p, Fold(w))
					}
					lx.phrases[p[0]] = append(lx.phrases[p[0]], append(p, tok))
				}
			}
		}
	}
	return lx
}

// The lexicon holds the same words, stems, phrases and concepts as the former one, whose words
// map was a copy of byFold; concepts and phraseConcepts give the same answers for every word of
// the lexicon in every language.
func TestLexiconSameAsBefore(t *testing.T) {
	old, cur := oldBuildLexicon(), buildLexicon()
	sameMap := func(name string, got, want map[string][]string) {
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, want %d", name, len(got), len(want))
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || !slices.Equal(g, w) {
				t.Errorf("%s[%q] = %q, want %q", name, k, g, w)
			}
		}
	}
	sameMap("byStem", cur.byStem, old.byStem)
	sameMap("byFold", cur.byFold, old.byFold)
	sameMap("words", cur.words, old.words)
	// Phrases of one first word come in the order of a map's iteration (the languages of a
	// concept), in both: compared as sets.
	if len(cur.phrases) != len(old.phrases) {
		t.Errorf("phrases: %d first words, want %d", len(cur.phrases), len(old.phrases))
	}
	join := func(ps [][]string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strings.Join(p, " "))
		}
		slices.Sort(out)
		return out
	}
	for k, want := range old.phrases {
		if got := cur.phrases[k]; !slices.Equal(join(got), join(want)) {
			t.Errorf("phrases[%q] = %q, want %q", k, got, want)
		}
	}

	n := 0
	langs := append(slices.Clone(KBLanguages), "", "es-ES", "xx")
	for _, w := range slices.Sorted(maps.Keys(old.byFold)) {
		for _, lang := range langs {
			st := analyzerFor(lang).term(w)
			if got, want := cur.concepts(lang, w, st), old.concepts(lang, w, st); !slices.Equal(got, want) {
				t.Errorf("concepts(%q, %q, %q) = %q, want %q", lang, w, st, got, want)
			}
			n++
		}
	}
	for _, ps := range old.phrases {
		for _, p := range ps {
			folded := append([]string{"x"}, p[:len(p)-1]...)
			gt, gs := cur.phraseConcepts(folded, 1)
			wt, ws := old.phraseConcepts(folded, 1)
			// The order of phrases of one first word is a map's: compare token and span pairs as sets.
			pairs := func(toks []string, spans []int) []string {
				var out []string
				for i := range toks {
					out = append(out, toks[i]+" "+strings.Repeat("+", spans[i]))
				}
				slices.Sort(out)
				return out
			}
			if !slices.Equal(pairs(gt, gs), pairs(wt, ws)) {
				t.Errorf("phraseConcepts(%q) = %q %v, want %q %v", folded, gt, gs, wt, ws)
			}
			n++
		}
	}
	t.Logf("%d look-ups compared", n)
}
