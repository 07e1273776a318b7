package redis

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// ErrClosed is returned by commits after Close.
var ErrClosed = errors.New("redis store closed")

// groupCall is one commit script call waiting for a pipeline.
type groupCall struct {
	keys []string
	args []any
	done chan groupResult // buffered 1
}

type groupResult struct {
	n   int64
	err error
}

// grouper sends concurrent commits to the server in pipelines: each of a few runners takes the first
// waiting call and every call already waiting (up to max), and sends them in one round trip. An idle
// store therefore commits at once, and a busy one sends whatever arrived during the previous round
// trip: fewer system calls on both sides, the Redis counterpart of the bbolt store's group commit.
// Each script call stays atomic on its own; a pipeline is not a transaction. Commits of one
// conversation always go through the same runner, one pipeline after the other, so they reach the
// server in the order they were made.
type grouper struct {
	rdb     *goredis.Client
	max     int
	timeout func() (context.Context, context.CancelFunc)
	calls   []chan *groupCall // one per runner, unbuffered: a send succeeds only when the runner takes it
	done    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

func newGrouper(rdb *goredis.Client, runners, max int, timeout func() (context.Context, context.CancelFunc)) *grouper {
	g := &grouper{rdb: rdb, max: max, timeout: timeout, done: make(chan struct{})}
	for range runners {
		calls := make(chan *groupCall)
		g.calls = append(g.calls, calls)
		g.wg.Go(func() { g.run(calls) })
	}
	return g
}

// call runs the commit script through a pipeline of the runner of shard (the conversation key) and
// returns its reply. When ctx ends first, the call may still be applied (as with any timed-out
// write); commits are idempotent, so a retry is safe.
func (g *grouper) call(ctx context.Context, shard string, keys []string, args []any) (int64, error) {
	c := &groupCall{keys: keys, args: args, done: make(chan groupResult, 1)}
	h := fnv.New32a()
	_, _ = h.Write([]byte(shard))
	select {
	case g.calls[h.Sum32()%uint32(len(g.calls))] <- c:
	case <-g.done:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-c.done:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g *grouper) run(calls chan *groupCall) {
	batch := make([]*groupCall, 0, g.max)
	for {
		select {
		case <-g.done:
			return
		case c := <-calls:
			batch = append(batch[:0], c)
		}
	more:
		for len(batch) < g.max {
			select {
			case c := <-calls:
				batch = append(batch, c)
			default:
				break more
			}
		}
		g.send(batch)
	}
}

// send runs the batch in one pipeline; when the server lost its script cache (a restart), it loads
// the script and sends the calls that failed with NOSCRIPT once more.
func (g *grouper) send(batch []*groupCall) {
	ctx, cancel := g.timeout()
	defer cancel()
	cmds := g.pipeline(ctx, batch)
	var again []*groupCall
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			again = append(again, batch[i])
			continue
		}
		reply(batch[i], cmd)
	}
	if len(again) == 0 {
		return
	}
	if err := commitScript.Load(ctx, g.rdb).Err(); err != nil {
		for _, c := range again {
			c.done <- groupResult{err: err}
		}
		return
	}
	for i, cmd := range g.pipeline(ctx, again) {
		reply(again[i], cmd)
	}
}

func (g *grouper) pipeline(ctx context.Context, batch []*groupCall) []*goredis.Cmd {
	cmds := make([]*goredis.Cmd, len(batch))
	// Exec's own error is the first failed command's; each command carries its own.
	_, _ = g.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, c := range batch {
			cmds[i] = p.EvalSha(ctx, commitScript.Hash(), c.keys, c.args...)
		}
		return nil
	})
	return cmds
}

func reply(c *groupCall, cmd *goredis.Cmd) {
	n, err := cmd.Int64()
	c.done <- groupResult{n: n, err: err}
}

// close stops the runners after their current pipeline; calls after close fail with ErrClosed.
func (g *grouper) close() {
	g.once.Do(func() {
		close(g.done)
		g.wg.Wait()
	})
}
