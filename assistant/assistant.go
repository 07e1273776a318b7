package assistant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Assistant answers visitor questions with a model (or offline from the knowledge base) following
// each website's settings. It is safe for concurrent use.
type Assistant struct {
	cfg   Config
	c     Completer
	log   *slog.Logger
	kb    *KnowledgeBase
	kbs   map[string]*KnowledgeBase
	sites map[string]*site
	def   *site
}

var _ Replier = (*Assistant)(nil)

// site is the effective configuration of one website, computed once.
type site struct {
	w       Website
	phrases phraseMatcher
}

// Option configures New.
type Option func(*Assistant)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(a *Assistant) {
		if l != nil {
			a.log = l
		}
	}
}

// WithKnowledgeBase gives one website its own knowledge base instead of the shared one.
func WithKnowledgeBase(websiteID string, kb *KnowledgeBase) Option {
	return func(a *Assistant) { a.kbs[websiteID] = kb }
}

// New returns an assistant. c is the model; nil selects offline mode, which answers from the
// knowledge base alone. kb may be nil (no retrieval).
func New(cfg Config, c Completer, kb *KnowledgeBase, opts ...Option) (*Assistant, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new assistant: %w", err)
	}
	a := &Assistant{
		cfg:   cfg,
		c:     c,
		kb:    kb,
		kbs:   map[string]*KnowledgeBase{},
		sites: map[string]*site{},
		log:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(a)
	}
	a.def = newSite(cfg.Website(""))
	for id := range cfg.Websites {
		a.sites[id] = newSite(cfg.Website(id))
	}
	return a, nil
}

func newSite(w Website) *site {
	return &site{w: w, phrases: newPhraseMatcher(w.HumanPhrases)}
}

func (a *Assistant) site(websiteID string) *site {
	if s, ok := a.sites[websiteID]; ok {
		return s
	}
	return a.def
}

func (a *Assistant) knowledge(websiteID string) *KnowledgeBase {
	if kb, ok := a.kbs[websiteID]; ok {
		return kb
	}
	return a.kb
}

// Offline reports whether the assistant answers without a model.
func (a *Assistant) Offline() bool { return a.c == nil }

// Website returns the effective settings of a website.
func (a *Assistant) Website(websiteID string) Website { return a.site(websiteID).w }

// Text returns a website's localized string for key in lang (see the Str* keys).
func (a *Assistant) Text(websiteID, lang, key string) string {
	return a.site(websiteID).w.Strings.Get(lang, key)
}

// Language resolves a conversation's answer language with the website's default and supported
// languages (see ResolveLanguage).
func (a *Assistant) Language(websiteID, dataLanguage string, locales []string) string {
	w := a.site(websiteID).w
	return ResolveLanguage(dataLanguage, locales, w.DefaultLanguage, w.Languages)
}

// OffersHuman reports whether an answer is the offline "I don't know": the bridge should follow it
// with a picker offering a human (texts StrOfferHuman and StrTalkToHuman).
func OffersHuman(a Answer) bool {
	return a.Offline && len(a.Sources) == 0 && !a.Handover && !a.Resolve
}

// errEmpty is a completion with neither text nor a tool call.
var errEmpty = errors.New("empty completion")

