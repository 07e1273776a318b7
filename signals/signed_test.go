package signals_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/signals"
)

var secret = []byte("website-backend-secret")

func signedIn(website, session, nonce string, exp int64) signals.Input {
	in := dataIn("start_chatbot#" + signals.SignStart(secret, website, session, nonce, exp))
	in.WebsiteID, in.SessionID = website, session
	return in
}

func TestVerifyStart(t *testing.T) {
	good := signals.SignStart(secret, "w", "s", "n1", at+60_000)
	tests := []struct {
		name        string
		nonce       string
		secret      []byte
		site, sess  string
		now, lastEx int64
		want        error
	}{
		{"valid", good, secret, "w", "s", at, 0, nil},
		{"unsigned nonce", "k3v9x2", secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"missing sig", "n1.123", secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"bad exp", "n1.12x." + strings.Repeat("A", 43), secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"exp with a plus sign", strings.Replace(good, ".", ".+", 1), secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"nonce with bad characters", signals.SignStart(secret, "w", "s", "n/1", at+60_000), secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"nonce too long", signals.SignStart(secret, "w", "s", strings.Repeat("n", 65), at+60_000), secret, "w", "s", at, 0, signals.ErrUnsigned},
		{"wrong secret", good, []byte("other"), "w", "s", at, 0, signals.ErrBadSignature},
		{"other session", good, secret, "w", "s2", at, 0, signals.ErrBadSignature},
		{"other website", good, secret, "w2", "s", at, 0, signals.ErrBadSignature},
		{"tampered exp", strings.Replace(good, ".1700000060000.", ".1700000090000.", 1), secret, "w", "s", at, 0, signals.ErrBadSignature},
		{"expired", good, secret, "w", "s", at + 60_000, 0, signals.ErrExpired},
		{"replayed", good, secret, "w", "s", at, at + 60_000, signals.ErrReplayed},
		{"older than the last", good, secret, "w", "s", at, at + 90_000, signals.ErrReplayed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := signals.VerifyStart(tt.secret, tt.site, tt.sess, tt.nonce, tt.now, tt.lastEx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && exp != at+60_000 {
				t.Errorf("exp = %d, want %d", exp, at+60_000)
			}
		})
	}
	if strings.Contains(good, "=") || strings.Count(good, ".") != 3 || !strings.HasPrefix(good, "v2.") {
		t.Errorf("signed nonce %q: want v2.<nonce>.<exp>.<base64url without padding>", good)
	}
}

// TestSignedStarts drives the machine of a website that requires signed starts.
func TestSignedStarts(t *testing.T) {
	cfg := signals.DefaultConfig()
	cfg.StartMode = signals.StartWaitForSignal
	cfg.StartSecret = secret
	step := func(s signals.State, in signals.Input) signals.Result {
		t.Helper()
		return cfg.Step(s, in)
	}
	s := cfg.Initial(0)

	for _, in := range []signals.Input{dataIn("start_chatbot"), dataIn("start_chatbot#forged"),
		signedIn("w", "other-session", "n0", at+60_000)} {
		in.WebsiteID, in.SessionID = "w", "s"
		res := step(s, in)
		if res.Refused == nil || res.Transition != nil || res.State.Mode != W {
			t.Fatalf("unsigned start %q: refused %v transition %v mode %s, want refused", in.Data["enum"], res.Refused, res.Transition, res.State.Mode)
		}
		s = res.State
	}

	a := signedIn("w", "s", "n1", at+60_000)
	res := step(s, a)
	if res.Refused != nil || res.Transition == nil || res.State.Mode != A || res.Transition.Source != signals.SourcePage {
		t.Fatalf("signed start: refused %v transition %v, want a start from page (note %q)", res.Refused, res.Transition, res.Note)
	}
	if res.State.Last["enum.signed_exp"] != "1700000060000" {
		t.Errorf("Last = %v, want the exp remembered", res.State.Last)
	}
	s = res.State
	s = step(s, dataIn("pause_chatbot")).State // a pause needs no signature
	if s.Mode != P {
		t.Fatalf("pause: mode %s, want paused", s.Mode)
	}
	// The same value again after other values is a replay.
	if res := step(s, a); res.Refused == nil || res.State.Mode != P {
		t.Fatalf("replayed signed start: refused %v mode %s, want refused", res.Refused, res.State.Mode)
	}
	b := signedIn("w", "s", "n2", at+120_000)
	b.At = at + 1000
	if res := step(s, b); res.State.Mode != A {
		t.Fatalf("newer signed start: mode %s note %q, want active", res.State.Mode, res.Note)
	}
	// The start button is off (it would be an unsigned way round), unless the website opts in;
	// trusted paths need no signature.
	if res := step(s, signals.Input{Kind: signals.InputButton, At: at, Value: "enum:start_chatbot"}); res.State.Mode != P || res.Refused == nil {
		t.Errorf("button start: mode %s refused %v, want paused and refused", res.State.Mode, res.Refused)
	}
	optIn := cfg
	optIn.StartButtonUnsigned = true
	if res := optIn.Step(s, signals.Input{Kind: signals.InputButton, At: at, Value: "enum:start_chatbot"}); res.State.Mode != A {
		t.Errorf("button start with start_button_unsigned: mode %s, want active", res.State.Mode)
	}
	if res := step(s, signals.Input{Kind: signals.InputStart, Source: signals.SourceAPI, At: at}); res.State.Mode != A {
		t.Errorf("api start: mode %s, want active", res.State.Mode)
	}
	// A signed start still does not take a conversation from a human.
	h := stateIn(H)
	if res := step(h, signedIn("w", "s", "n3", at+60_000)); res.Refused == nil || res.State.Mode != H {
		t.Errorf("signed start while human: refused %v mode %s, want refused", res.Refused, res.State.Mode)
	}
}

