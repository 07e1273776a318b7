package signals_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

const at = int64(1_700_000_000_000)

// stateIn returns a conversation in mode m, as it would be after reaching it.
func stateIn(m signals.Mode) signals.State {
	s := signals.State{Mode: m, Since: 1, Last: map[string]string{}, Written: map[string]string{}, Answers: 3, Transitions: 5}
	switch m {
	case signals.ModeWaiting, signals.ModeActive:
		s.Reason = signals.ReasonStart
	case signals.ModePaused:
		s.Reason = signals.ReasonSignal
		s.Last["enum"] = "chatbot_paused:signal"
		s.Written["enum"] = "chatbot_paused:signal"
	case signals.ModeHuman:
		s.Reason = signals.ReasonHuman
		s.Last["enum"] = "chatbot_paused:human"
		s.Written["enum"] = "chatbot_paused:human"
		s.HandoverAt = 1
	}
	return s
}

func dataIn(v string) signals.Input {
	return signals.Input{Kind: signals.InputData, At: at, Data: map[string]string{"enum": v, "other": "x"}}
}

type want struct {
	to      signals.Mode // "" = no transition
	reason  signals.Reason
	source  signals.Source
	actions []signals.ActionKind
	refused signals.Source // a start refused from this source ("" = none refused)
}

var (
	pauseActs    = []signals.ActionKind{signals.ActCancel, signals.ActStopTyping, signals.ActWriteBack}
	startActs    = []signals.ActionKind{signals.ActRunScenario}
	handoverActs = []signals.ActionKind{signals.ActCancel, signals.ActStopTyping, signals.ActWriteBack,
		signals.ActSetState, signals.ActAddSegment, signals.ActPostNote, signals.ActOfferHuman}
	errorActs = []signals.ActionKind{signals.ActCancel, signals.ActStopTyping, signals.ActNotify, signals.ActWriteBack,
		signals.ActSetState, signals.ActAddSegment, signals.ActPostNote, signals.ActOfferHuman}
	resolveActs = []signals.ActionKind{signals.ActCancel, signals.ActStopTyping, signals.ActNotify, signals.ActAddSegment, signals.ActSetState}
	cancelActs  = []signals.ActionKind{signals.ActCancel, signals.ActStopTyping}
)

const (
	W = signals.ModeWaiting
	A = signals.ModeActive
	P = signals.ModePaused
	H = signals.ModeHuman
)

