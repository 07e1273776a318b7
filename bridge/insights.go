package bridge

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/signals"
)

// Insight is what one committed step adds to its website's insights page: counted only once the
// step's decision is committed, never by scanning conversations later.
type Insight struct {
	WebsiteID string
	At        int64 // Unix ms of the decision
	// Handled: the assistant posted its first answer in the conversation; FirstAnswerMs is the
	// time from the visitor's first message to it.
	Handled       bool
	FirstAnswerMs int64
	// Answered: the assistant posted an answer (first or not), costing CostUSD (failed model calls
	// are not counted here).
	Answered bool
	CostUSD  float64
	// Handovers are the reasons of the handovers to a human decided in the step.
	Handovers []signals.Reason
	// ResolvedWithoutHuman: the conversation was resolved while the assistant owned it.
	ResolvedWithoutHuman bool
	// Gap is the visitor's question when the answer cited no article (refused or answered weakly).
	Gap string
	// Cited are the articles the answer cited (URL, else title).
	Cited []string
}

// InsightsMetrics is implemented by Metrics that also record insights; the bridge hands each
// committed step's Insight to it.
type InsightsMetrics interface {
	Insight(Insight)
}

// stepInsight is what a step noted for its insight before it commits.
type stepInsight struct {
	answer   *assistant.Answer // posted in the step (postAnswer)
	question string            // the visitor's question it answered
	at       int64             // when
	resolved bool              // the assistant's resolution: the visitor or the model said it is resolved
}

// noteAnswer remembers an answer posted in the step, for its insight.
func (st *step) noteAnswer(a assistant.Answer, at int64) {
	q := ""
	for i := len(st.conv.Transcript) - 1; i >= 0; i-- {
		if t := st.conv.Transcript[i]; t.Role == "visitor" {
			q = t.Text
			break
		}
	}
	st.insight.answer, st.insight.question, st.insight.at = &a, q, at
}

// recordInsight hands the insight of a step that has just committed to the metrics. It is called
// with the step's audit entries still in place.
func (st *step) recordInsight() {
	si := st.insight
	st.insight = stepInsight{}
	m, ok := st.b.opts.Metrics.(InsightsMetrics)
	if !ok {
		return
	}
	c := &st.conv
	in := Insight{WebsiteID: c.WebsiteID, At: st.b.opts.Now().UnixMilli()}
	for _, e := range st.audit {
		if !e.Refused && e.To == signals.ModeHuman && e.From != signals.ModeHuman {
			in.Handovers = append(in.Handovers, e.Reason)
		}
	}
	// Resolved while the assistant owned the conversation (neither handed over nor paused: an
	// operator writing pauses it), at the visitor's or the model's word.
	in.ResolvedWithoutHuman = si.resolved
	if ans := si; ans.answer != nil && ans.answer.Text != "" {
		in.Answered, in.CostUSD = true, ans.answer.Usage.CostUSD
		if c.Replies == 1 {
			in.Handled = true
			first := c.CreatedAt
			for _, t := range c.Transcript {
				if t.Role == "visitor" {
					first = t.At
					break
				}
			}
			in.FirstAnswerMs = max(0, ans.at-first)
		}
		for _, s := range ans.answer.Sources {
			if s.URL != "" {
				in.Cited = append(in.Cited, s.URL)
			} else if s.Title != "" {
				in.Cited = append(in.Cited, s.Title)
			}
		}
		if len(ans.answer.Sources) == 0 && ans.answer.Turn == assistant.TurnQuestion {
			in.Gap = ans.question // conversation (a greeting, thanks) is no knowledge gap
		}
	}
	if in.Answered || len(in.Handovers) > 0 || in.ResolvedWithoutHuman {
		m.Insight(in)
	}
}

// Counter names of a day's insights record (InsightsStore).
const (
	InsightHandled     = "handled"
	InsightAnswers     = "answers"
	InsightResolvedAI  = "resolved_ai"
	InsightCostMicro   = "cost_micro_usd"
	InsightTTFACount   = "ttfa_count"
	InsightHandoverPfx = "handover:" // + reason
	InsightTTFAPfx     = "ttfa_le:"  // + bucket upper bound in ms
	InsightGapPfx      = "gap:"      // + the question, normalised
	InsightCitePfx     = "cite:"     // + article URL or title
)

