package assistant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Embedder computes embedding vectors of texts with a model (assistant/openai implements it over
// an OpenAI-compatible /embeddings endpoint). Vectors come back in the order of texts.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// EmbeddingModel names the model; it is part of the cache key, so changing it re-embeds.
	EmbeddingModel() string
}

// EmbeddingCache keeps chunk vectors by key (a hash of the model and the chunk's text), so that a
// restart or an unchanged article costs no embedding call. Implementations must be safe for
// concurrent use; a failing store may simply miss.
type EmbeddingCache interface {
	GetEmbedding(key string) ([]float32, bool)
	PutEmbedding(key string, v []float32)
}

// MemoryEmbeddingCache is an EmbeddingCache in memory (it saves calls across reloads, not restarts).
type MemoryEmbeddingCache struct {
	mu sync.RWMutex
	m  map[string][]float32
}

// NewMemoryEmbeddingCache returns an empty in-memory cache.
func NewMemoryEmbeddingCache() *MemoryEmbeddingCache {
	return &MemoryEmbeddingCache{m: map[string][]float32{}}
}

// GetEmbedding implements EmbeddingCache.
func (c *MemoryEmbeddingCache) GetEmbedding(key string) ([]float32, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.m[key]
	return v, ok
}

// PutEmbedding implements EmbeddingCache.
func (c *MemoryEmbeddingCache) PutEmbedding(key string, v []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = v
}

// Len returns the number of cached vectors.
func (c *MemoryEmbeddingCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// WithEmbeddings makes the knowledge base hybrid: chunks are embedded when it loads (vectors from
// cache by content hash when there; cache may be nil), and Retrieve fuses the lexical ranking with
// the embedding similarity ranking. Find stays lexical (offline mode).
func WithEmbeddings(e Embedder, cache EmbeddingCache) KBOption {
	return func(o *kbOptions) {
		o.embedder = e
		o.cache = cache
	}
}

// errEmbed marks a load whose embeddings failed: the lexical index is in place and the next
// Reload tries again.
var errEmbed = errors.New("embed knowledge base")

// embedBatch is the number of texts per embedding request.
const embedBatch = 64

// embedTimeout bounds the embedding of one knowledge-base load.
const embedTimeout = 2 * time.Minute

// EmbeddingKey is the cache key of a text embedded with model: a SHA-256 of both.
func EmbeddingKey(model, text string) string {
	h := sha256.Sum256([]byte(model + "\x00" + text))
	return hex.EncodeToString(h[:])
}

func embedText(p Passage) string {
	t := p.Title + "\n" + p.Section + "\n" + p.Text
	if p.Questions != "" {
		t += "\n" + p.Questions
	}
	return t
}

// embedDocs returns the chunks' vectors, calling the embedder only for those not in the cache.
func embedDocs(ctx context.Context, o kbOptions, docs []Passage) ([][]float32, int, error) {
	vecs := make([][]float32, len(docs))
	model := o.embedder.EmbeddingModel()
	var missing []int
	for i, d := range docs {
		if o.cache != nil {
			if v, ok := o.cache.GetEmbedding(EmbeddingKey(model, embedText(d))); ok {
				vecs[i] = v
				continue
			}
		}
		missing = append(missing, i)
	}
	calls := 0
	for start := 0; start < len(missing); start += embedBatch {
		batch := missing[start:min(start+embedBatch, len(missing))]
		texts := make([]string, len(batch))
		for j, i := range batch {
			texts[j] = embedText(docs[i])
		}
		calls++
		got, err := o.embedder.Embed(ctx, texts)
		if err != nil {
			return nil, calls, fmt.Errorf("%w: %w", errEmbed, err)
		}
		if len(got) != len(texts) {
			return nil, calls, fmt.Errorf("%w: %d vectors for %d texts", errEmbed, len(got), len(texts))
		}
		for j, i := range batch {
			vecs[i] = normalize(got[j])
			if o.cache != nil {
				o.cache.PutEmbedding(EmbeddingKey(model, texts[j]), vecs[i])
			}
		}
	}
	return vecs, calls, nil
}

func normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(n))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// rrfK is the constant of reciprocal rank fusion: a passage scores the sum of 1/(rrfK+rank) over
// the rankings, so agreement near the top counts and raw scores of different scales never mix.
const rrfK = 60

// hybridDepth is how deep each ranking goes into the fusion.
const hybridDepth = 20

// Retrieve returns the k passages that best match q. With embeddings (WithEmbeddings) it fuses
// the lexical ranking (Find) with the ranking by embedding similarity by reciprocal rank fusion,
// fills Passage.Similarity, and ranks first the passages in q.Lang (then q.Fallback) that reach
// q.MinMatch or q.MinSimilarity; without, it is Find. An embedding failure of the question falls back to Find
// and is returned along with its passages.
func (kb *KnowledgeBase) Retrieve(ctx context.Context, q Query, k int) ([]Passage, error) {
	if kb == nil || k <= 0 {
		return nil, nil
	}
	kb.mu.RLock()
	idx := kb.idx
	kb.mu.RUnlock()
	if idx == nil || idx.vecs == nil || kb.opts.embedder == nil {
		return kb.Find(q, k), nil
	}
	lexical := idx.find(q, hybridDepth)
	got, err := kb.opts.embedder.Embed(ctx, []string{q.Text})
	if err == nil && len(got) != 1 {
		err = fmt.Errorf("%d vectors for one question", len(got))
	}
	if err != nil {
		out := make([]Passage, 0, k)
		for _, h := range lexical[:min(k, len(lexical))] {
			out = append(out, idx.passage(h))
		}
		return out, fmt.Errorf("retrieve: embed question: %w", err)
	}
	qv := normalize(got[0])
	type cand struct {
		doc   int
		p     Passage
		fused float64
		tier  int // as scored.tier
	}
	byKey := map[int]*cand{}
	for r, h := range lexical {
		byKey[int(h.doc)] = &cand{doc: int(h.doc), p: idx.passage(h), fused: 1 / float64(rrfK+r+1), tier: h.tier}
	}
	sims := make([]float64, len(idx.docs))
	order := make([]int, len(idx.docs))
	for i, v := range idx.vecs {
		sims[i] = dot(qv, v)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return sims[order[a]] > sims[order[b]] })
	for r, i := range order[:min(hybridDepth, len(order))] {
		c, ok := byKey[i]
		if !ok {
			c = &cand{doc: i, p: idx.docs[i], tier: 2}
			byKey[i] = c
		}
		c.fused += 1 / float64(rrfK+r+1)
	}
	cands := make([]*cand, 0, len(byKey))
	for i, c := range byKey {
		c.p.Similarity = sims[i]
		cands = append(cands, c)
	}
	lang, fallback := primaryTag(q.Lang), primaryTag(q.Fallback)
	bestSim := sims[order[0]]
	for _, c := range cands {
		// As in Find: the visitor's language first when its passage matches nearly as well.
		if q.MinSimilarity <= 0 || c.p.Similarity < q.MinSimilarity || c.p.Similarity < langRatio*bestSim {
			continue
		}
		if lang != "" && c.p.Lang == lang {
			c.tier = 0
		} else if fallback != "" && c.p.Lang == fallback {
			c.tier = min(c.tier, 1)
		}
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].tier != cands[b].tier {
			return cands[a].tier < cands[b].tier
		}
		if cands[a].fused != cands[b].fused {
			return cands[a].fused > cands[b].fused
		}
		return cands[a].doc < cands[b].doc
	})
	out := make([]Passage, 0, k)
	for _, c := range cands[:min(k, len(cands))] {
		out = append(out, c.p)
	}
	return out, nil
}
