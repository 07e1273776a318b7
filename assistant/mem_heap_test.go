package assistant

import (
	"testing"
)

// BenchmarkMemoryHeap reports the heap each of the assistant's large structures holds once built
// (MB-heap; make bench, or go test -run '^$' -bench MemoryHeap ./assistant/). The figures are in
// the doc comments of the structures.
func BenchmarkMemoryHeap(b *testing.B) {
	kb, err := LoadKnowledgeBase("testdata/kb-demo")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		load func() any
	}{
		{"thesaurus", func() any { return loadThesaurus() }},
		{"thesaurusWords", func() any { return loadThesaurusWords() }},
		{"places", func() any { return loadPlaces() }},
		{"lexicon", func() any { return buildLexicon() }},
		{"lexicon, former", func() any { return oldBuildLexicon() }},
		{"typos of kb-demo", func() any {
			ti := newTypoIndex()
			for w := range kb.idx.vocab {
				ti.add(w)
			}
			ti.freeze()
			return ti
		}},
		{"turn typos", func() any {
			ti := newTypoIndex()
			for w := range turnIndex {
				ti.add(w)
			}
			ti.freeze()
			return ti
		}},
		{"index of kb-demo", func() any { return buildIndex(kb.idx.docs) }},
	} {
		benchHeap(b, c.name, c.load)
	}
}
