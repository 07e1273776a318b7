package crisp_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

// TestDecodeSyncPages: session:sync:pages as the official clients type it (pages of page_url,
// page_title, timestamp) gives the most recent page's URL; the bridge subscribes to it.
func TestDecodeSyncPages(t *testing.T) {
	data := []byte(`{"website_id":"w","session_id":"s","inbox_id":null,"pages":[` +
		`{"page_title":"Pricing","page_url":"https://shop.example/pricing","page_referrer":"","timestamp":1700000002000},` +
		`{"page_title":"Home","page_url":"https://shop.example/","timestamp":1700000001000}]}`)
	ev, err := crisp.DecodeEvent(bridge.EventSessionSyncPages, data, bridge.ViaRTM, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev.PageURL != "https://shop.example/pricing" || ev.SessionID != "s" {
		t.Fatalf("event = %+v", ev)
	}
	if !crisp.Handled(bridge.EventSessionSyncPages) || !slices.Contains(crisp.SubscribedEvents, bridge.EventSessionSyncPages) {
		t.Fatal("session:sync:pages is not handled or not subscribed")
	}
	_, err = crisp.DecodeEvent(bridge.EventSessionSyncPages, []byte(`{"website_id":"w","pages":[]}`), bridge.ViaRTM, "")
	if !errors.Is(err, crisp.ErrMalformed) {
		t.Fatalf("no session: err = %v", err)
	}
}
