package signals_test

import (
	"fmt"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

func limited() signals.Config {
	cfg := signals.DefaultConfig()
	cfg.Limits = signals.Limits{
		Edges:      signals.Rate{Burst: 4, Every: 30_000},
		Answers:    signals.Rate{Burst: 3, Every: 10_000},
		MaxAnswers: 5,
	}
	return cfg
}

// TestEdgeLimit: a conversation toggled 1,000 times in a minute from the page applies a handful of
// edges, refuses the other starts (each one a Refused the bridge audits and counts) and settles
// paused: write-backs stop with the edges.
func TestEdgeLimit(t *testing.T) {
	cfg := limited()
	s := cfg.Initial(at)
	var applied, refused, audited, writeBacks int
	for i := range 1000 {
		v := fmt.Sprintf("pause_chatbot#p%d", i)
		if i%2 == 1 {
			v = fmt.Sprintf("start_chatbot#s%d", i)
		}
		in := dataIn(v)
		in.At = at + int64(i)*60 // 1,000 toggles in 60 s
		res := cfg.Step(s, in)
		s = res.State
		if res.Transition != nil {
			applied++
		}
		if res.Refused != nil {
			audited++
		}
		if res.Limited == signals.LimitEdges {
			refused++
			if res.Transition != nil {
				t.Fatalf("toggle %d limited yet applied", i)
			}
		}
		for _, a := range res.Actions {
			if a.Kind == signals.ActWriteBack {
				writeBacks++
			}
		}
	}
	t.Logf("1,000 toggles in 60 s: %d edges applied, %d starts refused (%d audited), %d write-backs", applied, refused, audited, writeBacks)
	// One audited refusal per run of refusals (each run ends with an edge applied): the audit trail
	// grows with the edges applied, not with the toggles.
	if audited < 1 || audited > applied/2+1 {
		t.Errorf("%d refusals audited for %d edges applied, want one per run of refusals", audited, applied)
	}
	// 4 at once, then one token every 30 s (2 in the minute): pauses spend what is left but still
	// apply, so each start applied is followed by one pause.
	if applied > 2*(4+2)+1 || applied < 4 {
		t.Errorf("%d edges applied, want between 4 and 13", applied)
	}
	if s.Mode != P {
		t.Errorf("after the toggles: mode %s, want paused (the limit leaves the conversation with a person)", s.Mode)
	}
	if refused < 480 {
		t.Errorf("%d starts refused, want most of the 500", refused)
	}
	// After a quiet minute the visitor can start again.
	in := dataIn("start_chatbot#later")
	in.At = at + 60_000 + 60_000
	if res := cfg.Step(s, in); res.State.Mode != A {
		t.Errorf("start after a quiet minute: mode %s (%s), want active", res.State.Mode, res.Note)
	}
	// Trusted paths are never limited.
	if res := cfg.Step(s, signals.Input{Kind: signals.InputStart, Source: signals.SourceAPI, At: at + 60_000}); res.State.Mode != A {
		t.Errorf("API start after the toggles: mode %s, want active", res.State.Mode)
	}
	// Without limits (the zero value) every edge applies, as before.
	free := signals.DefaultConfig()
	s = free.Initial(at)
	applied = 0
	for i := range 100 {
		v := fmt.Sprintf("pause_chatbot#p%d", i)
		if i%2 == 1 {
			v = fmt.Sprintf("start_chatbot#s%d", i)
		}
		in := dataIn(v)
		in.At = at + int64(i)
		res := free.Step(s, in)
		s = res.State
		if res.Transition != nil {
			applied++
		}
	}
	if applied != 100 {
		t.Errorf("no limits: %d edges of 100 applied", applied)
	}
}

// TestAnswerLimits: answers per conversation are rate-limited, and past the message cap the
// conversation is handed over with reason budget.
func TestAnswerLimits(t *testing.T) {
	cfg := limited()
	s := cfg.Initial(at)
	msg := func(t int64) signals.Input {
		return signals.Input{Kind: signals.InputVisitorMessage, Source: signals.SourceVisitor, At: t}
	}
	replies := 0
	for i := range 31 { // 31 messages in 10 s
		res := cfg.Step(s, msg(at+int64(i)*330))
		s = res.State
		for _, a := range res.Actions {
			if a.Kind == signals.ActReply {
				replies++
				s = cfg.Step(s, signals.Input{Kind: signals.InputAnswered, At: at + int64(i)*330 + 1}).State
			}
		}
		if res.Limited != "" && res.Limited != signals.LimitAnswers {
			t.Fatalf("message %d limited by %q", i, res.Limited)
		}
	}
	if replies != 3 { // the burst; the next token comes after 10 s
		t.Errorf("31 messages in 10 s: %d replies, want 3", replies)
	}
	// Slowly, up to the cap; the next message hands over.
	tm := at + 60_000
	for s.Mode == A && tm < at+600_000 {
		res := cfg.Step(s, msg(tm))
		s = res.State
		for _, a := range res.Actions {
			if a.Kind == signals.ActReply {
				s = cfg.Step(s, signals.Input{Kind: signals.InputAnswered, At: tm + 1}).State
			}
		}
		if res.Transition != nil && (res.Transition.To != H || res.Transition.Reason != signals.ReasonBudget) {
			t.Fatalf("transition %+v, want a handover for budget", res.Transition)
		}
		tm += 20_000
	}
	if s.Mode != H || s.Reason != signals.ReasonBudget || cfg.AnswersLeft(s, tm) != 0 {
		t.Errorf("after the cap: mode %s/%s with %d answers left, want human/budget with none", s.Mode, s.Reason, cfg.AnswersLeft(s, tm))
	}
	// A day later (the visitor comes back in the same Crisp session) the cap is full again.
	if left := cfg.AnswersLeft(s, tm+24*60*60*1000); left != 5 {
		t.Errorf("a day later: %d answers left, want 5", left)
	}
}

// TestSignedStartExpiryWallClock: an input whose At is old (caught up after a gap) is checked for
// expiry against Now, the wall clock.
func TestSignedStartExpiryWallClock(t *testing.T) {
	cfg := signals.DefaultConfig()
	cfg.StartMode = signals.StartWaitForSignal
	cfg.StartSecret = secret
	in := signedIn("w", "s", "n1", at+60_000)
	in.At = at                 // the gap's start
	in.Now = at + 2*60*60*1000 // caught up two hours later: the value expired long ago
	if res := cfg.Step(cfg.Initial(at), in); res.State.Mode != W || res.Refused == nil {
		t.Errorf("expired signed start caught up: mode %s refused %v, want refused", res.State.Mode, res.Refused)
	}
	in.Now = at + 1000
	if res := cfg.Step(cfg.Initial(at), in); res.State.Mode != A {
		t.Errorf("fresh signed start caught up: mode %s (%s), want active", res.State.Mode, res.Note)
	}
}

// TestRestateLimit: a page clicking Pause 1,000 times in a minute while the assistant is paused has
// the write-back restated a bounded number of times (a burst, then at the edge rate), the others
// counted as limited; the restates never take a start's token nor reset the refusal count.
func TestRestateLimit(t *testing.T) {
	cfg := limited()
	s := cfg.Step(cfg.Initial(at), signals.Input{Kind: signals.InputPause, Source: signals.SourceAPI, At: at}).State
	restated, limitedN := 0, 0
	for i := range 1000 {
		in := dataIn(fmt.Sprintf("pause_chatbot#p%d", i))
		in.At = at + int64(i)*60
		res := cfg.Step(s, in)
		s = res.State
		if res.Transition != nil {
			t.Fatalf("click %d transitioned: %+v", i, res.Transition)
		}
		for _, a := range res.Actions {
			if a.Kind != signals.ActWriteBack {
				t.Fatalf("click %d: action %s, want only write-backs", i, a.Kind)
			}
			restated++
		}
		if res.Limited == signals.LimitRestates {
			limitedN++
		}
	}
	t.Logf("1,000 pauses while paused in 60 s: %d write-backs restated, %d limited", restated, limitedN)
	if restated < 1 || restated > 4+2 {
		t.Errorf("%d write-backs restated, want between 1 and 6 (a burst of 4, then 1 per 30 s)", restated)
	}
	if restated+limitedN != 1000 {
		t.Errorf("%d restated + %d limited, want 1,000", restated, limitedN)
	}
	if n := signals.RefusedEdges(s); n != 0 {
		t.Errorf("refused edges %d, want 0 (no start was refused)", n)
	}
	// Every start token is still there: four page starts and pauses in a row apply.
	for i := range 4 {
		v := "start_chatbot#s"
		if i%2 == 1 {
			v = "pause_chatbot#q"
		}
		in := dataIn(fmt.Sprint(v, i))
		in.At = at + 60_000 + int64(i)
		res := cfg.Step(s, in)
		if res.Transition == nil {
			t.Fatalf("toggle %d after the clicks: not applied (%q)", i, res.Note)
		}
		s = res.State
	}
}
