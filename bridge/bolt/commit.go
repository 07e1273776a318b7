package bolt

import (
	"context"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store closed")

// call is one write waiting for a group commit.
type call struct {
	fn  func(*bolt.Tx) error
	err chan error // buffered 1
}

// committer is the store's group commit: one goroutine takes the first waiting write, then every write
// already waiting (up to MaxBatchSize), and commits them in one transaction (one fsync). An idle store
// therefore commits at once, and a busy one batches whatever arrived during the previous fsync. It is
// bbolt's db.Batch without its fixed delay; like db.Batch it re-runs each function alone when a
// batch fails, so functions must be idempotent and touch nothing but the transaction.
type committer struct {
	db      *bolt.DB
	maxSize int
	calls   chan *call // unbuffered: a send succeeds only when the committer takes it
	done    <-chan struct{}
}

// write runs fn in a group commit and returns its error once the batch is durable.
func (c *committer) write(ctx context.Context, fn func(*bolt.Tx) error) error {
	cl := &call{fn: fn, err: make(chan error, 1)}
	select {
	case c.calls <- cl:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, the call is always answered: the committer finishes its batch before it stops.
	return <-cl.err
}

// run commits batches until done is closed.
func (c *committer) run() {
	batch := make([]*call, 0, c.maxSize)
	for {
		select {
		case <-c.done:
			return
		case cl := <-c.calls:
			batch = append(batch[:0], cl)
		}
	drain:
		for len(batch) < c.maxSize {
			select {
			case cl := <-c.calls:
				batch = append(batch, cl)
			default:
				break drain
			}
		}
		c.commit(batch)
		clear(batch)
	}
}

// errSolo marks the call whose function failed, so the others can be retried alone.
type errSolo struct {
	i   int
	err error
}

func (e *errSolo) Error() string { return e.err.Error() }

func (c *committer) commit(batch []*call) {
	err := c.db.Update(func(tx *bolt.Tx) error {
		for i, cl := range batch {
			if err := cl.fn(tx); err != nil {
				return &errSolo{i: i, err: err}
			}
		}
		return nil
	})
	if err == nil {
		for _, cl := range batch {
			cl.err <- nil
		}
		return
	}
	var solo *errSolo
	if !errors.As(err, &solo) || len(batch) == 1 {
		if solo != nil {
			err = solo.err
		}
		for _, cl := range batch {
			cl.err <- err
		}
		return
	}
	// One function failed and rolled back everyone: run each alone so only it fails.
	for _, cl := range batch {
		cl.err <- c.db.Update(cl.fn)
	}
}
