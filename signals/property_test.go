package signals_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

// randomInput draws an input from everything the machine can receive, with signal values that
// collide often (so same-value, echo and nonce paths are all exercised).
func randomInput(r *rand.Rand, at int64) signals.Input {
	values := []string{"start_chatbot", "pause_chatbot", "dummy", "chatbot_paused:human",
		"chatbot_paused:signal", "", " start_chatbot ", "x#y"}
	in := signals.Input{At: at}
	switch r.IntN(12) {
	case 0, 1, 2, 3:
		v := values[r.IntN(len(values))]
		if r.IntN(4) == 0 {
			v = []string{"start_chatbot", "pause_chatbot"}[r.IntN(2)] + "#" + fmt.Sprint(r.Int64())
		}
		in.Kind, in.Data = signals.InputData, map[string]string{"enum": v}
	case 4:
		in.Kind, in.Value = signals.InputButton, []string{"enum:start_chatbot", "enum:pause_chatbot", "lang:en"}[r.IntN(3)]
	case 5:
		in.Kind = []signals.InputKind{signals.InputStart, signals.InputPause}[r.IntN(2)]
	case 6:
		in.Kind = signals.InputVisitorMessage
	case 7:
		in.Kind = signals.InputOperatorMessage
	case 8:
		in.Kind = []signals.InputKind{signals.InputHandover, signals.InputBudgetExhausted, signals.InputModelFailed}[r.IntN(3)]
	case 9:
		in.Kind = signals.InputResolveRequest
	case 10:
		in.Kind, in.Value = signals.InputStateChanged, []string{"resolved", "pending", "unresolved"}[r.IntN(3)]
	case 11:
		in.Kind = signals.InputAnswered
	}
	return in
}

func cloneState(s signals.State) signals.State {
	c := s
	if s.Last != nil {
		c.Last = make(map[string]string, len(s.Last))
		for k, v := range s.Last {
			c.Last[k] = v
		}
	}
	if s.Written != nil {
		c.Written = make(map[string]string, len(s.Written))
		for k, v := range s.Written {
			c.Written[k] = v
		}
	}
	return c
}

// TestStepProperties drives random walks and checks the machine's invariants at every step.
func TestStepProperties(t *testing.T) {
	for _, start := range []signals.StartMode{signals.StartAuto, signals.StartWaitForSignal} {
		t.Run(string(start), func(t *testing.T) {
			cfg := signals.DefaultConfig()
			cfg.StartMode = start
			r := rand.New(rand.NewPCG(1, uint64(len(start))))
			s := cfg.Initial(0)
			for i := range 5000 {
				at := int64(i + 1)
				in := randomInput(r, at)
				before := cloneState(s)
				res := cfg.Step(s, in)

				// Step does not mutate its input state.
				if !reflect.DeepEqual(s, before) {
					t.Fatalf("step %d %+v mutated its input: %+v, was %+v", i, in, s, before)
				}
				// Transitions are counted and stamped.
				if (res.Transition != nil) != (res.State.Transitions == s.Transitions+1) {
					t.Fatalf("step %d: transition %v but counter %d -> %d", i, res.Transition, s.Transitions, res.State.Transitions)
				}
				if res.Transition != nil && (res.Transition.From != s.Mode || res.Transition.To != res.State.Mode || res.State.Since != at) {
					t.Fatalf("step %d: transition %+v does not match %s -> %s since %d", i, *res.Transition, s.Mode, res.State.Mode, res.State.Since)
				}
				if res.Transition == nil && res.State.Mode != s.Mode {
					t.Fatalf("step %d: mode changed %s -> %s without a transition", i, s.Mode, res.State.Mode)
				}

				if in.Kind == signals.InputData {
					checkDataProperties(t, cfg, s, in, res)
				}
				s = res.State
			}
		})
	}
}

func checkDataProperties(t *testing.T, cfg signals.Config, s signals.State, in signals.Input, res signals.Result) {
	t.Helper()
	v := in.Data["enum"]
	p := cfg.Vocabulary.Parse(v)

	// Repeated identical data never transitions twice. Once the first delivery left our write-back
	// in the key, a pause value is new again to the machine (the bridge drops the copies of a
	// delivery before it: late copies, hook retries): the most it does is restate the write-back.
	again := cfg.Step(res.State, in)
	if again.Transition != nil {
		t.Fatalf("data %q delivered twice transitioned twice: %+v", v, again.Transition)
	}
	restate := (p.Command == signals.CmdPause || p.Command == signals.CmdStart && again.Refused != nil) &&
		again.State.Mode == res.State.Mode &&
		(res.State.Mode == signals.ModePaused || res.State.Mode == signals.ModeHuman) && res.State.Last["enum"] != v
	if len(again.Actions) != 0 && (!restate || len(again.Actions) != 1 || again.Actions[0].Kind != signals.ActWriteBack) {
		t.Fatalf("data %q delivered twice acted again: %v (note %q)", v, again.Actions, again.Note)
	}
	// Echo never transitions.
	if p.Ours || (s.Written["enum"] == v && v != "") {
		if res.Transition != nil || len(res.Actions) != 0 {
			t.Fatalf("echo %q transitioned: %+v", v, res.Transition)
		}
	}
	// A nonce form is always an edge: it acts whenever its command applies to the mode (a start
	// never takes the conversation from a human: that is refused).
	if p.Nonce != "" && s.Last["enum"] != v {
		refused := p.Command == signals.CmdStart && signals.HumanOwned(s)
		if refused != (res.Refused != nil) {
			t.Fatalf("nonce %q from %s (%s): refused %v, want %v", v, s.Mode, s.Reason, res.Refused, refused)
		}
		applies := (p.Command == signals.CmdStart && s.Mode != signals.ModeActive && !refused) ||
			(p.Command == signals.CmdPause && (s.Mode == signals.ModeActive || s.Mode == signals.ModeWaiting))
		if applies != (res.Transition != nil) {
			t.Fatalf("nonce %q from %s: transition %v, want %v", v, s.Mode, res.Transition, applies)
		}
		if applies && res.Transition.Source != signals.SourcePage {
			t.Fatalf("nonce %q: source %s, want page", v, res.Transition.Source)
		}
	}
	// Only commands move the machine.
	if res.Transition != nil && p.Command == signals.CmdNone {
		t.Fatalf("non-command %q transitioned", v)
	}
}

// TestEchoNeverTransitions feeds every write-back value to every mode.
func TestEchoNeverTransitions(t *testing.T) {
	cfg := signals.DefaultConfig()
	for _, m := range []signals.Mode{W, A, P, H} {
		for _, r := range []signals.Reason{signals.ReasonHuman, signals.ReasonSignal, signals.ReasonOperator, signals.ReasonBudget, signals.ReasonError} {
			s := stateIn(m)
			s.Last["enum"] = "something else"
			wb := cfg.Vocabulary.WriteBack(r, at)
			res := cfg.Step(s, signals.Input{Kind: signals.InputData, At: at, Data: wb})
			if res.Transition != nil || len(res.Actions) != 0 || res.Note != "our echo" {
				t.Errorf("mode %s echo %v: transition %v actions %v note %q", m, wb, res.Transition, res.Actions, res.Note)
			}
		}
	}
}
