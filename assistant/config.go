package assistant

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Config holds the assistant's per-website settings. Websites override Default field by field:
// a zero field of a website inherits the default's value.
type Config struct {
	Default  Website            `yaml:"default"`
	Websites map[string]Website `yaml:"websites"` // by Crisp website ID
}

// Website is the assistant's settings for one website.
type Website struct {
	SystemPrompt    string   `yaml:"system_prompt"`
	Model           string   `yaml:"model"`       // "" uses the completer's default model
	Temperature     *float64 `yaml:"temperature"` // nil leaves the provider's default
	MaxAnswerTokens int      `yaml:"max_answer_tokens"`
	DefaultLanguage string   `yaml:"default_language"`
	Languages       []string `yaml:"languages"` // supported answer languages; empty means any

	// Strings override the built-in localized strings, language -> key -> text.
	Strings StringTable `yaml:"strings"`
	// HumanPhrases replace the built-in phrases of the languages they name (language -> phrases).
	HumanPhrases map[string][]string `yaml:"human_phrases"`

	ConversationTokenBudget int64            `yaml:"conversation_token_budget"` // 0: no limit
	DailyTokenBudget        int64            `yaml:"daily_token_budget"`        // per website per day; 0: no limit
	Prices                  map[string]Price `yaml:"prices"`                    // by model name or prefix

	HistoryTokens   int     `yaml:"history_tokens"`    // estimated tokens of history in the prompt
	Passages        int     `yaml:"passages"`          // knowledge-base passages in the prompt
	MinPassageMatch float64 `yaml:"min_passage_match"` // passages below this Match stay out of the prompt
	OfflineMinMatch float64 `yaml:"offline_min_match"` // offline answers need this Match
	// OfflineWeakMatch is the lower confidence band of offline answers: a best passage between it
	// and OfflineMinMatch is offered as "This article may help" with the human option; below it
	// the assistant says it found nothing. 0 or a value >= OfflineMinMatch disables the band.
	OfflineWeakMatch float64       `yaml:"offline_weak_match"`
	Timeout          time.Duration `yaml:"timeout"` // per model attempt
	// MinSimilarity admits a passage to the prompt on its embedding similarity alone (hybrid
	// retrieval, when the knowledge base has embeddings); 0 disables that.
	MinSimilarity float64 `yaml:"min_similarity"`
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Prompt     float64 `yaml:"prompt"`
	Completion float64 `yaml:"completion"`
}

// Cost returns the price of a usage.
func (p Price) Cost(promptTokens, completionTokens int64) float64 {
	return (float64(promptTokens)*p.Prompt + float64(completionTokens)*p.Completion) / 1e6
}

// DefaultPrices are list prices of common small models ($ per 1M tokens), used when a website
// sets no price for its model.
var DefaultPrices = map[string]Price{
	"gpt-4o-mini":  {Prompt: 0.15, Completion: 0.60},
	"gpt-4.1-mini": {Prompt: 0.40, Completion: 1.60},
	"gpt-4.1-nano": {Prompt: 0.10, Completion: 0.40},
	"gpt-4o":       {Prompt: 2.50, Completion: 10.00},
}

// DefaultSystemPrompt is used when no system prompt is configured.
const DefaultSystemPrompt = "You are the support assistant of this website. Answer the visitor's question briefly and " +
	"accurately, using only the knowledge-base passages below and the conversation. If the answer is not " +
	"in them, say so and offer to bring in a human from the team. Never invent prices, dates or policies."

