package scenario

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the source of the default scenario, a starting point for writing one's own.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// DefaultLanguages are the languages the default scenario has texts for.
var DefaultLanguages = []string{"en", "es", "ca", "fr"}

// nativeNames label the default language picker's buttons.
var nativeNames = map[string]string{
	"en": "English", "es": "Español", "ca": "Català", "fr": "Français", "de": "Deutsch",
	"it": "Italiano", "pt": "Português", "nl": "Nederlands", "eu": "Euskara", "gl": "Galego",
	"pl": "Polski", "sv": "Svenska", "da": "Dansk", "nb": "Norsk bokmål", "fi": "Suomi",
	"ro": "Română", "cs": "Čeština", "tr": "Türkçe", "ru": "Русский", "uk": "Українська",
	"ar": "العربية", "zh": "中文", "ja": "日本語", "ko": "한국어",
}

// Default returns the default scenario for the given languages (DefaultLanguages when none): ask the
// email with a field unless it is known, store it in the conversation's meta; ask the language with
// a picker offering the languages by their native names, store it in session data "language" and
// as the conversation language; thank the visitor; start the assistant. Languages without built-in
// texts use the English ones; malformed and repeated language codes are dropped.
func Default(languages []string) *Program {
	var langs []string
	for _, l := range languages {
		n := normLang(l)
		if n != "" && strings.Trim(n, "abcdefghijklmnopqrstuvwxyz") == "" && len(n) <= 8 && !slices.Contains(langs, n) {
			langs = append(langs, n)
		}
	}
	if len(langs) == 0 {
		langs = DefaultLanguages
	}
	g, err := Parse(defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("scenario: default scenario: %v", err))
	}
	g.Languages = langs
	keep := func(t Text) Text {
		if len(t) == 0 || t[""] != "" {
			return t
		}
		out := Text{}
		for _, l := range langs {
			if v, ok := t[l]; ok {
				out[l] = v
			} else {
				out[l] = t["en"]
			}
		}
		return out
	}
	for i := range g.Blocks {
		b := &g.Blocks[i]
		b.Text, b.Explain, b.Invalid = keep(b.Text), keep(b.Explain), keep(b.Invalid)
		if b.ID == "ask_language" {
			b.Choices = nil
			for _, l := range langs {
				label, ok := nativeNames[l]
				if !ok {
					label = strings.ToUpper(l)
				}
				b.Choices = append(b.Choices, ChoiceSpec{Value: l, Label: Text{"": label}})
			}
		}
	}
	p, err := Compile(g)
	if err != nil {
		panic(fmt.Sprintf("scenario: default scenario: %v", err))
	}
	return p
}
