package hours_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/signalbridge/signalbridge/hours"
)

func MustSchedule(tb testing.TB, zone string, week map[string][]string, holidays ...string) *hours.Schedule {
	tb.Helper()
	s, err := hours.New(zone, week, holidays)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

var office = map[string][]string{"mon-fri": {"09:00-18:00"}}

func TestOpenAndNextAcrossDST(t *testing.T) {
	madridNight := map[string][]string{"fri": {"22:00-02:00"}, "sun": {"01:00-04:00"}}
	madridGap := map[string][]string{"sun": {"02:30-05:00"}}
	nyFallBack := map[string][]string{"sun": {"01:30-08:00"}}
	nyEarly := map[string][]string{"sun": {"00:00-01:30"}, "mon": {"09:00-17:00"}}
	for _, tc := range []struct {
		name     string
		zone     string
		week     map[string][]string
		holidays []string
		at       string // UTC
		open     bool
		until    string // UTC, when open
		next     string // UTC
	}{
		// Europe/Madrid springs forward on Sunday 2026-03-29 at 02:00 CET (01:00 UTC).
		{"madrid friday evening before spring forward", "Europe/Madrid", office, nil, "2026-03-27 17:30", false, "", "2026-03-30 07:00"},
		{"madrid monday after spring forward opens 09:00 CEST", "Europe/Madrid", office, nil, "2026-03-30 07:00", true, "2026-03-30 16:00", "2026-03-31 07:00"},
		{"madrid monday 08:59 CEST closed", "Europe/Madrid", office, nil, "2026-03-30 06:59", false, "", "2026-03-30 07:00"},
		{"madrid friday 17:59 CET open", "Europe/Madrid", office, nil, "2026-03-27 16:59", true, "2026-03-27 17:00", "2026-03-30 07:00"},
		// Europe/Madrid falls back on Sunday 2026-10-25 at 03:00 CEST (01:00 UTC).
		{"madrid friday before fall back", "Europe/Madrid", office, nil, "2026-10-23 16:30", false, "", "2026-10-26 08:00"},
		{"madrid monday after fall back", "Europe/Madrid", office, nil, "2026-10-26 16:59", true, "2026-10-26 17:00", "2026-10-27 08:00"},
		// A span crossing the spring-forward gap is two hours long; one starting in the gap opens at the transition.
		{"madrid 01:00-04:00 on the gap night, 03:30 CEST", "Europe/Madrid", madridNight, nil, "2026-03-29 01:30", true, "2026-03-29 02:00", "2026-04-03 20:00"},
		{"madrid 01:00-04:00 on the gap night, 04:00 CEST", "Europe/Madrid", madridNight, nil, "2026-03-29 02:00", false, "", "2026-04-03 20:00"},
		{"madrid opening inside the gap", "Europe/Madrid", madridGap, nil, "2026-03-29 00:59", false, "", "2026-03-29 01:00"},
		{"madrid opening inside the gap, at the transition", "Europe/Madrid", madridGap, nil, "2026-03-29 01:00", true, "2026-03-29 03:00", "2026-04-05 00:30"},
		// Crossing midnight: Friday 22:00 to Saturday 02:00.
		{"madrid friday 21:59 closed", "Europe/Madrid", madridNight, nil, "2026-06-05 19:59", false, "", "2026-06-05 20:00"},
		{"madrid saturday 01:00 still open", "Europe/Madrid", madridNight, nil, "2026-06-05 23:00", true, "2026-06-06 00:00", "2026-06-06 23:00"},
		{"madrid saturday 02:00 closed", "Europe/Madrid", madridNight, nil, "2026-06-06 00:00", false, "", "2026-06-06 23:00"},
		// America/New_York springs forward on Sunday 2026-03-08 at 02:00 EST (07:00 UTC) and falls back
		// on Sunday 2026-11-01 at 02:00 EDT (06:00 UTC).
		{"new york friday before spring forward", "America/New_York", office, nil, "2026-03-06 23:30", false, "", "2026-03-09 13:00"},
		{"new york monday after spring forward", "America/New_York", office, nil, "2026-03-09 13:00", true, "2026-03-09 22:00", "2026-03-10 13:00"},
		{"new york friday before fall back", "America/New_York", office, nil, "2026-10-30 22:30", false, "", "2026-11-02 14:00"},
		{"new york monday after fall back, 08:59 EST", "America/New_York", office, nil, "2026-11-02 13:59", false, "", "2026-11-02 14:00"},
		// The repeated hour: 01:30 means its first occurrence (EDT).
		{"new york opening in the repeated hour", "America/New_York", nyFallBack, nil, "2026-11-01 05:29", false, "", "2026-11-01 05:30"},
		{"new york opening in the repeated hour, open", "America/New_York", nyFallBack, nil, "2026-11-01 05:30", true, "2026-11-01 13:00", "2026-11-08 06:30"},
		{"new york closing in the repeated hour stays closed the second time", "America/New_York", nyEarly, nil, "2026-11-01 06:15", false, "", "2026-11-02 14:00"},
		{"new york closing in the repeated hour, before it", "America/New_York", nyEarly, nil, "2026-11-01 05:15", true, "2026-11-01 05:30", "2026-11-02 14:00"},
		// Holidays close the spans that start on them.
		{"madrid christmas friday closed", "Europe/Madrid", office, []string{"2026-12-25"}, "2026-12-25 10:00", false, "", "2026-12-28 08:00"},
		{"madrid christmas eve after hours", "Europe/Madrid", office, []string{"2026-12-25"}, "2026-12-24 17:30", false, "", "2026-12-28 08:00"},
		{"span crossing into a holiday keeps its hours", "Europe/Madrid", map[string][]string{"thu": {"20:00-02:00"}}, []string{"2026-12-25"}, "2026-12-25 00:30", true, "2026-12-25 01:00", "2026-12-31 19:00"},
		{"span starting on a holiday is closed", "Europe/Madrid", map[string][]string{"fri": {"20:00-02:00"}}, []string{"2026-12-25"}, "2026-12-26 00:30", false, "", "2027-01-01 19:00"},
		// Adjacent spans are one opening.
		{"adjacent spans merge", "Europe/Madrid", map[string][]string{"sat": {"22:00-24:00"}, "sun": {"00:00-06:00"}}, nil, "2026-06-06 21:00", true, "2026-06-07 04:00", "2026-06-13 20:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustSchedule(t, tc.zone, tc.week, tc.holidays...)
			at := utc(tc.at)
			st := s.At(at)
			if st.Open != tc.open {
				t.Fatalf("At(%s).Open = %v, want %v", tc.at, st.Open, tc.open)
			}
			if got := s.Open(at); got != tc.open {
				t.Fatalf("Open(%s) = %v, want %v", tc.at, got, tc.open)
			}
			if tc.open {
				if got, want := st.Until, utc(tc.until); !got.Equal(want) {
					t.Errorf("Until = %s, want %s", got.UTC(), want)
				}
			}
			if got, want := st.Next, utc(tc.next); !got.Equal(want) {
				t.Errorf("Next = %s (%s), want %s", got.UTC(), got.In(s.Location), want)
			}
			n, ok := s.NextOpening(at)
			if !ok {
				t.Fatal("NextOpening: never")
			}
			if tc.open && !n.Equal(at) {
				t.Errorf("NextOpening while open = %s, want the instant itself", n)
			}
			if !tc.open && !n.Equal(st.Next) {
				t.Errorf("NextOpening = %s, want At's Next %s", n, st.Next)
			}
		})
	}
}

