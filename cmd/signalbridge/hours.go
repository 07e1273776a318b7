package main

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/hours"
)

// HoursConfig is a website's support hours (docs/support-hours.md).
//
//	hours:
//	  time_zone: Europe/Madrid
//	  weekly:
//	    mon-fri: ["09:00-14:00", "15:00-18:00"]
//	    sat: "10:00-13:00"
//	  holidays: ["2026-12-25", "2027-01-01"]
//	  closed_message: {en: "We're off until {when}.", es: "Volvemos {when}."}
//	  start_when_closed: true
type HoursConfig struct {
	TimeZone string `yaml:"time_zone"` // IANA name, e.g. Europe/Madrid
	// Weekly maps days ("mon", "mon-fri", "weekdays", "weekend", "daily") to spans "09:00-18:00";
	// a span whose end is not after its start crosses midnight; "closed" for none.
	Weekly   map[string]Spans `yaml:"weekly"`
	Holidays []string         `yaml:"holidays"` // dates 2006-01-02, closed all day
	// ClosedMessage replaces the closed-hours handover notice, per language ("" for every
	// language); "{when}" is replaced by when the team is back.
	ClosedMessage LocalText `yaml:"closed_message"`
	// StartWhenClosed starts the assistant by itself outside hours in a wait_for_signal website.
	StartWhenClosed bool `yaml:"start_when_closed"`
}

// Spans is a list of spans; in YAML a single string is a list of one.
type Spans []string

// UnmarshalYAML accepts "09:00-18:00" or a list of them.
func (s *Spans) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Spans{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// LocalText is a text per language; in YAML a plain string applies to every language (key "").
type LocalText map[string]string

// UnmarshalYAML accepts a plain string or a map of language to text.
func (t *LocalText) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = LocalText{"": n.Value}
		return nil
	}
	m := map[string]string{}
	if err := n.Decode(&m); err != nil {
		return err
	}
	*t = m
	return nil
}

// schedule builds the hours' schedule.
func (h *HoursConfig) schedule() (*hours.Schedule, error) {
	week := make(map[string][]string, len(h.Weekly))
	for k, v := range h.Weekly {
		week[k] = v
	}
	return hours.New(h.TimeZone, week, h.Holidays)
}

// validateHours reports the problems of a website's hours, each naming its field under p.hours.
func (c Config) validateHours(p string, w WebsiteConfig) []error {
	h := w.Hours
	if h == nil {
		return nil
	}
	var errs []error
	field := p + ".hours"
	if _, err := h.schedule(); err != nil {
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		for _, e := range list {
			sub, msg, ok := strings.Cut(e.Error(), ": ")
			if !ok {
				errs = append(errs, c.fieldProblem(field, e.Error()))
				continue
			}
			if i := strings.IndexByte(sub, '['); i > 0 {
				sub = sub[:i] // holidays[1] -> the holidays line
			}
			errs = append(errs, c.fieldProblem(field+"."+sub, msg))
		}
	}
	for lang, text := range h.ClosedMessage {
		if lang != "" && !langRe.MatchString(lang) {
			errs = append(errs, c.fieldProblem(field+".closed_message", fmt.Sprintf("%q is not a language code such as en", lang)))
		}
		if !strings.Contains(text, "{when}") {
			errs = append(errs, c.fieldProblem(field+".closed_message",
				fmt.Sprintf("the %s text must say when the team is back with {when}, got %q", orAll(lang), text)))
		}
	}
	if h.StartWhenClosed && w.StartMode != "wait_for_signal" {
		errs = append(errs, c.fieldProblem(field+".start_when_closed",
			fmt.Sprintf("applies to start_mode wait_for_signal only (this website's is %q: the assistant already starts by itself)", cmpOr(w.StartMode, "auto"))))
	}
	return errs
}

func orAll(lang string) string {
	if lang == "" {
		return "every-language"
	}
	return lang
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// supportHours builds the bridge's support hours of a website (nil without hours).
func supportHours(w WebsiteConfig) (*bridge.SupportHours, error) {
	if w.Hours == nil {
		return nil, nil
	}
	s, err := w.Hours.schedule()
	if err != nil {
		return nil, err
	}
	return &bridge.SupportHours{Schedule: s, StartWhenClosed: w.Hours.StartWhenClosed}, nil
}

// closedStrings adds a website's closed_message to its strings table (key closed_hours).
func closedStrings(w WebsiteConfig) map[string]map[string]string {
	if w.Hours == nil || len(w.Hours.ClosedMessage) == 0 {
		return w.Strings
	}
	out := make(map[string]map[string]string, len(w.Strings)+4)
	for l, m := range w.Strings {
		out[l] = make(map[string]string, len(m)+1)
		for k, v := range m {
			out[l][k] = v
		}
	}
	langs := append([]string{"en", "es", "ca", "fr"}, w.Languages...)
	if all, ok := w.Hours.ClosedMessage[""]; ok {
		for _, l := range langs {
			if out[l] == nil {
				out[l] = map[string]string{}
			}
			out[l]["closed_hours"] = all
		}
	}
	for l, text := range w.Hours.ClosedMessage {
		if l == "" {
			continue
		}
		if out[l] == nil {
			out[l] = map[string]string{}
		}
		out[l]["closed_hours"] = text
	}
	return out
}

// hoursEnabled reports whether any website has support hours (the reminder sweep runs).
func hoursEnabled(cfg Config) bool {
	for _, w := range cfg.Websites {
		if w.Hours != nil {
			return true
		}
	}
	return false
}

// withHours gives a website's guided steps its support hours, for the open condition.
func withHours(s bridge.Steps, h *bridge.SupportHours, now func() time.Time) bridge.Steps {
	st, ok := s.(steps)
	if !ok || h == nil {
		return s
	}
	st.closed = func() bool { return !h.At(now()).Open }
	return st
}

// stepsClosed is the scenario context's Closed for a steps adapter.
func (s steps) closedNow() bool { return s.closed != nil && s.closed() }

func (*Spans) scalarForm()     {}
func (*LocalText) scalarForm() {}