// TTFABuckets are the upper bounds (ms) of the time-to-first-answer histogram; the last catches all.
var TTFABuckets = []int64{500, 1000, 2000, 5000, 10000, 30000, 60000, 300000, math.MaxInt64}

// MaxGapText bounds a knowledge gap's question as stored.
const MaxGapText = 120

// Counters returns the day counters the insight adds to.
func (in Insight) Counters() map[string]int64 {
	d := map[string]int64{}
	if in.Answered {
		d[InsightAnswers]++
		if micro := int64(math.Round(in.CostUSD * 1e6)); micro > 0 {
			d[InsightCostMicro] += micro
		}
	}
	if in.Handled {
		d[InsightHandled]++
		d[InsightTTFACount]++
		for _, b := range TTFABuckets {
			if in.FirstAnswerMs <= b {
				d[InsightTTFAPfx+strconv.FormatInt(b, 10)]++
				break
			}
		}
	}
	for _, r := range in.Handovers {
		d[InsightHandoverPfx+string(r)]++
	}
	if in.ResolvedWithoutHuman {
		d[InsightResolvedAI]++
	}
	if g := normaliseQuestion(in.Gap); g != "" {
		d[InsightGapPfx+g]++
	}
	for _, c := range in.Cited {
		d[InsightCitePfx+c]++
	}
	return d
}

