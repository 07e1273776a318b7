package assistant

import (
	"bufio"
	"compress/gzip"
	"io"
	"path"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// oldThesaurus is the former loading of thesaurus(), kept as the reference the compact tables are
// checked against: language -> stem of a headword -> its synonyms, lines whose heads share a stem
// merged in file order.
func oldThesaurus() map[string]map[string]string {
	out := map[string]map[string]string{}
	entries, _ := thesaurusFiles.ReadDir("thesaurus")
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt.gz")
		if !ok {
			continue
		}
		text, err := oldReadThesaurus(e.Name())
		if err != nil {
			continue
		}
		a := analyzerFor(lang)
		m := map[string]string{}
		for line := range strings.Lines(text) {
			head, syns, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "|")
			if !ok || syns == "" {
				continue
			}
			st := a.term(head)
			if prev, dup := m[st]; dup {
				syns = prev + "|" + syns
			}
			m[st] = syns
		}
		out[lang] = m
	}
	return out
}

// oldReadThesaurus is the former readThesaurus (the text grown as it came), for oldThesaurus's
// load time.
func oldReadThesaurus(name string) (string, error) {
	f, err := thesaurusFiles.Open(path.Join("thesaurus", name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	var sb strings.Builder
	if _, err := io.Copy(&sb, zr); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// oldThesaurusWords is the former loading of thesaurusWords(): language -> folded headwords.
func oldThesaurusWords() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	entries, _ := thesaurusFiles.ReadDir("thesaurus")
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt.gz")
		if !ok {
			continue
		}
		f, err := thesaurusFiles.Open(path.Join("thesaurus", e.Name()))
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		m := map[string]bool{}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			head, _, _ := strings.Cut(sc.Text(), "|")
			m[Fold(head)] = true
		}
		zr.Close()
		f.Close()
		out[lang] = m
	}
	return out
}

// oldDictionaryLanguage is the former dictionaryLanguage over oldThesaurusWords.
func oldDictionaryLanguage(words map[string]map[string]bool, folded string) string {
	found := ""
	for lang, m := range words {
		if m[folded] {
			if found != "" {
				return ""
			}
			found = lang
		}
	}
	return found
}

