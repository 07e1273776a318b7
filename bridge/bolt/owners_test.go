package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/signalbridge/signalbridge/bridge/bolt"
	"github.com/signalbridge/signalbridge/bridge/storetest"
)

func TestOwnersContract(t *testing.T) {
	storetest.RunOwners(t, func(t *testing.T) storetest.OwnersStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "signalbridge.db"), bolt.Options{})
	}, func(t *testing.T, s storetest.OwnersStore) storetest.OwnersStore {
		bs := s.(*bolt.Store)
		if err := bs.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		return MustOpen(t, bs.Path(), bolt.Options{})
	})
}
