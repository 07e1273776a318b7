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

// Terms returns the search terms of s: folded words without stop words (English, Spanish, Catalan,
// French), lightly stemmed. Queries and documents go through the same function.
func Terms(s string) []string {
	ws := words(s)
	out := ws[:0]
	for _, w := range ws {
		if _, stop := stopWords[w]; stop {
			continue
		}
		if len(w) == 1 && !unicode.IsDigit(rune(w[0])) {
			continue
		}
		out = append(out, stem(w))
	}
	return out
}

// stemSuffixes are stripped longest first, at most twice, keeping a stem of at least three bytes.
// The list is deliberately language-agnostic and light: plurals, common verb and adverb endings of
// en/es/ca/fr, and final vowels (so "envio", "enviar" and "envios" meet at "envi").
var stemSuffixes = []string{
	"aciones", "amente", "ations", "ciones", "mente", "ation", "acion", "ement", "amos", "emos",
	"imos", "ados", "idos", "cion", "ment", "ings", "ais", "eis", "ado", "ido", "ing", "edly", "ies",
	"es", "ed", "ly", "an", "s", "ar", "er", "ir", "y", "o", "a", "e",
}

// maxStem truncates long stems: prefix matching that conflates derived forms in any language.
const maxStem = 7

func stem(w string) string {
	if w[0] >= '0' && w[0] <= '9' {
		return w
	}
	// Spanish stem-changing verbs diphthongise o -> ue under stress ("devolver", "devuelvo";
	// "poder", "puedo"): fold the diphthong back. Harmless for other languages, as documents and
	// queries fold alike.
	if len(w) >= 5 {
		if i := strings.Index(w[:len(w)-2], "ue"); i > 0 {
			w = w[:i] + "o" + w[i+2:]
		}
	}
	for pass := 0; pass < 2; pass++ {
		stripped := false
		for _, suf := range stemSuffixes {
			if len(w)-len(suf) >= 3 && strings.HasSuffix(w, suf) {
				w = w[:len(w)-len(suf)]
				stripped = true
				break
			}
		}
		if !stripped {
			break
		}
	}
	if utf8.RuneCountInString(w) > maxStem {
		n := 0
		for i := range w {
			if n == maxStem {
				return w[:i]
			}
			n++
		}
	}
	return w
}

// stopWords holds folded stop words of English, Spanish, Catalan and French.
var stopWords = func() map[string]struct{} {
	lists := []string{
		// English
		`a an and are as at be been but by can could did do does for from had has have how i if in into
		is it its me my no not of on or our please should so than that the their them then there these
		they this to was we were what when where which who why will with would you your yours hi hello
		thanks thank about any get i'm im am us also just want need know tell`,
		// Spanish
		`el la los las un una unos unas y o u de del al a en con por para que como cual cuando donde
		quien es son esta estan este esto ese eso se su sus mi mis tu tus yo me te le les lo nos hay
		ser estar fue muy mas pero si no ya hola gracias puedo puede quiero necesito hacer tengo`,
		// Catalan
		`el la els les un una uns unes i o de del dels al als a en amb per que com quan on qui es son
		aquest aquesta aixo aquell se seu seva meu meva teu jo em et li ens hi ha fer molt mes pero si
		no ja hola gracies puc pot vull necessito tinc`,
		// French
		`le la les un une des et ou de du au aux a en avec par pour que qui quoi comment quand ou est
		sont ce cet cette ces se sa son ses mon ma mes ton ta tes je me te lui nous vous il elle ils
		elles on ne pas plus mais si oui non bonjour merci peux peut veux faire ai suis j l d qu n s c`,
	}
	m := map[string]struct{}{}
	for _, l := range lists {
		for _, w := range strings.Fields(l) {
			m[Fold(w)] = struct{}{}
		}
	}
	return m
}()

// EstimateTokens estimates the model tokens of s: about four characters a token, the usual rule
// of thumb for BPE tokenizers on European languages. It is used to trim history, never to bill.
func EstimateTokens(s string) int {
	n := utf8.RuneCountInString(s)
	return (n + 3) / 4
}
