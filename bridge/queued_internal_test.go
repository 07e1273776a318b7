package bridge

import (
	"hash/maphash"
	"reflect"
	"strings"
	"testing"
)

// nonZero returns a value of type t that is not its zero value.
func nonZero(t *testing.T, typ reflect.Type) reflect.Value {
	t.Helper()
	v := reflect.New(typ).Elem()
	switch typ.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int64, reflect.Int:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(typ.Elem()))
	case reflect.Map:
		v.Set(reflect.MakeMap(typ))
		v.SetMapIndex(nonZero(t, typ.Key()), nonZero(t, typ.Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(typ, 1, 1))
		v.Index(0).Set(nonZero(t, typ.Elem()))
	default:
		t.Fatalf("no test value for a field of kind %s: add one", typ.Kind())
	}
	return v
}

// A queued event is the event that was queued: every field of Event, set alone or with all the
// others, comes back as it was (a field added to Event and forgotten by restEmpty fails here), and
// so do a nil and an empty Data or Segments.
func TestQueuedEventEqualsTheEvent(t *testing.T) {
	base := Event{Name: EventSessionSetData, Via: ViaRTM, WebsiteID: "site", SessionID: "session", Fingerprint: 3, Timestamp: 1_700_000_000_000}
	typ := reflect.TypeFor[Event]()
	var cases []Event
	all := base
	for i := range typ.NumField() {
		ev := base
		reflect.ValueOf(&ev).Elem().Field(i).Set(nonZero(t, typ.Field(i).Type))
		reflect.ValueOf(&all).Elem().Field(i).Set(nonZero(t, typ.Field(i).Type))
		cases = append(cases, ev)
	}
	cases = append(cases, all, base, Event{WebsiteID: "w", SessionID: "s"},
		Event{WebsiteID: "w", SessionID: "s", Data: map[string]string{}},
		Event{WebsiteID: "w", SessionID: "s", Segments: []string{}},
		Event{WebsiteID: "w", SessionID: "s", Data: map[string]string{"enum": "pause_chatbot#1", "plan": "pro", "": ""}},
		Event{Name: EventMessageSend, WebsiteID: "w", SessionID: "s", Message: &Message{Type: "text", Text: "hi"}, Data: map[string]string{"a": "b"}},
	)
	for _, ev := range cases {
		for _, q := range []*queued{queue(&ev, ""), queue(&ev, "inbox-1"), replayed(&ev, "inbox-2", 3)} {
			if got := q.event(Key{ev.WebsiteID, ev.SessionID}); !reflect.DeepEqual(got, ev) {
				t.Errorf("queued %+v\ngot back %+v", ev, got)
			}
		}
	}
	if q := replayed(&base, "inbox-2", 3); q.inboxID != "inbox-2" || !q.replay || q.tries != 3 {
		t.Errorf("replayed: inbox %q, replay %v, tries %d", q.inboxID, q.replay, q.tries)
	}
	if q := queue(&base, "inbox-1"); q.inboxID != "inbox-1" || q.replay || q.tries != 0 {
		t.Errorf("queue: inbox %q, replay %v, tries %d", q.inboxID, q.replay, q.tries)
	}
}

// A data event waits without its map or a copy of the event: a burst of 20,000 of them holds
// about 3 MB rather than 11.
func TestQueuedDataEventIsCompact(t *testing.T) {
	ev := Event{Name: EventSessionSetData, Via: ViaRTM, WebsiteID: "site", SessionID: "session", Timestamp: 1,
		Data: map[string]string{"enum": "pause_chatbot#1"}}
	q := queue(&ev, "")
	if q.rest != nil || len(q.data) != 2 {
		t.Errorf("a data event is queued with rest %+v, data %q", q.rest, q.data)
	}
	ev.Data["enum"] = "changed"
	if got := q.event(Key{"site", "session"}).Data["enum"]; got != "pause_chatbot#1" {
		t.Errorf("the queued data follows the transport's map: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { queue(&ev, "") }); n > 2 {
		t.Errorf("queueing a data event allocates %v times, want 2 (queued, pairs)", n)
	}
}

// A conversation's shard is the hash of its key's string, as when that string was made for it.
func TestShardIsTheHashOfTheKeyString(t *testing.T) {
	b := &Bridge{seed: maphash.MakeSeed(), shards: make([]chan *task, 256)}
	for _, k := range []Key{{"site", "session"}, {"", ""}, {"a/b", "c"}, {"a", "b/c"}, {"website_1", strings.Repeat("s", 300)}} {
		if got, want := b.shard(k), int(maphash.String(b.seed, k.String())%256); got != want {
			t.Errorf("shard(%v) = %d, want %d", k, got, want)
		}
	}
	k := Key{"site", "session_000000042"}
	if n := testing.AllocsPerRun(100, func() { b.shard(k) }); n != 0 {
		t.Errorf("shard allocates %v times", n)
	}
}
