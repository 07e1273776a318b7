package effect_test

import (
	"slices"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/effect"
)

func TestMake(t *testing.T) {
	const now = 10_000
	far := int64(now + 60_000)
	tests := []struct {
		name    string
		entries []effect.Entry
		epoch   uint64
		due     []int
		inline  []int
		drop    map[int]string
		wake    int64
	}{
		{name: "empty"},
		{name: "all due in order",
			entries: []effect.Entry{{Lane: "meta", Deadline: far}, {Lane: "messages", Deadline: far}, {Lane: "meta", Deadline: far}},
			due:     []int{0, 1, 2}},
		{name: "an entry in backoff holds the later ones of its lane, not the other lanes",
			entries: []effect.Entry{{Lane: "meta", NextAt: now + 500, Deadline: far}, {Lane: "meta", Deadline: far}, {Lane: "state", Deadline: far}},
			due:     []int{2}, wake: now + 500},
		{name: "deadline checked before the first attempt",
			entries: []effect.Entry{{Lane: "messages", Deadline: now - 1}, {Lane: "messages", Deadline: far}},
			drop:    map[int]string{0: effect.Expired}, due: []int{1}},
		{name: "deadline reached exactly",
			entries: []effect.Entry{{Lane: "messages", Deadline: now}},
			drop:    map[int]string{0: effect.Expired}},
		{name: "scoped entries of an ended epoch are dropped, unscoped ones kept",
			entries: []effect.Entry{{Lane: "state", Epoch: 1, Scoped: true, Deadline: far}, {Lane: "meta", Epoch: 1, Deadline: far}},
			epoch:   2, drop: map[int]string{0: effect.Stale}, due: []int{1}},
		{name: "an inline entry at the head of its lane runs and holds the rest",
			entries: []effect.Entry{{Lane: "messages", Inline: true, Deadline: far}, {Lane: "messages", Deadline: far}, {Lane: "meta", Deadline: far}},
			inline:  []int{0}, due: []int{2}},
		{name: "an inline entry waits behind an earlier entry of its lane",
			entries: []effect.Entry{{Lane: "messages", Deadline: far}, {Lane: "messages", Inline: true, Deadline: far}, {Lane: "messages", Deadline: far}},
			due:     []int{0}},
		{name: "an inline entry in backoff",
			entries: []effect.Entry{{Lane: "messages", Inline: true, NextAt: now + 1, Deadline: far}, {Lane: "messages", Deadline: far}},
			wake:    now + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := effect.Make(tt.entries, now, tt.epoch)
			if !slices.Equal(p.Due, tt.due) {
				t.Errorf("due = %v, want %v", p.Due, tt.due)
			}
			if !slices.Equal(p.Inline, tt.inline) {
				t.Errorf("inline = %v, want %v", p.Inline, tt.inline)
			}
			if len(p.Drop) != len(tt.drop) {
				t.Errorf("drop = %v, want %v", p.Drop, tt.drop)
			}
			for i, why := range tt.drop {
				if p.Drop[i] != why {
					t.Errorf("drop[%d] = %q, want %q", i, p.Drop[i], why)
				}
			}
			if p.Wake != tt.wake {
				t.Errorf("wake = %d, want %d", p.Wake, tt.wake)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	a := effect.Fingerprint("w", "s", 1, 1, 0)
	if a != effect.Fingerprint("w", "s", 1, 1, 0) {
		t.Fatal("not stable")
	}
	seen := map[int64]bool{}
	for _, fp := range []int64{a, effect.Fingerprint("w", "s", 1, 1, 1), effect.Fingerprint("w", "s", 1, 2, 0),
		effect.Fingerprint("w", "s", 2, 1, 0), effect.Fingerprint("w", "t", 1, 1, 0), effect.Fingerprint("x", "s", 1, 1, 0)} {
		if seen[fp] {
			t.Errorf("fingerprint %d repeated", fp)
		}
		seen[fp] = true
		if !effect.Ours(fp) || fp >= 1<<53 {
			t.Errorf("fingerprint %d out of our range", fp)
		}
	}
	crisp := int64(171586406859730) // a fingerprint Crisp assigned
	if effect.Ours(crisp) {
		t.Errorf("Crisp's fingerprint %d taken for ours", crisp)
	}
}

func TestBackoff(t *testing.T) {
	for n := range 12 {
		d := effect.Backoff(n)
		if d < 250*time.Millisecond || d > 30*time.Second {
			t.Errorf("backoff(%d) = %s, outside [250ms, 30s]", n, d)
		}
	}
}
