package crisp

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
)

// TestQuotaClassesFloors: with a fake clock, each class drains the bucket only down to its floor;
// answers can take what is left.
func TestQuotaClassesFloors(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newQuotaBucket(2400, 100, func() time.Time { return now })
	drain := func(c Class) int {
		n := 0
		for {
			if _, ok := b.take(c, now); !ok {
				return n
			}
			n++
		}
	}
	if got := drain(ClassBackground); got != 40 {
		t.Errorf("background took %d of 100, want 40 (60 reserved above it)", got)
	}
	if got := drain(ClassWriteBack); got != 10 {
		t.Errorf("write-backs then took %d, want 10 (50 reserved above them)", got)
	}
	if got := drain(ClassStep); got != 35 {
		t.Errorf("steps then took %d, want 35 (15 reserved for answers)", got)
	}
	for i := range 15 {
		if d, ok := b.take(ClassAnswer, now); !ok || d != 0 {
			t.Fatalf("answer %d: wait %v ok %v, want the reserve", i, d, ok)
		}
	}
	// The bucket is empty: an answer waits in line; a write-back is told how long until its floor
	// clears and takes nothing.
	if d, _ := b.take(ClassAnswer, now); d <= 0 {
		t.Errorf("answer on an empty bucket: wait %v, want > 0", d)
	}
	b.cancel()
	d, ok := b.take(ClassWriteBack, now)
	if ok || d < 50*b.per {
		t.Errorf("write-back on an empty bucket: wait %v ok %v, want at least 50 tokens' refill and no token", d, ok)
	}
}

// TestQuotaWaitByClass: on a real clock, a write-back whose deadline comes before its floor clears
// is refused at once (and counted), while an answer made at the same moment goes through.
func TestQuotaWaitByClass(t *testing.T) {
	b := newQuotaBucket(2400, 100, time.Now) // refill ~40 s a token
	for {
		if _, ok := b.take(ClassWriteBack, time.Now()); !ok {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := b.wait(ctx, ClassWriteBack); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("write-back below its floor: %v, want ErrRateLimited", err)
	}
	if err := b.wait(ctx, ClassAnswer); err != nil {
		t.Fatalf("answer with the reserve left: %v", err)
	}
	if s := &b.stats[ClassWriteBack]; s.refused.Load() != 1 || s.granted.Load() != 0 || s.waiting.Load() != 0 {
		t.Errorf("write-back stats: granted %d refused %d waiting %d, want 0/1/0", s.granted.Load(), s.refused.Load(), s.waiting.Load())
	}
	if s := &b.stats[ClassAnswer]; s.granted.Load() != 1 {
		t.Errorf("answer stats: granted %d, want 1", s.granted.Load())
	}
}

func TestClassOf(t *testing.T) {
	bg := WithClass(context.Background(), ClassBackground)
	for _, tt := range []struct {
		ctx    context.Context
		method string
		route  string
		want   Class
	}{
		{context.Background(), http.MethodPost, RouteMessage, ClassAnswer},
		{context.Background(), http.MethodPatch, RouteState, ClassAnswer},
		{context.Background(), http.MethodGet, RouteMeta, ClassAnswer},
		{context.Background(), http.MethodPatch, RouteMeta, ClassWriteBack},
		{context.Background(), http.MethodGet, RouteConversations, ClassBackground},
		{context.Background(), http.MethodGet, RouteHelpdeskArticles, ClassBackground},
		{bg, http.MethodGet, RouteMessages, ClassBackground},
	} {
		if got := classOf(tt.ctx, tt.method, tt.route); got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.method, tt.route, got, tt.want)
		}
	}
	for _, tt := range []struct {
		m    bridge.OutMessage
		want Class
	}{
		{bridge.OutMessage{Type: "text", Text: "x"}, ClassAnswer},
		{bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{ID: bridge.PickerAnswer}}, ClassAnswer},
		{bridge.OutMessage{Type: "picker", Picker: &bridge.Picker{ID: "language"}}, ClassStep},
		{bridge.OutMessage{Type: "field", Field: &bridge.Field{ID: "email"}}, ClassStep},
		{bridge.OutMessage{Type: "field", Field: &bridge.Field{ID: bridge.FieldEmail}}, ClassAnswer},
	} {
		if got := sendClass(tt.m); got != tt.want {
			t.Errorf("send %+v: %s, want %s", tt.m, got, tt.want)
		}
	}
}
