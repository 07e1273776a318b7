package assistant

import (
	"slices"
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

// Spanish "correo" (mail, email) and "correos" (the post office) share a stem: the email concept
// comes from phrases ("mi correo", "correo electrónico"), so that the post office of a returns
// article is no email address ("¿cómo cambio el email de mi cuenta?" cited how to return an order);
// the same in Catalan ("correu", "correus").
func TestPostOfficeIsNoEmail(t *testing.T) {
	has := func(lang, text, tok string) bool {
		for _, g := range analyzeText(text, []string{lang}, nil) {
			if slices.Contains(g.terms, tok) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		lang, text string
		email      bool
	}{
		{"es", "Lleva el paquete a cualquier oficina de correos.", false},
		{"ca", "Porta el paquet a qualsevol oficina de correus.", false},
		{"es", "no me llega el correo para confirmar la cuenta", true},
		{"es", "cambiar mi correo electrónico", true},
		{"ca", "he canviat el meu correu", true},
	} {
		if got := has(c.lang, c.text, "~email"); got != c.email {
			t.Errorf("%q: email concept %v, want %v", c.text, got, c.email)
		}
	}
}
