package crisptest

// The hub's tests drive it over real loopback WebSockets with raw gorilla peers that speak the
// frames of crisp-protocol.md §2.3 exactly (EIO3 as graarh/go-crisp-api does, EIO4 as
// socket.io-client does). rtm_node_test.go repeats the core against Node's socket.io-client.
// These tests live inside the package because the hub is unexported.

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const rtmWait = 5 * time.Second // upper bound for anything awaited; never a sleep

// rtmEnv is one hub mounted at /p/1/ on a loopback httptest server.
type rtmEnv struct {
	hub      *rtmHub
	srv      *httptest.Server
	observed chan string // "<what>" for every client packet the hub handled
}

func startRTM(t testing.TB, cfg rtmConfig) *rtmEnv {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := &rtmEnv{hub: newRTMHub(cfg), observed: make(chan string, 1024)}
	e.hub.observe = func(_, what string) {
		select {
		case e.observed <- what:
		default:
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/p/1/", e.hub)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.hub.Close) // runs first: the hub's sockets are hijacked, the server does not wait for them
	return e
}

func (e *rtmEnv) url(eio string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/p/1/?EIO=" + eio + "&transport=websocket"
}

// waitObserved waits until the hub has handled a client packet named what.
func (e *rtmEnv) waitObserved(t testing.TB, what string) {
	t.Helper()
	deadline := time.After(rtmWait)
	for {
		select {
		case got := <-e.observed:
			if got == what {
				return
			}
		case <-deadline:
			t.Fatalf("hub never handled %q", what)
		}
	}
}

// rtmRawPeer is a raw Engine.IO client: a gorilla connection whose frames are read into a channel.
type rtmRawPeer struct {
	ws     *websocket.Conn
	frames chan string
	err    error // set before frames is closed

	wmu       sync.Mutex  // one writer at a time
	heartbeat atomic.Bool // answer and swallow heartbeat frames in the reading goroutine
}

func rtmDial(t testing.TB, e *rtmEnv, eio string) *rtmRawPeer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(e.url(eio), nil)
	if err != nil {
		t.Fatalf("dial EIO=%s: %v", eio, err)
	}
	resp.Body.Close()
	p := &rtmRawPeer{ws: ws, frames: make(chan string, 4096)}
	go func() {
		defer close(p.frames)
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				p.err = err
				return
			}
			if typ != websocket.TextMessage {
				p.err = errors.New("server sent a binary frame")
				return
			}
			if p.heartbeat.Load() {
				switch string(data) {
				case "2": // EIO4 server ping
					p.write([]byte("3"))
					continue
				case "3": // EIO3 pong to our ping
					continue
				}
			}
			p.frames <- string(data)
		}
	}()
	t.Cleanup(func() {
		ws.Close()
		for range p.frames { // wait for the reading goroutine
		}
	})
	return p
}

func (p *rtmRawPeer) write(frame []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return p.ws.WriteMessage(websocket.TextMessage, frame)
}

func (p *rtmRawPeer) send(t testing.TB, frame string) {
	t.Helper()
	if err := p.write([]byte(frame)); err != nil {
		t.Fatalf("send %q: %v", frame, err)
	}
}

