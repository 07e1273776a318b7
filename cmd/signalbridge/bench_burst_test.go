package main

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// benchBurst: the latency one answer per burst adds to a single line (the visitor writes once and
// stops): line sent -> answer seen, with the burst policy (window 700 ms, max 4 s) and without it,
// the same offline assistant, 40 conversations at once. Figures, never asserted.
func benchBurst(b *testing.B, env benchEnv, tab *benchTable) {
	measure := func(burst *BurstConfig) (p50, p99 time.Duration) {
		ba := openBench(b, benchOptions{events: "rtm", startMode: "auto", burst: burst})
		w := watchAnswers(ba.fake)
		defer w.close()
		const convs = 40
		took := make([]time.Duration, convs)
		var wg sync.WaitGroup
		for i := range took {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := ba.fake.Visitor(testSite, "", crisptest.VisitorInfo{})
				w.ch(v.SessionID())
				start := time.Now()
				if _, err := v.Send("How long does shipping take?"); err != nil {
					b.Error(err)
					return
				}
				at, err := w.next(v.SessionID(), time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				took[i] = at.Sub(start)
			}()
		}
		wg.Wait()
		slices.Sort(took)
		return benchPercentile(took, 0.50), benchPercentile(took, 0.99)
	}
	off50, off99 := measure(nil)
	on50, on99 := measure(&BurstConfig{Window: 700 * time.Millisecond, Max: 4 * time.Second})
	tab.add("one answer per burst: added latency of a single line, p50 / p99",
		benchMS(on50-off50)+" / "+benchMS(on99-off99), "< 1 s",
		"window 700 ms; line -> answer "+benchMS(on50)+" / "+benchMS(on99)+" with, "+benchMS(off50)+" / "+benchMS(off99)+" without (offline assistant, 40 conversations)")
}
