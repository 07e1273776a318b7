package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/signalbridge/signalbridge/signals"
)

// perform executes what a committed step decided, in order, outside any store transaction. Failures
// are logged and counted; each action is independent so one failure does not stop the rest.
func (b *Bridge) perform(ctx context.Context, st *step) {
	c := &st.conv
	log := b.log.With("website", c.WebsiteID, "session", c.SessionID)
	p := b.opts.Platform
	if len(st.meta.Data) > 0 || len(st.meta.Segments) > 0 || st.meta.Email != "" || st.meta.Nickname != "" {
		if err := p.UpdateMeta(ctx, c.WebsiteID, c.SessionID, st.meta); err != nil {
			log.Error("update meta", "err", err)
		}
	}
	for _, m := range st.posts {
		if _, err := p.Send(ctx, c.WebsiteID, c.SessionID, m); err != nil {
			log.Error("post step message", "err", err)
		}
	}
	for _, a := range st.actions {
		var err error
		switch a.Kind {
		case signals.ActCancel:
			b.cancelGeneration(c.Key)
		case signals.ActStopTyping:
			// cancelGeneration stops the typing indicator of the generation it cancels; nothing else
			// ever starts it, so there is nothing more to stop here.
		case signals.ActReply:
			b.startGeneration(c)
		case signals.ActWriteBack:
			err = p.UpdateMeta(ctx, c.WebsiteID, c.SessionID, MetaUpdate{Data: a.Data, Expect: a.Expect})
		case signals.ActSetState:
			err = p.SetState(ctx, c.WebsiteID, c.SessionID, a.State)
		case signals.ActAddSegment:
			if a.Segment != "" {
				err = p.UpdateMeta(ctx, c.WebsiteID, c.SessionID, MetaUpdate{Segments: []string{a.Segment}})
			}
		case signals.ActNotify:
			err = b.say(ctx, st, a.Text)
		case signals.ActPostNote:
			err = b.postHandoverNote(ctx, st, a)
		case signals.ActOfferHuman:
			err = b.offerHuman(ctx, st)
		case signals.ActRunScenario:
			// Decided before the commit (step.apply enters the steps); never performed.
		}
		if err != nil {
			log.Error("action failed", "action", a.Kind, "err", err)
		}
	}
	st.actions, st.posts, st.meta = nil, nil, MetaUpdate{}
}

// text returns a localized string for the conversation.
func (b *Bridge) text(st *step, key string) string {
	if st.site.Text != nil {
		if s := st.site.Text(st.conv.Language, key); s != "" && s != key {
			return s
		}
	}
	return defaultText[key]
}

// defaultText is the English fallback when a website has no strings table.
var defaultText = map[string]string{
	"apology":       "Sorry, I can't answer right now. I'm passing your conversation to our team.",
	"closing":       "Glad I could help! Feel free to write again any time.",
	"nobody_online": "Our team is not online right now. We will answer you as soon as possible.",
	"ask_email":     "Leave your email and we will get back to you.",
	"email_thanks":  "Thanks, we will reply to you by email.",
	"invalid_email": "That does not look like an email address. Could you check it?",
	"talk_to_human": "Talk to a human",
	"resolved":      "My question is resolved",
	"handover_ack":  "I'm passing you to a member of our team.",
}

func (b *Bridge) say(ctx context.Context, st *step, key string) error {
	_, err := b.opts.Platform.Send(ctx, st.conv.WebsiteID, st.conv.SessionID, OutMessage{Type: "text", Text: b.text(st, key)})
	if err != nil {
		return fmt.Errorf("say %s: %w", key, err)
	}
	return nil
}

// postHandoverNote posts the private note operators see: why, who the visitor is, what they want and
// what the assistant already answered with which sources; it mentions the operators online.
func (b *Bridge) postHandoverNote(ctx context.Context, st *step, a signals.Action) error {
	c := &st.conv
	var mentions []string
	if av, err := b.opts.Platform.Availability(ctx, c.WebsiteID); err == nil {
		mentions = av.Operators
	} else {
		b.log.Warn("availability for note", "website", c.WebsiteID, "err", err)
	}
	note := HandoverSummary(c, a.Reason)
	if _, err := b.opts.Platform.Send(ctx, c.WebsiteID, c.SessionID, OutMessage{Type: "note", Text: note, Mentions: mentions}); err != nil {
		return fmt.Errorf("post handover note: %w", err)
	}
	return nil
}

// HandoverSummary is the operators' note for a handover: reason, language, email, the visitor's
// recent messages (what they want) and the assistant's answers with their sources.
func HandoverSummary(c *Conversation, reason signals.Reason) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "AI handover (reason: %s). Language: %s. Email: %s.\n", reason, orDash(c.Language), orDash(c.Email))
	var asked, answered []string
	var sources []string
	seen := map[string]bool{}
	for _, t := range c.Transcript {
		switch t.Role {
		case "visitor":
			asked = append(asked, clip(t.Text, 200))
		case "assistant":
			answered = append(answered, clip(t.Text, 160))
			for _, s := range t.Sources {
				if !seen[s] {
					seen[s] = true
					sources = append(sources, s)
				}
			}
		}
	}
	if n := len(asked); n > 3 {
		asked = asked[n-3:]
	}
	if n := len(answered); n > 2 {
		answered = answered[n-2:]
	}
	if len(asked) > 0 {
		sb.WriteString("Visitor wants: " + strings.Join(asked, " / ") + "\n")
	}
	if len(answered) > 0 {
		sb.WriteString("Assistant answered: " + strings.Join(answered, " / ") + "\n")
	} else {
		sb.WriteString("Assistant answered: nothing yet\n")
	}
	if len(sources) > 0 {
		sb.WriteString("Sources: " + strings.Join(sources, ", ") + "\n")
	}
	return strings.TrimSpace(sb.String())
}

func orDash(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// offerHuman checks availability; when nobody is online it tells the visitor and asks for the email
// (if unknown) so a human can answer by email.
func (b *Bridge) offerHuman(ctx context.Context, st *step) error {
	c := &st.conv
	av, err := b.opts.Platform.Availability(ctx, c.WebsiteID)
	if err != nil {
		return fmt.Errorf("availability: %w", err)
	}
	if av.Online {
		if err := b.say(ctx, st, "handover_ack"); err != nil {
			return err
		}
	} else {
		if err := b.say(ctx, st, "nobody_online"); err != nil {
			return err
		}
		if c.Email == "" && st.site.AskEmailOffline {
			_, err := b.opts.Platform.Send(ctx, c.WebsiteID, c.SessionID, OutMessage{Type: "field",
				Field: &Field{ID: FieldEmail, Text: b.text(st, "ask_email"), Explain: "you@example.com"}})
			if err != nil {
				return fmt.Errorf("ask email: %w", err)
			}
		}
	}
	// A message to the visitor turns a pending conversation unresolved in Crisp: put it back on top
	// of the human inbox.
	if err := b.opts.Platform.SetState(ctx, c.WebsiteID, c.SessionID, "pending"); err != nil {
		return fmt.Errorf("set pending after handover messages: %w", err)
	}
	return nil
}
