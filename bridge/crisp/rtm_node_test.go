package crisp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

// The tests in this file run the RTM client against a real Socket.IO v4 server (Node's socket.io,
// testdata/rtm/server.js) speaking Crisp's handshake, for Engine.IO 4 and 3.

const (
	rtmWait       = 10 * time.Second // deadline for anything the tests wait for
	rtmIdentifier = "a1b2c3d4-token-identifier"
	rtmKey        = "k3y-of-the-test-token"
	rtmWebsite    = "42286ab3-b29a-4fde-8538-da0ae501d825"
	rtmSession    = "session_36ba3566-9651-4790-afc8-ffedbccc317f"
)

// rtmPeerLine is one JSON line printed by server.js.
type rtmPeerLine struct {
	Port    int             `json:"port"`
	Event   string          `json:"event"`
	Reply   string          `json:"reply"`
	Error   string          `json:"error"`
	ID      string          `json:"id"`
	EIO     int             `json:"eio"`
	OK      bool            `json:"ok"`
	Reason  string          `json:"reason"`
	Payload json.RawMessage `json:"payload"`
	Sockets json.RawMessage `json:"sockets"`
}

// rtmPeer is a running server.js.
type rtmPeer struct {
	t       testing.TB
	port    int
	stdin   io.Writer
	replies chan rtmPeerLine
	events  chan rtmPeerLine
}

// startRTMPeer starts server.js with the test credentials and a fast heartbeat, and stops it at the
// end of the test.
func startRTMPeer(t testing.TB) *rtmPeer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the RTM client is tested against Node's socket.io")
	}
	modules, err := filepath.Abs("testdata/node/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "socket.io")); err != nil {
		t.Fatalf("socket.io is not installed (npm ci in bridge/crisp/testdata/node): %v", err)
	}
	opts, _ := json.Marshal(map[string]any{
		"tier": "plugin", "username": rtmIdentifier, "password": rtmKey,
		"pingInterval": 100, "pingTimeout": 1000,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, node, "testdata/rtm/server.js", string(opts))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
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
	p := &rtmPeer{t: t, stdin: stdin, replies: make(chan rtmPeerLine, 16), events: make(chan rtmPeerLine, 1024)}
	port := make(chan int, 1)
	quit := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l rtmPeerLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				continue
			}
			ch := p.events
			switch {
			case l.Port != 0:
				port <- l.Port
				continue
			case l.Reply != "":
				ch = p.replies
			}
			select {
			case ch <- l:
			case <-quit:
				return
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // server.js exits when its stdin closes
		close(quit)
		<-readerDone
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server.js stderr:\n%s", stderr.String())
		}
	})
	select {
	case p.port = <-port:
	case <-time.After(rtmWait):
		t.Fatalf("server.js did not print its port; stderr:\n%s", stderr.String())
	}
	return p
}

// url is the endpoint as Crisp would advertise it.
func (p *rtmPeer) url() string { return fmt.Sprintf("http://127.0.0.1:%d/p/1/", p.port) }

// do runs one command and returns its reply.
func (p *rtmPeer) do(cmd map[string]any) rtmPeerLine {
	p.t.Helper()
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("server.js command %s: %v", b, err)
	}
	select {
	case r := <-p.replies:
		if r.Error != "" || r.Reply != cmd["cmd"] {
			p.t.Fatalf("server.js command %s: reply %+v", b, r)
		}
		return r
	case <-time.After(rtmWait):
		p.t.Fatalf("server.js command %s: no reply", b)
		return rtmPeerLine{}
	}
}

// emit makes the server emit event to every authenticated socket, once per item.
func (p *rtmPeer) emit(event string, items ...any) {
	p.t.Helper()
	if r := p.do(map[string]any{"cmd": "emit", "event": event, "items": items}); string(r.Sockets) != "1" {
		p.t.Fatalf("emit %s reached %s sockets, want 1", event, r.Sockets)
	}
}

// wait returns the next server line that matches, skipping the others.
func (p *rtmPeer) wait(what string, match func(rtmPeerLine) bool) rtmPeerLine {
	p.t.Helper()
	deadline := time.After(rtmWait)
	for {
		select {
		case l := <-p.events:
			if match(l) {
				return l
			}
		case <-deadline:
			p.t.Fatalf("server.js: no %s within %v", what, rtmWait)
			return rtmPeerLine{}
		}
	}
}

