package crisptest

// The hub against the reference client: Node's socket.io-client v4 (EIO4), driven by
// testdata/rtm/client.js, which prints what it sees as JSON lines.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// rtmNodeLine is one line printed by client.js.
type rtmNodeLine struct {
	Kind    string            `json:"kind"` // connect, authenticated, unauthorized, event, disconnect, connect_error
	Value   json.RawMessage   `json:"value"`
	Name    string            `json:"name"`
	Args    []json.RawMessage `json:"args"`
	Reason  string            `json:"reason"`
	Message string            `json:"message"`
}

type rtmNodePeer struct {
	stdin io.WriteCloser
	lines chan rtmNodeLine
}

// startRTMNodeClient runs client.js against e with the given authentication payload. It skips the
// test when node or the installed socket.io-client is missing.
func startRTMNodeClient(t *testing.T, e *rtmEnv, auth any, reconnect bool) *rtmNodePeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	modules, err := filepath.Abs(filepath.Join("..", "testdata", "node", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "socket.io-client")); err != nil {
		t.Skipf("socket.io-client not installed: %v", err)
	}
	cfg, _ := json.Marshal(map[string]any{"origin": e.srv.URL, "path": "/p/1/", "auth": auth, "reconnect": reconnect})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "rtm", "client.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "RTM_CLIENT_CONFIG="+string(cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	p := &rtmNodePeer{stdin: stdin, lines: make(chan rtmNodeLine, 256)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			var l rtmNodeLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = rtmNodeLine{Kind: "unparsable", Message: sc.Text()}
			}
			p.lines <- l
		}
	})
	t.Cleanup(func() {
		stdin.Close() // client.js exits when stdin closes
		for range p.lines {
		}
		wg.Wait()
		if err := cmd.Wait(); err != nil {
			t.Errorf("node client: %v\n%s", err, stderr.String())
		}
		cancel()
	})
	return p
}

func (p *rtmNodePeer) emit(t *testing.T, name string, data any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"cmd": "emit", "name": name, "data": data})
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("command node client: %v", err)
	}
}

// expect returns the next line, which must be of the given kind.
func (p *rtmNodePeer) expect(t *testing.T, kind string) rtmNodeLine {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("node client exited while waiting for %q", kind)
		}
		if l.Kind != kind {
			t.Fatalf("got node line %+v, want kind %q", l, kind)
		}
		return l
	case <-time.After(rtmWait):
		t.Fatalf("node client printed no %q in time", kind)
	}
	return rtmNodeLine{}
}

// expectEvent waits for the next line, which must be the event name with the single argument data.
func (p *rtmNodePeer) expectEvent(t *testing.T, name, data string) {
	t.Helper()
	l := p.expect(t, "event")
	if l.Name != name || len(l.Args) != 1 || string(l.Args[0]) != data {
		t.Fatalf("got event %s %s, want %s [%s]", l.Name, l.Args, name, data)
	}
}

func (p *rtmNodePeer) authenticated(t *testing.T) {
	t.Helper()
	p.expect(t, "connect")
	if l := p.expect(t, "authenticated"); string(l.Value) != "true" {
		t.Fatalf("got authenticated %s, want true", l.Value)
	}
}

func rtmNodeAuth(events []string, rooms []string) map[string]any {
	a := map[string]any{"tier": "plugin", "username": "id", "password": "key", "events": events}
	if rooms != nil {
		a["rooms"] = rooms
	}
	return a
}

func TestRTMNodeClientEvents(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := startRTMNodeClient(t, e, rtmNodeAuth([]string{"message:send", "session:set_data"}, []string{"w1"}), false)
	p.authenticated(t)
	if n := e.hub.Connections(); n != 1 {
		t.Errorf("got %d connections, want 1", n)
	}
	send := `{"website_id":"w1","session_id":"session_1","type":"text","content":"Hey <b> & é","from":"user","fingerprint":150698569649423}`
	setData := `{"website_id":"w1","session_id":"session_1","data":{"enum":"start_chatbot"}}`
	e.hub.Publish("w1", "message:send", []byte(send))
	e.hub.Publish("w1", "message:received", []byte(`{"website_id":"w1"}`))           // not subscribed
	e.hub.Publish("w2", "session:set_data", []byte(`{"website_id":"w2","data":{}}`)) // other room
	e.hub.Publish("w1", "session:set_data", []byte(setData))
	p.expectEvent(t, "message:send", send)
	p.expectEvent(t, "session:set_data", setData) // next in order: the two filtered never came
}