// TestNextOpeningIsTheFirstOpenInstant checks, for random instants around DST changes, that the next
// opening is open, that the minute before it is closed, and that nothing between is open.
func TestNextOpeningIsTheFirstOpenInstant(t *testing.T) {
	week := map[string][]string{"mon-thu": {"08:00-12:30", "14:00-19:00"}, "fri": {"22:00-02:30"}, "sun": {"01:30-03:00"}}
	r := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"Europe/Madrid", "America/New_York"} {
		s := MustSchedule(t, zone, week, "2026-11-02")
		for _, base := range []string{"2026-03-05 00:00", "2026-03-26 00:00", "2026-10-22 00:00", "2026-10-29 00:00"} {
			for range 40 {
				at := utc(base).Add(time.Duration(r.IntN(10*24*60)) * time.Minute)
				n, ok := s.NextOpening(at)
				if !ok {
					t.Fatalf("%s %s: never opens", zone, at)
				}
				if !s.Open(n) {
					t.Fatalf("%s: NextOpening(%s) = %s is not open", zone, at, n)
				}
				if n.After(at) && s.Open(n.Add(-time.Minute)) {
					t.Fatalf("%s: NextOpening(%s) = %s but the minute before is open", zone, at, n)
				}
				for m := at; m.Before(n); m = m.Add(15 * time.Minute) {
					if s.Open(m) {
						t.Fatalf("%s: open at %s, before NextOpening(%s) = %s", zone, m, at, n)
					}
				}
			}
		}
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := hours.New("Mars/Olympus", map[string][]string{
		"mon":     {"9:00-18:00"},
		"tues":    {"09:00-18:00"},
		"wed":     {"09:00-18"},
		"thu":     {"09:00-13:00", "12:00-15:00"},
		"fri":     {"25:00-26:00"},
		"sat-sun": {"10:00-10:00"},
		"weekend": {"10:00-12:00"},
	}, []string{"2026-02-30", "25/12/2026"})
	if err == nil {
		t.Fatal("New accepted a wrong schedule")
	}
	for _, want := range []string{
		`time_zone: "Mars/Olympus" is not an IANA time zone name`,
		`weekly.tues: "tues" is not a day`,
		`weekly.wed: "09:00-18": end "18" is not a time written 09:30`,
		`weekly.thu: 12:00-15:00 overlaps 09:00-13:00`,
		`weekly.fri: "25:00-26:00": start "25:00" is past the end of the day`,
		`weekly.sat-sun: "10:00-10:00" opens and closes at the same time`,
		`weekly.weekend: Saturday is also set by "sat-sun"`,
		`holidays[0]: "2026-02-30" is not a date written 2006-01-02`,
		`holidays[1]: "25/12/2026" is not a date written 2006-01-02`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "weekly.mon") {
		t.Errorf("9:00 (one-digit hour) should be accepted; got:\n%v", err)
	}
	if _, err := hours.New("Europe/Madrid", map[string][]string{"daily": {"closed"}}, nil); !errors.Is(err, hours.ErrNeverOpen) {
		t.Errorf("a schedule closed every day: err = %v, want ErrNeverOpen", err)
	}
	if _, err := hours.New("", office, nil); err == nil || !strings.Contains(err.Error(), "time_zone: required") {
		t.Errorf("no time zone: err = %v", err)
	}
}