// oldSynonymTerms is the former synonymTerms over a map of oldThesaurus.
func oldSynonymTerms(idx *index, thes map[string]map[string]string, lang, word string) []string {
	th := thes[primaryTag(lang)]
	if th == nil {
		return nil
	}
	a := analyzerFor(lang)
	var out []string
	for syn := range strings.SplitSeq(th[a.term(word)], "|") {
		if syn == "" {
			continue
		}
		t := a.term(syn)
		if len(idx.postings[t]) > 0 {
			out = append(out, t)
		}
		for _, c := range kbLexicon.concepts(lang, syn, t) {
			if len(idx.postings[c]) > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// thesaurusHeads returns the headwords of each embedded thesaurus, in file order.
func thesaurusHeads(t testing.TB) map[string][]string {
	heads := map[string][]string{}
	for lang, text := range thesaurusTexts() {
		for line := range strings.Lines(text) {
			head, _, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "|")
			heads[lang] = append(heads[lang], head)
		}
	}
	if len(heads) != 4 {
		t.Fatalf("thesauri of %d languages, want 4", len(heads))
	}
	return heads
}

// The compact thesaurus gives every stem of the four languages the synonyms the former loading
// gave, in the same order, and synonymTerms gives the same terms for every headword and stem.
func TestThesaurusSameAsBefore(t *testing.T) {
	old, cur := oldThesaurus(), loadThesaurus()
	if len(cur) != len(old) {
		t.Fatalf("%d languages, want %d", len(cur), len(old))
	}
	for lang, om := range old {
		cm := cur[lang]
		if cm.len() != len(om) {
			t.Errorf("%s: %d stems, want %d", lang, cm.len(), len(om))
		}
		for st, syns := range om {
			at, ok := cm.find(st)
			if got := cm.synonymsAt(at); !ok || got != syns {
				t.Errorf("%s %q: %q, want %q", lang, st, got, syns)
			}
			// Through thesaurus() and the language tags a caller may pass.
			for _, tag := range []string{lang, strings.ToUpper(lang) + "-XX"} {
				if got := synonyms(tag, st); got != syns {
					t.Errorf("synonyms(%q, %q) = %q, want %q", tag, st, got, syns)
				}
				if !hasSynonyms(tag, st) {
					t.Errorf("hasSynonyms(%q, %q) = false", tag, st)
				}
			}
		}
		// The stems in between and around are not in the table (the stems are unique, so with
		// the same count every stem of the table is one of the old ones).
		for _, st := range []string{"", "\x00", "~", "\xff", "zzzzzz", "aaaa"} {
			_, want := om[st]
			if _, got := cm.find(st); got != want {
				t.Errorf("%s: find(%q) = %v, want %v", lang, st, got, want)
			}
			if got := synonyms(lang, st); got != om[st] {
				t.Errorf("synonyms(%q, %q) = %q, want %q", lang, st, got, om[st])
			}
		}
		for st := range om {
			for _, x := range []string{st + "\x00", st[:len(st)/2], st + "zz"} {
				if got := synonyms(lang, x); got != om[x] {
					t.Errorf("synonyms(%q, %q) = %q, want %q", lang, x, got, om[x])
				}
				if _, want := om[x]; hasSynonyms(lang, x) != want {
					t.Errorf("hasSynonyms(%q, %q) = %v, want %v", lang, x, !want, want)
				}
			}
		}
	}
	for _, lang := range []string{"", "de", "pt", "xx"} {
		if got := synonyms(lang, "delet"); got != "" || hasSynonyms(lang, "delet") {
			t.Errorf("synonyms(%q, \"delet\") = %q, want none", lang, got)
		}
	}

	// An index with postings for most of the terms and concepts the synonyms lead to (a third
	// left out, so that the filter is exercised too).
	idx := &index{postings: map[string][]posting{}}
	for lang, om := range old {
		a := analyzerFor(lang)
		for _, syns := range om {
			for syn := range strings.SplitSeq(syns, "|") {
				tm := a.term(syn)
				for _, k := range append([]string{tm}, kbLexicon.concepts(lang, syn, tm)...) {
					if len(k)%3 != 0 {
						idx.postings[k] = []posting{{}}
					}
				}
			}
		}
	}
	same := func(lang, word string) {
		got, want := idx.synonymTerms(lang, word), oldSynonymTerms(idx, old, lang, word)
		if !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("synonymTerms(%q, %q) = %q, want %q", lang, word, got, want)
		}
	}
	n := 0
	for lang, heads := range thesaurusHeads(t) {
		for _, h := range heads {
			same(lang, h)
			n++
		}
		for st := range old[lang] {
			same(lang, st)
			n++
		}
	}
	for _, lang := range []string{"es-ES", "fr_FR", "EN", "de", "pt", ""} {
		for _, w := range []string{"borrar", "effacer", "erase", "esborrar", "factura", "löschen", "", "xqzv"} {
			same(lang, w)
			n++
		}
	}
	t.Logf("%d calls of synonymTerms compared", n)
}

// dictionaryLanguage gives for every headword of the four languages (folded, and as written) the
// language the former maps gave, and "" for words of no thesaurus or of several.
func TestDictionaryLanguageSameAsBefore(t *testing.T) {
	old := oldThesaurusWords()
	words := []string{"", "xqzv", "suscripcion", "arribat", "oublie", "löschen", "zzzzzz", "a", "aaaa"}
	for _, heads := range thesaurusHeads(t) {
		for _, h := range heads {
			words = append(words, Fold(h), h, h+"x", Fold(h)[:len(Fold(h))/2])
		}
	}
	none, several := 0, 0
	for _, w := range words {
		want := oldDictionaryLanguage(old, w)
		if got := dictionaryLanguage(w); got != want {
			t.Errorf("dictionaryLanguage(%q) = %q, want %q", w, got, want)
		}
		if want == "" {
			n := 0
			for _, m := range old {
				if m[w] {
					n++
				}
			}
			if n > 1 {
				several++
			} else {
				none++
			}
		}
	}
	t.Logf("%d words compared, %d of no thesaurus, %d of several", len(words), none, several)
	if several == 0 {
		t.Error("no word of several thesauri compared")
	}
}

// heapOf returns the heap the result of load holds (live after a collection, against before the
// call) and the time load took.
func heapOf[T any](load func() T) (mb float64, took time.Duration) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	v := load()
	took = time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20), took
}

// benchHeap runs a sub-benchmark reporting the heap that load's result holds (MB-heap).
func benchHeap(b *testing.B, name string, load func() any) {
	b.Run(name, func(b *testing.B) {
		var mb float64
		for b.Loop() {
			mb, _ = heapOf(load)
		}
		b.ReportMetric(mb, "MB-heap")
	})
}

// thesaurusLoaders load the thesaurus structures, former and current.
var thesaurusLoaders = []struct {
	name string
	load func() any
}{
	{"thesaurus/old", func() any { return oldThesaurus() }},
	{"thesaurus/new", func() any { return loadThesaurus() }},
	{"words/old", func() any { return oldThesaurusWords() }},
	{"words/new", func() any { return loadThesaurusWords() }},
}

// BenchmarkThesaurusHeap reports the heap of the thesaurus structures, former and current
// (MB-heap).
func BenchmarkThesaurusHeap(b *testing.B) {
	for _, c := range thesaurusLoaders {
		benchHeap(b, c.name, c.load)
	}
}

// BenchmarkThesaurusLoad times the loading of the thesaurus structures, former and current.
func BenchmarkThesaurusLoad(b *testing.B) {
	for _, c := range thesaurusLoaders {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(c.load())
			}
		})
	}
}
