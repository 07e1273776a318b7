package crisptest_test

import (
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// crisptestGoroutines counts goroutines running code of the package under test.
func crisptestGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "bridge/crisp/crisptest.") && !strings.Contains(g, "crisptest_test.") {
			n++
		}
	}
	return n
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	rcv := newReceiver(t, func(int, delivery) int { return http.StatusServiceUnavailable })
	s, err := crisptest.Start(crisptest.Options{Identifier: ident, Key: key, Websites: []string{website}, HookURL: rcv.URL, HookRetryDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, stop := s.Subscribe()
	defer stop()
	dialRTM(t, s, key, []string{"message:send"})
	ctx := testCtx(t)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/_sandbox/events/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := s.Visitor(website, "", crisptest.VisitorInfo{}).Send("hi"); err != nil {
		t.Fatal(err)
	}
	rcv.next(t) // a delivery failed and its retry waits an hour: Close must not
	s.Close()
	if _, err := s.Visitor(website, "", crisptest.VisitorInfo{}).Send("late"); err == nil {
		t.Fatal("send after Close: got no error")
	}
	deadline := time.Now().Add(5 * time.Second)
	for crisptestGoroutines() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines of the package left after Close", crisptestGoroutines())
		}
		runtime.Gosched()
	}
}

func TestConcurrentWritesKeepEventOrder(t *testing.T) {
	s := MustStart(t, crisptest.Options{})
	c := newClient(s)
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		t.Fatal(err)
	}
	seq := s.LastSeq()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				c.mustDo(t, 202, "POST", convPath(v.SessionID())+"/message", map[string]any{"type": "note", "from": "operator", "origin": "chat", "content": "n"})
			}
		})
	}
	wg.Wait()
	var last int64
	evs := s.Events(seq)
	for _, ev := range evs {
		fp := decode[messageData](t, ev.Data).Fingerprint
		if fp <= last {
			t.Fatalf("event fingerprints out of order: %d after %d", fp, last)
		}
		last = fp
	}
	if len(evs) != 80 {
		t.Fatalf("got %d events, want 80", len(evs))
	}
}