// TestStepTable runs every input kind against every mode (default config, start mode auto).
func TestStepTable(t *testing.T) {
	none := want{}
	start := func(src signals.Source) want {
		return want{to: A, reason: signals.ReasonSignal, source: src, actions: startActs}
	}
	pause := func(r signals.Reason, src signals.Source) want {
		return want{to: P, reason: r, source: src, actions: pauseActs}
	}
	human := func(r signals.Reason, src signals.Source, acts []signals.ActionKind) want {
		return want{to: H, reason: r, source: src, actions: acts}
	}
	refused := func(src signals.Source) want { return want{refused: src} }
	// A start written into the key and refused while stopped: our write-back again over it.
	refusedRestated := func(src signals.Source) want {
		return want{refused: src, actions: []signals.ActionKind{signals.ActWriteBack}}
	}
	reply := want{actions: []signals.ActionKind{signals.ActReply}}
	resolved := want{to: A, reason: signals.ReasonResolved, source: signals.SourceResolution, actions: cancelActs}
	resolvedSame := want{actions: cancelActs}
	restated := want{actions: []signals.ActionKind{signals.ActWriteBack}} // a pause while stopped: our write-back again

	tests := []struct {
		name string
		in   signals.Input
		want map[signals.Mode]want
	}{
		{"data start", dataIn("start_chatbot"), map[signals.Mode]want{
			W: start(signals.SourceData), A: none, P: start(signals.SourceData), H: refusedRestated(signals.SourceData)}},
		{"data start nonce", dataIn("start_chatbot#n1"), map[signals.Mode]want{
			W: start(signals.SourcePage), A: none, P: start(signals.SourcePage), H: refusedRestated(signals.SourcePage)}},
		{"data pause", dataIn("pause_chatbot"), map[signals.Mode]want{
			W: pause(signals.ReasonSignal, signals.SourceData), A: pause(signals.ReasonSignal, signals.SourceData), P: restated, H: restated}},
		{"data pause nonce", dataIn(" pause_chatbot#n2 "), map[signals.Mode]want{
			W: pause(signals.ReasonSignal, signals.SourcePage), A: pause(signals.ReasonSignal, signals.SourcePage), P: restated, H: restated}},
		{"data dummy", dataIn("dummy-9"), map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"data our write-back", dataIn("chatbot_paused:budget"), map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"data without key", signals.Input{Kind: signals.InputData, At: at, Data: map[string]string{"enum_reason": "start_chatbot"}},
			map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"data api source kept", signals.Input{Kind: signals.InputData, Source: signals.SourceAPI, At: at, Data: map[string]string{"enum": "start_chatbot#z"}},
			map[signals.Mode]want{W: start(signals.SourceAPI), A: none, P: start(signals.SourceAPI), H: start(signals.SourceAPI)}},
		{"button start", signals.Input{Kind: signals.InputButton, At: at, Value: "enum:start_chatbot"}, map[signals.Mode]want{
			W: start(signals.SourceButton), A: none, P: start(signals.SourceButton), H: refused(signals.SourceButton)}},
		{"button pause", signals.Input{Kind: signals.InputButton, At: at, Value: "enum:pause_chatbot"}, map[signals.Mode]want{
			W: pause(signals.ReasonSignal, signals.SourceButton), A: pause(signals.ReasonSignal, signals.SourceButton), P: none, H: none}},
		{"button other", signals.Input{Kind: signals.InputButton, At: at, Value: "lang:fr"},
			map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"api start", signals.Input{Kind: signals.InputStart, At: at}, map[signals.Mode]want{
			W: start(signals.SourceAPI), A: none, P: start(signals.SourceAPI), H: start(signals.SourceAPI)}},
		{"operator note start", signals.Input{Kind: signals.InputStart, Source: signals.SourceOperator, At: at}, map[signals.Mode]want{
			W: start(signals.SourceOperator), A: none, P: start(signals.SourceOperator), H: start(signals.SourceOperator)}},
		{"timer resume", signals.Input{Kind: signals.InputStart, Source: signals.SourceTimer, At: at}, map[signals.Mode]want{
			W: start(signals.SourceTimer), A: none, P: start(signals.SourceTimer), H: start(signals.SourceTimer)}},
		{"api pause", signals.Input{Kind: signals.InputPause, At: at}, map[signals.Mode]want{
			W: pause(signals.ReasonSignal, signals.SourceAPI), A: pause(signals.ReasonSignal, signals.SourceAPI), P: none, H: none}},
		{"timer pause with reason", signals.Input{Kind: signals.InputPause, Source: signals.SourceTimer, Reason: signals.ReasonBudget, At: at}, map[signals.Mode]want{
			W: pause(signals.ReasonBudget, signals.SourceTimer), A: pause(signals.ReasonBudget, signals.SourceTimer), P: none, H: none}},
		{"visitor message", signals.Input{Kind: signals.InputVisitorMessage, At: at},
			map[signals.Mode]want{W: none, A: reply, P: none, H: none}},
		{"operator message", signals.Input{Kind: signals.InputOperatorMessage, At: at}, map[signals.Mode]want{
			W: pause(signals.ReasonOperator, signals.SourceOperator), A: pause(signals.ReasonOperator, signals.SourceOperator), P: none, H: none}},
		{"handover", signals.Input{Kind: signals.InputHandover, At: at}, map[signals.Mode]want{
			W: human(signals.ReasonHuman, signals.SourceVisitor, handoverActs),
			A: human(signals.ReasonHuman, signals.SourceVisitor, handoverActs),
			P: human(signals.ReasonHuman, signals.SourceVisitor, handoverActs), H: none}},
		{"handover by model", signals.Input{Kind: signals.InputHandover, Source: signals.SourceAssistant, At: at, Detail: "billing"}, map[signals.Mode]want{
			W: human(signals.ReasonHuman, signals.SourceAssistant, handoverActs),
			A: human(signals.ReasonHuman, signals.SourceAssistant, handoverActs),
			P: human(signals.ReasonHuman, signals.SourceAssistant, handoverActs), H: none}},
		{"budget exhausted", signals.Input{Kind: signals.InputBudgetExhausted, At: at}, map[signals.Mode]want{
			W: human(signals.ReasonBudget, signals.SourceAssistant, handoverActs),
			A: human(signals.ReasonBudget, signals.SourceAssistant, handoverActs),
			P: human(signals.ReasonBudget, signals.SourceAssistant, handoverActs), H: none}},
		{"model failed", signals.Input{Kind: signals.InputModelFailed, At: at}, map[signals.Mode]want{
			W: human(signals.ReasonError, signals.SourceAssistant, errorActs),
			A: human(signals.ReasonError, signals.SourceAssistant, errorActs),
			P: human(signals.ReasonError, signals.SourceAssistant, errorActs), H: none}},
		{"resolve request", signals.Input{Kind: signals.InputResolveRequest, At: at},
			map[signals.Mode]want{W: none, A: {actions: resolveActs}, P: none, H: none}},
		{"state resolved", signals.Input{Kind: signals.InputStateChanged, At: at, Value: "resolved"},
			map[signals.Mode]want{W: resolved, A: resolvedSame, P: resolved, H: resolved}},
		{"state pending", signals.Input{Kind: signals.InputStateChanged, At: at, Value: "pending"},
			map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"answered", signals.Input{Kind: signals.InputAnswered, At: at},
			map[signals.Mode]want{W: none, A: none, P: none, H: none}},
		{"unknown kind", signals.Input{Kind: "bogus", At: at},
			map[signals.Mode]want{W: none, A: none, P: none, H: none}},
	}
	cfg := signals.DefaultConfig()
	for _, tt := range tests {
		for _, mode := range []signals.Mode{W, A, P, H} {
			w, ok := tt.want[mode]
			if !ok {
				t.Fatalf("%s: no expectation for mode %s", tt.name, mode)
			}
			t.Run(fmt.Sprintf("%s/from %s", tt.name, mode), func(t *testing.T) {
				s := stateIn(mode)
				res := cfg.Step(s, tt.in)
				checkResult(t, s, tt.in, res, w)
			})
		}
	}
}