func TestOvernightOverlapWithNextDayIsNotAnError(t *testing.T) {
	// A span crossing midnight and the next day's morning span are different days: allowed.
	if _, err := hours.New("Europe/Madrid", map[string][]string{"fri": {"22:00-02:00"}, "sat": {"09:00-12:00"}}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestNeverOpensWithinTheSearch(t *testing.T) {
	var hol []string
	for d := utc("2026-01-01 00:00"); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Monday {
			hol = append(hol, d.Format(time.DateOnly))
		}
	}
	s := MustSchedule(t, "Europe/Madrid", map[string][]string{"mon": {"09:00-10:00"}}, hol...)
	if n, ok := s.NextOpening(utc("2026-06-01 12:00")); ok {
		t.Fatalf("NextOpening = %s, want never", n)
	}
	if st := s.At(utc("2026-06-01 12:00")); st.Open || !st.Next.IsZero() {
		t.Fatalf("At = %+v, want closed with no next opening", st)
	}
}

func TestWhen(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	now := time.Date(2026, 3, 28, 15, 0, 0, 0, madrid) // a Saturday
	for _, tc := range []struct {
		lang string
		at   time.Time
		want string
	}{
		{"en", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), "Monday at 9:00"},
		{"es-ES", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), "el lunes a las 9:00"},
		{"ca", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), "dilluns a les 9:00"},
		{"fr", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), "lundi à 9h00"},
		{"de", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), "Monday at 9:00"},
		{"en", time.Date(2026, 3, 28, 18, 30, 0, 0, madrid), "today at 18:30"},
		{"es", time.Date(2026, 3, 29, 10, 0, 0, 0, madrid), "mañana a las 10:00"},
		{"en", time.Date(2026, 4, 6, 9, 0, 0, 0, madrid), "Monday 6 April at 9:00"},
		{"es", time.Date(2026, 4, 6, 9, 0, 0, 0, madrid), "el lunes 6 de abril a las 9:00"},
		{"fr", time.Date(2026, 4, 6, 9, 0, 0, 0, madrid), "lundi 6 avril à 9h00"},
	} {
		if got := hours.When(tc.lang, tc.at, now); got != tc.want {
			t.Errorf("When(%s, %s) = %q, want %q", tc.lang, tc.at, got, tc.want)
		}
	}
	// In the visitor's zone: Monday 09:00 in Madrid is Monday 03:00 in New York (UTC-4, JS offset 240).
	ny := hours.VisitorZone(240)
	if got, want := hours.When("en", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid).In(ny), now), "Monday at 3:00"; got != want {
		t.Errorf("When in the visitor's zone = %q, want %q", got, want)
	}
	if got := hours.VisitorZone(-120).String(); got != "UTC+02:00" {
		t.Errorf("VisitorZone(-120) = %q, want UTC+02:00", got)
	}
}
