package crisptest

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestRTMOutage drops the authenticated sockets, refuses new connections with 503 while the outage
// lasts, and accepts them again once it ends.
func TestRTMOutage(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := rtmAuthed(t, e, "4", []string{"message:send"}, nil)
	if n := e.hub.Connections(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
	e.hub.SetDown(true)
	dropped := make(chan struct{})
	go func() {
		for range p.frames { // the dropped socket's reader ends
		}
		close(dropped)
	}()
	select {
	case <-dropped:
	case <-time.After(rtmWait):
		t.Fatal("socket not dropped")
	}
	for i := range 2 {
		_, resp, err := websocket.DefaultDialer.Dial(e.url("4"), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("dial %d during the outage: err %v, response %+v; want a 503 refusal", i, err, resp)
		}
		resp.Body.Close()
	}
	if got := e.hub.Refused(); got != 2 {
		t.Fatalf("refused = %d, want 2", got)
	}
	e.hub.SetDown(false)
	rtmAuthed(t, e, "4", []string{"message:send"}, nil)
	if n := e.hub.Connections(); n != 1 {
		t.Fatalf("connections after the outage = %d, want 1", n)
	}
}
