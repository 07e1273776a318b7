package assistant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// WithQueryRewrite makes retrieval use the model too (the production path with a model): the
// model rewrites the visitor's message (with the previous one when it is a follow-up) into a short
// search query in each language of the website's articles, in the articles' words, and the
// passages found for each query are fused with those found for the message itself. Rewrites are
// cached per message (size entries, 0: 4096), so a retried answer costs no second call. A failed
// or unreadable rewrite is logged and the message alone is searched.
func WithQueryRewrite(size int) Option {
	return func(a *Assistant) {
		if size <= 0 {
			size = 4096
		}
		a.rewrites = &rewriteCache{max: size, m: map[string]rewriteEntry{}}
	}
}

// MetaPurpose is the CompletionRequest.Metadata key naming what a call is for; a query rewrite
// carries PurposeSearchQuery, an answer none.
const (
	MetaPurpose        = "purpose"
	PurposeSearchQuery = "search_query"
)

// rewriteTimeout bounds a rewrite: retrieval must not wait long for it.
const rewriteTimeout = 8 * time.Second

type rewriteEntry struct {
	queries map[string]string
	usage   Usage
}

type rewriteCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]rewriteEntry
	order []string
}

func (c *rewriteCache) get(k string) (rewriteEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *rewriteCache) put(k string, e rewriteEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok {
		c.order = append(c.order, k)
	}
	c.m[k] = e
	for len(c.order) > c.max {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}

// rewritePrompt asks for one search query per language, one line each.
func rewritePrompt(langs []string, text, prev string) []Message {
	var names []string
	for _, l := range langs {
		names = append(names, l+" ("+LanguageName(l)+")")
	}
	sys := "You turn a customer's chat message into search queries for the help centre of a shop. " +
		"Write one short query per language, in the plain words a help article would use (for example " +
		"\"create an account\", \"delete account\", \"bank transfer\", \"invoice\", \"cancel subscription\", " +
		"\"delivery time\"), keeping places, products and numbers. Languages: " + strings.Join(names, ", ") +
		". Answer with exactly one line per language, \"code: query\", and nothing else. If the message is " +
		"not a question for the shop, still write the queries."
	user := text
	if prev != "" {
		user = "Previous message: " + prev + "\nMessage: " + text
	}
	return []Message{{Role: MessageSystem, Content: sys}, {Role: MessageUser, Content: user}}
}

// parseRewrite reads "code: query" lines for the wanted languages.
func parseRewrite(text string, langs []string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		code, q, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		code = primaryTag(strings.Trim(strings.TrimSpace(code), "-*` "))
		if i := strings.IndexByte(code, ' '); i > 0 {
			code = code[:i]
		}
		q = strings.Trim(strings.TrimSpace(q), `"`)
		if slices.Contains(langs, code) && q != "" && out[code] == "" {
			out[code] = q
		}
	}
	return out
}

// searchQueries returns the model's search query per article language for a message, from the
// cache when it was asked before.
func (a *Assistant) searchQueries(ctx context.Context, w Website, websiteID string, langs []string, text, prev string) (map[string]string, Usage) {
	if a.rewrites == nil || a.c == nil || len(langs) == 0 {
		return nil, Usage{}
	}
	h := sha256.Sum256([]byte(websiteID + "\x00" + strings.Join(langs, ",") + "\x00" + prev + "\x00" + text))
	key := hex.EncodeToString(h[:16])
	if e, ok := a.rewrites.get(key); ok {
		return e.queries, Usage{}
	}
	rctx, cancel := context.WithTimeout(ctx, min(rewriteTimeout, w.Timeout))
	defer cancel()
	comp, err := a.c.Complete(rctx, CompletionRequest{Model: w.Model, Messages: rewritePrompt(langs, text, prev),
		MaxTokens: 120, Metadata: map[string]string{"website": websiteID, MetaPurpose: PurposeSearchQuery}})
	usage := a.cost(w, comp.Usage, w.Model)
	if err != nil {
		a.log.Warn("query rewrite failed, searching the message alone", "website", websiteID, "err", err)
		return nil, usage
	}
	qs := parseRewrite(comp.Text, langs)
	if len(qs) == 0 {
		a.log.Warn("query rewrite unreadable, searching the message alone", "website", websiteID)
	}
	a.rewrites.put(key, rewriteEntry{queries: qs})
	return qs, usage
}

// fusePassages merges rankings by reciprocal rank (each passage keeps its best Match and
// Similarity), best first.
func fusePassages(lists [][]Passage, k int) []Passage {
	type cand struct {
		p     Passage
		fused float64
		first int
	}
	byKey := map[string]*cand{}
	n := 0
	for _, list := range lists {
		for r, p := range list {
			key := p.File + "\x00" + p.Section + "\x00" + p.Text
			c, ok := byKey[key]
			if !ok {
				c = &cand{p: p, first: n}
				byKey[key] = c
				n++
			}
			c.fused += 1 / float64(rrfK+r+1)
			c.p.Match = max(c.p.Match, p.Match)
			c.p.Similarity = max(c.p.Similarity, p.Similarity)
			c.p.Score = max(c.p.Score, p.Score)
		}
	}
	cands := make([]*cand, 0, len(byKey))
	for _, c := range byKey {
		cands = append(cands, c)
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].fused != cands[j].fused {
			return cands[i].fused > cands[j].fused
		}
		return cands[i].first < cands[j].first
	})
	out := make([]Passage, 0, min(k, len(cands)))
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.p)
	}
	return out
}

// Languages returns the languages of the knowledge base's articles.
func (kb *KnowledgeBase) Languages() []string {
	if kb == nil {
		return nil
	}
	kb.mu.RLock()
	defer kb.mu.RUnlock()
	if kb.idx == nil {
		return nil
	}
	var out []string
	for _, l := range kb.idx.langs {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