// readmeSignStart is the first (version 1) Go signing recipe the README gave, verbatim: its values
// are accepted during the grace period only.
func readmeSignStart(secret []byte, websiteID, sessionID string) string {
	nonce := rand.Text()[:16] // crypto/rand
	exp := strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(websiteID + "|" + sessionID + "|" + nonce + "|" + exp))
	return "start_chatbot#" + nonce + "." + exp + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestReadmeSigningRecipe(t *testing.T) {
	v := readmeSignStart(secret, "w", "session_x")
	p := signals.DefaultVocabulary().Parse(v)
	if p.Command != signals.CmdStart {
		t.Fatalf("%q is not a start", v)
	}
	now := time.Now().UnixMilli()
	if _, err := signals.VerifyStartUntil(secret, "w", "session_x", p.Nonce, now, 0, now+1); err != nil {
		t.Fatalf("README recipe value %q in the grace period: %v", v, err)
	}
	if _, err := signals.VerifyStartUntil(secret, "w", "session_x", p.Nonce, now, 0, now); !errors.Is(err, signals.ErrLegacySignature) {
		t.Fatalf("README recipe value %q after the grace period: %v, want ErrLegacySignature", v, err)
	}
}

// docsSignStart is the signing recipe of docs/security.md, verbatim: it must keep producing values
// the bridge accepts.
func docsSignStart(secret []byte, websiteID, sessionID string) string {
	nonce := rand.Text()[:16] // crypto/rand
	exp := strconv.FormatInt(time.Now().Add(5*time.Minute).UnixMilli(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("signalbridge-start-v2"))
	for _, f := range []string{websiteID, sessionID, nonce, exp} {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		m.Write([]byte(f))
	}
	return "start_chatbot#v2." + nonce + "." + exp + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestDocsSigningRecipe(t *testing.T) {
	v := docsSignStart(secret, "w", "session_x")
	p := signals.DefaultVocabulary().Parse(v)
	if p.Command != signals.CmdStart {
		t.Fatalf("%q is not a start", v)
	}
	if _, err := signals.VerifyStart(secret, "w", "session_x", p.Nonce, time.Now().UnixMilli(), 0); err != nil {
		t.Fatalf("docs recipe value %q: %v", v, err)
	}
}

// TestSignedStartGrace: a version 1 value is accepted while the website's grace period lasts, then
// refused; the machine checks it against the wall clock of the input.
func TestSignedStartGrace(t *testing.T) {
	cfg := signals.DefaultConfig()
	cfg.StartMode = signals.StartWaitForSignal
	cfg.StartSecret = secret
	v1 := dataIn("start_chatbot#" + signals.SignStartV1(secret, "w", "s", "n1", at+60_000))
	v1.WebsiteID, v1.SessionID = "w", "s"
	cfg.LegacyStartUntil = at + 1
	if res := cfg.Step(cfg.Initial(0), v1); res.State.Mode != A {
		t.Errorf("v1 start in the grace period: mode %s note %q, want active", res.State.Mode, res.Note)
	}
	cfg.LegacyStartUntil = at
	if res := cfg.Step(cfg.Initial(0), v1); res.State.Mode != W || res.Refused == nil {
		t.Errorf("v1 start after the grace period: mode %s refused %v, want refused", res.State.Mode, res.Refused)
	}
}
