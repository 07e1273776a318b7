package signals_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/signals"
)

func TestParse(t *testing.T) {
	v := signals.DefaultVocabulary()
	tests := []struct {
		in   string
		want signals.Parsed
	}{
		{"start_chatbot", signals.Parsed{Command: signals.CmdStart, Known: true}},
		{"pause_chatbot", signals.Parsed{Command: signals.CmdPause, Known: true}},
		{"  start_chatbot\n", signals.Parsed{Command: signals.CmdStart, Known: true}},
		{"start_chatbot#k3v9", signals.Parsed{Command: signals.CmdStart, Nonce: "k3v9", Known: true}},
		{"pause_chatbot#1", signals.Parsed{Command: signals.CmdPause, Nonce: "1", Known: true}},
		{"pause_chatbot#a#b", signals.Parsed{Command: signals.CmdPause, Nonce: "a#b", Known: true}},
		{"start_chatbot#", signals.Parsed{}},
		{"chatbot_paused:human", signals.Parsed{Ours: true, Known: true}},
		{"chatbot_paused:operator", signals.Parsed{Ours: true, Known: true}},
		{"chatbot_paused:", signals.Parsed{}},
		{"chatbot_paused", signals.Parsed{}},
		{"Start_Chatbot", signals.Parsed{}},
		{"start_chatbotx", signals.Parsed{}},
		{"dummy-1234", signals.Parsed{}},
		{"", signals.Parsed{}},
		{"   ", signals.Parsed{}},
		{"#k3v9", signals.Parsed{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			tt.want.Raw = tt.in
			if got := v.Parse(tt.in); got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseButton(t *testing.T) {
	v := signals.DefaultVocabulary()
	tests := []struct {
		in   string
		want signals.Command
	}{
		{"enum:start_chatbot", signals.CmdStart},
		{"enum:pause_chatbot", signals.CmdPause},
		{" enum:pause_chatbot ", signals.CmdPause},
		{"start_chatbot", signals.CmdNone},
		{"lang:en", signals.CmdNone},
		{"", signals.CmdNone},
	}
	for _, tt := range tests {
		if got := v.ParseButton(tt.in); got != tt.want {
			t.Errorf("ParseButton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	disabled := v
	disabled.StartButton, disabled.PauseButton = "", ""
	if got := disabled.ParseButton(""); got != signals.CmdNone {
		t.Errorf("disabled ParseButton(\"\") = %q, want none", got)
	}
}

func TestWriteBack(t *testing.T) {
	v := signals.DefaultVocabulary()
	got := v.WriteBack(signals.ReasonHuman, 1700000000123)
	want := map[string]string{
		"enum":        "chatbot_paused:human",
		"enum_reason": "human",
		"enum_at":     "2023-11-14T22:13:20Z",
		"enum_state":  "human",
	}
	if !maps.Equal(got, want) {
		t.Errorf("WriteBack = %v, want %v", got, want)
	}
	if p := v.Parse(got["enum"]); !p.Ours {
		t.Errorf("Parse(write-back %q).Ours = false, want true", got["enum"])
	}

	bare := v
	bare.ReasonKey, bare.AtKey, bare.StateKey = "", "", ""
	if got := bare.WriteBack(signals.ReasonOperator, 0); !maps.Equal(got, map[string]string{"enum": "chatbot_paused:operator"}) {
		t.Errorf("WriteBack without extra keys = %v", got)
	}
	if got := v.WriteBack(signals.ReasonOperator, 0)["enum_state"]; got != "paused" {
		t.Errorf("WriteBack(operator)[enum_state] = %q, want paused", got)
	}
}

func TestVocabularyValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*signals.Vocabulary)
		wantErr string
	}{
		{"default", func(*signals.Vocabulary) {}, ""},
		{"no buttons", func(v *signals.Vocabulary) { v.StartButton, v.PauseButton = "", "" }, ""},
		{"no extra keys", func(v *signals.Vocabulary) { v.ReasonKey, v.AtKey = "", "" }, ""},
		{"empty key", func(v *signals.Vocabulary) { v.Key = "" }, "key is empty"},
		{"blank start", func(v *signals.Vocabulary) { v.Start = "  " }, "start is empty"},
		{"spaced pause", func(v *signals.Vocabulary) { v.Pause = " p" }, "surrounding spaces"},
		{"same values", func(v *signals.Vocabulary) { v.Pause = v.Start }, "start and pause are both"},
		{"same buttons", func(v *signals.Vocabulary) { v.PauseButton = v.StartButton }, "buttons are both"},
		{"sep in start", func(v *signals.Vocabulary) { v.Start = "go#now" }, "nonce separator"},
		{"prefix in pause", func(v *signals.Vocabulary) { v.Pause = "chatbot_paused:x" }, "write-back prefix"},
		{"reason key is key", func(v *signals.Vocabulary) { v.ReasonKey = "enum" }, "reason key equals"},
		{"same extra keys", func(v *signals.Vocabulary) { v.AtKey = v.ReasonKey }, "reason key and at key"},
		{"empty sep", func(v *signals.Vocabulary) { v.NonceSep = "" }, "nonce separator is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := signals.DefaultVocabulary()
			tt.edit(&v)
			err := v.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	c := signals.DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if c.StartMode != signals.StartAuto || !c.PauseOnOperator || c.HandoverSegment != "ai-handover" || c.ResolvedSegment != "ended-by-ai" {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	c.StartMode = "sometimes"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("Validate(bad start mode) = %v, want error naming it", err)
	}
	c = signals.DefaultConfig()
	c.Vocabulary.Key = ""
	if err := c.Validate(); err == nil {
		t.Error("Validate(empty key) = nil, want error")
	}
}

func TestInitial(t *testing.T) {
	for _, tt := range []struct {
		start signals.StartMode
		want  signals.Mode
	}{{signals.StartAuto, signals.ModeActive}, {signals.StartWaitForSignal, signals.ModeWaiting}} {
		c := signals.DefaultConfig()
		c.StartMode = tt.start
		s := c.Initial(42)
		if s.Mode != tt.want || s.Reason != signals.ReasonStart || s.Since != 42 || s.Last == nil || s.Written == nil {
			t.Errorf("Initial(%s) = %+v, want mode %s, reason start, since 42, maps allocated", tt.start, s, tt.want)
		}
	}
}
