// Package effect plans the Crisp writes a conversation owes: which entries of its journal are due,
// which are dropped (past their deadline, or decided in a mode epoch that has ended), and when the
// next retry is. It is pure: the bridge commits entries with its decisions, asks Plan what to do,
// performs, and commits the outcome, like the job states of River or asynq (available, running,
// retryable, completed, discarded).
//
// The rules:
//   - Each lane runs strictly in order: an entry waiting for a retry holds every later entry of its
//     lane, and an entry performed inline (by the conversation's owner, not by a pass) is due only at
//     the head of its lane and holds the rest of it.
//   - A deadline is checked before every attempt, the first one after a downtime included.
//   - An entry scoped to its epoch is dropped once the conversation's epoch has moved on (a handover's
//     notice after the operator resolved, an answer after a pause).
//
// Identity: every write has a fingerprint derived from its conversation and sequence number, carried
// to Crisp with the message, so that "did it land?" is a lookup.
package effect

import (
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"
)

// Entry is what the planner needs to know of one journal entry.
type Entry struct {
	Lane     string
	NextAt   int64  // Unix ms: not tried before
	Deadline int64  // Unix ms: dropped when reached before an attempt
	Epoch    uint64 // the conversation's epoch when it was decided
	Scoped   bool   // dropped when the conversation's epoch is no longer Epoch
	Inline   bool   // performed by the conversation's owner (an answer), never by a pass
}

// Why an entry is dropped.
const (
	Expired = "expired" // its deadline passed before it could be performed
	Stale   = "stale"   // the epoch that decided it has ended
)

// Plan is what to do with a journal now.
type Plan struct {
	Drop   map[int]string // index -> Expired or Stale
	Due    []int          // indexes a pass performs, in order (a lane stops at its first failure)
	Inline []int          // indexes the owner performs now, in order
	Wake   int64          // Unix ms of the earliest retry of a held lane; 0 when none
}

// Make plans the entries (oldest first) at now, for a conversation whose epoch is epoch.
func Make(entries []Entry, now int64, epoch uint64) Plan {
	var p Plan
	held := map[string]bool{} // a lane whose head cannot run now
	seen := map[string]bool{} // a lane with an earlier entry still owed
	for i, e := range entries {
		switch {
		case e.Scoped && e.Epoch != epoch:
			p.drop(i, Stale)
			continue
		case e.Deadline > 0 && now >= e.Deadline:
			p.drop(i, Expired)
			continue
		}
		if held[e.Lane] {
			seen[e.Lane] = true
			continue
		}
		switch {
		case e.NextAt > now:
			held[e.Lane] = true
			if p.Wake == 0 || e.NextAt < p.Wake {
				p.Wake = e.NextAt
			}
		case e.Inline:
			if !seen[e.Lane] {
				p.Inline = append(p.Inline, i)
			}
			held[e.Lane] = true // later entries of its lane wait for it
		default:
			p.Due = append(p.Due, i)
		}
		seen[e.Lane] = true
	}
	return p
}

func (p *Plan) drop(i int, why string) {
	if p.Drop == nil {
		p.Drop = map[int]string{}
	}
	p.Drop[i] = why
}

// Fingerprints of our messages start at 2^50: Crisp's own are the message time in ms followed by two
// digits (about 1.7e14 today, below 2^48 until about 2059), so ours never look like one of theirs,
// and they stay below 2^53 (exact in a JSON number). The two low bits number the messages of one
// entry (a handover notice and its email field).
const (
	fpBase = int64(1) << 50
	fpMask = fpBase - 1
)

// Fingerprint returns the identity of message part (0-3) of the entry seq of a conversation,
// created at created (Unix ms): stable across restarts and replicas, different for a conversation
// erased and started again.
func Fingerprint(websiteID, sessionID string, created int64, seq uint64, part int) int64 {
	h := fnv.New64a()
	h.Write([]byte(websiteID))
	h.Write([]byte{0})
	h.Write([]byte(sessionID))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(created, 10)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatUint(seq, 10)))
	return fpBase + int64(h.Sum64())&fpMask&^3 + int64(part&3)
}

// Ours reports whether fp is a fingerprint made by Fingerprint.
func Ours(fp int64) bool { return fp >= fpBase && fp < 2*fpBase }

// Backoff is the wait before attempt n+1: exponential from 500 ms, capped at 30 s, with full jitter
// over its upper half.
func Backoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(max(n-1, 0), 6)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}
