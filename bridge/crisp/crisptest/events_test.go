package crisptest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// rtmPeer is a raw Socket.IO (EIO4) client on the fake's advertised RTM endpoint.
type rtmPeer struct {
	conn *websocket.Conn
}

func dialRTM(tb testing.TB, s *crisptest.Server, password string, events []string) (*rtmPeer, string) {
	tb.Helper()
	ep := decode[struct {
		Socket struct {
			App string `json:"app"`
		} `json:"socket"`
	}](tb, newClient(s).mustDo(tb, 200, "GET", "plugin/connect/endpoints", nil).Data)
	conn, _, err := websocket.DefaultDialer.Dial(ep.Socket.App+"?EIO=4&transport=websocket", nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", ep.Socket.App, err)
	}
	tb.Cleanup(func() { conn.Close() })
	p := &rtmPeer{conn: conn}
	if open := p.next(tb); !strings.HasPrefix(open, "0{") {
		tb.Fatalf("got %q, want the open packet", open)
	}
	p.send(tb, "40")
	if ack := p.next(tb); !strings.HasPrefix(ack, "40") {
		tb.Fatalf("got %q, want the connect ack", ack)
	}
	auth := marshal(tb, []any{"authentication", map[string]any{"tier": "plugin", "username": ident, "password": password, "events": events}})
	p.send(tb, "42"+auth)
	return p, p.next(tb)
}

func marshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func (p *rtmPeer) send(tb testing.TB, frame string) {
	tb.Helper()
	if err := p.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		tb.Fatalf("write %q: %v", frame, err)
	}
}

// next returns the next frame that is not an Engine.IO ping (answered).
func (p *rtmPeer) next(tb testing.TB) string {
	tb.Helper()
	for {
		p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := p.conn.ReadMessage()
		if err != nil {
			tb.Fatalf("read: %v", err)
		}
		if string(msg) == "2" {
			p.send(tb, "3")
			continue
		}
		return string(msg)
	}
}

func TestRTMThroughTheFake(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	if _, reply := dialRTM(t, s, "wrong", []string{"message:send"}); !strings.HasPrefix(reply, `42["unauthorized"`) {
		t.Fatalf("got %q with a wrong key, want unauthorized", reply)
	}
	p, reply := dialRTM(t, s, key, []string{"message:send", "session:set_data"})
	if reply != `42["authenticated",true]` {
		t.Fatalf("got %q, want authenticated", reply)
	}
	ctx := testCtx(t)
	if err := s.Wait(ctx, func(s *crisptest.Server) bool { return s.RTMConnections() == 1 }); err != nil {
		t.Fatal(err)
	}
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	seq := s.LastSeq()
	if err := v.SetEmail("a@b.c"); err != nil { // not subscribed: not delivered
		t.Fatal(err)
	}
	if _, err := v.Send("hello <there>"); err != nil {
		t.Fatal(err)
	}
	evs := s.Events(seq)
	if len(evs) != 2 {
		t.Fatalf("got %d events", len(evs))
	}
	if got, want := p.next(t), `42["message:send",`+string(evs[1].Data)+`]`; got != want {
		t.Fatalf("got frame\n%s\nwant\n%s", got, want)
	}

	s.DropRTM()
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := p.conn.ReadMessage(); err != nil {
			break // dropped
		}
	}
	if err := s.Wait(ctx, func(s *crisptest.Server) bool { return s.RTMConnections() == 0 }); err != nil {
		t.Fatal(err)
	}
}
