package web

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// Metrics is the Prometheus side of bridge.Metrics plus the adapters' measurements.
type Metrics struct {
	Registry *prometheus.Registry

	events      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	signals     *prometheus.CounterVec
	refused     *prometheus.CounterVec
	limited     *prometheus.CounterVec
	transitions *prometheus.CounterVec
	handovers   *prometheus.CounterVec
	replies     *prometheus.CounterVec
	modelTime   prometheus.Histogram
	modelErrors prometheus.Counter
	tokens      *prometheus.CounterVec
	cost        prometheus.Counter
	crispCalls  *prometheus.CounterVec
	crispTime   prometheus.Histogram
	hooks       *prometheus.CounterVec
	journal     *prometheus.CounterVec
	oldest      prometheus.Gauge
}

var (
	_ bridge.Metrics        = (*Metrics)(nil)
	_ bridge.JournalMetrics = (*Metrics)(nil)
	_ bridge.LimitMetrics   = (*Metrics)(nil)
)

// NewMetrics registers every metric on a new registry (with Go and process collectors).
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry:    r,
		events:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_events_total", Help: "Crisp events received, by event name and transport."}, []string{"event", "via"}),
		duplicates:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_duplicates_suppressed_total", Help: "Events dropped because they were already processed."}, []string{"event"}),
		signals:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_signals_applied_total", Help: "Start/pause signals that changed a conversation, by source."}, []string{"source"}),
		limited:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_limited_total", Help: "Inputs stopped by a per-conversation limit, by limit (signal_edges: a start refused past the rate; answers: a message left unanswered past the rate)."}, []string{"limit"}),
		refused:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_signals_refused_total", Help: "Starts from session data, a page or a button refused while a human owns the conversation, by source."}, []string{"source"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_transitions_total", Help: "Mode transitions, by reason, source and new mode."}, []string{"reason", "source", "to"}),
		handovers:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_handovers_total", Help: "Handovers to humans, by reason."}, []string{"reason"}),
		replies:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_replies_total", Help: "Assistant answers posted, by mode (model or offline)."}, []string{"mode"}),
		modelTime:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "signalbridge_model_seconds", Help: "Time to produce one answer (model calls and retries).", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}),
		modelErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "signalbridge_model_failures_total", Help: "Answers that failed after their retry."}),
		tokens:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_model_tokens_total", Help: "Model tokens used, by kind."}, []string{"kind"}),
		cost:        prometheus.NewCounter(prometheus.CounterOpts{Name: "signalbridge_model_cost_usd_total", Help: "Model cost in US dollars from the price table."}),
		crispCalls:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_crisp_calls_total", Help: "Crisp REST calls, by method, route and status."}, []string{"method", "route", "status"}),
		crispTime:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "signalbridge_crisp_call_seconds", Help: "Crisp REST call latency.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10)}),
		hooks:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_webhooks_total", Help: "Web-hook requests, by HTTP status answered."}, []string{"status"}),
		journal:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signalbridge_journal_entries_total", Help: "Crisp writes of the action journal, by kind and outcome (queued, done, retried, abandoned)."}, []string{"kind", "outcome"}),
		oldest:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "signalbridge_journal_oldest_seconds", Help: "Age of the oldest waiting Crisp write, as last seen by a journal pass."}),
	}
	r.MustRegister(m.events, m.duplicates, m.signals, m.refused, m.limited, m.transitions, m.handovers, m.replies, m.modelTime,
		m.modelErrors, m.tokens, m.cost, m.crispCalls, m.crispTime, m.hooks, m.journal, m.oldest,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge read at scrape time (Crisp quota left, RTM reconnects, ...).
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter read at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// JournalOutcome counts a journal entry's outcome.
func (m *Metrics) JournalOutcome(kind, outcome string) {
	m.journal.WithLabelValues(kind, outcome).Inc()
}

// JournalOldest sets the age of the oldest waiting journal entry.
func (m *Metrics) JournalOldest(age time.Duration) { m.oldest.Set(age.Seconds()) }

// EventIn counts a received event.
func (m *Metrics) EventIn(name, via string) { m.events.WithLabelValues(name, via).Inc() }

// Duplicate counts a suppressed duplicate.
func (m *Metrics) Duplicate(name string) { m.duplicates.WithLabelValues(name).Inc() }

// SignalApplied counts a signal that changed a conversation.
func (m *Metrics) SignalApplied(s signals.Source) { m.signals.WithLabelValues(string(s)).Inc() }

// SignalRefused counts a start refused while a human owns the conversation.
func (m *Metrics) SignalRefused(s signals.Source) { m.refused.WithLabelValues(string(s)).Inc() }

// Limited counts an input stopped by a per-conversation limit (bridge.LimitMetrics).
func (m *Metrics) Limited(limit string) { m.limited.WithLabelValues(limit).Inc() }

// Transition counts a mode transition.
func (m *Metrics) Transition(r signals.Reason, s signals.Source, to signals.Mode) {
	m.transitions.WithLabelValues(string(r), string(s), string(to)).Inc()
}

// Handover counts a handover.
func (m *Metrics) Handover(r signals.Reason) { m.handovers.WithLabelValues(string(r)).Inc() }

// Reply counts a posted answer.
func (m *Metrics) Reply(offline bool) {
	mode := "model"
	if offline {
		mode = "offline"
	}
	m.replies.WithLabelValues(mode).Inc()
}

// ModelCall records one answer's time, tokens and cost.
func (m *Metrics) ModelCall(took time.Duration, u assistant.Usage, offline bool, err error) {
	if err != nil {
		m.modelErrors.Inc()
		return
	}
	if offline {
		return
	}
	m.modelTime.Observe(took.Seconds())
	m.tokens.WithLabelValues("prompt").Add(float64(u.PromptTokens))
	m.tokens.WithLabelValues("completion").Add(float64(u.CompletionTokens))
	m.cost.Add(u.CostUSD)
}

// CrispCall records one Crisp REST call (wire it to the REST client's observer).
func (m *Metrics) CrispCall(method, route string, status int, took time.Duration) {
	m.crispCalls.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.crispTime.Observe(took.Seconds())
}

// QuotaClassUse is one priority class's use of the client-side Crisp quota (bridge/crisp's
// QuotaClass, converted by cmd).
type QuotaClassUse struct {
	Class                    string
	Granted, Waited, Refused uint64
	Waiting                  int64
}

// CrispQuota exports the Crisp quota's use per priority class, read from f at every scrape:
// signalbridge_crisp_quota_calls_total{class,outcome="granted|waited|refused"} and
// signalbridge_crisp_quota_waiting{class}.
func (m *Metrics) CrispQuota(f func() []QuotaClassUse) {
	m.Registry.MustRegister(&quotaCollector{f: f,
		calls: prometheus.NewDesc("signalbridge_crisp_quota_calls_total",
			"Crisp REST calls through the client-side quota, by priority class (answers, steps, write_backs, background) and outcome (granted; waited: had to wait first; refused: gave up before a token came).",
			[]string{"class", "outcome"}, nil),
		waiting: prometheus.NewDesc("signalbridge_crisp_quota_waiting",
			"Crisp REST calls waiting for the client-side quota now, by priority class.", []string{"class"}, nil)})
}

type quotaCollector struct {
	f              func() []QuotaClassUse
	calls, waiting *prometheus.Desc
}

func (q *quotaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- q.calls; ch <- q.waiting }

func (q *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, u := range q.f() {
		ch <- prometheus.MustNewConstMetric(q.calls, prometheus.CounterValue, float64(u.Granted), u.Class, "granted")
		ch <- prometheus.MustNewConstMetric(q.calls, prometheus.CounterValue, float64(u.Waited), u.Class, "waited")
		ch <- prometheus.MustNewConstMetric(q.calls, prometheus.CounterValue, float64(u.Refused), u.Class, "refused")
		ch <- prometheus.MustNewConstMetric(q.waiting, prometheus.GaugeValue, float64(u.Waiting), u.Class)
	}
}
