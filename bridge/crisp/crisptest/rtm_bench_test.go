package crisptest

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkRTMPublish measures sustained fan-out through the hub over loopback WebSockets to
// EIO4 consumers that read as fast as they can. The publisher runs in batches smaller than the
// per-socket queue and waits for every consumer to catch up after each batch, so the figure is
// what the hub can deliver without dropping anyone, not how fast frames can be queued.
func BenchmarkRTMPublish(b *testing.B) {
	for _, consumers := range []int{1, 10} {
		b.Run(strconv.Itoa(consumers)+"_consumers", func(b *testing.B) {
			e := startRTM(b, rtmConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			const batch = 1000
			batchDone := make(chan struct{}, consumers)
			for range consumers {
				rtmBenchConsumer(b, e, batchDone, batch)
			}
			data := []byte(`{"website_id":"42286ab3-b29a-4fde-8538-da0ae501d825","session_id":"session_36ba3566-9651-4790-afc8-ffedbccc317f","data":{"enum":"start_chatbot"}}`)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			n := 0
			for n < b.N {
				k := min(batch, b.N-n)
				for range k {
					e.hub.Publish("42286ab3-b29a-4fde-8538-da0ae501d825", "message:send", data)
				}
				n += k
				if k < batch {
					break // the consumers' last batch is partial; Close ends them
				}
				for range consumers {
					select {
					case <-batchDone:
					case <-time.After(rtmWait):
						b.Fatal("consumers stalled")
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(b.N*consumers)/elapsed.Seconds(), "deliveries/s")
		})
	}
}

// rtmBenchConsumer authenticates a raw EIO4 socket and counts events, signalling every batch.
func rtmBenchConsumer(b *testing.B, e *rtmEnv, batchDone chan<- struct{}, batch int) {
	b.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(e.url("4"), nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	for _, step := range []string{"read", "40", "read", rtmAuthFrame(`{"tier":"plugin","username":"id","password":"key","events":["message:send"]}`), "read"} {
		if step == "read" {
			_, _, err = ws.ReadMessage()
		} else {
			err = ws.WriteMessage(websocket.TextMessage, []byte(step))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		for {
			_, f, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if len(f) > 2 && f[0] == '4' && f[1] == '2' {
				if n++; n%batch == 0 {
					batchDone <- struct{}{}
				}
			}
		}
	}()
	b.Cleanup(func() { ws.Close(); <-done })
}
