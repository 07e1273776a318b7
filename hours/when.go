package hours

import (
	"fmt"
	"strings"
	"time"
)

// whenWords are the words of When per language (primary subtag): today, tomorrow, the weekdays
// from Sunday, the months, and the layouts of "<day> at <time>" and of a date further away.
type whenWords struct {
	today, tomorrow string
	days            [7]string
	months          [12]string
	at              func(day, clock string) string // "Monday" "9:00" -> "Monday at 9:00"
	date            func(weekday string, day int, month string) string
	clock           func(t time.Time) string
}

var words = map[string]whenWords{
	"en": {
		today: "today", tomorrow: "tomorrow",
		days:   [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		at:     func(d, c string) string { return d + " at " + c },
		date:   func(w string, d int, m string) string { return fmt.Sprintf("%s %d %s", w, d, m) },
		clock:  func(t time.Time) string { return t.Format("15:04") },
	},
	"es": {
		today: "hoy", tomorrow: "mañana",
		days:   [7]string{"el domingo", "el lunes", "el martes", "el miércoles", "el jueves", "el viernes", "el sábado"},
		months: [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		at:     func(d, c string) string { return d + " a las " + c },
		date:   func(w string, d int, m string) string { return fmt.Sprintf("%s %d de %s", w, d, m) },
		clock:  func(t time.Time) string { return t.Format("15:04") },
	},
	"ca": {
		today: "avui", tomorrow: "demà",
		days:   [7]string{"diumenge", "dilluns", "dimarts", "dimecres", "dijous", "divendres", "dissabte"},
		months: [12]string{"de gener", "de febrer", "de març", "d'abril", "de maig", "de juny", "de juliol", "d'agost", "de setembre", "d'octubre", "de novembre", "de desembre"},
		at:     func(d, c string) string { return d + " a les " + c },
		date:   func(w string, d int, m string) string { return fmt.Sprintf("%s %d %s", w, d, m) },
		clock:  func(t time.Time) string { return t.Format("15:04") },
	},
	"fr": {
		today: "aujourd'hui", tomorrow: "demain",
		days:   [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		at:     func(d, c string) string { return d + " à " + c },
		date:   func(w string, d int, m string) string { return fmt.Sprintf("%s %d %s", w, d, m) },
		clock:  func(t time.Time) string { return t.Format("15") + "h" + t.Format("04") },
	},
}

// Languages lists the languages When speaks; others fall back to English.
func Languages() []string { return []string{"en", "es", "ca", "fr"} }

// When says when t is, seen from now, in language lang: "today at 9:00", "tomorrow at 9:00",
// "Monday at 9:00" within a week, "Monday 5 January at 9:00" further away. Both times are shown in
// their own location: pass them in the zone the reader lives in.
func When(lang string, t, now time.Time) string {
	w, ok := words[primary(lang)]
	if !ok {
		w = words["en"]
	}
	t = t.Truncate(time.Minute)
	clock := w.clock(t)
	if strings.HasPrefix(clock, "0") {
		clock = clock[1:] // 9:00, not 09:00
	}
	now = now.In(t.Location())
	days := daysBetween(dateOf(now), dateOf(t))
	switch {
	case days <= 0:
		return w.at(w.today, clock)
	case days == 1:
		return w.at(w.tomorrow, clock)
	case days < 7:
		return w.at(w.days[t.Weekday()], clock)
	}
	return w.at(w.date(w.days[t.Weekday()], t.Day(), w.months[t.Month()-1]), clock)
}

func daysBetween(a, b Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Round(24*time.Hour) / (24 * time.Hour))
}

func primary(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// VisitorZone returns a fixed zone for a browser's UTC offset as Crisp reports it (the JavaScript
// getTimezoneOffset convention: minutes behind UTC, -120 for UTC+2).
func VisitorZone(jsOffset int) *time.Location {
	east := -jsOffset * 60
	sign := "+"
	if east < 0 {
		sign = "-"
	}
	a := max(east, -east)
	return time.FixedZone(fmt.Sprintf("UTC%s%02d:%02d", sign, a/3600, a%3600/60), east)
}
