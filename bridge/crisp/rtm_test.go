package crisp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
)

func TestNewRTMValidation(t *testing.T) {
	handle := func(context.Context, bridge.Event) {}
	discover := func(context.Context) (string, error) { return "wss://h/p/1/", nil }
	tests := []struct {
		name    string
		cfg     crisp.RTMConfig
		handle  func(context.Context, bridge.Event)
		wantErr string
	}{
		{name: "url", cfg: crisp.RTMConfig{URL: "wss://app.relay.crisp.chat/p/68/", Identifier: "i", Key: "k"}, handle: handle},
		{name: "discover eio3", cfg: crisp.RTMConfig{Discover: discover, EIO: 3, Identifier: "i", Key: "k"}, handle: handle},
		{name: "nil handler", cfg: crisp.RTMConfig{URL: "wss://h/p/", Identifier: "i", Key: "k"}, wantErr: "nil handler"},
		{name: "no endpoint", cfg: crisp.RTMConfig{Identifier: "i", Key: "k"}, handle: handle, wantErr: "neither URL nor Discover"},
		{name: "bad scheme", cfg: crisp.RTMConfig{URL: "ftp://h/p/", Identifier: "i", Key: "k"}, handle: handle, wantErr: "scheme"},
		{name: "no host", cfg: crisp.RTMConfig{URL: "/p/1/", Identifier: "i", Key: "k"}, handle: handle, wantErr: "scheme"},
		{name: "eio 2", cfg: crisp.RTMConfig{URL: "wss://h/p/", EIO: 2, Identifier: "i", Key: "k"}, handle: handle, wantErr: "EIO 2"},
		{name: "no key", cfg: crisp.RTMConfig{URL: "wss://h/p/", Identifier: "i"}, handle: handle, wantErr: "identifier and key"},
		{name: "no identifier", cfg: crisp.RTMConfig{URL: "wss://h/p/", Key: "k"}, handle: handle, wantErr: "identifier and key"},
		{name: "empty events", cfg: crisp.RTMConfig{URL: "wss://h/p/", Identifier: "i", Key: "k", Events: []string{}}, handle: handle, wantErr: "empty event list"},
		{name: "backoff bounds", cfg: crisp.RTMConfig{URL: "wss://h/p/", Identifier: "i", Key: "k", ReconnectMin: time.Minute, ReconnectMax: time.Second}, handle: handle, wantErr: "below ReconnectMin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := crisp.NewRTM(tt.cfg, tt.handle)
			if tt.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRTM = %v, %v; want a client", r, err)
				}
				if r.Connected() || r.Reconnects() != 0 {
					t.Fatalf("new client: Connected() = %v, Reconnects() = %d", r.Connected(), r.Reconnects())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewRTM error = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// TestRTMStalledServer covers servers that accept a connection and then say nothing: at the TCP
// level (no WebSocket upgrade) and at the Engine.IO level (no open packet). Each attempt fails after
// HandshakeTimeout and is retried; cancelling the context ends Run promptly even in mid-handshake.
func TestRTMStalledServer(t *testing.T) {
	stalls := []struct {
		name  string
		serve func(t *testing.T, accepted chan<- struct{}) string // returns the endpoint
	}{
		{name: "tcp", serve: func(t *testing.T, accepted chan<- struct{}) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				var conns []net.Conn // held open, never answered
				defer func() {
					for _, c := range conns {
						c.Close()
					}
				}()
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					conns = append(conns, c)
					signalRTM(accepted)
				}
			}()
			t.Cleanup(func() {
				l.Close()
				<-done
			})
			return "ws://" + l.Addr().String() + "/p/1/"
		}},
		{name: "engine.io", serve: func(t *testing.T, accepted chan<- struct{}) string {
			up := websocket.Upgrader{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/p/1/" || r.URL.Query().Get("transport") != "websocket" {
					http.Error(w, "wrong path", http.StatusNotFound)
					return
				}
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer c.Close()
				signalRTM(accepted)
				for { // read until the client goes away, never write
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			return srv.URL + "/p/1/"
		}},
	}
	for _, st := range stalls {
		t.Run(st.name, func(t *testing.T) {
			accepted := make(chan struct{}, 16)
			endpoint := st.serve(t, accepted)

			// Short handshake timeout: the client gives up and retries.
			r, err := crisp.NewRTM(crisp.RTMConfig{
				URL: endpoint, Identifier: "i", Key: "k", HandshakeTimeout: 100 * time.Millisecond,
				ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond,
			}, func(context.Context, bridge.Event) { t.Error("event from a stalled server") })
			if err != nil {
				t.Fatal(err)
			}
			runRTMUntil(t, r, func() {
				for range 3 {
					waitRTMSignal(t, accepted, "connection attempt")
				}
			})
			if r.Reconnects() < 2 {
				t.Fatalf("Reconnects() = %d after 3 attempts, want >= 2", r.Reconnects())
			}

			// Long handshake timeout: cancel interrupts the handshake itself.
			for len(accepted) > 0 {
				<-accepted // attempts of the first client
			}
			r, err = crisp.NewRTM(crisp.RTMConfig{URL: endpoint, Identifier: "i", Key: "k", HandshakeTimeout: time.Hour},
				func(context.Context, bridge.Event) {})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			runRTMUntil(t, r, func() { waitRTMSignal(t, accepted, "connection attempt") })
			if d := time.Since(start); d > rtmWait {
				t.Fatalf("Run took %v to stop in mid-handshake", d)
			}
		})
	}
}

// runRTMUntil runs r until until returns, then cancels it and checks a clean stop.
func runRTMUntil(t *testing.T, r *crisp.RTM, until func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	until()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(rtmWait):
		t.Fatalf("Run did not return within %v of cancel", rtmWait)
	}
	assertNoRTMGoroutines(t)
}

// signalRTM notes an occurrence without ever blocking the server that saw it.
func signalRTM(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func waitRTMSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(rtmWait):
		t.Fatalf("no %s within %v", what, rtmWait)
	}
}

func TestRTMRunTwice(t *testing.T) {
	r, err := crisp.NewRTM(crisp.RTMConfig{
		Discover: func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		},
		Identifier: "i", Key: "k",
	}, func(context.Context, bridge.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { close(started); done <- r.Run(ctx) }()
	<-started
	// The first Run may not have claimed the client yet; the second call must fail either way,
	// or be the one that runs while the first fails.
	second := make(chan error, 1)
	go func() { second <- r.Run(ctx) }()
	var errs []error
	select {
	case err := <-done:
		errs = append(errs, err)
	case err := <-second:
		errs = append(errs, err)
	case <-time.After(rtmWait):
		t.Fatal("neither Run returned")
	}
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "already running") {
		t.Fatalf("concurrent Run = %v, want already running", errs[0])
	}
	cancel()
	select {
	case err := <-done:
		errs = append(errs, err)
	case err := <-second:
		errs = append(errs, err)
	case <-time.After(rtmWait):
		t.Fatal("Run did not return after cancel")
	}
	if errs[1] != nil {
		t.Fatalf("Run after cancel = %v, want nil", errs[1])
	}
	assertNoRTMGoroutines(t)
}