func checkResult(t *testing.T, s signals.State, in signals.Input, res signals.Result, w want) {
	t.Helper()
	if got := actionKinds(res.Actions); !slices.Equal(got, w.actions) {
		t.Errorf("actions = %v, want %v (note %q)", got, w.actions, res.Note)
	}
	checkRefused(t, s, in, res, w.refused)
	if w.to == "" {
		if res.Transition != nil {
			t.Fatalf("transition = %+v, want none", *res.Transition)
		}
		if res.State.Mode != s.Mode || res.State.Transitions != s.Transitions || res.State.Since != s.Since {
			t.Errorf("state = %+v, want mode, transitions and since unchanged from %+v", res.State, s)
		}
		if len(w.actions) == 0 && res.Note == "" && in.Kind != signals.InputAnswered {
			t.Errorf("no transition and no action but Note is empty")
		}
		for _, a := range res.Actions {
			if a.Source == "" || a.Reason == "" {
				t.Errorf("action %s has reason %q source %q, want both set", a.Kind, a.Reason, a.Source)
			}
		}
		return
	}
	tr := res.Transition
	if tr == nil {
		t.Fatalf("no transition (note %q), want to %s", res.Note, w.to)
	}
	wantTr := signals.Transition{From: s.Mode, To: w.to, Reason: w.reason, Source: w.source, At: in.At, Detail: in.Detail}
	if *tr != wantTr {
		t.Errorf("transition = %+v, want %+v", *tr, wantTr)
	}
	st := res.State
	if st.Mode != w.to || st.Reason != w.reason || st.Since != in.At || st.Transitions != s.Transitions+1 || st.Answers != 0 {
		t.Errorf("state = %+v, want mode %s reason %s since %d transitions %d answers 0", st, w.to, w.reason, in.At, s.Transitions+1)
	}
	for _, a := range res.Actions {
		if a.Reason != w.reason || a.Source != w.source {
			t.Errorf("action %s carries %s/%s, want %s/%s", a.Kind, a.Reason, a.Source, w.reason, w.source)
		}
		switch a.Kind {
		case signals.ActWriteBack:
			wb := signals.DefaultVocabulary().WriteBack(w.reason, in.At)
			if !maps.Equal(a.Data, wb) {
				t.Errorf("write-back data = %v, want %v", a.Data, wb)
			}
			for k, v := range wb {
				if st.Written[k] != v || st.Last[k] != v {
					t.Errorf("after write-back Written[%s]=%q Last[%s]=%q, want %q", k, st.Written[k], k, st.Last[k], v)
				}
			}
		case signals.ActSetState:
			if w.to == H && a.State != "pending" {
				t.Errorf("set state %q, want pending", a.State)
			}
		case signals.ActAddSegment:
			if a.Segment != "ai-handover" {
				t.Errorf("segment %q, want ai-handover", a.Segment)
			}
		case signals.ActNotify:
			if a.Text != signals.TextApology {
				t.Errorf("notify %q, want apology", a.Text)
			}
		}
	}
	if w.to == H && st.HandoverAt != in.At {
		t.Errorf("HandoverAt = %d, want %d", st.HandoverAt, in.At)
	}
}

