package assistant

import (
	"strconv"
	"strings"
)

// Visitor facts (email, country) come from the visitor's own browser: session:set_email and the
// meta data are writable by anyone on the page. They are admitted into the system message only when
// they are what they claim to be, and always quoted, so that a value cannot pass for instructions.

// maxEmail is the longest address accepted (RFC 5321's path limit).
const maxEmail = 254

// ValidEmail reports whether s is a plain email address: ASCII only, a local part of letters,
// digits and !#$%&'*+/=?^_`{|}~.- (no leading, trailing or double dot), "@", and a domain of at
// least two dot-separated labels of letters, digits and inner hyphens whose last is letters only.
// Spaces of any kind, control characters, quotes and angle brackets are refused.
func ValidEmail(s string) bool {
	if len(s) > maxEmail {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(local) > 64 || strings.Contains(domain, "@") {
		return false
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !alnum(c) && !strings.ContainsRune("!#$%&'*+/=?^_`{|}~.-", rune(c)) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !alnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if alnum(tld[i]) && tld[i] <= '9' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validCountry reports whether s is a two-letter country code.
func validCountry(s string) bool {
	return len(s) == 2 && alnum(s[0]) && alnum(s[1]) && s[0] > '9' && s[1] > '9'
}

// quoteFact quotes a visitor fact for the system message (a Go/JSON-style string literal).
func quoteFact(s string) string { return strconv.Quote(s) }