// keepAlive makes p behave like a live client until the test ends: it answers EIO4 server pings,
// and for EIO3 pings the server every interval as graarh does; heartbeat frames are swallowed.
func (p *rtmRawPeer) keepAlive(t testing.TB, eio string, interval time.Duration) {
	p.heartbeat.Store(true)
	if eio != "3" {
		return
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if p.write([]byte("2")) != nil {
					return
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// next returns the next frame, skipping EIO4 server pings when skipPings.
func (p *rtmRawPeer) next(t testing.TB) string {
	t.Helper()
	select {
	case f, ok := <-p.frames:
		if !ok {
			t.Fatalf("connection closed while waiting for a frame: %v", p.err)
		}
		return f
	case <-time.After(rtmWait):
		t.Fatal("no frame in time")
	}
	return ""
}

func (p *rtmRawPeer) expect(t testing.TB, want string) {
	t.Helper()
	if got := p.next(t); got != want {
		t.Fatalf("got frame %q, want %q", got, want)
	}
}

// waitClosed waits for the server to close the connection and returns the frames it sent first.
func (p *rtmRawPeer) waitClosed(t testing.TB) []string {
	t.Helper()
	var got []string
	deadline := time.After(rtmWait)
	for {
		select {
		case f, ok := <-p.frames:
			if !ok {
				return got
			}
			got = append(got, f)
		case <-deadline:
			t.Fatalf("connection still open; frames so far %q", got)
		}
	}
}

// handshake reads the open packet (and joins "/" as each protocol version does) and returns it.
func (p *rtmRawPeer) handshake(t testing.TB, eio string) eioOpenPacket {
	t.Helper()
	f := p.next(t)
	if !strings.HasPrefix(f, "0{") {
		t.Fatalf("got first frame %q, want an open packet", f)
	}
	var open eioOpenPacket
	if err := json.Unmarshal([]byte(f[1:]), &open); err != nil {
		t.Fatalf("open packet %q: %v", f, err)
	}
	if eio == "3" {
		p.expect(t, "40")
		return open
	}
	p.send(t, "40")
	f = p.next(t)
	var ack struct{ SID string }
	if !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &ack) != nil || ack.SID == "" {
		t.Fatalf("got connect reply %q, want 40{\"sid\":...}", f)
	}
	return open
}

func rtmAuthFrame(payload string) string {
	return `42["authentication",` + payload + `]`
}

// rtmAuthed dials, handshakes and authenticates with the given events and rooms (nil: no rooms key).
func rtmAuthed(t testing.TB, e *rtmEnv, eio string, events, rooms []string) *rtmRawPeer {
	t.Helper()
	p := rtmDial(t, e, eio)
	p.handshake(t, eio)
	body := map[string]any{"tier": "plugin", "username": "id", "password": "key", "events": events}
	if rooms != nil {
		body["rooms"] = rooms
	}
	b, _ := json.Marshal(body)
	p.send(t, rtmAuthFrame(string(b)))
	p.expect(t, `42["authenticated",true]`)
	return p
}

func TestRTMHandshake(t *testing.T) {
	for _, eio := range []string{"3", "4"} {
		t.Run("EIO"+eio, func(t *testing.T) {
			e := startRTM(t, rtmConfig{PingInterval: 40 * time.Second, PingTimeout: 30 * time.Second})
			p := rtmDial(t, e, eio)
			open := p.handshake(t, eio)
			if len(open.SID) != 20 || open.Upgrades == nil || len(open.Upgrades) != 0 {
				t.Errorf("got open packet %+v, want a 20-char sid and empty upgrades", open)
			}
			if open.PingInterval != 40000 || open.PingTimeout != 30000 {
				t.Errorf("got pingInterval %d pingTimeout %d, want 40000 30000", open.PingInterval, open.PingTimeout)
			}
			wantMax := map[string]int{"3": 0, "4": rtmMaxPayload}[eio]
			if open.MaxPayload != wantMax {
				t.Errorf("got maxPayload %d, want %d", open.MaxPayload, wantMax)
			}
			if n := e.hub.Connections(); n != 0 {
				t.Errorf("got %d connections before authentication, want 0", n)
			}

			p.send(t, rtmAuthFrame(`{"tier":"plugin","username":"id","password":"key","events":["message:send"]}`))
			f := p.next(t)
			// graarh decodes the argument into a Go bool; only a literal true binds go-crisp-api.
			var args []json.RawMessage
			var ok bool
			if json.Unmarshal([]byte(strings.TrimPrefix(f, "42")), &args) != nil || len(args) != 2 ||
				string(args[0]) != `"authenticated"` || json.Unmarshal(args[1], &ok) != nil || !ok {
				t.Fatalf("got %q, want 42[\"authenticated\",true]", f)
			}
			if n := e.hub.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}

			data := `{"website_id":"w1","session_id":"session_1","type":"text","content":"Hey <b> & é","fingerprint":150698569649423}`
			e.hub.Publish("w1", "message:send", []byte(data))
			p.expect(t, `42["message:send",`+data+`]`)
		})
	}
}

func TestRTMEIO3ClientPing(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := rtmAuthed(t, e, "3", []string{"message:send"}, nil)
	p.send(t, "2")
	p.expect(t, "3")
	p.send(t, "2probe")
	p.expect(t, "3probe")
}

func TestRTMUnauthorized(t *testing.T) {
	deny := func(tier, username, password string) bool {
		return tier == "plugin" && username == "good" && password == "secret"
	}
	tests := []struct {
		name, eio, payload, wantMessage string
	}{
		{"wrong key EIO4", "4", `{"tier":"plugin","username":"good","password":"wrong","events":["message:send"]}`, "invalid token or tier"},
		{"wrong key EIO3", "3", `{"tier":"plugin","username":"good","password":"wrong","events":["message:send"]}`, "invalid token or tier"},
		{"wrong tier", "4", `{"tier":"website","username":"good","password":"secret","events":[]}`, "invalid token or tier"},
		{"missing password", "4", `{"tier":"plugin","username":"good","events":["message:send"]}`, "invalid authentication payload: tier, username and password are required"},
		{"not an object", "3", `"token"`, "invalid authentication payload: want an object"},
		{"no argument", "4", ``, "invalid authentication payload: want an object"},
		{"events not strings", "4", `{"tier":"plugin","username":"good","password":"secret","events":[1]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startRTM(t, rtmConfig{Auth: deny})
			p := rtmDial(t, e, tt.eio)
			p.handshake(t, tt.eio)
			frame := `42["authentication"]`
			if tt.payload != "" {
				frame = rtmAuthFrame(tt.payload)
			}
			p.send(t, frame)
			// Anything sent after the refusal is ignored, even a valid authentication. The send
			// may fail when the close frame is already there.
			_ = p.write([]byte(rtmAuthFrame(`{"tier":"plugin","username":"good","password":"secret","events":["a"]}`)))
			got := p.waitClosed(t)
			if len(got) != 2 || got[1] != "41" {
				t.Fatalf("got frames %q, want unauthorized then 41", got)
			}
			var ev []json.RawMessage
			var body struct{ Message string }
			if json.Unmarshal([]byte(strings.TrimPrefix(got[0], "42")), &ev) != nil || len(ev) != 2 ||
				string(ev[0]) != `"unauthorized"` || json.Unmarshal(ev[1], &body) != nil {
				t.Fatalf("got %q, want 42[\"unauthorized\",{\"message\":...}]", got[0])
			}
			if tt.wantMessage != "" && body.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", body.Message, tt.wantMessage)
			}
			if body.Message == "" || strings.Contains(body.Message, "secret") {
				t.Errorf("got message %q, want a reason without the secret", body.Message)
			}
			var ce *websocket.CloseError
			if !errors.As(p.err, &ce) || ce.Code != websocket.CloseNormalClosure {
				t.Errorf("got close %v, want a normal close frame", p.err)
			}
			if n := e.hub.Connections(); n != 0 {
				t.Errorf("got %d connections, want 0", n)
			}
		})
	}
}

func TestRTMDelivery(t *testing.T) {
	type pub struct{ website, event string }
	tests := []struct {
		name   string
		events []string
		rooms  []string // nil: no rooms key
		pubs   []pub
		want   []pub
	}{
		{
			name:   "only subscribed events",
			events: []string{"message:send", "session:set_data"},
			pubs:   []pub{{"w1", "message:send"}, {"w1", "message:received"}, {"w2", "session:set_data"}, {"w1", "session:set_state"}},
			want:   []pub{{"w1", "message:send"}, {"w2", "session:set_data"}},
		},
		{
			name:   "rooms filter websites",
			events: []string{"message:send"},
			rooms:  []string{"w1", "w3"},
			pubs:   []pub{{"w1", "message:send"}, {"w2", "message:send"}, {"w3", "message:send"}},
			want:   []pub{{"w1", "message:send"}, {"w3", "message:send"}},
		},
		{
			name:   "empty rooms admit no website",
			events: []string{"message:send"},
			rooms:  []string{},
			pubs:   []pub{{"w1", "message:send"}, {"", "message:send"}},
			want:   []pub{{"", "message:send"}},
		},
		{
			name:   "website-less events ignore rooms",
			events: []string{"plugin:subscription:updated"},
			rooms:  []string{"w1"},
			pubs:   []pub{{"", "plugin:subscription:updated"}},
			want:   []pub{{"", "plugin:subscription:updated"}},
		},
		{
			name:   "empty events subscribe to nothing",
			events: []string{},
			pubs:   []pub{{"w1", "message:send"}},
		},
	}
	for _, tt := range tests {
		for _, eio := range []string{"3", "4"} {
			t.Run(tt.name+" EIO"+eio, func(t *testing.T) {
				e := startRTM(t, rtmConfig{})
				// Every socket also takes "test:sentinel": publishing it last proves all earlier
				// publications were either delivered or filtered, since a socket's frames stay in order.
				p := rtmAuthed(t, e, eio, append(tt.events, "test:sentinel"), tt.rooms)
				for i, pb := range tt.pubs {
					e.hub.Publish(pb.website, pb.event, rtmPubData(pb.website, i))
				}
				e.hub.Publish("", "test:sentinel", []byte(`{}`))
				var got []string
				for f := p.next(t); f != `42["test:sentinel",{}]`; f = p.next(t) {
					got = append(got, f)
				}
				var want []string
				for _, w := range tt.want {
					for i, pb := range tt.pubs {
						if pb == w {
							want = append(want, string(sioEventFrame(w.event, rtmPubData(w.website, i))))
						}
					}
				}
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("got frames\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}

func rtmPubData(website string, i int) []byte {
	b, _ := json.Marshal(map[string]any{"website_id": website, "n": i})
	return b
}

func TestRTMDeliveryFanOut(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	a := rtmAuthed(t, e, "3", []string{"message:send"}, nil)
	b := rtmAuthed(t, e, "4", []string{"message:send"}, []string{"w1"})
	c := rtmAuthed(t, e, "4", []string{"message:received"}, nil)
	if n := e.hub.Connections(); n != 3 {
		t.Fatalf("got %d connections, want 3", n)
	}
	e.hub.Publish("w1", "message:send", []byte(`{"n":1}`))
	e.hub.Publish("w1", "message:received", []byte(`{"n":2}`))
	a.expect(t, `42["message:send",{"n":1}]`)
	b.expect(t, `42["message:send",{"n":1}]`)
	c.expect(t, `42["message:received",{"n":2}]`)
}

func TestRTMBind(t *testing.T) {
	for _, eio := range []string{"3", "4"} {
		t.Run("EIO"+eio, func(t *testing.T) {
			e := startRTM(t, rtmConfig{})
			p := rtmDial(t, e, eio)
			p.handshake(t, eio)
			// Binding before authentication changes nothing: the socket stays silent.
			p.send(t, `42["socket:bind",{"events":["a","b","c"]}]`)
			e.waitObserved(t, "socket:bind")
			p.send(t, rtmAuthFrame(`{"tier":"plugin","username":"id","password":"key","events":["a"]}`))
			p.expect(t, `42["authenticated",true]`)

			steps := []struct {
				frame, observe string // frame sent before publishing a, b and c (may be empty)
				want           string // letters received
			}{
				{"", "", "a"},
				{`42["socket:bind:push",{"events":["b"]}]`, "socket:bind:push", "ab"},
				{`42["socket:bind:pop",{"events":["a","zzz"]}]`, "socket:bind:pop", "b"},
				{`42["socket:bind",{"events":["c","a"]}]`, "socket:bind", "ac"},
				{`42["socket:bind",{}]`, "socket:bind", "ac"},                       // node-crisp-api rebind
				{`42["socket:bind",""]`, "socket:bind", "ac"},                       // go-crisp-api rebind
				{`42["socket:bind:push",["bad"]]`, "socket:bind:push", "ac"},        // not an object: ignored
				{`42["socket:bind:push",{"events":"c"}]`, "socket:bind:push", "ac"}, // bad type: ignored
				{`42["socket:bind",{"events":[]}]`, "socket:bind", ""},
			}
			for i, st := range steps {
				if st.frame != "" {
					p.send(t, st.frame)
					e.waitObserved(t, st.observe)
				}
				for _, ev := range []string{"a", "b", "c"} {
					e.hub.Publish("w1", ev, []byte(`{}`))
				}
				p.send(t, `42["socket:bind:push",{"events":["test:sentinel"]}]`)
				e.waitObserved(t, "socket:bind:push")
				e.hub.Publish("w1", "test:sentinel", []byte(`{}`))
				var got string
				for f := p.next(t); f != `42["test:sentinel",{}]`; f = p.next(t) {
					got += strings.TrimSuffix(strings.TrimPrefix(f, `42["`), `",{}]`)
				}
				if got != st.want {
					t.Errorf("step %d (%s): got events %q, want %q", i, st.frame, got, st.want)
				}
				p.send(t, `42["socket:bind:pop",{"events":["test:sentinel"]}]`)
				e.waitObserved(t, "socket:bind:pop")
			}
		})
	}
}

func TestRTMAuthTimeout(t *testing.T) {
	for _, eio := range []string{"3", "4"} {
		t.Run("EIO"+eio, func(t *testing.T) {
			e := startRTM(t, rtmConfig{AuthTimeout: 50 * time.Millisecond, PingInterval: 200 * time.Millisecond, PingTimeout: time.Second})
			start := time.Now() // before the server can start the socket's auth timer
			silent := rtmDial(t, e, eio)
			silent.handshake(t, eio)
			ok := rtmAuthed(t, e, eio, []string{"message:send"}, nil)

			got := silent.waitClosed(t)
			if len(got) != 0 {
				t.Errorf("got frames %q from an unauthenticated socket, want none", got)
			}
			if elapsed := time.Since(start); elapsed < 40*time.Millisecond {
				t.Errorf("closed after %v, want about the 50ms auth timeout", elapsed)
			}
			// The authenticated socket outlives the auth timeout: still served after it.
			if eio == "4" {
				ok.expect(t, "2") // the first ping comes 200ms after connecting, past the timeout
				ok.send(t, "3")
			} else {
				ok.keepAlive(t, eio, 10*time.Millisecond)
				for range 6 { // 60ms of client pings: past the timeout
					e.waitObserved(t, "ping")
				}
			}
			e.hub.Publish("w1", "message:send", []byte(`{}`))
			ok.expect(t, `42["message:send",{}]`)
		})
	}
}

func TestRTMHeartbeat(t *testing.T) {
	for _, eio := range []string{"3", "4"} {
		t.Run("EIO"+eio, func(t *testing.T) {
			e := startRTM(t, rtmConfig{PingInterval: 30 * time.Millisecond, PingTimeout: 60 * time.Millisecond})
			alive := rtmAuthed(t, e, eio, []string{"message:send"}, nil)
			alive.keepAlive(t, eio, 10*time.Millisecond)
			start := time.Now() // before the server can start the silent socket's heartbeat timers
			silent := rtmAuthed(t, e, eio, []string{"message:send"}, nil)

			got := silent.waitClosed(t)
			if elapsed := time.Since(start); elapsed < 90*time.Millisecond {
				t.Errorf("silent client dropped after %v, want at least pingInterval+pingTimeout (90ms)", elapsed)
			}
			wantPings := map[string]string{"3": "", "4": "2"}[eio] // only EIO4 servers ping
			if strings.Join(got, ",") != wantPings {
				t.Errorf("silent client got %q, want %q before being dropped", got, wantPings)
			}

			// The live client keeps going for several more timeout periods.
			what := map[string]string{"3": "ping", "4": "pong"}[eio]
			for range map[string]int{"3": 20, "4": 7}[eio] { // about 200ms
				e.waitObserved(t, what)
			}
			e.hub.Publish("w1", "message:send", []byte(`{}`))
			alive.expect(t, `42["message:send",{}]`)
			if n := e.hub.Connections(); n != 1 {
				t.Errorf("got %d connections, want 1", n)
			}
		})
	}
}

func TestRTMDropAll(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	peers := []*rtmRawPeer{
		rtmAuthed(t, e, "3", []string{"message:send"}, nil),
		rtmAuthed(t, e, "4", []string{"message:send"}, nil),
	}
	e.hub.DropAll()
	if n := e.hub.Connections(); n != 0 {
		t.Errorf("got %d connections after DropAll, want 0", n)
	}
	for i, p := range peers {
		if got := p.waitClosed(t); len(got) != 0 {
			t.Errorf("peer %d got frames %q, want none", i, got)
		}
		var ce *websocket.CloseError
		if !errors.As(p.err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
			t.Errorf("peer %d: got %v, want an abnormal closure without a close frame", i, p.err)
		}
	}
	// The hub keeps serving: a reconnecting client gets events again.
	p := rtmAuthed(t, e, "4", []string{"message:send"}, nil)
	e.hub.Publish("w1", "message:send", []byte(`{}`))
	p.expect(t, `42["message:send",{}]`)
}

func TestRTMSlowConsumerDropped(t *testing.T) {
	e := startRTM(t, rtmConfig{queueSize: 4})
	healthy := rtmAuthed(t, e, "4", []string{"big"}, nil)

	// A consumer that authenticates and then never reads again.
	slow, resp, err := websocket.DefaultDialer.Dial(e.url("4"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer slow.Close()
	for _, step := range []string{"read", "40", "read", rtmAuthFrame(`{"tier":"plugin","username":"id","password":"key","events":["big"]}`), "read"} {
		if step == "read" {
			if _, _, err := slow.ReadMessage(); err != nil {
				t.Fatal(err)
			}
		} else if err := slow.WriteMessage(websocket.TextMessage, []byte(step)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.hub.Connections(); n != 2 {
		t.Fatalf("got %d connections, want 2", n)
	}

	data, _ := json.Marshal(map[string]string{"pad": strings.Repeat("x", 256<<10)})
	want := string(sioEventFrame("big", data))
	published := 0
	for e.hub.Connections() == 2 {
		if published == 1000 { // 256 MB: far beyond any socket buffer
			t.Fatal("slow consumer never dropped")
		}
		e.hub.Publish("w1", "big", data) // must never block on the slow socket
		published++
		if got := healthy.next(t); got != want {
			t.Fatalf("healthy peer got a %d-byte frame, want the %d-byte event", len(got), len(want))
		}
	}
	t.Logf("slow consumer dropped after %d events of %d bytes", published, len(data))
	e.hub.Publish("w1", "big", []byte(`{}`))
	healthy.expect(t, `42["big",{}]`)
}

func TestRTMBadRequests(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	tests := []struct {
		name, query string
		upgrade     bool
		wantStatus  int
		wantBody    string
	}{
		{"EIO 2", "EIO=2&transport=websocket", true, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no EIO", "transport=websocket", true, 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"polling", "EIO=4&transport=polling", false, 400, `{"code":0,"message":"Transport unknown"}`},
		{"not an upgrade", "EIO=4&transport=websocket", false, 400, `{"code":3,"message":"Bad request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.url("")
			u = u[:strings.Index(u, "?")+1] + tt.query
			var resp *http.Response
			var err error
			if tt.upgrade {
				_, resp, err = websocket.DefaultDialer.Dial(u, nil)
				if err == nil {
					t.Fatal("dial succeeded, want a refusal")
				}
			} else {
				resp, err = http.Get(e.srv.URL + "/p/1/?" + tt.query)
				if err != nil {
					t.Fatal(err)
				}
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestRTMBadFrames(t *testing.T) {
	tests := []struct {
		name, eio string
		connect   bool // join "/" first (EIO4)
		frame     string
		binary    bool
	}{
		{"garbage", "4", true, "x", false},
		{"empty", "3", false, "", false},
		{"bad JSON", "4", true, `42["authentication",{]`, false},
		{"event name not a string", "3", false, `42[1,{}]`, false},
		{"binary frame", "4", true, "42[]", true},
		{"binary event", "4", true, `451-["a",{"_placeholder":true,"num":0}]`, false},
		{"event before connect", "4", false, rtmAuthFrame(`{"tier":"plugin","username":"id","password":"key","events":[]}`), false},
		{"open from client", "3", false, `0{}`, false},
		{"client close", "4", true, "1", false},
		{"socket.io disconnect", "3", false, "41", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startRTM(t, rtmConfig{})
			p := rtmDial(t, e, tt.eio)
			if tt.connect {
				p.handshake(t, tt.eio)
			} else {
				p.next(t) // open packet
				if tt.eio == "3" {
					p.expect(t, "40")
				}
			}
			typ := websocket.TextMessage
			if tt.binary {
				typ = websocket.BinaryMessage
			}
			if err := p.ws.WriteMessage(typ, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			if got := p.waitClosed(t); len(got) != 0 {
				t.Errorf("got frames %q, want the socket closed", got)
			}
			// The hub survives bad input.
			ok := rtmAuthed(t, e, tt.eio, []string{"message:send"}, nil)
			e.hub.Publish("w1", "message:send", []byte(`{}`))
			ok.expect(t, `42["message:send",{}]`)
		})
	}
}

func TestRTMOtherNamespace(t *testing.T) {
	tests := []struct{ eio, want string }{
		{"4", `44/admin,{"message":"Invalid namespace"}`},
		{"3", `44/admin,"Invalid namespace"`},
	}
	for _, tt := range tests {
		t.Run("EIO"+tt.eio, func(t *testing.T) {
			e := startRTM(t, rtmConfig{})
			p := rtmAuthed(t, e, tt.eio, []string{"message:send"}, nil)
			p.send(t, "40/admin,")
			p.expect(t, tt.want)
			e.hub.Publish("w1", "message:send", []byte(`{}`))
			p.expect(t, `42["message:send",{}]`)
		})
	}
}

func TestRTMPublishRejectsInvalidData(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := rtmAuthed(t, e, "4", []string{"message:send"}, nil)
	e.hub.Publish("w1", "message:send", []byte(`{"broken"`))
	e.hub.Publish("w1", "", []byte(`{}`))
	e.hub.Publish("w1", "message:send", []byte(`{"ok":true}`))
	p.expect(t, `42["message:send",{"ok":true}]`)
}

func TestRTMCloseLeavesNoGoroutines(t *testing.T) {
	e := startRTM(t, rtmConfig{PingInterval: 20 * time.Millisecond, PingTimeout: time.Second})
	peers := []*rtmRawPeer{
		rtmAuthed(t, e, "3", []string{"message:send"}, nil),
		rtmAuthed(t, e, "4", []string{"message:send"}, nil),
		rtmDial(t, e, "4"), // not even handshaken
	}
	if n := rtmGoroutines(); n == 0 {
		t.Fatal("found no hub goroutines while sockets are open; the leak check would prove nothing")
	}
	e.hub.Close()
	e.hub.Close() // idempotent
	// The count is process-wide: an earlier test's connections may still be winding down after its
	// cleanup, so wait (bounded) for every hub goroutine to be gone; a leak never gets there.
	deadline := time.Now().Add(3 * time.Second)
	for n := rtmGoroutines(); n != 0; n = rtmGoroutines() {
		if time.Now().After(deadline) {
			t.Errorf("got %d hub goroutines 3 s after Close, want 0", n)
			break
		}
		time.Sleep(5 * time.Millisecond) // polls the goroutine list, bounded by the deadline
	}
	for _, p := range peers {
		p.waitClosed(t)
	}
	_, resp, err := websocket.DefaultDialer.Dial(e.url("4"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("got %v after Close, want 503", err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	e.hub.Publish("w1", "message:send", []byte(`{}`)) // harmless after Close
	e.hub.DropAll()
}

// rtmGoroutines counts goroutines running the hub's code.
func rtmGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "crisptest.(*rtmConn)") || strings.Contains(g, "crisptest.(*rtmHub)") {
			n++
		}
	}
	return n
}
