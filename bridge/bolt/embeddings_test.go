package bolt_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/bolt"
)

var _ assistant.EmbeddingCache = (*bolt.Store)(nil)

// Embeddings survive a restart: the knowledge base is not embedded again.
func TestEmbeddingsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := assistant.EmbeddingKey("text-embedding-3-small", "How long does shipping take?")
	want := []float32{0.25, -1.5, 3e-7, 0}
	if _, ok := s.GetEmbedding(key); ok {
		t.Fatal("an embedding before any was stored")
	}
	s.PutEmbedding(key, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok := s.GetEmbedding(key)
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("GetEmbedding after a restart = %v, %v; want %v", got, ok, want)
	}
}
