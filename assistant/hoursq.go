package assistant

import (
	"cmp"
	"regexp"
	"strings"
)

// A question about opening hours ("what are your opening hours?", "¿a qué hora abrís?", "êtes-vous
// ouverts le samedi ?") is answered from the website's support hours, not from an article that
// shares the word "open" or "hour". The patterns are general (any business), in the four languages
// of the localized strings; a message that also speaks of delivery ("horario de entrega") is a
// question about delivery, not about the team's hours.
var (
	hoursPattern = regexp.MustCompile(`(?:^|[^\p{L}])(?:` + strings.Join([]string{
		// English
		`(?:opening|business|office|support|working|shop|store|customer service)\s+(?:hours|times)`,
		`hours\s+of\s+(?:operation|business)`,
		`when\s+(?:are|r)\s+(?:you|u|ya|y'all)\s+(?:open|available|closed)`,
		`when\s+(?:do|does)\s+(?:you|u|the\s+\w+)\s+(?:open|close)`,
		`what\s+time\s+(?:do|does|are)\s+(?:you|u|the\s+\w+)\s+(?:open|close|closed)`,
		`(?:are|r)\s+(?:you|u)\s+(?:open|closed)\b`,
		`(?:your|ur)\s+hours`,
		// Spanish
		`horarios?(?:\s+de\s+(?:atenci[oó]n|apertura|oficina|tienda))?`,
		`a\s+qu[eé]\s+hora\s+(?:abr|cerr|atend)\w*`,
		`cu[aá]ndo\s+(?:abr|cerr|atend)\w*`,
		`est[aá]is\s+(?:abiertos|cerrados)`,
		// French
		`horaires?`,
		`heures?\s+d'ouverture`,
		`[àa]\s+quelle\s+heure\s+(?:ouvr|ferm)\w*`,
		`quand\s+(?:ouvr|ferm)\w*`,
		`[êe]tes[- ]vous\s+(?:ouverts?|ferm[ée]s?)`,
		`vous\s+[êe]tes\s+(?:ouverts?|ferm[ée]s?)`,
		// Catalan
		`horaris?`,
		`a\s+quina\s+hora\s+(?:obr|tanc|tanq)\w*`,
		`quan\s+(?:obr|tanc|tanq)\w*`,
		`(?:esteu|sou)\s+(?:oberts|tancats)`,
	}, "|") + `)`)
	// deliveryPattern: delivery, shipping or returns words make "horario", "hours" or "when do you
	// close" a question about them.
	deliveryPattern = regexp.MustCompile(`(?:^|[^\p{L}])(?:deliver\w*|ship\w*|dispatch\w*|courier|return\w*|entrega\w*|env[ií]\w*|reparto|devoluci\w*|livr\w*|exp[ée]di\w*|retour\w*|lliura\w*|enviament\w*|pedido|order|commande|comanda|account|cuenta|compte)`)
)

// IsHoursQuestion reports a message that asks when the business is open.
func IsHoursQuestion(text string) bool {
	t := strings.ToLower(text)
	return hoursPattern.MatchString(t) && !deliveryPattern.MatchString(t)
}

// hoursAnswer tells the website's support hours in lang, or ok false when the website has none.
func hoursAnswer(w Website, lang string, h *SupportHours) (Answer, bool) {
	if h == nil || len(h.Week) == 0 {
		return Answer{}, false
	}
	week, ok := h.Week[lang]
	if !ok {
		week = h.Week["en"]
	}
	if week == "" {
		return Answer{}, false
	}
	text := strings.NewReplacer("{hours}", week, "{zone}", h.Zone).Replace(w.Strings.Get(lang, StrSupportHours))
	if h.Open {
		text += " " + w.Strings.Get(lang, StrOpenNow)
	} else if back := cmp.Or(h.Back[lang], h.Back["en"]); back != "" {
		text += " " + strings.ReplaceAll(w.Strings.Get(lang, StrBackAt), "{when}", back)
	}
	return Answer{Text: text, Offline: true, Language: lang}, true
}
