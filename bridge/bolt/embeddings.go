package bolt

import (
	"context"
	"encoding/binary"
	"math"

	bolt "go.etcd.io/bbolt"
)

// bucketEmbeddings keeps knowledge-base embeddings by content key (model and text hash), so a
// restart, or an unchanged article, costs no embedding call.
var bucketEmbeddings = []byte("embeddings")

// GetEmbedding returns the vector stored for key (the assistant's EmbeddingCache).
func (s *Store) GetEmbedding(key string) ([]float32, bool) {
	var v []float32
	_ = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEmbeddings).Get([]byte(key))
		if len(b) == 0 || len(b)%4 != 0 {
			return nil
		}
		v = make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return nil
	})
	return v, v != nil
}

// PutEmbedding stores the vector for key; a failure only costs a later embedding call, so it is
// logged, not returned.
func (s *Store) PutEmbedding(key string, v []float32) {
	if key == "" || len(key) > maxIDLen || len(v) == 0 {
		return
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	err := s.write(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEmbeddings).Put([]byte(key), b)
	})
	if err != nil {
		s.opts.Logger.Warn("store embedding", "err", err)
	}
}
