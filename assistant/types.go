// Package assistant is the reply policy: it builds the prompt from the conversation, the visitor's
// language and the website's knowledge base, calls a model through the small Completer interface (or
// answers offline from the knowledge base), and reports tool decisions (handover, resolve) and usage.
package assistant

import (
	"context"
	"errors"
)

// ErrBudgetExhausted is returned when a conversation or website token budget is spent.
var ErrBudgetExhausted = errors.New("token budget exhausted")

// Role of a history turn.
const (
	RoleVisitor   = "visitor"
	RoleAssistant = "assistant"
	RoleOperator  = "operator"
)

// Turn is one message of the conversation history given to the assistant.
type Turn struct {
	Role string
	Text string
}

// Question is everything the assistant needs to answer one visitor message.
type Question struct {
	WebsiteID string
	SessionID string
	Language  string // answer language (BCP 47 primary subtag: "en", "es", "ca", "fr", ...)
	// LanguageChosen: the visitor chose Language (a language picker, session data "language"), so
	// it stands; otherwise (a browser locale, the website default) a message that says clearly
	// which language it is written in is answered in that language.
	LanguageChosen bool
	Country        string
	Email          string
	History        []Turn // oldest first, the visitor's new message last
	// Hours returns the website's support hours (nil, or a nil func, when it has none). It is called
	// only for a question about opening hours, which is answered from them.
	Hours func() *SupportHours
	// Budget state, so the assistant can refuse before spending.
	ConversationTokens int64 // tokens already spent in this conversation
	WebsiteTokensToday int64 // tokens already spent by the website today
}

// SupportHours are the facts of a website's support hours the assistant can tell a visitor.
type SupportHours struct {
	Week map[string]string // language -> the weekly hours ("Monday to Friday 9:00–18:00")
	Zone string            // the hours' IANA time zone
	Open bool              // open now
	Back map[string]string // language -> when the team is back ("Monday at 9:00"), when closed
}

// Answer is what the assistant decided.
type Answer struct {
	Text           string   // the answer to post ("" when only a tool was called)
	Sources        []Source // knowledge-base passages cited
	Handover       bool     // hand over to a human
	HandoverReason string   // the model's reason, for the operators' note
	Resolve        bool     // the model judged the question resolved
	Usage          Usage
	Offline        bool // answered from the knowledge base without a model
	// Weak: the answer offers its source as a plausible but weak match ("This article may help")
	// together with the human option (OffersHuman is then true).
	Weak bool
	// Turn is the kind of conversational turn answered (TurnGreeting, TurnThanks, ...), without a
	// knowledge-base search; TurnQuestion ("") for a question.
	Turn string
	// Language is the language the answer is written in: the visitor's message language when it
	// says so clearly, else the conversation's.
	Language string
}

// Source is a knowledge-base passage's origin.
type Source struct {
	Title string
	URL   string
}

// Usage is the model usage of one answer.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
	Model            string
}

// Total returns prompt plus completion tokens.
func (u Usage) Total() int64 { return u.PromptTokens + u.CompletionTokens }

// Replier answers questions; *Assistant implements it. The bridge consumes this interface.
type Replier interface {
	Reply(ctx context.Context, q Question) (Answer, error)
}
