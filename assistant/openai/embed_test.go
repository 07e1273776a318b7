package openai_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/openai/openaitest"
)

func TestEmbed(t *testing.T) {
	srv, c := setup(t, openai.Config{})
	texts := []string{"How much is shipping?", "Shipping costs: shipping is free over 30 euros", "Reset your password"}
	got, err := c.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(texts) {
		t.Fatalf("Embed = %d vectors, want %d", len(got), len(texts))
	}
	for i, v := range got {
		if !slices.Equal(v, openaitest.Embedding(texts[i])) {
			t.Errorf("vector %d differs from the fake's embedding of %q", i, texts[i])
		}
	}
	var body struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	reqs := srv.EmbeddingRequests()
	if len(reqs) != 1 || json.Unmarshal(reqs[0].Raw, &body) != nil {
		t.Fatalf("requests = %d, want one decodable embeddings request", len(reqs))
	}
	if body.Model != openai.DefaultEmbeddingModel || !slices.Equal(body.Input, texts) || reqs[0].Path != "/v1/embeddings" {
		t.Errorf("request = %s %+v, want model %s and the texts in order", reqs[0].Path, body, openai.DefaultEmbeddingModel)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("chat requests = %d, want embeddings recorded apart", n)
	}
	if c.EmbeddingModel() != openai.DefaultEmbeddingModel {
		t.Errorf("EmbeddingModel() = %q, want the default", c.EmbeddingModel())
	}
}

func TestEmbedRetriesThenFails(t *testing.T) {
	srv, c := setup(t, openai.Config{EmbeddingModel: "my-embedder", Retries: 1})
	srv.Script(openaitest.Fail(503, ""))
	if _, err := c.Embed(context.Background(), []string{"hello"}); err != nil {
		t.Fatalf("Embed after one 503 = %v, want a retried success", err)
	}
	srv.Script(openaitest.Fail(503, ""), openaitest.Fail(503, ""))
	_, err := c.Embed(context.Background(), []string{"hello"})
	if err == nil || !assistant.IsRetryable(err) {
		t.Fatalf("Embed after two 503s with one retry = %v, want a retryable error", err)
	}
	srv.Script(openaitest.Fail(400, ""))
	if _, err := c.Embed(context.Background(), []string{"hello"}); err == nil || assistant.IsRetryable(err) {
		t.Fatalf("Embed after a 400 = %v, want a permanent error", err)
	}
}

// TestHybridKnowledgeBaseCache loads a knowledge base with embeddings twice over one cache: the
// second load (a restart with a persistent cache) makes no embedding call, and a changed article
// costs one.
func TestHybridKnowledgeBaseCache(t *testing.T) {
	_, c := setup(t, openai.Config{})
	cache := assistant.NewMemoryEmbeddingCache()
	files := map[string]string{
		"a.md": "---\nlang: en\n---\n# Shipping\n\n## Costs\n\nShipping is free over 30 euros.\n\n## Times\n\nDelivery takes two days.\n",
		"b.md": "---\nlang: en\n---\n# Account\n\n## Password\n\nClick forgot password to reset it.\n",
	}
	kb := assistant.NewKnowledgeBase(files, assistant.WithEmbeddings(c, cache))
	if kb.EmbeddingCalls() != 1 || cache.Len() != 3 {
		t.Fatalf("first load: %d calls, %d cached; want 1 call for 3 chunks", kb.EmbeddingCalls(), cache.Len())
	}
	again := assistant.NewKnowledgeBase(files, assistant.WithEmbeddings(c, cache))
	if again.EmbeddingCalls() != 0 {
		t.Errorf("reload with the cache: %d embedding calls, want 0", again.EmbeddingCalls())
	}
	files["b.md"] += "\n## Delete\n\nWrite to us to delete the account.\n"
	changed := assistant.NewKnowledgeBase(files, assistant.WithEmbeddings(c, cache))
	if changed.EmbeddingCalls() != 1 || cache.Len() != 4 {
		t.Errorf("one new chunk: %d calls, %d cached; want 1 call and 4 cached", changed.EmbeddingCalls(), cache.Len())
	}
	hits, err := changed.Retrieve(context.Background(), assistant.Query{Text: "reset my password", Lang: "en"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) == 0 || hits[0].Section != "Password" || hits[0].Similarity <= 0 {
		t.Fatalf("Retrieve = %+v, want the Password section first with a similarity", hits)
	}
}