// checkRefused checks Result.Refused: set, with the source, exactly when a start was refused, and
// then nothing changed but the remembered value.
func checkRefused(t *testing.T, s signals.State, in signals.Input, res signals.Result, src signals.Source) {
	t.Helper()
	if src == "" {
		if res.Refused != nil {
			t.Errorf("refused = %+v, want none", *res.Refused)
		}
		return
	}
	want := signals.Transition{From: s.Mode, To: A, Reason: signals.ReasonSignal, Source: src, At: in.At, Detail: in.Detail}
	if res.Refused == nil || *res.Refused != want {
		t.Fatalf("refused = %v (note %q), want %+v", res.Refused, res.Note, want)
	}
	restated := slices.ContainsFunc(res.Actions, func(a signals.Action) bool { return a.Kind == signals.ActWriteBack })
	got := res.State
	got.Last = nil
	exp := s
	exp.Last = nil
	if restated {
		got.Written, exp.Written = nil, nil
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("state after a refused start = %+v, want %+v", res.State, s)
	}
	v, ok := in.Data["enum"]
	switch {
	case ok && restated:
		// The refused value in the key is replaced by our write-back of the current stop.
		if w := res.State.Written["enum"]; res.State.Last["enum"] != w || !strings.HasPrefix(w, "chatbot_paused:") {
			t.Errorf("Last[enum] = %q, Written[enum] = %q, want our write-back remembered in both", res.State.Last["enum"], w)
		}
	case ok && res.State.Last["enum"] != v:
		t.Errorf("Last[enum] = %q, want the refused value %q remembered", res.State.Last["enum"], v)
	}
}

func actionKinds(as []signals.Action) []signals.ActionKind {
	var out []signals.ActionKind
	for _, a := range as {
		out = append(out, a.Kind)
	}
	return out
}

