package bridge

import (
	"maps"
	"slices"
)

// JobState is what a conversation's journal job holds, for tests (bridge_test).
type JobState struct {
	Running, Timer, Flush bool
	Fresh, Done           []uint64
}

// Idle reports whether nothing is set: such a job should have been removed.
func (j JobState) Idle() bool {
	return !j.Running && !j.Timer && !j.Flush && len(j.Fresh) == 0 && len(j.Done) == 0
}

// JournalJobs returns the journal jobs the bridge holds, read under its lock.
func JournalJobs(b *Bridge) map[Key]JobState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[Key]JobState, len(b.jobs))
	for k, j := range b.jobs {
		out[k] = JobState{Running: j.running, Timer: j.timer != nil, Flush: j.flush != nil,
			Fresh: slices.Sorted(maps.Keys(j.fresh)), Done: slices.Sorted(maps.Keys(j.done))}
	}
	return out
}
