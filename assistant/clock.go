package assistant

import "regexp"

// A time of day ("before 11:00", "at 10.30", "10am", "a las 10", "à 10h", "a les 9") is the
// concept ~clock, in articles and questions alike, so that "if I order at 10.30, does it go out the
// same day?" meets the passage that states the day's cut-off time, whichever numbers each has.
// The numbers of a time of day are not searched on their own ("30" would meet "30 days").
var clockPattern = regexp.MustCompile(`(?i)(?:^|[^\pL\pN])(?:(?:[01]?\d|2[0-3]):[0-5]\d|(?:[01]?\d|2[0-3])h(?:[0-5]\d)?|(?:[01]?\d)(?:[:.][0-5]\d)?\s?(?:am|pm|a\.m\.|p\.m\.)|(?:a las|a les|à|vers|at|by|before|after|antes de las|abans de les|avant)\s(?:[01]?\d|2[0-3])(?:[:.h][0-5]\d|h)?)(?:[^\pL\pN]|$)`)

const clockToken = "~clock"

// clockTimes returns the text with the numbers of its times of day blanked, and whether it had one.
func clockTimes(text string) (string, bool) {
	found := false
	out := clockPattern.ReplaceAllStringFunc(text, func(m string) string {
		found = true
		b := []byte(m)
		for i, c := range b {
			if c >= '0' && c <= '9' {
				b[i] = ' '
			}
		}
		return string(b)
	})
	return out, found
}
