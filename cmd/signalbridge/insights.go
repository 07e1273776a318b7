package main

import (
	"context"
	"fmt"
	"time"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/web"
)

// The insights page counts, per website and day, what the bridge decided: the bridge hands each
// committed step's bridge.Insight to its metrics, which pass it to an InsightsRecorder that adds it
// to the store's small per-day records a second at a time. The page reads a few days of records.

// insightsDays is the longest period the insights page and API show.
const insightsDays = 90

// insightMetrics is the bridge's metrics: the Prometheus ones, and the insights recorder.
type insightMetrics struct {
	*web.Metrics
	rec *bridge.InsightsRecorder
}

// Insight passes a committed step's insight to the recorder.
func (m insightMetrics) Insight(in bridge.Insight) { m.rec.Insight(in) }

// openInsights starts the recorder when the store keeps insights.
func (a *app) openInsights() {
	st, ok := a.store.(bridge.InsightsStore)
	if !ok {
		return
	}
	a.insights = &bridge.InsightsRecorder{Store: st, Logger: a.log.With("component", "insights")}
	a.insights.Open()
	a.metrics.CounterFunc("signalbridge_insights_dropped_total", "Insights dropped because the recorder's queue was full.",
		func() float64 { return float64(a.insights.Dropped()) })
}

// bridgeMetrics is what the bridge reports to: with insights when the store keeps them.
func (a *app) bridgeMetrics() bridge.Metrics {
	if a.insights == nil {
		return a.metrics
	}
	return insightMetrics{Metrics: a.metrics, rec: a.insights}
}

// Insights returns a website's insights of the last days (today included, UTC days).
func (o *owners) Insights(ctx context.Context, websiteID string, days int) (bridge.InsightsReport, error) {
	st, ok := o.a.store.(bridge.InsightsStore)
	if !ok {
		return bridge.InsightsReport{}, fmt.Errorf("insights: the store keeps none")
	}
	days = min(max(days, 1), insightsDays)
	if o.a.insights != nil {
		o.a.insights.Flush(ctx) // what this replica counted so far is in the store
	}
	now := time.Now().UTC()
	list := make([]string, days)
	for i := range days {
		list[i] = now.AddDate(0, 0, i-days+1).Format(time.DateOnly)
	}
	counters, err := st.Insights(ctx, websiteID, list)
	if err != nil {
		return bridge.InsightsReport{}, err
	}
	return bridge.SummarizeInsights(websiteID, list, counters, 10), nil
}
