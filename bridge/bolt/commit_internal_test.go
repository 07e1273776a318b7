package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCommitterIsolatesFailure sends good and failing writes at once: the failing ones get their own
// error, the good ones are all committed exactly once.
func TestCommitterIsolatesFailure(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"), Options{PurgeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	boom := errors.New("boom")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.committer.write(ctx, func(tx *bolt.Tx) error {
				if i%10 == 3 {
					return boom
				}
				b := tx.Bucket(bucketUsage)
				k := []byte(fmt.Sprintf("k%03d", i))
				// Not idempotent on purpose: a function run twice in committed transactions shows up.
				if b.Get(k) != nil {
					return fmt.Errorf("key %s written twice", k)
				}
				return b.Put(k, []byte{1})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%10 == 3; want != errors.Is(err, boom) || (!want && err != nil) {
			t.Errorf("write %d = %v, want boom: %v", i, err, want)
		}
	}
	got := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		got = tx.Bucket(bucketUsage).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != n-n/10 {
		t.Errorf("%d keys committed, want %d", got, n-n/10)
	}
}
