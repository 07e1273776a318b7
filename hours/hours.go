// Package hours answers "is the support team open now?" and "when does it open next?" for a
// website's weekly schedule, in the website's IANA time zone, with holidays.
//
// A schedule is a list of opening spans per weekday, written in wall-clock time ("09:00-18:00"). A
// span whose end is not after its start crosses midnight ("22:00-02:00" opens at 22:00 and closes
// at 02:00 the next day); "24:00" is the end of the day. A span belongs to the day it starts on: a
// holiday closes the spans that start on it, and a span crossing midnight into a holiday keeps its
// hours.
//
// Wall-clock times are turned into instants on their own date, so a schedule keeps its local hours
// across daylight-saving changes. A time that does not exist (inside a spring-forward gap) means the
// first instant after the gap; a time that happens twice (an autumn fall-back) means its first
// occurrence.
//
// The package is pure and uses the standard library only; every answer takes the time it is asked
// about, so tests inject their clock.
package hours

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Span is one opening span of a day, in minutes from midnight. End is in 1..1440; an End not after
// Start means the span closes the next day.
type Span struct {
	Start, End int
}

// Crosses reports whether the span closes on the next day.
func (s Span) Crosses() bool { return s.End <= s.Start }

// String returns the span as written: "09:00-18:00".
func (s Span) String() string { return clock(s.Start) + "-" + clock(s.End) }

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Date is a civil date in the schedule's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// String returns the date as "2006-01-02".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// add returns the date n days later (earlier when n < 0).
func (d Date) add(n int) Date {
	t := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

func (d Date) weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

func dateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

// Schedule is a website's support hours. The zero value has no location and is never open; build
// one with New or fill every field. A Schedule is safe for concurrent use once built.
type Schedule struct {
	Location *time.Location
	Week     [7][]Span // by time.Weekday: Week[time.Monday] are Monday's spans, sorted by start
	Holidays map[Date]bool
}

// Status is the answer for one instant.
type Status struct {
	Open bool
	// Until is when the current opening ends (adjacent spans merged), when Open.
	Until time.Time
	// Next is the next opening: after now when closed, after Until when open. It is zero when the
	// schedule never opens again within a year and a few days.
	Next time.Time
}

// searchDays bounds the search for the next opening: a year of holidays, and a week.
const searchDays = 366 + 8

// ErrNeverOpen is returned by New for a schedule without any span.
var ErrNeverOpen = errors.New("no opening hours on any day")

// New builds a schedule. zone is an IANA time zone name ("Europe/Madrid"); week maps day names
// ("mon", "tuesday", a range "mon-fri", or "weekdays" / "weekend" / "daily") to spans written
// "09:00-18:00", or "closed"; holidays are dates "2006-01-02". Every problem is reported, joined, each
// naming the field it is in.
func New(zone string, week map[string][]string, holidays []string) (*Schedule, error) {
	var errs []error
	s := &Schedule{Holidays: map[Date]bool{}}
	if zone == "" {
		errs = append(errs, errors.New("time_zone: required (an IANA name such as Europe/Madrid)"))
	} else if loc, err := time.LoadLocation(zone); err != nil || zone == "Local" {
		errs = append(errs, fmt.Errorf("time_zone: %q is not an IANA time zone name (such as Europe/Madrid or America/New_York)", zone))
	} else {
		s.Location = loc
	}
	set := [7]string{}
	keys := make([]string, 0, len(week))
	for k := range week {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		days, err := ParseDays(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("weekly.%s: %w", k, err))
			continue
		}
		var spans []Span
		for _, v := range week[k] {
			if strings.EqualFold(strings.TrimSpace(v), "closed") {
				continue
			}
			sp, err := ParseSpan(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("weekly.%s: %w", k, err))
				continue
			}
			spans = append(spans, sp)
		}
		for _, d := range days {
			if set[d] != "" {
				errs = append(errs, fmt.Errorf("weekly.%s: %s is also set by %q", k, d, set[d]))
				continue
			}
			set[d] = k
			s.Week[d] = append(s.Week[d], spans...)
		}
	}
	reported := map[string]bool{}
	for d := range s.Week {
		sp := s.Week[d]
		slices.SortFunc(sp, func(a, b Span) int { return a.Start - b.Start })
		for i := 1; i < len(sp); i++ {
			prevEnd := sp[i-1].End
			if sp[i-1].Crosses() {
				prevEnd += 24 * 60
			}
			if msg := fmt.Sprintf("weekly.%s: %s overlaps %s", set[d], sp[i], sp[i-1]); sp[i].Start < prevEnd && !reported[msg] {
				reported[msg] = true // once for mon-fri, not once per day
				errs = append(errs, errors.New(msg))
			}
		}
	}
	if !slices.ContainsFunc(s.Week[:], func(sp []Span) bool { return len(sp) > 0 }) && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("weekly: %w", ErrNeverOpen))
	}
	for i, h := range holidays {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(h))
		if err != nil {
			errs = append(errs, fmt.Errorf("holidays[%d]: %q is not a date written 2006-01-02", i, h))
			continue
		}
		s.Holidays[dateOf(t)] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// ParseDays reads a day name ("mon", "monday"), a range going forward through the week ("mon-fri",