// defaults of a Website, applied under Config.Default.
var builtinWebsite = Website{
	SystemPrompt:     DefaultSystemPrompt,
	DefaultLanguage:  "en",
	Strings:          defaultStrings,
	HumanPhrases:     DefaultHumanPhrases,
	MaxAnswerTokens:  400,
	HistoryTokens:    1500,
	Passages:         3,
	MinPassageMatch:  0.45,
	OfflineMinMatch:  0.5,
	OfflineWeakMatch: 0.45,
	MinSimilarity:    0.5,
	Timeout:          30 * time.Second,
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, w Website) {
		if w.Temperature != nil && (*w.Temperature < 0 || *w.Temperature > 2) {
			errs = append(errs, fmt.Errorf("%s: temperature %v not in [0, 2]", name, *w.Temperature))
		}
		for _, n := range []struct {
			field string
			v     int64
		}{
			{"max_answer_tokens", int64(w.MaxAnswerTokens)}, {"history_tokens", int64(w.HistoryTokens)},
			{"passages", int64(w.Passages)}, {"conversation_token_budget", w.ConversationTokenBudget},
			{"daily_token_budget", w.DailyTokenBudget}, {"timeout", int64(w.Timeout)},
		} {
			if n.v < 0 {
				errs = append(errs, fmt.Errorf("%s: %s is negative", name, n.field))
			}
		}
		for _, m := range []struct {
			field string
			v     float64
		}{{"min_passage_match", w.MinPassageMatch}, {"offline_min_match", w.OfflineMinMatch}, {"offline_weak_match", w.OfflineWeakMatch}, {"min_similarity", w.MinSimilarity}} {
			if m.v < 0 || m.v > 1 {
				errs = append(errs, fmt.Errorf("%s: %s %v not in [0, 1]", name, m.field, m.v))
			}
		}
		for model, p := range w.Prices {
			if p.Prompt < 0 || p.Completion < 0 {
				errs = append(errs, fmt.Errorf("%s: price of %q is negative", name, model))
			}
		}
		for _, l := range append([]string{w.DefaultLanguage}, w.Languages...) {
			if l != "" && languageCode(l) == "" {
				errs = append(errs, fmt.Errorf("%s: language %q is not a language code", name, l))
			}
		}
	}
	check("default", c.Default)
	for id, w := range c.Websites {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, errors.New("website with an empty id"))
		}
		check("website "+id, w)
	}
	return errors.Join(errs...)
}

// Website returns the effective settings of a website: its own over Config.Default over the
// built-in defaults.
func (c Config) Website(id string) Website {
	w := merge(builtinWebsite, c.Default)
	if ws, ok := c.Websites[id]; ok {
		w = merge(w, ws)
	}
	return w
}

// merge returns base with over's non-zero fields; maps merge key by key.
func merge(base, over Website) Website {
	str := func(b, o string) string {
		if o != "" {
			return o
		}
		return b
	}
	num := func(b, o int64) int64 {
		if o != 0 {
			return o
		}
		return b
	}
	flt := func(b, o float64) float64 {
		if o != 0 {
			return o
		}
		return b
	}
	w := base
	w.SystemPrompt = str(base.SystemPrompt, over.SystemPrompt)
	w.Model = str(base.Model, over.Model)
	if over.Temperature != nil {
		w.Temperature = over.Temperature
	}
	w.MaxAnswerTokens = int(num(int64(base.MaxAnswerTokens), int64(over.MaxAnswerTokens)))
	w.DefaultLanguage = str(base.DefaultLanguage, over.DefaultLanguage)
	if len(over.Languages) > 0 {
		w.Languages = over.Languages
	}
	w.Strings = base.Strings.Merge(over.Strings)
	w.HumanPhrases = maps.Clone(base.HumanPhrases)
	if w.HumanPhrases == nil {
		w.HumanPhrases = map[string][]string{}
	}
	for l, p := range over.HumanPhrases {
		w.HumanPhrases[primaryTag(l)] = p
	}
	w.ConversationTokenBudget = num(base.ConversationTokenBudget, over.ConversationTokenBudget)
	w.DailyTokenBudget = num(base.DailyTokenBudget, over.DailyTokenBudget)
	w.Prices = maps.Clone(base.Prices)
	if w.Prices == nil {
		w.Prices = map[string]Price{}
	}
	maps.Copy(w.Prices, over.Prices)
	w.HistoryTokens = int(num(int64(base.HistoryTokens), int64(over.HistoryTokens)))
	w.Passages = int(num(int64(base.Passages), int64(over.Passages)))
	w.MinPassageMatch = flt(base.MinPassageMatch, over.MinPassageMatch)
	w.OfflineMinMatch = flt(base.OfflineMinMatch, over.OfflineMinMatch)
	w.OfflineWeakMatch = flt(base.OfflineWeakMatch, over.OfflineWeakMatch)
	w.MinSimilarity = flt(base.MinSimilarity, over.MinSimilarity)
	w.Timeout = time.Duration(num(int64(base.Timeout), int64(over.Timeout)))
	return w
}

// price finds the price of a model: exact name, then the longest configured prefix
// ("gpt-4o-mini-2024-07-18" -> "gpt-4o-mini"), then DefaultPrices the same way.
func (w Website) price(model string) (Price, bool) {
	for _, table := range []map[string]Price{w.Prices, DefaultPrices} {
		if p, ok := table[model]; ok {
			return p, true
		}
		best := ""
		for name := range table {
			if strings.HasPrefix(model, name) && len(name) > len(best) {
				best = name
			}
		}
		if best != "" {
			return table[best], true
		}
	}
	return Price{}, false
}
