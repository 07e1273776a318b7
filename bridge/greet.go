package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

// JournalGreet is a proactive greeting: Message is the greeting, NextAt when it is due (the page
// view plus the website's delay). At its time it is posted only if the conversation is still the
// assistant's and nobody (visitor, operator) has written in it.
const JournalGreet = "greet"

// greetedKey marks, in the conversation's stored data, that it was greeted (Unix ms): once per
// conversation. It is kept by the bridge only, never written to Crisp.
const greetedKey = "sb_greeted"

// Greeting is a website's proactive greeting: the assistant writes first to a visitor who has not
// written yet, once per conversation, never while a human owns it.
type Greeting struct {
	// Text returns the greeting in a language ("" when there is none).
	Text func(lang string) string
	// Delay is how long the visitor is on a matching page before the greeting.
	Delay time.Duration
	// Pages are URL patterns where "*" matches any run of characters; empty: every page.
	Pages []string
	// Value is the signal value the website snippet's greet() writes ("greet_chatbot", nonce form
	// accepted): greet now, whatever the page. Empty disables it.
	Value string
}

// Matches reports whether a page URL matches one of the patterns (every URL when there are none).
func (g *Greeting) Matches(url string) bool {
	if len(g.Pages) == 0 {
		return true
	}
	for _, p := range g.Pages {
		if wildcard(p, url) {
			return true
		}
	}
	return false
}

// wildcard matches s against pattern, where "*" matches any run of characters.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// greetOnPage schedules the greeting for a page view that matches the website's patterns.
func (b *Bridge) greetOnPage(ctx context.Context, st *step, ev Event) bool {
	g := st.site.Greeting
	if g == nil || ev.PageURL == "" || !g.Matches(ev.PageURL) {
		return false
	}
	return b.scheduleGreeting(ctx, st, g.Delay, "page "+ev.PageURL)
}

// greetFromPage greets now when the website snippet's greet() value is among the data values the
// machine did not take as commands.
func (b *Bridge) greetFromPage(ctx context.Context, st *step, unknown []string) {
	g := st.site.Greeting
	if g == nil || g.Value == "" {
		return
	}
	for _, v := range unknown {
		if v == g.Value || strings.HasPrefix(v, g.Value+st.site.Signals.Vocabulary.NonceSep) {
			b.scheduleGreeting(ctx, st, 0, "snippet greet()")
			return
		}
	}
}

// mayGreet reports whether the conversation may be greeted: never greeted, the assistant's, and
// nobody has written in it.
func mayGreet(c *Conversation) bool {
	if c.Data[greetedKey] != "" || c.Mode != signals.ModeActive {
		return false
	}
	for _, t := range c.Transcript {
		if t.Role == "visitor" || t.Role == "operator" {
			return false
		}
	}
	return true
}

// scheduleGreeting journals the greeting, due after delay, and marks the conversation greeted.
func (b *Bridge) scheduleGreeting(ctx context.Context, st *step, delay time.Duration, why string) bool {
	c := &st.conv
	if !mayGreet(c) {
		return false
	}
	if !c.MetaLoaded {
		b.loadMeta(ctx, st) // the visitor's language, before the greeting is written
	}
	text := st.site.Greeting.Text(c.Language)
	if text == "" {
		return false
	}
	now := b.opts.Now().UnixMilli()
	st.keepData(map[string]string{greetedKey: strconv.FormatInt(now, 10)})
	st.addJournal(JournalEntry{Kind: JournalGreet, Message: &OutMessage{Type: "text", Text: text}})
	e := &c.Journal[len(c.Journal)-1]
	e.NextAt = now + delay.Milliseconds()
	e.Deadline = e.NextAt + b.opts.MessageDeadline.Milliseconds()
	b.log.Debug("greeting scheduled", "website", c.WebsiteID, "session", c.SessionID, "why", why, "delay", delay)
	return true
}

// performGreet posts the greeting if the conversation is still the assistant's and nobody wrote.
func (b *Bridge) performGreet(ctx context.Context, p *performer) error {
	key, e := p.key, p.e
	if e.Message == nil {
		return nil
	}
	c, err := b.opts.Store.Load(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return fmt.Errorf("load for greeting: %w", err)
	}
	c.Data = nil // greeted already: it was marked when the greeting was scheduled
	if !mayGreet(&c) {
		return nil // the visitor or a human wrote first, or the assistant is off: too late to greet
	}
	return p.post(ctx, *e.Message, 0)
}