// "fri-mon"), or "weekdays", "weekend", "daily".
func ParseDays(s string) ([]time.Weekday, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	switch k {
	case "weekdays":
		return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, nil
	case "weekend":
		return []time.Weekday{time.Saturday, time.Sunday}, nil
	case "daily":
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, nil
	}
	from, to, isRange := strings.Cut(k, "-")
	a, ok := dayNames[from]
	if !ok {
		return nil, fmt.Errorf("%q is not a day (mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, weekdays, weekend or daily)", s)
	}
	if !isRange {
		return []time.Weekday{a}, nil
	}
	b, ok := dayNames[to]
	if !ok {
		return nil, fmt.Errorf("%q is not a day range (such as mon-fri)", s)
	}
	var out []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == b {
			return out, nil
		}
	}
}

// ParseSpan reads "09:00-18:00". The end may be "24:00"; an end not after the start crosses
// midnight; an empty span ("09:00-09:00") is rejected.
func ParseSpan(s string) (Span, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Span{}, fmt.Errorf("%q is not a span written 09:00-18:00", s)
	}
	start, err := parseClock(a, false)
	if err != nil {
		return Span{}, fmt.Errorf("%q: start %w", s, err)
	}
	end, err := parseClock(b, true)
	if err != nil {
		return Span{}, fmt.Errorf("%q: end %w", s, err)
	}
	if start == end {
		return Span{}, fmt.Errorf("%q opens and closes at the same time (for a whole day write 00:00-24:00)", s)
	}
	return Span{Start: start, End: end}, nil
}

func parseClock(s string, end bool) (int, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time written 09:30", s)
	}
	v := hh*60 + mm
	if v > 24*60 || (v == 24*60 && !end) || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is past the end of the day", s)
	}
	if v == 0 && end {
		v = 24 * 60 // "22:00-00:00" closes at midnight
	}
	return v, nil
}

// wall returns the first instant at or after the wall-clock time minute minutes after midnight of d.
func (s *Schedule) wall(d Date, minute int) time.Time {
	if minute >= 24*60 {
		d, minute = d.add(minute/(24*60)), minute%(24*60)
	}
	w := time.Date(d.Year, d.Month, d.Day, minute/60, minute%60, 0, 0, time.UTC)
	// The offsets in force a day either side bracket any transition at w.
	_, o1 := w.Add(-26 * time.Hour).In(s.Location).Zone()
	_, o2 := w.Add(26 * time.Hour).In(s.Location).Zone()
	var best time.Time
	for _, o := range []int{o1, o2} {
		c := w.Add(-time.Duration(o) * time.Second)
		l := c.In(s.Location)
		if l.Year() == d.Year && l.Month() == d.Month && l.Day() == d.Day && l.Hour()*60+l.Minute() == minute {
			if best.IsZero() || c.Before(best) {
				best = c
			}
		}
	}
	if !best.IsZero() {
		return best
	}
	// A gap: the wall time does not exist. The transition is the first instant after it.
	later := w.Add(-time.Duration(min(o1, o2)) * time.Second)
	start, _ := later.In(s.Location).ZoneBounds()
	return start
}

// opening is one span placed on a date: [from, to).
type opening struct{ from, to time.Time }

// openings returns the openings of the spans that start on d, unless d is a holiday.
func (s *Schedule) openings(d Date) []opening {
	if s.Holidays[d] {
		return nil
	}
	spans := s.Week[d.weekday()]
	out := make([]opening, 0, len(spans))
	for _, sp := range spans {
		end := sp.End
		if sp.Crosses() {
			end += 24 * 60
		}
		out = append(out, opening{s.wall(d, sp.Start), s.wall(d, end)})
	}
	return out
}

// openAt returns the end of the opening that contains t, if any.
func (s *Schedule) openAt(t time.Time) (time.Time, bool) {
	d := dateOf(t.In(s.Location))
	for _, day := range []Date{d.add(-1), d} {
		for _, o := range s.openings(day) {
			if !t.Before(o.from) && t.Before(o.to) {
				return o.to, true
			}
		}
	}
	return time.Time{}, false
}

// Open reports whether the team is open at t.
func (s *Schedule) Open(t time.Time) bool {
	if s == nil || s.Location == nil {
		return false
	}
	_, ok := s.openAt(t)
	return ok
}

// NextOpening returns the first instant at or after t when the team is open: t itself when open.
// ok is false when the schedule does not open within a year and a few days (holidays all year).
func (s *Schedule) NextOpening(t time.Time) (time.Time, bool) {
	if s == nil || s.Location == nil {
		return time.Time{}, false
	}
	if _, ok := s.openAt(t); ok {
		return t, true
	}
	d := dateOf(t.In(s.Location))
	for i := 0; i < searchDays; i++ {
		var best time.Time
		for _, o := range s.openings(d.add(i)) {
			if !o.from.Before(t) && (best.IsZero() || o.from.Before(best)) {
				best = o.from
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}

// At returns the status at t: open until when, and the next opening.
func (s *Schedule) At(t time.Time) Status {
	if s == nil || s.Location == nil {
		return Status{}
	}
	until, open := s.openAt(t)
	if !open {
		next, _ := s.NextOpening(t)
		return Status{Next: next}
	}
	// Merge adjacent spans (22:00-24:00 then 00:00-06:00) into one opening.
	for i := 0; i < 2*searchDays; i++ {
		u, ok := s.openAt(until)
		if !ok {
			break
		}
		until = u
	}
	next, _ := s.NextOpening(until)
	return Status{Open: true, Until: until, Next: next}
}
