package signals_test

import (
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

// BenchmarkStep measures the machine on the hot paths: a visitor message (reply), a data signal
// edge (with copy on write) and a repeated data map (same value).
func BenchmarkStep(b *testing.B) {
	cfg := signals.DefaultConfig()
	active := cfg.Initial(0)
	paused := cfg.Step(active, signals.Input{Kind: signals.InputPause, At: 1}).State
	benches := []struct {
		name string
		s    signals.State
		in   signals.Input
	}{
		{"visitor_message", active, signals.Input{Kind: signals.InputVisitorMessage, At: 2}},
		{"data_edge_start", paused, signals.Input{Kind: signals.InputData, At: 2, Data: map[string]string{"enum": "start_chatbot"}}},
		{"data_same_value", paused, signals.Input{Kind: signals.InputData, At: 2, Data: map[string]string{"enum": "chatbot_paused:signal"}}},
		{"handover", active, signals.Input{Kind: signals.InputHandover, At: 2}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = cfg.Step(bb.s, bb.in)
			}
		})
	}
}
