package signals_test

import (
	"errors"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

func TestReviewSignedStart(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	const now = int64(1_800_000_000_000)
	v := signals.SignStart(secret, "w1", "sA", "n1", now+60_000)
	// Bound to the conversation.
	if _, err := signals.VerifyStart(secret, "w1", "sB", v, now, 0); !errors.Is(err, signals.ErrBadSignature) {
		t.Errorf("other session: %v", err)
	}
	if _, err := signals.VerifyStart(secret, "w2", "sA", v, now, 0); !errors.Is(err, signals.ErrBadSignature) {
		t.Errorf("other website: %v", err)
	}
	if _, err := signals.VerifyStart(secret, "w1", "sA", v, now, now+60_000); !errors.Is(err, signals.ErrReplayed) {
		t.Errorf("replay: %v", err)
	}
	if _, err := signals.VerifyStart(secret, "w1", "sA", v, now+60_000, 0); !errors.Is(err, signals.ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	// Field separator: "|" is not escaped.
	amb := signals.SignStart(secret, "w|x", "s", "n1", now+60_000)
	_, err := signals.VerifyStart(secret, "w", "x|s", amb, now, 0)
	t.Logf("website %q/session %q signature reused for website %q/session %q: err=%v", "w|x", "s", "w", "x|s", err)
	if !errors.Is(err, signals.ErrBadSignature) {
		t.Errorf("a signature of website %q/session %q verifies for website %q/session %q: %v", "w|x", "s", "w", "x|s", err)
	}

	// Machine: signed-start website, waiting conversation.
	cfg := signals.DefaultConfig()
	cfg.StartMode = signals.StartWaitForSignal
	cfg.StartSecret = secret
	st := cfg.Initial(now)
	// An unsigned data start is refused...
	r := cfg.Step(st, signals.Input{Kind: signals.InputData, Source: signals.SourceData, At: now,
		Data: map[string]string{"enum": "start_chatbot"}, WebsiteID: "w1", SessionID: "sA"})
	if r.Refused == nil || r.State.Mode != signals.ModeWaiting {
		t.Errorf("unsigned data start: %+v", r)
	}
	// ...but a button with the start value needs no signature.
	r = cfg.Step(st, signals.Input{Kind: signals.InputButton, Source: signals.SourceButton, At: now, Value: "enum:start_chatbot"})
	t.Logf("button start on a signed-start website: mode %s (refused=%v)", r.State.Mode, r.Refused != nil)
	if r.Refused == nil || r.State.Mode != signals.ModeWaiting {
		t.Errorf("button start on a signed-start website: mode %s refused=%v, want waiting and refused", r.State.Mode, r.Refused != nil)
	}
	// Human-owned: a valid signed start is still refused.
	h := st
	h.Mode, h.Reason = signals.ModeHuman, signals.ReasonHuman
	r = cfg.Step(h, signals.Input{Kind: signals.InputData, Source: signals.SourceData, At: now,
		Data: map[string]string{"enum": "start_chatbot#" + v}, WebsiteID: "w1", SessionID: "sA"})
	if r.State.Mode != signals.ModeHuman || r.Refused == nil {
		t.Errorf("signed start while human-owned: %+v", r)
	}
	// API pause with reason "human" leaves mode paused, not human-owned: a visitor can restart it.
	act := cfg.Initial(now)
	act.Mode = signals.ModeActive
	r = cfg.Step(act, signals.Input{Kind: signals.InputPause, Source: signals.SourceAPI, Reason: signals.ReasonHuman, At: now})
	r2 := cfg.Step(r.State, signals.Input{Kind: signals.InputButton, Source: signals.SourceButton, At: now + 1, Value: "enum:start_chatbot"})
	t.Logf("API pause reason=human -> mode %s/%s, HumanOwned=%v; then visitor button -> %s", r.State.Mode, r.State.Reason,
		signals.HumanOwned(r.State), r2.State.Mode)
	if !signals.HumanOwned(r.State) || r2.State.Mode == signals.ModeActive || r2.Refused == nil {
		t.Errorf("API pause reason=human: HumanOwned=%v, then a visitor's button -> %s (refused=%v); want human-owned and refused",
			signals.HumanOwned(r.State), r2.State.Mode, r2.Refused != nil)
	}
}
