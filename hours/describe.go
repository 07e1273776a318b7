package hours

import (
	"fmt"
	"slices"
	"strings"
)

// describeWords are the words of Describe per language: the weekdays as a schedule names them
// (from Sunday), how a run of days and a list of spans are joined.
type describeWords struct {
	days         [7]string
	through, and string
	span         func(start, end string) string
}

var describing = map[string]describeWords{
	"en": {days: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		through: " to ", and: " and ", span: func(a, b string) string { return a + "–" + b }},
	"es": {days: [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		through: " a ", and: " y ", span: func(a, b string) string { return "de " + a + " a " + b }},
	"ca": {days: [7]string{"diumenge", "dilluns", "dimarts", "dimecres", "dijous", "divendres", "dissabte"},
		through: " a ", and: " i ", span: func(a, b string) string { return "de " + a + " a " + b }},
	"fr": {days: [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		through: " au ", and: " et ", span: func(a, b string) string { return "de " + a + " à " + b }},
}

// Describe says the weekly hours in language lang (en, es, ca, fr; others fall back to English),
// days with the same hours grouped in runs from Monday: "Monday to Friday 9:00–18:00, Saturday
// 10:00–14:00". Holidays are not listed. Times are the schedule's own, in its zone.
func (s *Schedule) Describe(lang string) string {
	w, ok := describing[primary(lang)]
	if !ok {
		w = describing["en"]
	}
	clock := func(m int) string {
		c := fmt.Sprintf("%d:%02d", m/60, m%60)
		if primary(lang) == "fr" {
			c = strings.Replace(c, ":", "h", 1)
		}
		return c
	}
	spans := func(d int) string {
		var parts []string
		for _, sp := range s.Week[d] {
			parts = append(parts, w.span(clock(sp.Start), clock(sp.End)))
		}
		return strings.Join(parts, w.and)
	}
	week := []int{1, 2, 3, 4, 5, 6, 0} // from Monday
	var out []string
	for i := 0; i < len(week); {
		d := week[i]
		if len(s.Week[d]) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < len(week) && slices.Equal(s.Week[week[j+1]], s.Week[d]) {
			j++
		}
		days := w.days[d]
		switch {
		case j == i+1:
			days += w.and + w.days[week[j]]
		case j > i+1:
			days += w.through + w.days[week[j]]
		}
		out = append(out, days+" "+spans(d))
		i = j + 1
	}
	return strings.Join(out, ", ")
}