// Reply answers the visitor's newest message. In order: budgets (ErrBudgetExhausted), the
// visitor's own request for a human (Answer.Handover, no model call), knowledge-base retrieval,
// then the model with one retry after a timeout or a retryable error, or the offline answer. An
// error means no answer: the bridge apologises and hands over.
func (a *Assistant) Reply(ctx context.Context, q Question) (Answer, error) {
	s := a.site(q.WebsiteID)
	w := s.w
	if w.ConversationTokenBudget > 0 && q.ConversationTokens >= w.ConversationTokenBudget {
		return Answer{}, fmt.Errorf("reply: conversation used %d of %d tokens: %w",
			q.ConversationTokens, w.ConversationTokenBudget, ErrBudgetExhausted)
	}
	if w.DailyTokenBudget > 0 && q.WebsiteTokensToday >= w.DailyTokenBudget {
		return Answer{}, fmt.Errorf("reply: website used %d of %d tokens today: %w",
			q.WebsiteTokensToday, w.DailyTokenBudget, ErrBudgetExhausted)
	}
	last, prev := lastVisitorMessages(q.History)
	if strings.TrimSpace(last) == "" {
		return Answer{}, errors.New("reply: no visitor message in the history")
	}
	if p := s.phrases.match(last); p != "" {
		return Answer{Handover: true, HandoverReason: fmt.Sprintf("the visitor asked for a human (%q)", p)}, nil
	}

	if a.c == nil {
		hits := a.knowledge(q.WebsiteID).Find(Query{Text: last, Context: prev, Lang: q.Language,
			Fallback: w.DefaultLanguage, MinMatch: w.OfflineMinMatch}, w.Passages)
		return offlineAnswer(w, q, hits), nil
	}
	return a.complete(ctx, w, q, a.Passages(ctx, q.WebsiteID, q.Language, last, prev))
}

// Passages returns the knowledge-base passages the model gets for a question (last, helped by the
// previous visitor message prev at a lower weight, for follow-ups such as "and to Canada?"): hybrid
// retrieval when the knowledge base has embeddings, passages in the conversation's language first,
// and only those reaching the website's MinPassageMatch or MinSimilarity. An embedding failure is
// logged and the lexical passages are used.
func (a *Assistant) Passages(ctx context.Context, websiteID, lang, last, prev string) []Passage {
	w := a.site(websiteID).w
	hits, err := a.knowledge(websiteID).Retrieve(ctx, Query{Text: last, Context: prev, Lang: lang,
		Fallback: w.DefaultLanguage, MinMatch: w.MinPassageMatch, MinSimilarity: w.MinSimilarity}, w.Passages)
	if err != nil {
		a.log.Warn("hybrid retrieval failed, using lexical passages", "website", websiteID, "err", err)
	}
	var passages []Passage
	for _, p := range hits {
		if p.Match >= w.MinPassageMatch || (w.MinSimilarity > 0 && p.Similarity >= w.MinSimilarity) {
			passages = append(passages, p)
		}
	}
	return passages
}

func lastVisitorMessages(h []Turn) (last, prev string) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Role != RoleVisitor || strings.TrimSpace(h[i].Text) == "" {
			continue
		}
		if last == "" {
			last = h[i].Text
			continue
		}
		return last, h[i].Text
	}
	return last, ""
}

// offlineAnswer answers with the best passage and its link when it matches well enough, and
// otherwise says so (OffersHuman is then true). A passage in another language than the visitor's
// is introduced by StrOtherLang.
func offlineAnswer(w Website, q Question, hits []Passage) Answer {
	lang := ResolveLanguage(q.Language, nil, w.DefaultLanguage, w.Languages)
	last, _ := lastVisitorMessages(q.History)
	if isThanks(last) {
		return Answer{Text: w.Strings.Get(lang, StrClosing), Resolve: true, Offline: true}
	}
	if len(hits) == 0 || hits[0].Match < w.OfflineMinMatch {
		return Answer{Text: w.Strings.Get(lang, StrNoAnswer), Offline: true}
	}
	p := hits[0]
	text := strings.TrimSpace(p.Text)
	if p.Lang != "" && p.Lang != lang {
		// Find ranked an article in the visitor's language first when one matched: this one is the
		// best of another language, and the answer says so in the visitor's.
		text = strings.ReplaceAll(w.Strings.Get(lang, StrOtherLang), "{language}", LanguageNameIn(lang, p.Lang)) + "\n\n" + text
	}
	if p.URL != "" {
		text += "\n\n" + strings.ReplaceAll(w.Strings.Get(lang, StrReadMore), "{url}", p.URL)
	}
	return Answer{Text: text, Sources: []Source{{Title: p.Title, URL: p.URL}}, Offline: true}
}

