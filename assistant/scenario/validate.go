package scenario

import (
	"net/mail"
	"strings"
	"unicode/utf8"
)

// maxAnswer bounds a text answer, in bytes.
const maxAnswer = 1000

// validate checks and normalizes a field's answer.
func validate(v Validator, s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch v {
	case ValidateEmail:
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
			return "", false
		}
		at := strings.LastIndexByte(s, '@')
		if domain := s[at+1:]; !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
			return "", false
		}
		return s, true
	case ValidatePhone:
		// E.164 allows at most 15 digits; shorter local numbers are accepted from 6 digits.
		var b strings.Builder
		for i, r := range s {
			switch {
			case r >= '0' && r <= '9':
				b.WriteRune(r)
			case r == '+' && i == 0:
				b.WriteRune(r)
			case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
			default:
				return "", false
			}
		}
		n := strings.TrimPrefix(b.String(), "+")
		if len(n) < 6 || len(n) > 15 {
			return "", false
		}
		return b.String(), true
	default:
		if s == "" || len(s) > maxAnswer || !utf8.ValidString(s) {
			return "", false
		}
		return s, true
	}
}

// defaultInvalid is said before asking again when a block has no invalid text of its own.
func defaultInvalid(b *Block, lang string) string {
	key := "text"
	switch {
	case b.Kind == KindPicker:
		key = "picker"
	case b.Validate == ValidateEmail:
		key = "email"
	case b.Validate == ValidatePhone:
		key = "phone"
	}
	for l, texts := range invalidTexts {
		if primaryEqual(lang, l) {
			return texts[key]
		}
	}
	return invalidTexts["en"][key]
}

var invalidTexts = map[string]map[string]string{
	"en": {
		"picker": "Please choose one of the options.",
		"email":  "That does not look like an email address. Please try again.",
		"phone":  "That does not look like a phone number. Please try again.",
		"text":   "Please type an answer.",
	},
	"es": {
		"picker": "Por favor, elige una de las opciones.",
		"email":  "Eso no parece una dirección de email. Inténtalo de nuevo.",
		"phone":  "Eso no parece un número de teléfono. Inténtalo de nuevo.",
		"text":   "Por favor, escribe una respuesta.",
	},
	"ca": {
		"picker": "Si us plau, tria una de les opcions.",
		"email":  "Això no sembla una adreça de correu. Torna-ho a provar.",
		"phone":  "Això no sembla un número de telèfon. Torna-ho a provar.",
		"text":   "Si us plau, escriu una resposta.",
	},
	"fr": {
		"picker": "Merci de choisir l'une des options.",
		"email":  "Cela ne ressemble pas à une adresse e-mail. Merci de réessayer.",
		"phone":  "Cela ne ressemble pas à un numéro de téléphone. Merci de réessayer.",
		"text":   "Merci de saisir une réponse.",
	},
}