func TestStepDetails(t *testing.T) {
	cfg := signals.DefaultConfig()

	t.Run("data remembers the value and reports unknown", func(t *testing.T) {
		s := stateIn(A)
		res := cfg.Step(s, dataIn("dummy-7"))
		if res.State.Last["enum"] != "dummy-7" || !slices.Equal(res.Unknown, []string{"dummy-7"}) {
			t.Errorf("Last = %v Unknown = %v, want dummy-7 remembered and reported", res.State.Last, res.Unknown)
		}
		if _, ok := res.State.Last["other"]; ok {
			t.Errorf("Last = %v, want only the signal key remembered", res.State.Last)
		}
	})
	t.Run("same value is not an edge", func(t *testing.T) {
		s := stateIn(W)
		s.Last["enum"] = "start_chatbot"
		res := cfg.Step(s, dataIn("start_chatbot"))
		if res.Transition != nil || res.Note != "same value" {
			t.Errorf("transition %v note %q, want none and \"same value\"", res.Transition, res.Note)
		}
	})
	t.Run("echo of a written value", func(t *testing.T) {
		s := stateIn(A)
		s.Written["enum"] = "custom-we-wrote"
		res := cfg.Step(s, dataIn("custom-we-wrote"))
		if res.Transition != nil || res.Note != "our echo" || res.Unknown != nil {
			t.Errorf("transition %v note %q unknown %v, want echo", res.Transition, res.Note, res.Unknown)
		}
	})
	t.Run("nil maps are handled", func(t *testing.T) {
		res := cfg.Step(signals.State{Mode: A}, dataIn("pause_chatbot"))
		if res.State.Mode != P || res.State.Last["enum"] != "chatbot_paused:signal" {
			t.Errorf("state = %+v, want paused with write-back remembered", res.State)
		}
	})
	t.Run("visitor reply carries the current reason", func(t *testing.T) {
		s := stateIn(A)
		s.Reason = signals.ReasonResolved
		res := cfg.Step(s, signals.Input{Kind: signals.InputVisitorMessage, At: at})
		if len(res.Actions) != 1 || res.Actions[0].Reason != signals.ReasonResolved || res.Actions[0].Source != signals.SourceVisitor {
			t.Errorf("actions = %+v, want one reply with reason resolved source visitor", res.Actions)
		}
	})
	t.Run("answered counts", func(t *testing.T) {
		res := cfg.Step(stateIn(A), signals.Input{Kind: signals.InputAnswered, At: at})
		if res.State.Answers != 4 || res.Transition != nil || len(res.Actions) != 0 {
			t.Errorf("answers %d transition %v actions %v, want 4, none, none", res.State.Answers, res.Transition, res.Actions)
		}
	})
	t.Run("resolve in initial mode resets answers", func(t *testing.T) {
		res := cfg.Step(stateIn(A), signals.Input{Kind: signals.InputStateChanged, At: at, Value: "resolved"})
		if res.State.Answers != 0 || res.State.CrispState != "resolved" {
			t.Errorf("answers %d crisp state %q, want 0 and resolved", res.State.Answers, res.State.CrispState)
		}
	})
	t.Run("already resolved", func(t *testing.T) {
		s := stateIn(H)
		s.CrispState = "resolved"
		res := cfg.Step(s, signals.Input{Kind: signals.InputStateChanged, At: at, Value: "resolved"})
		if res.Transition != nil || len(res.Actions) != 0 {
			t.Errorf("transition %v actions %v, want none", res.Transition, res.Actions)
		}
	})
	t.Run("resolved returns to waiting for wait_for_signal", func(t *testing.T) {
		c := cfg
		c.StartMode = signals.StartWaitForSignal
		res := c.Step(stateIn(H), signals.Input{Kind: signals.InputStateChanged, At: at, Value: "resolved"})
		if res.Transition == nil || res.State.Mode != W || res.State.Reason != signals.ReasonResolved {
			t.Errorf("state %+v, want waiting / resolved", res.State)
		}
	})
	t.Run("pause on operator off", func(t *testing.T) {
		c := cfg
		c.PauseOnOperator = false
		res := c.Step(stateIn(A), signals.Input{Kind: signals.InputOperatorMessage, At: at})
		if res.Transition != nil || len(res.Actions) != 0 {
			t.Errorf("transition %v actions %v, want none", res.Transition, res.Actions)
		}
	})
	t.Run("segments disabled", func(t *testing.T) {
		c := cfg
		c.HandoverSegment, c.ResolvedSegment = "", ""
		res := c.Step(stateIn(A), signals.Input{Kind: signals.InputHandover, At: at})
		if slices.Contains(actionKinds(res.Actions), signals.ActAddSegment) {
			t.Errorf("actions %v, want no segment", actionKinds(res.Actions))
		}
		res = c.Step(stateIn(A), signals.Input{Kind: signals.InputResolveRequest, At: at})
		if got := actionKinds(res.Actions); !slices.Equal(got, []signals.ActionKind{signals.ActCancel, signals.ActStopTyping, signals.ActNotify, signals.ActSetState}) {
			t.Errorf("actions %v, want cancel, stop_typing, notify, set_state", got)
		}
	})
	t.Run("resolve request actions", func(t *testing.T) {
		res := cfg.Step(stateIn(A), signals.Input{Kind: signals.InputResolveRequest, At: at})
		want := []signals.Action{
			{Kind: signals.ActCancel, Reason: signals.ReasonResolved, Source: signals.SourceVisitor},
			{Kind: signals.ActStopTyping, Reason: signals.ReasonResolved, Source: signals.SourceVisitor},
			{Kind: signals.ActNotify, Text: signals.TextClosing, Reason: signals.ReasonResolved, Source: signals.SourceVisitor},
			{Kind: signals.ActAddSegment, Segment: "ended-by-ai", Reason: signals.ReasonResolved, Source: signals.SourceVisitor},
			{Kind: signals.ActSetState, State: "resolved", Reason: signals.ReasonResolved, Source: signals.SourceVisitor},
		}
		if !reflect.DeepEqual(res.Actions, want) {
			t.Errorf("actions = %+v, want %+v", res.Actions, want)
		}
	})
}

