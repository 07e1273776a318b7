package bridge

import (
	"context"
	"fmt"
	"strings"

	"github.com/signalbridge/signalbridge/signals"
)

// perform acts on what a committed step decided. The Crisp writes are in the conversation's
// journal (committed with the decision) and are performed by the journal worker; what is left here
// acts in this process: cancelling the answer being written and starting a new one.
func (b *Bridge) perform(ctx context.Context, st *step) {
	b.act(st)
	b.kickJournal(ctx, st)
}

// act performs what a committed step decided that acts in this process.
func (b *Bridge) act(st *step) {
	c := &st.conv
	for _, a := range st.actions {
		switch a.Kind {
		case signals.ActCancel:
			b.cancelGeneration(c.Key)
		case signals.ActReply:
			// Written now; posted after the guided steps' messages still in the journal (the answer
			// waits behind them in its lane), so the visitor reads "Thanks! How can I help?" first.
			b.startGeneration(c)
		}
	}
	st.actions = nil
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
