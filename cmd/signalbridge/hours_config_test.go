package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCheckReportsHoursProblems: every wrong field of a website's support hours is reported with
// its path and line, all at once.
func TestCheckReportsHoursProblems(t *testing.T) {
	fake := startFake(t)
	env := map[string]string{"CRISP_IDENTIFIER": "ident", "CRISP_KEY": "key", "CRISP_API_URL": fake.RESTURL()}
	path := writeConfig(t, `websites:
  default:
    start_mode: auto
    hours:
      time_zone: Europe/Madird
      weekly:
        mon-fri: ["09:00-14:00", "13:00-18:00"]
        satday: "10:00-13:00"
        sun: "10:00-25:00"
      holidays: ["2026-12-25", "2026-13-01"]
      closed_message: {en: "We are closed.", xx-yy: "{when}"}
      start_when_closed: true
      open_now: true
`)
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"check", "--config", path}, &out, &errb, envFunc(env)); code == 0 {
		t.Fatalf("check exited 0:\n%s", out.String())
	}
	got := out.String()
	for _, want := range []string{
		`line 5: websites.default.hours.time_zone: "Europe/Madird" is not an IANA time zone name`,
		`line 7: websites.default.hours.weekly.mon-fri: 13:00-18:00 overlaps 09:00-14:00`,
		`line 8: websites.default.hours.weekly.satday: "satday" is not a day`,
		`line 9: websites.default.hours.weekly.sun: "10:00-25:00": end "25:00" is past the end of the day`,
		`line 10: websites.default.hours.holidays: "2026-13-01" is not a date written 2006-01-02`,
		`line 11: websites.default.hours.closed_message: "xx-yy" is not a language code such as en`,
		`line 11: websites.default.hours.closed_message: the en text must say when the team is back with {when}, got "We are closed."`,
		`line 12: websites.default.hours.start_when_closed: applies to start_mode wait_for_signal only`,
		`line 13: websites.default.hours.open_now: unknown field`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// TestHoursConfigLoads: a valid block builds the schedule, inherited by websites from the default.
func TestHoursConfigLoads(t *testing.T) {
	path := writeConfig(t, `crisp: {identifier: i, key: k}
websites:
  default:
    start_mode: wait_for_signal
    hours:
      time_zone: America/New_York
      weekly: {weekdays: "09:00-17:00", sat: ["10:00-12:00", "22:00-02:00"], sun: closed}
      holidays: [2026-11-26]
      closed_message: "Back {when}."
      start_when_closed: true
  8c842203-7ed8-4e29-a608-7cf78a7d2fcc: {}
`)
	cfg, err := LoadConfig(path, envFunc(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w := cfg.Websites["8c842203-7ed8-4e29-a608-7cf78a7d2fcc"]
	h, err := supportHours(w)
	if err != nil || h == nil {
		t.Fatalf("supportHours = %v, %v", h, err)
	}
	if !h.StartWhenClosed {
		t.Error("start_when_closed not inherited")
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		at   time.Time
		open bool
	}{
		{time.Date(2026, 11, 25, 10, 0, 0, 0, ny), true},
		{time.Date(2026, 11, 26, 10, 0, 0, 0, ny), false}, // Thanksgiving
		{time.Date(2026, 11, 29, 1, 0, 0, 0, ny), true},   // Saturday 22:00-02:00 into Sunday
		{time.Date(2026, 11, 29, 10, 0, 0, 0, ny), false},
	} {
		if got := h.At(tc.at).Open; got != tc.open {
			t.Errorf("open at %s = %v, want %v", tc.at, got, tc.open)
		}
	}
	if got := closedStrings(w)["es"]["closed_hours"]; got != "Back {when}." {
		t.Errorf("closed_message for es = %q", got)
	}
}
