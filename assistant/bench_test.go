package assistant_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
)

// benchKB builds a knowledge base of a few hundred chunks: the FAQ fixture eight times over, each
// copy with its own product name so that copies compete with each other.
func benchKB(tb testing.TB) *assistant.KnowledgeBase {
	tb.Helper()
	files := map[string]string{}
	for _, lang := range []string{"en", "es"} {
		dir := filepath.Join("testdata", "faq", lang)
		entries, err := os.ReadDir(dir)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				tb.Fatal(err)
			}
			for copy := range 8 {
				name := fmt.Sprintf("copy%d/%s/%s", copy, lang, e.Name())
				files[name] = strings.ReplaceAll(string(b), "Nimbus", fmt.Sprintf("Product%d", copy))
			}
		}
	}
	return assistant.NewKnowledgeBase(files)
}

func BenchmarkSearch(b *testing.B) {
	kb := benchKB(b)
	queries := make([]string, len(faqQuestions))
	for i, q := range faqQuestions {
		queries[i] = q.q
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if len(kb.Search(queries[i%len(queries)], 3)) == 0 {
			b.Fatal("no result")
		}
	}
	b.ReportMetric(float64(kb.Len()), "chunks")
}

func BenchmarkLoadKnowledgeBase(b *testing.B) {
	for b.Loop() {
		if _, err := assistant.LoadKnowledgeBase("testdata/faq"); err != nil {
			b.Fatal(err)
		}
	}
}
