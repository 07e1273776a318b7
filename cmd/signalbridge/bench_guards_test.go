package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// BenchmarkHostileToggles: with the daily Crisp quota and the limits run has by default, one
// conversation toggles its signal 1,000 times from the page (one every 5 ms) while 50 others ask a
// question each, one every 100 ms. It prints the REST calls the hostile conversation spent (target
// <= 20), the answers delivered to the 50 (target: all) and the slowest of them, and the quota's
// use per priority class; then the same with the signal edge limit off, to show what the quota's
// classes protect alone. Loopback, bounded; figures only.
func BenchmarkHostileToggles(b *testing.B) {
	for b.Loop() {
		for _, tc := range []struct {
			name    string
			edgeOff bool
		}{{"default guards", false}, {"edge limit off, quota classes only", true}} {
			ba := openBench(b, benchOptions{events: "rtm", startMode: "auto", guards: true, edgeLimitsOff: tc.edgeOff})
			hostile := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
			hs := hostile.SessionID()
			if err := hostile.SetData(map[string]any{"plan": "free"}); err != nil {
				b.Fatal(err)
			}
			key := bridge.Key{WebsiteID: testSite, SessionID: hs}
			calls0 := sessionCalls(ba.fake, hs)
			start := time.Now()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				hostileToggles(b, hostile, 1000, toggleEvery)
			}()
			const others = 50
			sessions := askOthers(b, ba.fake, others, 100*time.Millisecond) // spread over the toggling
			answered := 0
			_ = benchCond("the 50 answered", time.Minute, func() bool {
				answered = 0
				for _, s := range sessions {
					c, _ := ba.fake.Conversation(testSite, s)
					for _, m := range c.Messages {
						if m.Origin == testURN && (m.Type == "text" || m.Type == "picker") {
							answered++
							break
						}
					}
				}
				return answered == others
			})
			slowest := slowestAnswer(ba.fake, sessions)
			wg.Wait()
			toggled := time.Since(start)
			if _, err := hostile.Send(barrier); err != nil {
				b.Fatal(err)
			}
			benchWait(b, "the toggles processed", time.Minute, func() bool {
				c, _, err := ba.app.bridge.Conversation(context.Background(), key, 0)
				return err == nil && hasTurn(c, barrier)
			})
			// The hostile conversation's decided writes, performed or still waiting for the quota.
			pending := 0
			_ = benchCond("the hostile conversation's writes performed", 10*time.Second, func() bool {
				c, _, err := ba.app.bridge.Conversation(context.Background(), key, 0)
				pending = len(c.Journal)
				return err == nil && pending == 0
			})
			calls := sessionCalls(ba.fake, hs) - calls0
			if !tc.edgeOff {
				b.ReportMetric(float64(calls), "hostile-rest-calls")
				b.ReportMetric(float64(answered), "others-answered")
			}
			fmt.Printf("hostile toggles (%s): 1,000 toggles in %s cost %d REST calls (target <= 20; %d writes still waiting for the quota); "+
				"%d/%d other conversations asked during the toggling answered (target: all), the slowest %s after its question; quota left %d of the burst; %d warnings logged\n",
				tc.name, toggled.Round(time.Millisecond), calls, pending, answered, others, slowest, ba.app.client.QuotaLeft(), ba.logs.Load())
			for _, q := range ba.app.client.QuotaStats() {
				fmt.Printf("  quota class %-11s granted %4d, waited %3d, refused %3d, waiting now %d (leaves %d for the classes above)\n",
					q.Class, q.Granted, q.Waited, q.Refused, q.Waiting, q.Floor)
			}
		}
	}
}
