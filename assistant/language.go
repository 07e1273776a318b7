package assistant

import (
	"maps"
	"slices"
	"strings"
)

// ResolveLanguage picks the answer language: the conversation's data language (a code such as
// "es-ES" or a name such as "Español"/"Spanish", as a language picker may store), then the visitor's
// browser locales in order, then the website default; the first one that is supported wins. With
// supported empty every language is. It falls back to websiteDefault, then supported[0], then "en".
// The result is a lowercase primary subtag ("es").
func ResolveLanguage(dataLanguage string, locales []string, websiteDefault string, supported []string) string {
	sup := make([]string, 0, len(supported))
	for _, s := range supported {
		if c := languageCode(s); c != "" {
			sup = append(sup, c)
		}
	}
	ok := func(c string) bool { return c != "" && (len(sup) == 0 || slices.Contains(sup, c)) }
	cands := append([]string{dataLanguage}, locales...)
	cands = append(cands, websiteDefault)
	for _, cand := range cands {
		if c := languageCode(cand); ok(c) {
			return c
		}
	}
	if c := languageCode(websiteDefault); c != "" {
		return c
	}
	if len(sup) > 0 {
		return sup[0]
	}
	return "en"
}

// languageCode turns a tag or a language name into a primary subtag, "" when it is neither.
func languageCode(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if c, ok := languageByName[Fold(s)]; ok {
		return c
	}
	c := primaryTag(s)
	if len(c) < 2 || len(c) > 3 {
		return ""
	}
	for _, r := range c {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return c
}

// languageByName maps folded English and native language names to codes.
var languageByName = func() map[string]string {
	m := map[string]string{}
	for code, name := range languageNames {
		m[Fold(name)] = code
	}
	for code, t := range defaultStrings {
		m[Fold(t[StrLanguage])] = code
	}
	for name, code := range map[string]string{
		"castellano": "es", "espanol": "es", "catala": "ca", "francais": "fr", "anglais": "en",
		"ingles": "en", "angles": "en", "deutsch": "de", "italiano": "it", "portugues": "pt",
	} {
		m[name] = code
	}
	return m
}()

// DefaultHumanPhrases are the built-in phrases by which a visitor asks for a human, per language.
// Matching is on folded words, so accents and case do not matter.
var DefaultHumanPhrases = map[string][]string{
	"en": {"talk to a human", "speak to a human", "talk to a person", "speak to a person",
		"talk to someone", "speak to someone", "speak with someone", "talk with someone",
		"real person", "human agent", "live agent", "a human please", "an agent please",
		"customer service representative", "talk to an agent", "speak to an agent", "speak to a representative"},
	"es": {"hablar con una persona", "hablar con un humano", "hablar con alguien", "hablar con un agente",
		"persona real", "agente humano", "un humano por favor", "una persona por favor",
		"hablar con un operador", "atencion al cliente humana"},
	"ca": {"parlar amb una persona", "parlar amb un huma", "parlar amb algu", "parlar amb un agent",
		"persona real", "agent huma", "una persona si us plau", "parlar amb un operador"},
	"fr": {"parler a un humain", "parler a une personne", "parler a quelqu un", "parler avec quelqu un",
		"parler a un conseiller", "parler a un agent", "vraie personne", "agent humain",
		"un humain s il vous plait", "parler a un operateur"},
}

// phraseMatcher finds configured phrases in messages as whole folded word sequences.
type phraseMatcher [][]string

func newPhraseMatcher(byLang map[string][]string) phraseMatcher {
	var m phraseMatcher
	langs := slices.Sorted(maps.Keys(byLang))
	for _, lang := range langs {
		for _, p := range byLang[lang] {
			if w := words(p); len(w) > 0 {
				m = append(m, w)
			}
		}
	}
	return m
}

// match returns the first phrase found in text, joined by spaces, or "".
func (m phraseMatcher) match(text string) string {
	ws := words(text)
	for _, p := range m {
		for i := 0; i+len(p) <= len(ws); i++ {
			if slices.Equal(ws[i:i+len(p)], p) {
				return strings.Join(p, " ")
			}
		}
	}
	return ""
}
