package signals_test

import (
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

// FuzzParse checks that Parse never panics, agrees with itself after trimming, and that a data-map
// Step on any value keeps the machine's invariants. Seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"start_chatbot", "pause_chatbot", "start_chatbot#k3v9", "chatbot_paused:human",
		"", " ", "dummy", "#", "start_chatbot#", "chatbot_paused:", "pause_chatbot#a#b"} {
		f.Add(s, uint8(0))
	}
	cfg := signals.DefaultConfig()
	v := cfg.Vocabulary
	modes := []signals.Mode{signals.ModeWaiting, signals.ModeActive, signals.ModePaused, signals.ModeHuman}
	f.Fuzz(func(t *testing.T, value string, mode uint8) {
		p := v.Parse(value)
		if p.Raw != value {
			t.Fatalf("Parse(%q).Raw = %q", value, p.Raw)
		}
		if p2 := v.Parse(strings.TrimSpace(value)); p2.Command != p.Command || p2.Nonce != p.Nonce || p2.Ours != p.Ours || p2.Known != p.Known {
			t.Fatalf("Parse(%q) = %+v but trimmed gives %+v", value, p, p2)
		}
		if p.Known != (p.Command != signals.CmdNone || p.Ours) || (p.Ours && p.Command != signals.CmdNone) {
			t.Fatalf("Parse(%q) = %+v: inconsistent", value, p)
		}
		if p.Nonce != "" && p.Command == signals.CmdNone {
			t.Fatalf("Parse(%q) = %+v: nonce without a command", value, p)
		}

		s := cfg.Initial(0)
		s.Mode = modes[int(mode)%len(modes)]
		in := signals.Input{Kind: signals.InputData, At: 1, Data: map[string]string{v.Key: value}}
		res := cfg.Step(s, in)
		if len(s.Last) != 0 || len(s.Written) != 0 {
			t.Fatalf("Step mutated its input state: %+v", s)
		}
		want := value
		for _, a := range res.Actions {
			if a.Kind == signals.ActWriteBack {
				want = a.Data[v.Key] // Crisp now holds what we wrote
			}
		}
		if res.State.Last[v.Key] != want {
			t.Fatalf("Step(%q) remembered %v, want %q", value, res.State.Last, want)
		}
		if res.Transition != nil && p.Command == signals.CmdNone {
			t.Fatalf("non-command %q transitioned", value)
		}
		if again := cfg.Step(res.State, in); again.Transition != nil {
			t.Fatalf("%q delivered twice transitioned twice", value)
		}
	})
}
