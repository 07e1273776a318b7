package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// GreetingConfig is a website's proactive greeting (docs/greeting.md): the assistant writes first
// to a visitor who has been on a matching page for Delay without writing, once per conversation,
// only while the assistant is on in it (never over a human, never before a wait_for_signal start).
//
//	greeting:
//	  text: {en: "Hi! Questions about our plans? Ask me.", es: "¡Hola! ¿Dudas sobre los planes?"}
//	  delay: 15s
//	  pages: ["https://shop.example/pricing*", "*/checkout/*"]
type GreetingConfig struct {
	Text  LocalText     `yaml:"text"`  // per language, or a plain string for every language
	Delay time.Duration `yaml:"delay"` // time on the page before the greeting (0: at once)
	Pages []string      `yaml:"pages"` // URL patterns, "*" matches anything; empty: every page
}

// greetValue is the session data value the website snippet's greet() writes.
const greetValue = "greet_chatbot"

func (c Config) validateGreeting(p string, w WebsiteConfig) []error {
	g := w.Greeting
	if g == nil {
		return nil
	}
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, c.fieldProblem(field, fmt.Sprintf(format, a...)))
	}
	f := p + ".greeting"
	if len(g.Text) == 0 {
		bad(f+".text", "is required: the greeting, per language or one text for every language")
	}
	for lang, text := range g.Text {
		if lang != "" && !langRe.MatchString(lang) {
			bad(f+".text", "%q is not a language code such as en", lang)
		}
		if strings.TrimSpace(text) == "" {
			bad(f+".text", "the %s greeting is empty", orAll(lang))
		}
	}
	if g.Delay < 0 || g.Delay > 10*time.Minute {
		bad(f+".delay", "must be between 0 and 10m, got %s", g.Delay)
	}
	for i, pat := range g.Pages {
		if strings.TrimSpace(pat) == "" || strings.ContainsAny(pat, " \t\n") {
			bad(f+".pages", "pattern %d must be a URL pattern without spaces such as https://shop.example/pricing*, got %q", i+1, pat)
		}
	}
	return errs
}

// greeting builds the bridge's greeting of a website (nil without one).
func greeting(w WebsiteConfig) *bridge.Greeting {
	g := w.Greeting
	if g == nil {
		return nil
	}
	def := w.Language
	return &bridge.Greeting{Delay: g.Delay, Pages: g.Pages, Value: greetValue, Text: func(lang string) string {
		for _, l := range []string{primaryLang(lang), "", def} {
			if t, ok := g.Text[l]; ok {
				return t
			}
		}
		keys := make([]string, 0, len(g.Text))
		for k := range g.Text {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(keys) == 0 {
			return ""
		}
		return g.Text[keys[0]]
	}}
}

func primaryLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}