// TestScenario walks one conversation through the contract users build on.
func TestScenario(t *testing.T) {
	cfg := signals.DefaultConfig()
	cfg.StartMode = signals.StartWaitForSignal
	s := cfg.Initial(0)
	steps := []struct {
		in     signals.Input
		mode   signals.Mode
		edge   bool
		source signals.Source
	}{
		{signals.Input{Kind: signals.InputVisitorMessage}, W, false, ""},
		{dataIn("start_chatbot"), A, true, signals.SourceData},
		{dataIn("start_chatbot"), A, false, ""}, // whole map again
		{dataIn("pause_chatbot"), P, true, signals.SourceData},
		{dataIn("chatbot_paused:signal"), P, false, ""}, // our echo
		{dataIn("dummy-1"), P, false, ""},
		{dataIn("start_chatbot"), A, true, signals.SourceData},
		{signals.Input{Kind: signals.InputOperatorMessage}, P, true, signals.SourceOperator},
		{signals.Input{Kind: signals.InputButton, Value: "enum:start_chatbot"}, P, false, ""}, // refused: an operator paused it
		{signals.Input{Kind: signals.InputStart, Source: signals.SourceOperator}, A, true, signals.SourceOperator},
		{signals.Input{Kind: signals.InputHandover}, H, true, signals.SourceVisitor},
		{signals.Input{Kind: signals.InputHandover}, H, false, ""}, // loop protection
		{dataIn("chatbot_paused:human"), H, false, ""},
		{signals.Input{Kind: signals.InputOperatorMessage}, H, false, ""},
		{dataIn("start_chatbot#x"), H, false, ""}, // refused: a visitor cannot take it from the human
		{signals.Input{Kind: signals.InputStateChanged, Value: "resolved"}, W, true, signals.SourceResolution},
		{dataIn("start_chatbot#a"), A, true, signals.SourcePage},
		{dataIn("pause_chatbot#b"), P, true, signals.SourcePage},
		{dataIn("start_chatbot#c"), A, true, signals.SourcePage},
	}
	for i, st := range steps {
		st.in.At = int64(i + 1)
		res := cfg.Step(s, st.in)
		if res.State.Mode != st.mode || (res.Transition != nil) != st.edge {
			t.Fatalf("step %d (%s %v): mode %s transition %v note %q, want mode %s edge %v",
				i, st.in.Kind, st.in.Data["enum"], res.State.Mode, res.Transition, res.Note, st.mode, st.edge)
		}
		if st.edge && res.Transition.Source != st.source {
			t.Errorf("step %d: source %s, want %s", i, res.Transition.Source, st.source)
		}
		s = res.State
	}
}