// thanksWords end a conversation when a short message without a question contains one.
var thanksWords = map[string]bool{"thanks": true, "thank": true, "thx": true, "gracias": true, "gracies": true, "merci": true}

// isThanks reports a short closing message ("Great, thanks!"), which offline mode answers with
// the closing string and Resolve instead of searching the knowledge base.
func isThanks(text string) bool {
	if strings.Contains(text, "?") {
		return false
	}
	ws := words(text)
	if len(ws) > 6 {
		return false
	}
	for _, w := range ws {
		if thanksWords[w] {
			return true
		}
	}
	return false
}

func (a *Assistant) complete(ctx context.Context, w Website, q Question, passages []Passage) (Answer, error) {
	req := CompletionRequest{
		Model:     w.Model,
		Messages:  BuildPrompt(w, q, passages),
		Tools:     Tools(),
		MaxTokens: w.MaxAnswerTokens,
		Metadata:  map[string]string{"website": q.WebsiteID, "session": q.SessionID},
	}
	if w.Temperature != nil {
		req.Temperature = *w.Temperature
	}
	var usage Usage
	var comp Completion
	var err error
	for attempt := 1; ; attempt++ {
		comp, err = a.attempt(ctx, w.Timeout, req)
		usage.PromptTokens += comp.Usage.PromptTokens
		usage.CompletionTokens += comp.Usage.CompletionTokens
		if comp.Usage.Model != "" {
			usage.Model = comp.Usage.Model
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return Answer{Usage: a.cost(w, usage, req.Model)}, fmt.Errorf("reply: %w", context.Cause(ctx))
		}
		if attempt == 1 && (IsRetryable(err) || errors.Is(err, errEmpty)) {
			a.log.Warn("model attempt failed, retrying", "website", q.WebsiteID, "session", q.SessionID, "err", err)
			continue
		}
		return Answer{Usage: a.cost(w, usage, req.Model)}, fmt.Errorf("reply: complete: %w", err)
	}

	ans := Answer{Text: strings.TrimSpace(comp.Text), Usage: a.cost(w, usage, req.Model)}
	for _, tc := range comp.ToolCalls {
		switch tc.Name {
		case ToolHandover:
			ans.Handover = true
			var args struct {
				Reason string `json:"reason"`
			}
			if json.Unmarshal([]byte(tc.Arguments), &args) == nil && strings.TrimSpace(args.Reason) != "" {
				ans.HandoverReason = strings.TrimSpace(args.Reason)
			} else {
				ans.HandoverReason = "the model asked for a human"
			}
		case ToolResolve:
			ans.Resolve = true
		default:
			a.log.Warn("model called an unknown tool", "website", q.WebsiteID, "session", q.SessionID, "tool", tc.Name)
		}
	}
	seen := map[string]bool{}
	for _, p := range passages {
		base, _, _ := strings.Cut(p.URL, "#")
		if p.URL == "" || seen[base] || !strings.Contains(ans.Text, base) {
			continue
		}
		seen[base] = true
		ans.Sources = append(ans.Sources, Source{Title: p.Title, URL: p.URL})
	}
	return ans, nil
}

// attempt is one model call bounded by timeout; an empty completion counts as a failure.
func (a *Assistant) attempt(ctx context.Context, timeout time.Duration, req CompletionRequest) (Completion, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	comp, err := a.c.Complete(actx, req)
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = Retryable(fmt.Errorf("attempt timed out after %s: %w", timeout, err))
		}
		return comp, err
	}
	if strings.TrimSpace(comp.Text) == "" && len(comp.ToolCalls) == 0 {
		return comp, errEmpty
	}
	return comp, nil
}

// cost fills the usage's model and price.
func (a *Assistant) cost(w Website, u Usage, requested string) Usage {
	if u.Model == "" {
		u.Model = requested
	}
	if p, ok := w.price(u.Model); ok {
		u.CostUSD = p.Cost(u.PromptTokens, u.CompletionTokens)
	} else if u.Total() > 0 {
		a.log.Debug("no price for model", "model", u.Model)
	}
	return u
}
