package signals

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultVocabulary returns the signal contract users already build on: key "enum", values
// "start_chatbot" / "pause_chatbot", picker buttons "enum:start_chatbot" / "enum:pause_chatbot",
// write-back "chatbot_paused:<reason>" plus "enum_reason", "enum_at" and "enum_state".
func DefaultVocabulary() Vocabulary {
	return Vocabulary{
		Key:          "enum",
		Start:        "start_chatbot",
		Pause:        "pause_chatbot",
		StartButton:  "enum:start_chatbot",
		PauseButton:  "enum:pause_chatbot",
		PausedPrefix: "chatbot_paused",
		NonceSep:     "#",
		ReasonKey:    "enum_reason",
		AtKey:        "enum_at",
		StateKey:     "enum_state",
	}
}

// writeBackSep separates the paused prefix from the reason in a write-back value.
const writeBackSep = ":"

// Validate reports the first problem of the vocabulary. Key, Start, Pause, PausedPrefix and NonceSep
// are required; StartButton, PauseButton, ReasonKey, AtKey and StateKey may be empty to disable them.
func (v Vocabulary) Validate() error {
	var errs []error
	req := []struct{ name, val string }{
		{"key", v.Key}, {"start", v.Start}, {"pause", v.Pause},
		{"paused prefix", v.PausedPrefix}, {"nonce separator", v.NonceSep},
	}
	for _, r := range req {
		if strings.TrimSpace(r.val) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", r.name))
		} else if r.val != strings.TrimSpace(r.val) {
			errs = append(errs, fmt.Errorf("%s %q has surrounding spaces", r.name, r.val))
		}
	}
	if v.Start != "" && v.Start == v.Pause {
		errs = append(errs, fmt.Errorf("start and pause are both %q", v.Start))
	}
	if v.StartButton != "" && v.StartButton == v.PauseButton {
		errs = append(errs, fmt.Errorf("start and pause buttons are both %q", v.StartButton))
	}
	if v.NonceSep != "" {
		for _, c := range []struct{ name, val string }{{"start", v.Start}, {"pause", v.Pause}} {
			if strings.Contains(c.val, v.NonceSep) {
				errs = append(errs, fmt.Errorf("%s %q contains the nonce separator %q", c.name, c.val, v.NonceSep))
			}
		}
	}
	if v.PausedPrefix != "" {
		p := v.PausedPrefix + writeBackSep
		for _, c := range []struct{ name, val string }{{"start", v.Start}, {"pause", v.Pause}} {
			if strings.HasPrefix(c.val, p) {
				errs = append(errs, fmt.Errorf("%s %q starts with the write-back prefix %q", c.name, c.val, p))
			}
		}
	}
	extra := []struct{ name, val string }{{"reason key", v.ReasonKey}, {"at key", v.AtKey}, {"state key", v.StateKey}}
	for i, c := range extra {
		if c.val == "" {
			continue
		}
		if c.val == v.Key {
			errs = append(errs, fmt.Errorf("%s equals the signal key %q", c.name, v.Key))
		}
		for _, d := range extra[i+1:] {
			if c.val == d.val {
				errs = append(errs, fmt.Errorf("%s and %s are both %q", c.name, d.name, c.val))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("signal vocabulary: %w", err)
	}
	return nil
}

// Parse reads one signal value. It never fails: surrounding space is trimmed; the start and pause
// values are commands; "<start|pause><NonceSep><nonce>" with a non-empty nonce is the same command
// with Nonce set; "<PausedPrefix>:<reason>" with a non-empty reason is one of our write-backs (Ours);
// anything else (dummy values, unknown values, an empty nonce) has Known false.
func (v Vocabulary) Parse(value string) Parsed {
	p := Parsed{Raw: value}
	s := strings.TrimSpace(value)
	if s == "" {
		return p
	}
	switch s {
	case v.Start:
		p.Command, p.Known = CmdStart, true
		return p
	case v.Pause:
		p.Command, p.Known = CmdPause, true
		return p
	}
	if v.NonceSep != "" {
		if cmd, nonce, ok := strings.Cut(s, v.NonceSep); ok && nonce != "" {
			switch cmd {
			case v.Start:
				p.Command, p.Nonce, p.Known = CmdStart, nonce, true
				return p
			case v.Pause:
				p.Command, p.Nonce, p.Known = CmdPause, nonce, true
				return p
			}
		}
	}
	if v.PausedPrefix != "" {
		if reason, ok := strings.CutPrefix(s, v.PausedPrefix+writeBackSep); ok && reason != "" {
			p.Ours, p.Known = true, true
		}
	}
	return p
}

// ParseButton returns the command of a picker choice value: CmdStart for StartButton, CmdPause for
// PauseButton (after trimming space), CmdNone otherwise or when the button is disabled ("").
func (v Vocabulary) ParseButton(choiceValue string) Command {
	s := strings.TrimSpace(choiceValue)
	switch {
	case s == "":
		return CmdNone
	case s == v.StartButton:
		return CmdStart
	case s == v.PauseButton:
		return CmdPause
	}
	return CmdNone
}

// WriteBack returns the session data we write when the assistant stops for reason r at Unix ms at:
// {Key: "<PausedPrefix>:<r>", ReasonKey: "<r>", AtKey: at in RFC 3339 UTC, StateKey: the mode}.
// ReasonKey, AtKey and StateKey are left out when empty.
func (v Vocabulary) WriteBack(r Reason, at int64) map[string]string {
	m := make(map[string]string, 4)
	m[v.Key] = v.PausedPrefix + writeBackSep + string(r)
	if v.ReasonKey != "" {
		m[v.ReasonKey] = string(r)
	}
	if v.AtKey != "" {
		m[v.AtKey] = time.UnixMilli(at).UTC().Format(time.RFC3339)
	}
	if v.StateKey != "" {
		m[v.StateKey] = string(PausedMode(r))
	}
	return m
}

// PausedMode is the mode a stop for reason r leads to: ModeHuman for a handover (human, budget,
// error), ModePaused otherwise.
func PausedMode(r Reason) Mode {
	switch r {
	case ReasonHuman, ReasonBudget, ReasonError:
		return ModeHuman
	}
	return ModePaused
}
