package bridge

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"unsafe"
)

// A conversation's fresh and done sets are dropped (nil) once emptied rather than kept as empty
// maps (a few hundred bytes for every conversation the process touched), and the job itself once
// nothing in it is set; taking, marking and stripping behave as before: a missing job or a nil set
// reads as an empty one.
func TestJournalSetsReleasedWhenEmpty(t *testing.T) {
	b := &Bridge{jobs: map[Key]*journalJob{}}
	k := Key{"site", "session"}
	fresh := func() []uint64 {
		if j := b.jobs[k]; j != nil {
			if j.fresh != nil && len(j.fresh) == 0 {
				t.Error("an empty fresh map is kept")
			}
			return slices.Sorted(maps.Keys(j.fresh))
		}
		return nil
	}
	b.markFresh(k, []uint64{1, 2})
	for _, c := range []struct {
		seq   uint64
		want  bool
		fresh []uint64 // left afterwards
	}{
		{1, true, []uint64{2}}, {1, false, []uint64{2}}, {3, false, []uint64{2}}, {2, true, nil}, {2, false, nil},
	} {
		if got := b.takeFresh(k, c.seq); got != c.want {
			t.Errorf("takeFresh(%d) = %v, want %v", c.seq, got, c.want)
		}
		if got := fresh(); !slices.Equal(got, c.fresh) {
			t.Errorf("after takeFresh(%d): fresh %v, want %v", c.seq, got, c.fresh)
		}
	}
	if len(b.jobs) != 0 {
		t.Errorf("a job with nothing set is kept: %+v", b.jobs[k])
	}
	b.markFresh(k, []uint64{3})
	if !b.takeFresh(k, 3) || b.takeFresh(k, 3) {
		t.Error("a set marked again after it was dropped is not taken once")
	}
	if b.takeFresh(Key{"site", "other"}, 1) {
		t.Error("takeFresh of a conversation without a job")
	}
	if len(b.jobs) != 0 {
		t.Errorf("jobs left: %d", len(b.jobs))
	}

	// done: 5 is stored, 6 not any more (stripDone forgets it), then the commit saves 5.
	j := b.job(k)
	j.done = map[uint64]bool{5: true, 6: true}
	st := &step{b: b, seq0: 7, conv: Conversation{Key: k, JournalSeq: 7, Journal: []JournalEntry{{Seq: 5}, {Seq: 7}}}}
	b.stripDone(st)
	if !slices.Equal(st.unsaved, []uint64{5}) || len(st.conv.Journal) != 1 || st.conv.Journal[0].Seq != 7 || !st.dirty {
		t.Errorf("stripDone: unsaved %v, journal %v, dirty %v", st.unsaved, st.conv.Journal, st.dirty)
	}
	if got := slices.Sorted(maps.Keys(j.done)); !slices.Equal(got, []uint64{5}) {
		t.Errorf("after stripDone: done %v, want [5]", got)
	}
	b.committed(st)
	if j.done != nil || st.unsaved != nil {
		t.Errorf("after the commit: done %v (nil: %v), unsaved %v", j.done, j.done == nil, st.unsaved)
	}
	if len(b.jobs) != 0 {
		t.Errorf("after the commit the idle job is kept: %+v", b.jobs[k])
	}
	// None of the done entries stored any more.
	j = b.job(k)
	j.done = map[uint64]bool{8: true}
	st = &step{b: b, seq0: 9, conv: Conversation{Key: k, JournalSeq: 9, Journal: []JournalEntry{{Seq: 9}}}}
	b.stripDone(st)
	if j.done != nil || st.unsaved != nil || st.dirty {
		t.Errorf("stripDone of entries not stored: done %v (nil: %v), unsaved %v, dirty %v", j.done, j.done == nil, st.unsaved, st.dirty)
	}
	if len(b.jobs) != 0 {
		t.Errorf("after stripDone the idle job is kept: %+v", b.jobs[k])
	}
}

// A commit forgets the fresh marks of entries its journal no longer holds (a data write merged
// into a newer one, an entry dropped before any attempt: nothing would ever take those marks) and
// marks the entries it added; with nothing left, the job goes.
func TestCommitForgetsFreshMarksOfRemovedEntries(t *testing.T) {
	b := &Bridge{jobs: map[Key]*journalJob{}}
	k := Key{"site", "session"}
	b.markFresh(k, []uint64{1, 2})
	// Entry 1 merged into 3 (the step began at 2); 2 is still waiting.
	st := &step{b: b, seq0: 2, conv: Conversation{Key: k, JournalSeq: 3, Journal: []JournalEntry{{Seq: 2}, {Seq: 3}}}}
	b.committed(st)
	if got := slices.Sorted(maps.Keys(b.jobs[k].fresh)); !slices.Equal(got, []uint64{2, 3}) {
		t.Errorf("after the merge: fresh %v, want [2 3]", got)
	}
	// 2 dropped as stale before any attempt, 3 attempted.
	if !b.takeFresh(k, 3) {
		t.Error("3 not fresh")
	}
	st = &step{b: b, seq0: 3, conv: Conversation{Key: k, JournalSeq: 3}}
	b.committed(st)
	if len(b.jobs) != 0 {
		t.Errorf("after the drop: job %+v kept", b.jobs[k])
	}
	// A job kept for something else keeps its other fields.
	b.markFresh(k, []uint64{4})
	b.jobs[k].running = true
	b.committed(&step{b: b, seq0: 4, conv: Conversation{Key: k, JournalSeq: 4}})
	if j := b.jobs[k]; j == nil || !j.running || j.fresh != nil {
		t.Errorf("a running job after its fresh entry was dropped: %+v", j)
	}
}

// After a burst the jobs map is made again (a Go map keeps the table of its peak): once an eighth
// of the jobs is left, the map holds only those.
func TestJobsMapRemadeAfterABurst(t *testing.T) {
	b := &Bridge{jobs: map[Key]*journalJob{}}
	const n = 4096
	key := func(i int) Key { return Key{"site", fmt.Sprint("s", i)} }
	for i := range n {
		b.markFresh(key(i), []uint64{1})
	}
	if b.jobsPeak != n {
		t.Fatalf("peak %d, want %d", b.jobsPeak, n)
	}
	for i := range n - 10 {
		if !b.takeFresh(key(i), 1) {
			t.Fatalf("takeFresh(%d) = false", i)
		}
	}
	if len(b.jobs) != 10 || b.jobsPeak >= n {
		t.Errorf("after the burst: %d jobs, peak %d; want 10 jobs in a map made again", len(b.jobs), b.jobsPeak)
	}
	for i := n - 10; i < n; i++ {
		if b.jobs[key(i)] == nil || !b.takeFresh(key(i), 1) {
			t.Errorf("job %d lost when the map was made again", i)
		}
	}
	if len(b.jobs) != 0 {
		t.Errorf("%d jobs left", len(b.jobs))
	}
}

// Every task queued takes its bytes until its shard runs it: with what only events need in queued
// and the booleans packed at the end, 80 (104 before, 128 with the booleans between the other
// fields).
func TestTaskSize(t *testing.T) {
	if n := unsafe.Sizeof(task{}); n > 80 {
		t.Errorf("a task takes %d bytes, want <= 80", n)
	}
}
