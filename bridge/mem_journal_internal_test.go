package bridge

import (
	"maps"
	"slices"
	"testing"
	"unsafe"
)

// A conversation's fresh and done sets are dropped (nil) once emptied rather than kept as empty
// maps (a few hundred bytes for every conversation the process touched); taking, marking and
// stripping behave as before: a nil set reads as an empty one.
func TestJournalSetsReleasedWhenEmpty(t *testing.T) {
	b := &Bridge{jobs: map[Key]*journalJob{}}
	k := Key{"site", "session"}
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
		j := b.jobs[k]
		if got := slices.Sorted(maps.Keys(j.fresh)); !slices.Equal(got, c.fresh) {
			t.Errorf("after takeFresh(%d): fresh %v, want %v", c.seq, got, c.fresh)
		}
		if len(c.fresh) == 0 && j.fresh != nil {
			t.Errorf("after takeFresh(%d): an empty fresh map is kept", c.seq)
		}
	}
	b.markFresh(k, []uint64{3})
	if !b.takeFresh(k, 3) || b.takeFresh(k, 3) {
		t.Error("a set marked again after it was dropped is not taken once")
	}
	if b.takeFresh(Key{"site", "other"}, 1) {
		t.Error("takeFresh of a conversation without a job")
	}

	// done: 5 is stored, 6 not any more (stripDone forgets it), then the commit saves 5.
	j := b.jobs[k]
	j.done = map[uint64]bool{5: true, 6: true}
	st := &step{b: b, conv: Conversation{Key: k, Journal: []JournalEntry{{Seq: 5}, {Seq: 7}}}}
	b.stripDone(st)
	if !slices.Equal(st.unsaved, []uint64{5}) || len(st.conv.Journal) != 1 || st.conv.Journal[0].Seq != 7 || !st.dirty {
		t.Errorf("stripDone: unsaved %v, journal %v, dirty %v", st.unsaved, st.conv.Journal, st.dirty)
	}
	if got := slices.Sorted(maps.Keys(j.done)); !slices.Equal(got, []uint64{5}) {
		t.Errorf("after stripDone: done %v, want [5]", got)
	}
	b.saved(st)
	if j.done != nil || st.unsaved != nil {
		t.Errorf("after saved: done %v (nil: %v), unsaved %v", j.done, j.done == nil, st.unsaved)
	}
	// None of the done entries stored any more.
	j.done = map[uint64]bool{8: true}
	st = &step{b: b, conv: Conversation{Key: k, Journal: []JournalEntry{{Seq: 9}}}}
	b.stripDone(st)
	if j.done != nil || st.unsaved != nil || st.dirty {
		t.Errorf("stripDone of entries not stored: done %v (nil: %v), unsaved %v, dirty %v", j.done, j.done == nil, st.unsaved, st.dirty)
	}
}

// Every shard's queue holds QueueSize tasks: the booleans packed at the end keep a task at 104
// bytes (128 with them between the other fields).
func TestTaskSize(t *testing.T) {
	if n := unsafe.Sizeof(task{}); n > 104 {
		t.Errorf("a task takes %d bytes, want <= 104", n)
	}
}