// normaliseQuestion makes questions that differ only in case, spacing and end punctuation count
// as one, bounded to MaxGapText runes.
func normaliseQuestion(q string) string {
	q = strings.Join(strings.Fields(strings.ToLower(q)), " ")
	q = strings.TrimRightFunc(q, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	if r := []rune(q); len(r) > MaxGapText {
		q = string(r[:MaxGapText])
	}
	return q
}

// InsightsRecorder adds insights to the store in the background: it sums what arrives for
// Interval and then writes each website's day once, so answering never waits for it. A full queue
// drops insights (counted in Dropped) rather than slow the bridge down.
type InsightsRecorder struct {
	Store    InsightsStore
	Logger   *slog.Logger
	Interval time.Duration // default 1s
	MaxKeys  int           // counters per website and day (default 300)
	Queue    int           // insights waiting (default 10,000)

	ch      chan Insight
	flushed chan chan struct{}
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	dropped int64
}

// Open starts the recorder.
func (r *InsightsRecorder) Open() {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	if r.MaxKeys <= 0 {
		r.MaxKeys = 300
	}
	if r.Queue <= 0 {
		r.Queue = 10_000
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	r.ch = make(chan Insight, r.Queue)
	r.flushed = make(chan chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.run(ctx)
	}()
}

// Insight queues an insight; it never blocks.
func (r *InsightsRecorder) Insight(in Insight) {
	select {
	case r.ch <- in:
	default:
		r.mu.Lock()
		r.dropped++
		r.mu.Unlock()
	}
}

// Dropped returns how many insights a full queue dropped.
func (r *InsightsRecorder) Dropped() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Flush writes everything queued so far and returns when it is in the store.
func (r *InsightsRecorder) Flush(ctx context.Context) {
	done := make(chan struct{})
	select {
	case r.flushed <- done:
	case <-ctx.Done():
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Close writes what is queued and stops.
func (r *InsightsRecorder) Close() {
	r.stop()
	r.wg.Wait()
}

type siteDay struct{ website, day string }

func (r *InsightsRecorder) run(ctx context.Context) {
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	pending := map[siteDay]map[string]int64{}
	add := func(in Insight) {
		k := siteDay{in.WebsiteID, time.UnixMilli(in.At).UTC().Format(time.DateOnly)}
		d := pending[k]
		if d == nil {
			d = map[string]int64{}
			pending[k] = d
		}
		for name, v := range in.Counters() {
			d[name] += v
		}
	}
	drain := func() {
		for {
			select {
			case in := <-r.ch:
				add(in)
			default:
				return
			}
		}
	}
	write := func() {
		drain()
		for k, d := range pending {
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := r.Store.AddInsights(wctx, k.website, k.day, d, r.MaxKeys); err != nil {
				r.Logger.Warn("record insights", "website", k.website, "day", k.day, "err", err)
			}
			cancel()
		}
		clear(pending)
	}
	for {
		select {
		case in := <-r.ch:
			add(in)
		case <-tick.C:
			write()
		case done := <-r.flushed:
			write()
			close(done)
		case <-ctx.Done():
			write()
			return
		}
	}
}

// InsightsDay is one day of a website's insights.
type InsightsDay struct {
	Day        string           `json:"day"`
	Handled    int64            `json:"handled"`     // conversations the assistant answered
	Answers    int64            `json:"answers"`     // answers posted
	Handovers  map[string]int64 `json:"handed_over"` // by reason
	ResolvedAI int64            `json:"resolved_without_human"`
	// FirstAnswerP50Ms and P90 are upper bounds from the histogram's buckets (0 when no data).
	FirstAnswerP50Ms int64   `json:"first_answer_p50_ms"`
	FirstAnswerP90Ms int64   `json:"first_answer_p90_ms"`
	CostUSD          float64 `json:"cost_usd"`
}

// Ranked is a question or an article with how often it came up.
type Ranked struct {
	Text  string `json:"text"`
	Count int64  `json:"count"`
}

// InsightsReport is a website's insights over some days, oldest day first.
type InsightsReport struct {
	WebsiteID string        `json:"website_id"`
	Days      []InsightsDay `json:"days"`
	Gaps      []Ranked      `json:"knowledge_gaps"` // most frequent first
	Cited     []Ranked      `json:"most_cited"`
}

// SummarizeInsights builds the report of days (oldest first) from their counters, with the top
// limit gaps and articles.
func SummarizeInsights(websiteID string, days []string, counters map[string]map[string]int64, limit int) InsightsReport {
	rep := InsightsReport{WebsiteID: websiteID, Days: []InsightsDay{}, Gaps: []Ranked{}, Cited: []Ranked{}}
	gaps, cited := map[string]int64{}, map[string]int64{}
	for _, day := range days {
		c := counters[day]
		d := InsightsDay{Day: day, Handled: c[InsightHandled], Answers: c[InsightAnswers], ResolvedAI: c[InsightResolvedAI],
			CostUSD: float64(c[InsightCostMicro]) / 1e6, Handovers: map[string]int64{}}
		for name, v := range c {
			switch {
			case strings.HasPrefix(name, InsightHandoverPfx):
				d.Handovers[strings.TrimPrefix(name, InsightHandoverPfx)] += v
			case strings.HasPrefix(name, InsightGapPfx):
				gaps[strings.TrimPrefix(name, InsightGapPfx)] += v
			case strings.HasPrefix(name, InsightCitePfx):
				cited[strings.TrimPrefix(name, InsightCitePfx)] += v
			}
		}
		d.FirstAnswerP50Ms = ttfaQuantile(c, 0.5)
		d.FirstAnswerP90Ms = ttfaQuantile(c, 0.9)
		rep.Days = append(rep.Days, d)
	}
	rep.Gaps, rep.Cited = topRanked(gaps, limit), topRanked(cited, limit)
	return rep
}

// ttfaQuantile is the upper bound of the bucket holding quantile q (the last bucket's is the
// previous bound: "more than").
func ttfaQuantile(c map[string]int64, q float64) int64 {
	n := c[InsightTTFACount]
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, b := range TTFABuckets {
		seen += c[InsightTTFAPfx+strconv.FormatInt(b, 10)]
		if seen >= rank {
			if b == math.MaxInt64 && i > 0 {
				return TTFABuckets[i-1]
			}
			return b
		}
	}
	return TTFABuckets[len(TTFABuckets)-2]
}

func topRanked(m map[string]int64, limit int) []Ranked {
	out := make([]Ranked, 0, len(m))
	for k, v := range m {
		out = append(out, Ranked{Text: k, Count: v})
	}
	slices.SortFunc(out, func(a, b Ranked) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Text, b.Text)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