// TestRefusedStarts covers the trust model: who may take a conversation back from a human.
func TestRefusedStarts(t *testing.T) {
	byOperator := stateIn(P)
	byOperator.Reason = signals.ReasonOperator
	bySignal := stateIn(P)
	budget := stateIn(H)
	budget.Reason = signals.ReasonBudget
	untrusted := []struct {
		name string
		in   signals.Input
		src  signals.Source
	}{
		{"data", dataIn("start_chatbot"), signals.SourceData},
		{"page", dataIn("start_chatbot#n9"), signals.SourcePage},
		{"button", signals.Input{Kind: signals.InputButton, At: at, Value: "enum:start_chatbot"}, signals.SourceButton},
	}
	states := []struct {
		name    string
		s       signals.State
		refused bool
	}{
		{"human", stateIn(H), true},
		{"human budget", budget, true},
		{"paused by operator", byOperator, true},
		{"paused by signal", bySignal, false},
		{"waiting", stateIn(W), false},
	}
	for _, optIn := range []bool{false, true} {
		cfg := signals.DefaultConfig()
		cfg.UntrustedStartOverridesHuman = optIn
		for _, u := range untrusted {
			for _, s := range states {
				t.Run(fmt.Sprintf("opt-in %v/%s/%s", optIn, u.name, s.name), func(t *testing.T) {
					res := cfg.Step(s.s, u.in)
					if s.refused && !optIn {
						checkRefused(t, s.s, u.in, res, u.src)
						// A start written into the key has our write-back made again over it (the
						// key tells the scenario the assistant is still stopped); a button writes
						// nothing into the key and gets nothing back.
						wantActs := 0
						if u.in.Kind == signals.InputData {
							wantActs = 1
						}
						if res.Transition != nil || len(res.Actions) != wantActs || res.Note == "" {
							t.Errorf("transition %v actions %v note %q, want none, %d write-back and a note", res.Transition, res.Actions, res.Note, wantActs)
						}
						// The same value again (written over our write-back) starts nothing either.
						if again := cfg.Step(res.State, u.in); again.Transition != nil || again.State.Mode != s.s.Mode {
							t.Errorf("the same value again: transition %+v mode %s, want none and %s", again.Transition, again.State.Mode, s.s.Mode)
						}
						return
					}
					if res.Refused != nil || res.Transition == nil || res.State.Mode != A || res.Transition.Source != u.src {
						t.Errorf("refused %v transition %v, want a start from %s", res.Refused, res.Transition, u.src)
					}
				})
			}
		}
	}
	// Trusted paths give the conversation back, and anyone may still move it towards a person.
	cfg := signals.DefaultConfig()
	for _, src := range []signals.Source{signals.SourceOperator, signals.SourceAPI, signals.SourceTimer} {
		res := cfg.Step(byOperator, signals.Input{Kind: signals.InputStart, Source: src, At: at})
		if res.Refused != nil || res.State.Mode != A {
			t.Errorf("start from %s while paused by an operator: mode %s refused %v, want active", src, res.State.Mode, res.Refused)
		}
	}
	if res := cfg.Step(stateIn(H), signals.Input{Kind: signals.InputStateChanged, At: at, Value: "resolved"}); res.State.Mode != A {
		t.Errorf("resolution while human: mode %s, want active", res.State.Mode)
	}
	if res := cfg.Step(byOperator, signals.Input{Kind: signals.InputHandover, Source: signals.SourcePage, At: at}); res.State.Mode != H {
		t.Errorf("page handover while paused by an operator: mode %s, want human", res.State.Mode)
	}
	if res := cfg.Step(stateIn(A), dataIn("pause_chatbot")); res.State.Mode != P {
		t.Errorf("data pause while active: mode %s, want paused", res.State.Mode)
	}
}