// waitAuth returns the next authentication the server saw.
func (p *rtmPeer) waitAuth() rtmPeerLine {
	p.t.Helper()
	return p.wait("authentication", func(l rtmPeerLine) bool { return l.Event == "authentication" })
}

// rtmClient is an RTM client running in the background.
type rtmClient struct {
	t      testing.TB
	rtm    *crisp.RTM
	events chan bridge.Event
	states chan bool
	cancel context.CancelFunc
	done   chan error
}

// startRTM runs an RTM client for cfg (credentials and fast back-off filled in when unset).
func startRTM(t testing.TB, cfg crisp.RTMConfig) *rtmClient {
	t.Helper()
	if cfg.Identifier == "" {
		cfg.Identifier, cfg.Key = rtmIdentifier, rtmKey
	}
	cfg.ReconnectMin, cfg.ReconnectMax = 10*time.Millisecond, 100*time.Millisecond
	cfg.HandshakeTimeout = 5 * time.Second
	c := &rtmClient{t: t, events: make(chan bridge.Event, 1024), states: make(chan bool, 64), done: make(chan error, 1)}
	cfg.OnState = func(up bool) { c.states <- up }
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	rtm, err := crisp.NewRTM(cfg, func(_ context.Context, ev bridge.Event) { c.events <- ev })
	if err != nil {
		t.Fatalf("NewRTM: %v", err)
	}
	c.rtm = rtm
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() { c.done <- rtm.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(rtmWait):
			t.Errorf("Run did not return after cancel")
		}
	})
	return c
}

func (c *rtmClient) waitState(want bool) {
	c.t.Helper()
	select {
	case got := <-c.states:
		if got != want {
			c.t.Fatalf("OnState(%v), want OnState(%v)", got, want)
		}
	case <-time.After(rtmWait):
		c.t.Fatalf("no OnState(%v) within %v", want, rtmWait)
	}
}

func (c *rtmClient) waitEvent() bridge.Event {
	c.t.Helper()
	select {
	case ev := <-c.events:
		return ev
	case <-time.After(rtmWait):
		c.t.Fatalf("no event within %v", rtmWait)
		return bridge.Event{}
	}
}

