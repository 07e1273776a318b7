package bridge_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

func TestInsightCountersAndReport(t *testing.T) {
	day := "2026-03-01"
	counters := map[string]int64{}
	add := func(in bridge.Insight) {
		for k, v := range in.Counters() {
			counters[k] += v
		}
	}
	// Ten first answers: 1 within 0.5 s, 4 within 1 s, 4 within 5 s, 1 after 2 minutes.
	for i, ms := range []int64{300, 700, 800, 900, 1000, 3000, 4000, 4500, 5000, 120000} {
		add(bridge.Insight{WebsiteID: "w", Answered: true, Handled: true, FirstAnswerMs: ms, CostUSD: 0.0015,
			Cited: []string{"https://help/a"}, Gap: map[bool]string{true: "  Do you ship to MARS?? ", false: ""}[i%3 == 0]})
	}
	add(bridge.Insight{WebsiteID: "w", Handovers: []signals.Reason{signals.ReasonHuman, signals.ReasonBudget}})
	add(bridge.Insight{WebsiteID: "w", ResolvedWithoutHuman: true})
	rep := bridge.SummarizeInsights("w", []string{"2026-02-28", day}, map[string]map[string]int64{day: counters}, 5)
	if len(rep.Days) != 2 || rep.Days[0].Handled != 0 {
		t.Fatalf("days = %+v", rep.Days)
	}
	d := rep.Days[1]
	want := bridge.InsightsDay{Day: day, Handled: 10, Answers: 10, ResolvedAI: 1, FirstAnswerP50Ms: 1000, FirstAnswerP90Ms: 5000,
		CostUSD: 0.015, Handovers: map[string]int64{"human": 1, "budget": 1}}
	if d.Day != want.Day || d.Handled != want.Handled || d.Answers != want.Answers || d.ResolvedAI != want.ResolvedAI ||
		d.FirstAnswerP50Ms != want.FirstAnswerP50Ms || d.FirstAnswerP90Ms != want.FirstAnswerP90Ms ||
		d.CostUSD < 0.01499 || d.CostUSD > 0.01501 || !maps.Equal(d.Handovers, want.Handovers) {
		t.Errorf("day = %+v\nwant  %+v", d, want)
	}
	if len(rep.Gaps) != 1 || rep.Gaps[0] != (bridge.Ranked{Text: "do you ship to mars", Count: 4}) {
		t.Errorf("gaps = %+v, want the normalised question 4 times", rep.Gaps)
	}
	if len(rep.Cited) != 1 || rep.Cited[0].Count != 10 {
		t.Errorf("cited = %+v", rep.Cited)
	}
}

// memInsights is an in-memory InsightsStore.
type memInsights struct {
	mu   sync.Mutex
	days map[string]map[string]int64
	adds int
}

func (m *memInsights) AddInsights(_ context.Context, website, day string, d map[string]int64, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.adds++
	k := website + "/" + day
	if m.days[k] == nil {
		m.days[k] = map[string]int64{}
	}
	for n, v := range d {
		if _, ok := m.days[k][n]; ok || len(m.days[k]) < max {
			m.days[k][n] += v
		}
	}
	return nil
}

func (m *memInsights) Insights(_ context.Context, website string, days []string) (map[string]map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]map[string]int64{}
	for _, d := range days {
		out[d] = maps.Clone(m.days[website+"/"+d])
	}
	return out, nil
}

// TestInsightsRecorder: insights are summed and written once per website and day at Flush, and
// what is queued at Close is written too.
func TestInsightsRecorder(t *testing.T) {
	st := &memInsights{days: map[string]map[string]int64{}}
	r := &bridge.InsightsRecorder{Store: st, Interval: time.Hour}
	r.Open()
	at := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC).UnixMilli()
	for range 50 {
		r.Insight(bridge.Insight{WebsiteID: "w1", At: at, Answered: true})
	}
	r.Insight(bridge.Insight{WebsiteID: "w1", At: at + 2*60_000, Answered: true}) // the next UTC day
	r.Flush(context.Background())
	if got := st.days["w1/2026-03-01"]["answers"]; got != 50 || st.days["w1/2026-03-02"]["answers"] != 1 || st.adds != 2 {
		t.Fatalf("after flush: %v in %d writes; want 50 and 1 in 2", st.days, st.adds)
	}
	r.Insight(bridge.Insight{WebsiteID: "w2", At: at, Handovers: []signals.Reason{signals.ReasonError}})
	r.Close()
	if st.days["w2/2026-03-01"]["handover:error"] != 1 {
		t.Fatalf("Close did not write what was queued: %v", st.days)
	}
}
