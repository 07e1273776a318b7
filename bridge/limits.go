package bridge

import (
	"github.com/signalbridge/signalbridge/signals"
)

// LimitMetrics is implemented by Metrics that count what the per-conversation limits stopped
// (signals.Limits): a signal edge refused past its rate (also audited as a refused start and
// counted by SignalRefused), or a visitor message left unanswered past the answers' rate.
type LimitMetrics interface {
	Limited(limit string)
}

// limited reports what a limit stopped in a step: a metric and one log line at debug level (a
// hostile page can make many).
func (st *step) limited(res signals.Result) {
	if res.Limited == "" {
		return
	}
	if m, ok := st.b.opts.Metrics.(LimitMetrics); ok {
		m.Limited(res.Limited)
	}
	st.b.log.Debug("limited", "website", st.conv.WebsiteID, "session", st.conv.SessionID, "limit", res.Limited, "note", res.Note)
}
