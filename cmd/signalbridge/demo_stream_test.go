package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest/ui"
	"github.com/signalbridge/signalbridge/bridge/web"
)

// TestDemoStreamsOutliveTheWriteTimeout serves the demo's routes through the bridge's web handler
// in a server with a short write timeout: the sandbox's event stream keeps working after the
// deadline (the demo clears it for streams), and ends as soon as the demo ends its streams. The
// favicon is served too.
func TestDemoStreamsOutliveTheWriteTimeout(t *testing.T) {
	fake := crisptest.New(crisptest.Options{Websites: []string{DemoWebsiteID}})
	defer fake.Close()
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	ws := &web.Server{Fallback: demoMux(streams, fake, ui.Handler(ui.Config{WebsiteID: DemoWebsiteID}))}
	srv := httptest.NewUnstartedServer(ws.Handler())
	const writeTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	defer srv.Close()

	res, err := http.Get(srv.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(body), "<svg") {
		t.Fatalf("GET /favicon.ico: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/_sandbox/events/stream?after=0", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the stream ended while waiting for %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-ctx.Done():
				t.Fatalf("no %q line on the stream", prefix)
			}
		}
	}
	next("event: run")
	next("data: ") // the run event's data

	// The server's write deadline passes (the stimulus here is time itself), then an event comes.
	<-time.After(3 * writeTimeout)
	if _, err := fake.Visitor(DemoWebsiteID, "", crisptest.VisitorInfo{}).Send("after the write deadline"); err != nil {
		t.Fatal(err)
	}
	if l := next("data: "); !strings.Contains(l, "after the write deadline") {
		t.Fatalf("got %q, want the message event", l)
	}

	// Ending the demo's streams ends the open stream at once, so a shutdown need not wait for it.
	endStreams()
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-ctx.Done():
			t.Fatal("the stream is still open after the demo ended its streams")
		}
	}
}
