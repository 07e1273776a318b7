package assistant

import (
	"strings"
	"testing"
)

// Words split at apostrophes leave the pieces of contractions ("you're" -> "you", "re"): the stop
// words' contractions stop their pieces, so "re", "ve", "ll", "don" and "isn" weigh nothing.
func TestContractionPiecesAreStopWords(t *testing.T) {
	for _, c := range []struct{ lang, text, want string }{
		{"en", "is shipping free when you're on a subscription", "shipping free subscription"},
		{"en", "we've moved, it'll arrive late? I don't know, isn't it lost", "moved arrive late lost"},
		{"fr", "jusqu'à quand je peux retourner", "retourner"},
	} {
		var got []string
		for _, g := range analyzeText(c.text, []string{c.lang}, nil) {
			got = append(got, g.word)
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("%q: content words %q, want %q", c.text, s, c.want)
		}
	}
}
