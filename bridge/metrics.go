package bridge

import (
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/signals"
)

// Metrics receives the bridge's measurements; bridge/web exports them to Prometheus.
type Metrics interface {
	EventIn(name, via string)
	Duplicate(name string)
	SignalApplied(source signals.Source)
	// SignalRefused counts a start from an untrusted source refused while a human owns the
	// conversation.
	SignalRefused(source signals.Source)
	Transition(reason signals.Reason, source signals.Source, to signals.Mode)
	Handover(reason signals.Reason)
	Reply(offline bool)
	ModelCall(took time.Duration, usage assistant.Usage, offline bool, err error)
}

// NopMetrics discards every measurement.
type NopMetrics struct{}

func (NopMetrics) EventIn(string, string)                                  {}
func (NopMetrics) Duplicate(string)                                        {}
func (NopMetrics) SignalApplied(signals.Source)                            {}
func (NopMetrics) SignalRefused(signals.Source)                            {}
func (NopMetrics) Transition(signals.Reason, signals.Source, signals.Mode) {}
func (NopMetrics) Handover(signals.Reason)                                 {}
func (NopMetrics) Reply(bool)                                              {}
func (NopMetrics) ModelCall(time.Duration, assistant.Usage, bool, error)   {}
