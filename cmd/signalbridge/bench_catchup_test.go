package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// BenchmarkCatchup: while the RTM socket is refused, SB_BENCH_CATCHUP (default 1,000) visitors each
// open a conversation and write one message; then the socket comes back. It prints how long the
// REST catch-up took from the reconnection, the REST calls it spent (conversation list pages and
// messages pages), and how long until every missed visitor was answered. Loopback, bounded.
func BenchmarkCatchup(b *testing.B) {
	n := 1000
	if v := os.Getenv("SB_BENCH_CATCHUP"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 20_000 {
			b.Fatalf("SB_BENCH_CATCHUP=%q: want 1 to 20000", v)
		}
	}
	benchFloor() // the first benchmark of the run measures the floor, on an idle machine
	for b.Loop() {
		ba := openBench(b, benchOptions{events: "rtm", startMode: "auto"})
		benchWait(b, "start-up catch-up", 10*time.Second, func() bool { return !ba.app.catchup.GapOpen() })
		ba.fake.SetRTMDown(true)
		benchWait(b, "rtm down", 10*time.Second, func() bool { return !ba.app.rtm.Connected() })
		sessions := make([]string, n)
		for i := range sessions {
			v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			if _, err := v.Send(drillQuestions[i%len(drillQuestions)]); err != nil {
				b.Fatal(err)
			}
			sessions[i] = v.SessionID()
		}
		lists0, msgs0 := ba.fake.CallCount("GET", "/conversations/"), ba.fake.CallCount("GET", "/messages")
		calls0 := len(ba.fake.Calls())
		ba.fake.SetRTMDown(false)
		benchWait(b, "rtm reconnected", time.Minute, func() bool { return ba.app.rtm.Connected() })
		up := time.Now()
		benchWait(b, "catch-up", 2*time.Minute, func() bool {
			rep, err := ba.app.catchup.Last()
			return err == nil && rep.Read >= n
		})
		caught := time.Since(up)
		lists, msgs := ba.fake.CallCount("GET", "/conversations/")-lists0, ba.fake.CallCount("GET", "/messages")-msgs0
		left := append([]string(nil), sessions...)
		benchWait(b, "every missed visitor answered", 5*time.Minute, func() bool {
			for len(left) > 0 {
				c, _ := ba.fake.Conversation(testSite, left[len(left)-1])
				answered := false
				for _, m := range c.Messages {
					answered = answered || m.Origin == testURN && (m.Type == "text" || m.Type == "picker")
				}
				if !answered {
					return false
				}
				left = left[:len(left)-1]
			}
			return true
		})
		all := time.Since(up)
		rep, _ := ba.app.catchup.Last()
		b.ReportMetric(float64(caught.Milliseconds()), "catchup-ms")
		b.ReportMetric(float64(lists+msgs), "catchup-rest-calls")
		b.ReportMetric(float64(all.Milliseconds()), "all-answered-ms")
		fmt.Printf("catch-up of %d missed conversations: read in %s after the reconnection with %d REST calls "+
			"(%d list pages of 50, %d messages pages: %.2f calls per conversation); %d events read, %d fed; "+
			"every visitor answered %s after the reconnection (%d REST calls in all, answers included)\n",
			n, caught.Round(time.Millisecond), lists+msgs, lists, msgs, float64(lists+msgs)/float64(n), rep.Read, rep.Fed,
			all.Round(time.Millisecond), len(ba.fake.Calls())-calls0)
	}
}
