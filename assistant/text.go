package assistant

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fold lowercases s and removes accents and other diacritics ("Envío" -> "envio", "Ça" -> "ca",
// "col·lecció" -> "colleccio"), so that matching does not depend on how a visitor types. Letters
// without a plain Latin base are kept lowercased.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		if unicode.Is(unicode.Mn, r) || r == '\u00b7' { // combining marks; Catalan middle dot (l·l)
			continue
		}
		if f, ok := foldTable[unicode.ToLower(r)]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// foldTable maps accented lowercase Latin letters (Latin-1 and the common Latin Extended-A ones) to
// their base letters.
var foldTable = func() map[rune]string {
	m := map[rune]string{}
	add := func(base string, letters string) {
		for _, r := range letters {
			m[r] = base
		}
	}
	add("a", "àáâãäåāăą")
	add("c", "çćĉċč")
	add("d", "ďđ")
	add("e", "èéêëēĕėęě")
	add("g", "ĝğġģ")
	add("h", "ĥħ")
	add("i", "ìíîïĩīĭįı")
	add("j", "ĵ")
	add("k", "ķ")
	add("l", "ĺļľŀł")
	add("n", "ñńņňŉ")
	add("o", "òóôõöøōŏő")
	add("r", "ŕŗř")
	add("s", "śŝşš")
	add("t", "ţťŧ")
	add("u", "ùúûüũūŭůűų")
	add("w", "ŵ")
	add("y", "ýÿŷ")
	add("z", "źżž")
	m['æ'] = "ae"
	m['œ'] = "oe"
	m['ß'] = "ss"
	m['þ'] = "th"
	m['ð'] = "d"
	return m
}()

// words splits s into folded words: runs of Unicode letters and digits. Apostrophes and all other
// punctuation separate words ("l'envoi" -> "l", "envoi").
func words(s string) []string {
	f := Fold(s)
	return strings.FieldsFunc(f, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// EstimateTokens estimates the model tokens of s: about four characters a token, the usual rule
// of thumb for BPE tokenizers on European languages. It is used to trim history, never to bill.
func EstimateTokens(s string) int {
	n := utf8.RuneCountInString(s)
	return (n + 3) / 4
}