// TestRepeatedPauseRestatesTheWriteBack: a pause written while the assistant is already stopped
// (the page's Pause clicked twice, a scenario pausing again) changes no mode, but writes our
// write-back again, with the stop's reason, mode and time, conditional on the value it replaces;
// the echo of that write is no signal. A start written while active writes nothing: the start value
// is what a start leaves in the key.
func TestRepeatedPauseRestatesTheWriteBack(t *testing.T) {
	cfg := signals.DefaultConfig()
	step := func(s signals.State, v string, t0 int64) signals.Result {
		in := dataIn(v)
		in.At = t0
		return cfg.Step(s, in)
	}
	writeBack := func(t *testing.T, res signals.Result) signals.Action {
		t.Helper()
		var wb []signals.Action
		for _, a := range res.Actions {
			if a.Kind == signals.ActWriteBack {
				wb = append(wb, a)
			}
		}
		if len(wb) != 1 {
			t.Fatalf("actions %v (note %q), want one write-back", actionKinds(res.Actions), res.Note)
		}
		return wb[0]
	}
	s := cfg.Initial(at)
	first := step(s, "pause_chatbot#a", at+1_000)
	if first.Transition == nil || first.State.Mode != P {
		t.Fatalf("first pause: %+v (note %q), want paused", first.Transition, first.Note)
	}
	s = first.State
	echo := cfg.Step(s, signals.Input{Kind: signals.InputData, At: at + 1_100, Data: writeBack(t, first).Data})
	if len(echo.Actions) != 0 || echo.Transition != nil {
		t.Fatalf("echo of the pause's write-back acted: %v", actionKinds(echo.Actions))
	}
	s = echo.State

	// The second click, a minute later.
	second := step(s, "pause_chatbot#b", at+61_000)
	if second.Transition != nil || second.Refused != nil || second.State.Mode != P || second.State.Reason != signals.ReasonSignal ||
		second.State.Since != s.Since || second.State.Transitions != s.Transitions {
		t.Fatalf("second pause: transition %+v, state %+v, want the stop unchanged", second.Transition, second.State)
	}
	wb := writeBack(t, second)
	if want := cfg.Vocabulary.WriteBack(signals.ReasonSignal, at+1_000); !maps.Equal(wb.Data, want) {
		t.Errorf("restated write-back %v, want the pause's own %v (its time is the stop's)", wb.Data, want)
	}
	if !maps.Equal(wb.Expect, map[string]string{"enum": "pause_chatbot#b"}) {
		t.Errorf("restated write-back expects %v, want the value it replaces", wb.Expect)
	}
	if wb.Reason != signals.ReasonSignal || wb.Source != signals.SourcePage {
		t.Errorf("restated write-back carries %s/%s, want signal/page", wb.Reason, wb.Source)
	}
	if again := cfg.Step(second.State, signals.Input{Kind: signals.InputData, At: at + 61_100, Data: wb.Data}); len(again.Actions) != 0 || again.Transition != nil {
		t.Errorf("echo of the restated write-back acted: %v (note %q)", actionKinds(again.Actions), again.Note)
	}

	// Handed over: the restate says so.
	h := step(stateIn(H), "pause_chatbot", at)
	if h.Transition != nil || h.State.Mode != H {
		t.Fatalf("pause while human: transition %+v mode %s", h.Transition, h.State.Mode)
	}
	if got := writeBack(t, h).Data; got["enum"] != "chatbot_paused:human" || got["enum_state"] != "human" || got["enum_reason"] != "human" {
		t.Errorf("pause while human restated %v, want chatbot_paused:human", got)
	}

	// A start written while active: nothing to write.
	a := step(stateIn(A), "start_chatbot#c", at)
	if a.Transition != nil || len(a.Actions) != 0 {
		t.Errorf("start while active: transition %+v actions %v, want none", a.Transition, actionKinds(a.Actions))
	}
}
