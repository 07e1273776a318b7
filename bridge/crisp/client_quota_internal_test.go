package crisp

import (
	"testing"
	"time"
)

// TestQuotaBucketDay drives the bucket with a fake clock: a greedy caller taking every token as soon
// as it is due never exceeds the daily quota in any 24 h window, yet gets close to it.
func TestQuotaBucketDay(t *testing.T) {
	for _, tt := range []struct{ quota, burst int }{{5000, 0}, {5000, 1000}, {100, 1}, {10, 0}, {1, 0}} {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		now := t0
		b := newQuotaBucket(tt.quota, tt.burst, func() time.Time { return now })
		var grants []time.Time
		for now.Sub(t0) < 3*quotaDay {
			now = now.Add(b.reserve(now))
			grants = append(grants, now)
		}
		maxIn := 0
		j := 0
		for i := range grants {
			for grants[i].Sub(grants[j]) >= quotaDay {
				j++
			}
			maxIn = max(maxIn, i-j+1)
		}
		if maxIn > tt.quota {
			t.Errorf("quota %d burst %d: %d requests in a 24 h window", tt.quota, tt.burst, maxIn)
		}
		if tt.quota >= 100 && maxIn < tt.quota*95/100 {
			t.Errorf("quota %d burst %d: only %d requests in the busiest 24 h window", tt.quota, tt.burst, maxIn)
		}
	}
}

func TestQuotaBucketRefillAndCancel(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newQuotaBucket(5000, 0, func() time.Time { return now })
	if got := b.left(); got != 208 {
		t.Fatalf("left = %d, want 208 (an hour's worth)", got)
	}
	for range 208 {
		if d := b.reserve(now); d != 0 {
			t.Fatalf("wait %v within the burst", d)
		}
	}
	d := b.reserve(now)
	if want := quotaDay / (5000 - 208); d != want {
		t.Errorf("wait = %v, want %v", d, want)
	}
	b.cancel()
	if got := b.left(); got != 0 {
		t.Errorf("left after cancel = %d, want 0", got)
	}
	now = now.Add(time.Hour)
	if got := b.left(); got < 199 || got > 200 {
		t.Errorf("left an hour later = %d, want ~199", got)
	}
	now = now.Add(quotaDay)
	if got := b.left(); got != 208 {
		t.Errorf("left a day later = %d, want the burst 208", got)
	}
}
