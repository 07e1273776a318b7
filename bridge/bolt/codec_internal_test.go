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
		{reflect.TypeFor[bridge.Conversation](), 23}, // Key, State + 21 own fields
		{reflect.TypeFor[bridge.Key](), 2},
		{reflect.TypeFor[signals.State](), 9},
		{reflect.TypeFor[bridge.Turn](), 5},
		{reflect.TypeFor[bridge.JournalEntry](), 15},
		{reflect.TypeFor[bridge.MetaUpdate](), 5},
		{reflect.TypeFor[bridge.OutMessage](), 6},
		{reflect.TypeFor[bridge.Offer](), 4},
		{reflect.TypeFor[bridge.Picker](), 3},
		{reflect.TypeFor[bridge.Choice](), 3},
		{reflect.TypeFor[bridge.Field](), 4},
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
	journal := full
	journal.Journal = []bridge.JournalEntry{
		{Seq: 1, Kind: bridge.JournalOffer, Reason: signals.ReasonHuman, Created: 5, Deadline: 6, Epoch: 3, After: 4, Fingerprint: 1 << 50,
			Offer: &bridge.Offer{Online: "on", Offline: "off", Chosen: "offline", AskEmail: &bridge.Field{ID: "sb-email", Text: "Email?", Explain: "you@example.com"}}},
		{Seq: 2, Kind: bridge.JournalMessage, Attempts: 3, NextAt: 9, LastError: "503",
			Message: &bridge.OutMessage{Type: "picker", Text: "t", Mentions: []string{"op1"}, Fingerprint: 77,
				Picker: &bridge.Picker{ID: "p", Text: "Pick", Choices: []bridge.Choice{{Value: "a", Label: "A", Selected: true}, {Value: "b", Label: "B"}}}}},
		{Seq: 3, Kind: bridge.JournalMessage, Message: &bridge.OutMessage{Type: "field", Field: &bridge.Field{ID: "f", Text: "F", Value: "v"}}},
		{Seq: 4, Kind: bridge.JournalState, State: "pending"},
		{Seq: 5, Kind: bridge.JournalMeta, Meta: &bridge.MetaUpdate{Email: "a@b.c", Nickname: "N", Segments: []string{"s"}}},
	}
	for name, c := range map[string]bridge.Conversation{"full": full, "zero": empty, "empty collections": emptyCollections,
		"negative": negative, "journal": journal} {
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