// stop cancels Run, checks that it returns nil and leaves no goroutine behind.
func (c *rtmClient) stop() {
	c.t.Helper()
	c.cancel()
	select {
	case err := <-c.done:
		if err != nil {
			c.t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(rtmWait):
		c.t.Fatalf("Run did not return within %v of cancel", rtmWait)
	}
	c.done <- nil // for the cleanup
	if c.rtm.Connected() {
		c.t.Errorf("Connected() = true after Run returned")
	}
	assertNoRTMGoroutines(c.t)
}

// assertNoRTMGoroutines fails when a goroutine of the RTM client is still alive. Run waits for its
// goroutines before returning, but a goroutine that has just run its last deferred call can stay
// visible for a moment, so this retries briefly (as goleak does). RTM tests do not run in parallel
// with each other, so no other client's goroutines can be seen here.
func assertNoRTMGoroutines(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		var left []string
		for _, g := range rtmGoroutineStacks() {
			if strings.Contains(g, "crisp.(*RTM)") || strings.Contains(g, "crisp.(*rtmSession)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("RTM goroutines left behind:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(time.Millisecond)
	}
}

func rtmGoroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// rtmMessage is a message:send payload as Crisp sends it.
func rtmMessage(fp int64, text string) map[string]any {
	return map[string]any{
		"website_id": rtmWebsite, "session_id": rtmSession, "type": "text", "content": text,
		"from": "user", "origin": "chat", "stamped": true, "mentions": []string{},
		"timestamp": 1506985696616, "fingerprint": fp,
		"user": map[string]any{"nickname": "visitor493603", "user_id": rtmSession},
	}
}

// checkMessage checks that ev is rtmMessage(fp, text) decoded.
func checkMessage(t *testing.T, ev bridge.Event, fp int64, text string) {
	t.Helper()
	want := bridge.Event{
		Name: bridge.EventMessageSend, Via: bridge.ViaRTM, WebsiteID: rtmWebsite, SessionID: rtmSession,
		Fingerprint: fp, Timestamp: 1506985696616,
		Message: &bridge.Message{Type: "text", From: "user", Origin: "chat", Text: text, UserID: rtmSession, Nickname: "visitor493603"},
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("event = %+v (message %+v), want %+v (message %+v)", ev, ev.Message, want, want.Message)
	}
}

func rtmEIOs(t *testing.T, f func(t *testing.T, eio int)) {
	for _, eio := range []int{4, 3} {
		t.Run(fmt.Sprintf("EIO%d", eio), func(t *testing.T) { f(t, eio) })
	}
}

// TestRTMNodeSession follows one client through authentication, events, heartbeats, two kinds of
// dropped connection, a silent (dead) server and shutdown.
func TestRTMNodeSession(t *testing.T) {
	rtmEIOs(t, func(t *testing.T, eio int) {
		peer := startRTMPeer(t)
		c := startRTM(t, crisp.RTMConfig{URL: peer.url(), EIO: eio, Rooms: []string{rtmWebsite}})

		// Authentication: the payload Crisp expects, events list included.
		auth := peer.waitAuth()
		if !auth.OK || auth.EIO != eio {
			t.Fatalf("authentication ok=%v eio=%d, want ok over EIO%d", auth.OK, auth.EIO, eio)
		}
		var payload map[string]any
		if err := json.Unmarshal(auth.Payload, &payload); err != nil {
			t.Fatal(err)
		}
		events := make([]any, len(crisp.SubscribedEvents))
		for i, e := range crisp.SubscribedEvents {
			events[i] = e
		}
		wantPayload := map[string]any{
			"tier": "plugin", "username": rtmIdentifier, "password": rtmKey,
			"events": events, "rooms": []any{rtmWebsite},
		}
		if !reflect.DeepEqual(payload, wantPayload) {
			t.Fatalf("authentication payload = %v, want %v", payload, wantPayload)
		}
		c.waitState(true)
		if !c.rtm.Connected() {
			t.Fatal("Connected() = false after OnState(true)")
		}

		// An event is decoded into a bridge.Event.
		peer.emit(bridge.EventMessageSend, rtmMessage(171586406859730, "Hey :)"))
		checkMessage(t, c.waitEvent(), 171586406859730, "Hey :)")

		// Heartbeats: the server sees five pongs (EIO4) or pings (EIO3) on this very connection,
		// several times its 100 ms ping interval, and the client never reconnected.
		for range 5 {
			peer.wait("heartbeat", func(l rtmPeerLine) bool { return l.Event == "heartbeat" && l.ID == auth.ID })
		}
		if n := c.rtm.Reconnects(); n != 0 || !c.rtm.Connected() {
			t.Fatalf("after heartbeats: Reconnects() = %d, Connected() = %v; want 0, true", n, c.rtm.Connected())
		}

		// Dropped connections: reconnect, authenticate again, receive again.
		prev := auth.ID
		for i, how := range []string{"disconnect", "terminate"} {
			peer.do(map[string]any{"cmd": "drop", "how": how})
			c.waitState(false)
			c.waitState(true)
			again := peer.waitAuth()
			if !again.OK || again.ID == prev {
				t.Fatalf("after drop %q: authentication %+v, want a new authenticated socket", how, again)
			}
			prev = again.ID
			peer.emit(bridge.EventMessageSend, rtmMessage(int64(200+i), "again"))
			checkMessage(t, c.waitEvent(), int64(200+i), "again")
			if n := c.rtm.Reconnects(); n != int64(i+1) {
				t.Fatalf("after drop %q: Reconnects() = %d, want %d", how, n, i+1)
			}
		}

		// A silent server (no pings, no pongs, nothing): the client declares the connection dead
		// and closes it itself (the server sees "transport close", never its own "ping timeout").
		peer.do(map[string]any{"cmd": "silence"})
		c.waitState(false)
		gone := peer.wait("disconnect", func(l rtmPeerLine) bool { return l.Event == "disconnect" && l.ID == prev })
		if gone.Reason != "transport close" {
			t.Fatalf("silenced socket closed with reason %q, want the client to close it (transport close)", gone.Reason)
		}
		c.waitState(true)
		if again := peer.waitAuth(); !again.OK {
			t.Fatalf("after silence: authentication %+v", again)
		}
		peer.emit(bridge.EventMessageSend, rtmMessage(300, "alive"))
		checkMessage(t, c.waitEvent(), 300, "alive")

		c.stop()
		c.waitState(false)
	})
}

// TestRTMNodeUnauthorized checks that rejected credentials end Run with ErrUnauthorized at once.
func TestRTMNodeUnauthorized(t *testing.T) {
	rtmEIOs(t, func(t *testing.T, eio int) {
		peer := startRTMPeer(t)
		c := startRTM(t, crisp.RTMConfig{URL: peer.url(), EIO: eio, Identifier: rtmIdentifier, Key: "wrong"})
		if auth := peer.waitAuth(); auth.OK {
			t.Fatal("server accepted the wrong key")
		}
		select {
		case err := <-c.done:
			if !errors.Is(err, crisp.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid token") {
				t.Fatalf("Run = %v, want ErrUnauthorized with the server's message", err)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Fatalf("Run error %q reveals the key", err)
			}
		case <-time.After(rtmWait):
			t.Fatal("Run did not return after unauthorized")
		}
		c.done <- nil // for the cleanup
		select {
		case up := <-c.states:
			t.Fatalf("OnState(%v) called for a rejected token", up)
		default:
		}
		if n := c.rtm.Reconnects(); n != 0 {
			t.Fatalf("Reconnects() = %d after unauthorized, want 0", n)
		}
		assertNoRTMGoroutines(t)
	})
}

// TestRTMNodeEvents checks what reaches handle: handled events in arrival order, decoded; nothing
// from garbage frames, binary frames, unknown packet types, other namespaces, unknown or malformed
// events; and the connection survives all of it.
func TestRTMNodeEvents(t *testing.T) {
	rtmEIOs(t, func(t *testing.T, eio int) {
		peer := startRTMPeer(t)
		c := startRTM(t, crisp.RTMConfig{URL: peer.url(), EIO: eio})
		c.waitState(true)

		frame := func(name string, data any) string {
			b, _ := json.Marshal([]any{name, data})
			return "42" + string(b)
		}
		setData := map[string]any{"website_id": rtmWebsite, "session_id": rtmSession, "data": map[string]any{"enum": "start_chatbot", "n": 3}}
		peer.do(map[string]any{"cmd": "raw", "frames": []string{
			"", "x", "9", "4", "49", "4x", "45", "451-", "6", "5", "2probe",
			`42{}`, `42[1,2]`, `42["message:send",`, `43["ack"]`, `40/admin,{"sid":"x"}`,
			"42/admin," + frame(bridge.EventMessageSend, rtmMessage(1, "other namespace"))[2:],
			frame("foo:bar", map[string]any{"website_id": rtmWebsite}),
			frame(bridge.EventMessageSend, map[string]any{"website_id": rtmWebsite}), // no session, no fingerprint
			frame(bridge.EventSessionSetState, map[string]any{"website_id": rtmWebsite, "session_id": rtmSession, "state": "bogus"}),
			`451-["message:send",{"_placeholder":true,"num":0}]`,
			frame(bridge.EventSessionSetData, setData),
		}, "binary": []string{base64.StdEncoding.EncodeToString([]byte{0x04, 0xff, 0x00})}})

		ev := c.waitEvent()
		want := bridge.Event{Name: bridge.EventSessionSetData, Via: bridge.ViaRTM, WebsiteID: rtmWebsite, SessionID: rtmSession,
			Data: map[string]string{"enum": "start_chatbot", "n": "3"}}
		if !reflect.DeepEqual(ev, want) {
			t.Fatalf("first event after the garbage = %+v, want %+v", ev, want)
		}

		// Arrival order is kept.
		const n = 200
		items := make([]any, n)
		for i := range items {
			items[i] = rtmMessage(int64(1000+i), fmt.Sprint("m", i))
		}
		peer.emit(bridge.EventMessageSend, items...)
		for i := range n {
			ev := c.waitEvent()
			if ev.Fingerprint != int64(1000+i) {
				t.Fatalf("event %d has fingerprint %d, want %d (out of order or extra)", i, ev.Fingerprint, 1000+i)
			}
		}
		select {
		case ev := <-c.events:
			t.Fatalf("unexpected extra event %+v", ev)
		default:
		}
		if r := c.rtm.Reconnects(); r != 0 || !c.rtm.Connected() {
			t.Fatalf("Reconnects() = %d, Connected() = %v; want the first connection to survive", r, c.rtm.Connected())
		}
		c.stop()
	})
}

// TestRTMNodeSlowHandler checks that a handler slower than the heartbeat timeout does not make the
// client declare a healthy connection dead: with EIO3 the client keeps pinging while handle runs and
// the pongs wait, unread, behind the event. (With EIO4 the server's pings wait the same way and the
// server gives up after its pingTimeout; NewRTM documents that handle must return promptly.)
func TestRTMNodeSlowHandler(t *testing.T) {
	peer := startRTMPeer(t)
	blocked, release := make(chan struct{}), make(chan struct{})
	events := make(chan bridge.Event, 2)
	r, err := crisp.NewRTM(crisp.RTMConfig{
		URL: peer.url(), EIO: 3, Identifier: rtmIdentifier, Key: rtmKey, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}, func(_ context.Context, ev bridge.Event) {
		if ev.Fingerprint == 1 {
			close(blocked)
			<-release
		}
		events <- ev
	})
	if err != nil {
		t.Fatal(err)
	}
	runRTMUntil(t, r, func() {
		auth := peer.waitAuth()
		peer.emit(bridge.EventMessageSend, rtmMessage(1, "slow"), rtmMessage(2, "next"))
		waitRTMSignal(t, blocked, "first event")
		// Fifteen client pings at 100 ms take longer than the 1 s pong timeout.
		for range 15 {
			peer.wait("heartbeat", func(l rtmPeerLine) bool { return l.Event == "heartbeat" && l.ID == auth.ID })
		}
		close(release)
		for _, want := range []int64{1, 2} {
			select {
			case ev := <-events:
				if ev.Fingerprint != want {
					t.Fatalf("event fingerprint %d, want %d", ev.Fingerprint, want)
				}
			case <-time.After(rtmWait):
				t.Fatalf("no event %d", want)
			}
		}
		if n := r.Reconnects(); n != 0 || !r.Connected() {
			t.Fatalf("Reconnects() = %d, Connected() = %v after a slow handler; want 0, true", n, r.Connected())
		}
	})
}

// TestRTMNodeDiscovery checks that the endpoint is discovered, discovered again after a failed
// attempt, and kept across the reconnection of an established connection.
func TestRTMNodeDiscovery(t *testing.T) {
	peer := startRTMPeer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "ws://" + l.Addr().String() + "/p/1" // nothing listens there once closed
	l.Close()

	var calls atomic.Int64
	discover := func(ctx context.Context) (string, error) {
		switch calls.Add(1) {
		case 1:
			return deadURL, nil
		case 2:
			return "", errors.New("discovery is down")
		default:
			return strings.TrimSuffix(peer.url(), "/"), nil // Crisp may omit the trailing slash
		}
	}
	c := startRTM(t, crisp.RTMConfig{Discover: discover})
	c.waitState(true)
	if got := calls.Load(); got != 3 {
		t.Fatalf("Discover called %d times before connecting, want 3 (dead endpoint, error, good endpoint)", got)
	}
	if got := c.rtm.Reconnects(); got != 2 {
		t.Fatalf("Reconnects() = %d, want 2", got)
	}
	peer.do(map[string]any{"cmd": "drop", "how": "terminate"})
	c.waitState(false)
	c.waitState(true)
	if got := calls.Load(); got != 3 {
		t.Fatalf("Discover called again (%d calls) after an established connection dropped", got)
	}
	c.stop()
}

// BenchmarkRTMNodeThroughput measures events per second from a real Socket.IO server through the
// RTM client (read, parse, decode) into the handler, over loopback, EIO4. The Node server's emit
// rate bounds the figure.
func BenchmarkRTMNodeThroughput(b *testing.B) {
	peer := startRTMPeer(b)
	c := startRTM(b, crisp.RTMConfig{URL: peer.url(), Logger: slog.New(slog.DiscardHandler)})
	c.waitState(true)
	const batch = 500
	items := make([]any, batch)
	for i := range items {
		items[i] = map[string]any{"website_id": rtmWebsite, "session_id": fmt.Sprint("session_", i),
			"data": map[string]any{"enum": "start_chatbot#" + fmt.Sprint(i)}}
	}
	b.ResetTimer()
	received := make(chan int)
	go func() {
		n := 0
		for n < b.N {
			select {
			case <-c.events:
				n++
			case <-time.After(rtmWait):
				received <- n
				return
			}
		}
		received <- n
	}()
	for sent := 0; sent < b.N; sent += batch {
		peer.emit(bridge.EventSessionSetData, items[:min(batch, b.N-sent)]...)
	}
	if n := <-received; n != b.N {
		b.Fatalf("received %d of %d events", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.StopTimer()
	c.stop()
}
