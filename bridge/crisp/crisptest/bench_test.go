package crisptest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// BenchmarkRESTSendMessage measures POST .../message over loopback (auth, validation, model,
// fan-out to the event log), one client with keep-alive.
func BenchmarkRESTSendMessage(b *testing.B) {
	s := MustStart(b, crisptest.Options{})
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	if _, err := v.Send("hi"); err != nil {
		b.Fatal(err)
	}
	url := s.RESTURL() + convPath(v.SessionID()) + "/message"
	body := []byte(`{"type":"text","from":"operator","origin":"urn:signalbridge:bot:0","content":"An answer"}`)
	client := &http.Client{}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.SetBasicAuth(ident, key)
		req.Header.Set("X-Crisp-Tier", "plugin")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkEmitToRTM measures session:set_data events from the visitor control to a subscribed RTM
// socket (Socket.IO frames over loopback), the path the bridge's RTM throughput target uses.
func BenchmarkEmitToRTM(b *testing.B) {
	s := MustStart(b, crisptest.Options{EventLog: 1000})
	p, reply := dialRTM(b, s, key, []string{"session:set_data"})
	if reply != `42["authenticated",true]` {
		b.Fatalf("got %q", reply)
	}
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, msg, err := p.conn.ReadMessage()
			if err != nil {
				return
			}
			if string(msg) == "2" {
				p.conn.WriteMessage(1, []byte("3"))
				continue
			}
			got.Add(1)
		}
	}()
	v := s.Visitor(website, "", crisptest.VisitorInfo{})
	b.ResetTimer()
	start := time.Now()
	i := 0
	for b.Loop() {
		i++
		if err := v.SetData(map[string]any{"enum": "v" + strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := int64(i)
	if err := s.Wait(ctx, func(*crisptest.Server) bool { return got.Load() >= want }); err != nil {
		b.Fatalf("got %d of %d frames: %v", got.Load(), want, err)
	}
	b.ReportMetric(float64(want)/time.Since(start).Seconds(), "events/s")
	p.conn.Close()
	<-done
}

// BenchmarkHookDelivery measures signed hook deliveries to a loopback receiver, many conversations.
func BenchmarkHookDelivery(b *testing.B) {
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer rcv.Close()
	s := MustStart(b, crisptest.Options{HookURL: rcv.URL, HookSecret: secret, EventLog: 1000})
	visitors := make([]*crisptest.Visitor, 64)
	for i := range visitors {
		visitors[i] = s.Visitor(website, "", crisptest.VisitorInfo{})
	}
	b.ResetTimer()
	start := time.Now()
	i := 0
	for b.Loop() {
		i++
		if err := visitors[i%len(visitors)].SetData(map[string]any{"enum": "v" + strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.WaitHooksIdle(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "hooks/s")
}