func TestRTMNodeClientBind(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := startRTMNodeClient(t, e, rtmNodeAuth([]string{"a"}, nil), false)
	p.authenticated(t)

	p.emit(t, "socket:bind:push", map[string]any{"events": []string{"b"}})
	e.waitObserved(t, "socket:bind:push")
	e.hub.Publish("w1", "a", []byte(`{"n":1}`))
	e.hub.Publish("w1", "b", []byte(`{"n":2}`))
	p.expectEvent(t, "a", `{"n":1}`)
	p.expectEvent(t, "b", `{"n":2}`)

	p.emit(t, "socket:bind:pop", map[string]any{"events": []string{"a"}})
	e.waitObserved(t, "socket:bind:pop")
	e.hub.Publish("w1", "a", []byte(`{"n":3}`))
	e.hub.Publish("w1", "b", []byte(`{"n":4}`))
	p.expectEvent(t, "b", `{"n":4}`)

	p.emit(t, "socket:bind", map[string]any{}) // node-crisp-api's rebindSocket: keeps the events
	e.waitObserved(t, "socket:bind")
	e.hub.Publish("w1", "b", []byte(`{"n":5}`))
	p.expectEvent(t, "b", `{"n":5}`)

	p.emit(t, "socket:bind", map[string]any{"events": []string{"a"}})
	e.waitObserved(t, "socket:bind")
	e.hub.Publish("w1", "b", []byte(`{"n":6}`))
	e.hub.Publish("w1", "a", []byte(`{"n":7}`))
	p.expectEvent(t, "a", `{"n":7}`)
}

func TestRTMNodeClientUnauthorized(t *testing.T) {
	e := startRTM(t, rtmConfig{Auth: func(string, string, string) bool { return false }})
	p := startRTMNodeClient(t, e, rtmNodeAuth([]string{"message:send"}, nil), true)
	p.expect(t, "connect")
	l := p.expect(t, "unauthorized")
	var body struct{ Message string }
	if json.Unmarshal(l.Value, &body) != nil || body.Message == "" {
		t.Errorf("got unauthorized %s, want {\"message\":...}", l.Value)
	}
	// A server-side disconnect: socket.io-client does not reconnect after it.
	if l := p.expect(t, "disconnect"); l.Reason != "io server disconnect" {
		t.Errorf("got disconnect reason %q, want io server disconnect", l.Reason)
	}
	if n := e.hub.Connections(); n != 0 {
		t.Errorf("got %d connections, want 0", n)
	}
}

func TestRTMNodeClientHeartbeat(t *testing.T) {
	e := startRTM(t, rtmConfig{PingInterval: 25 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	p := startRTMNodeClient(t, e, rtmNodeAuth([]string{"message:send"}, nil), false)
	p.authenticated(t)
	for range 8 { // 8 ping cycles, well past pingInterval+pingTimeout
		e.waitObserved(t, "pong")
	}
	e.hub.Publish("w1", "message:send", []byte(`{}`))
	p.expectEvent(t, "message:send", `{}`) // no disconnect line came before it
}

func TestRTMNodeClientReconnectsAfterDropAll(t *testing.T) {
	e := startRTM(t, rtmConfig{})
	p := startRTMNodeClient(t, e, rtmNodeAuth([]string{"message:send"}, nil), true)
	p.authenticated(t)
	e.hub.DropAll()
	if l := p.expect(t, "disconnect"); l.Reason != "transport close" {
		t.Errorf("got disconnect reason %q, want transport close", l.Reason)
	}
	p.authenticated(t) // reconnects and authenticates again, as node-crisp-api does
	e.hub.Publish("w1", "message:send", []byte(`{"again":true}`))
	p.expectEvent(t, "message:send", `{"again":true}`)
	if n := e.hub.Connections(); n != 1 {
		t.Errorf("got %d connections, want 1", n)
	}
}
