package bolt

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/storetest"
	"github.com/signalbridge/signalbridge/signals"
)

// TestCodecKnowsEveryField fails when a field is added to the stored types without a codec update.
func TestCodecKnowsEveryField(t *testing.T) {
	for _, tt := range []struct {
		typ  reflect.Type
		want int
	}{
		{reflect.TypeFor[bridge.Conversation](), 20}, // Key, State + 18 own fields
		{reflect.TypeFor[bridge.Key](), 2},
		{reflect.TypeFor[signals.State](), 9},
		{reflect.TypeFor[bridge.Turn](), 5},
	} {
		if got := tt.typ.NumField(); got != tt.want {
			t.Errorf("%s has %d fields, the codec knows %d: update codec.go (new format) and this test", tt.typ, got, tt.want)
		}
	}
}

func TestCodecRoundTrip(t *testing.T) {
	full := storetest.Conversation("w1", "session_x")
	empty := bridge.Conversation{}
	emptyCollections := full
	emptyCollections.Last, emptyCollections.Written, emptyCollections.Locales = map[string]string{}, map[string]string{}, []string{}
	emptyCollections.Data, emptyCollections.Segments, emptyCollections.Deliveries = map[string]string{}, []string{}, map[string]int{}
	emptyCollections.Transcript = []bridge.Turn{{Sources: []string{}}}
	negative := full
	negative.ScenarioIndex, negative.Since, negative.CostUSD = -1, -5, -0.5
	for name, c := range map[string]bridge.Conversation{"full": full, "zero": empty, "empty collections": emptyCollections, "negative": negative} {
		v, err := encodeConversation(&c)
		if err != nil {
			t.Fatalf("%s: encode = %v", name, err)
		}
		var got bridge.Conversation
		if err := decodeConversation(v, &got); err != nil {
			t.Fatalf("%s: decode = %v", name, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: round trip = %+v\nwant %+v", name, got, c)
		}
		// Every truncation is an error, never a panic.
		for i := range len(v) {
			var d bridge.Conversation
			if err := decodeConversation(v[:i], &d); err == nil {
				t.Fatalf("%s: decode of %d/%d bytes = nil error", name, i, len(v))
			}
		}
	}
}

// FuzzDecodeConversation checks that no stored bytes make the decoder panic or allocate without bound.
func FuzzDecodeConversation(f *testing.F) {
	c := storetest.Conversation("w1", "s1")
	v, _ := encodeConversation(&c)
	f.Add(v)
	f.Add([]byte{formatBinary, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got bridge.Conversation
		if err := decodeConversation(b, &got); err == nil {
			again, err := encodeConversation(&got)
			if err != nil {
				t.Fatal(err)
			}
			var back bridge.Conversation
			if err := decodeConversation(again, &back); err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("re-encoded value does not round-trip: %v", err)
			}
		}
	})
}

// BenchmarkCodec compares the binary codec with encoding/json on a typical conversation.
func BenchmarkCodec(b *testing.B) {
	c := storetest.Conversation("website_bench", "session_bench")
	for range 8 {
		c.Transcript = append(c.Transcript, bridge.Turn{Role: "visitor", Text: "How do I reset my password on the mobile app?", At: 1})
	}
	v, _ := encodeConversation(&c)
	j, _ := json.Marshal(&c)
	b.Logf("sizes: binary %d bytes, json %d bytes", len(v), len(j))
	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = encodeConversation(&c)
		}
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got bridge.Conversation
			if err := decodeConversation(v, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(&c)
		}
	})
	b.Run("json/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got bridge.Conversation
			if err := json.Unmarshal(j, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
