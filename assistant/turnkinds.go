package assistant

import (
	"slices"
	"strings"
	"unicode"
)

// More kinds of conversational turns, each told by a phrase of its own (phrased) that the rest of
// the message only accompanies: a visitor who asks for a moment, apologises for a message meant
// for someone else, announces a question without asking it yet, or praises the shop.
const (
	TurnWait    = "wait"    // "one sec", "un momento", "un instant": the visitor will be back
	TurnApology = "apology" // "sorry, wrong chat", "perdón", "désolé, je me suis trompé de fenêtre"
	TurnAsk     = "ask"     // "can I ask you something?", "tengo una duda": the question comes next
	TurnPraise  = "praise"  // "love your coffee!!", "sois los mejores"
	// TurnConfused: "what do you mean?", "no entiendo", "je ne comprends pas": the visitor did not
	// follow; the reply asks them to say it in other words.
	TurnConfused = "confused"
)

// phrasedKind is a conversational turn told by one of its phrases (folded words, by language),
// every other word of the message being one of its company, a conversational word (a greeting,
// "ok") or a filler.
type phrasedKind struct {
	kind    string
	phrases map[string][][]string // split once, at start-up
	company []string
}

// phrased makes a phrasedKind of its phrases written as strings.
func phrased(kind string, phrases map[string][]string, company []string) phrasedKind {
	pk := phrasedKind{kind: kind, phrases: map[string][][]string{}, company: company}
	for lang, ps := range phrases {
		for _, p := range ps {
			pk.phrases[lang] = append(pk.phrases[lang], strings.Fields(p))
		}
	}
	return pk
}

var phrasedKinds = []phrasedKind{
	// Nothing more to ask, in answer to "anything else?": a goodbye.
	phrased(TurnBye, map[string][]string{
		"en": {"that s all", "that s it", "that is all", "that will be all", "nothing else", "not right now", "not now",
			"no more questions", "i m good", "im good", "i m all set", "all set", "i m done", "im done", "all done"},
		"es": {"eso es todo", "es todo", "nada mas", "ya esta", "nada por ahora", "de momento nada", "nada de momento",
			"estoy bien asi", "ya no", "nada", "de momento no", "por ahora no", "ahora no"},
		"fr": {"c est tout", "ce sera tout", "ca sera tout", "rien d autre", "pas pour l instant", "pas pour le moment",
			"rien pour l instant", "rien", "pas maintenant"},
		"ca": {"res mes", "aixo es tot", "es tot", "ja esta", "res per ara", "de moment res", "res", "ara mateix no",
			"ara no", "de moment no"},
	}, strings.Fields(`no nope nah non for now por ahora pour l instant per ara thanks thank you all else more
		mas otra cosa autre chose altra cosa`)),
	// The answer did it: thanks.
	phrased(TurnThanks, map[string][]string{
		"en": {"that answers it", "that answers my question", "that s what i needed", "that s what i was looking for",
			"that helps", "that helped", "that s helpful", "all sorted", "sorted", "problem solved", "that works",
			"that solves it"},
		"es": {"me sirve", "me vale", "me ha servido", "me ha ayudado", "resuelto", "era lo que necesitaba",
			"justo lo que necesitaba", "eso me sirve"},
		"fr": {"ca m aide", "ca m a aide", "c est ce qu il me fallait", "ca repond a ma question", "c est regle",
			"probleme regle", "ca me va"},
		"ca": {"em serveix", "m ha servit", "m ha ajudat", "resolt", "era el que necessitava"},
	}, strings.Fields(`exactly just what i that s great perfect ok yes yeah`)),
	// The visitor did not follow.
	phrased(TurnConfused, map[string][]string{
		"en": {"what do you mean", "i don t get it", "i dont get it", "don t get it", "i don t understand",
			"i dont understand", "i do not understand", "huh", "come again", "i m confused", "im confused",
			"what does that mean"},
		"es": {"no entiendo", "no te entiendo", "no lo entiendo", "que quieres decir", "como dices", "no comprendo"},
		"fr": {"je ne comprends pas", "je comprends pas", "je ne comprends rien", "c est a dire", "hein",
			"qu est ce que vous voulez dire", "comment ca", "vous voulez dire quoi", "tu veux dire quoi"},
		"ca": {"no ho entenc", "no t entenc", "no entenc", "que vols dir", "com dius"},
	}, strings.Fields(`sorry what perdona perdon pardon desole`)),
	phrased(TurnWait, map[string][]string{
		"en": {"one sec", "a sec", "one second", "a second", "one moment", "a moment", "a minute", "one minute",
			"a min", "hold on", "hang on", "wait", "brb", "let me check", "let me look", "let me see", "be right back"},
		"es": {"un momento", "un momentito", "momentito", "un segundo", "un segundito", "un minuto", "espera", "espere", "espero",
			"dejame mirar", "dejame ver", "dejame revisar", "dejame comprobar", "ahora vuelvo", "ya vuelvo", "enseguida vuelvo"},
		"fr": {"un instant", "un moment", "une seconde", "une minute", "attendez", "attends", "je regarde", "je verifie",
			"je reviens", "deux secondes", "2 secondes"},
		"ca": {"un moment", "un segon", "un minut", "espera", "espereu", "deixa m mirar", "deixam mirar", "ara torno",
			"ara miro", "deixa m veure"},
	}, strings.Fields(`just give me please pls let check look see i ll i will be back right quickly my email inbox mail
		que lo miro mirarlo
		dame deja dejame ya vuelvo ahora enseguida por favor porfa
		laissez moi laisse je reviens tout de suite svp
		deixa m ara torno si us plau`)),
	phrased(TurnApology, map[string][]string{
		"en": {"sorry", "so sorry", "apologies", "my bad", "oops", "whoops", "my mistake", "never mind", "nevermind"},
		"es": {"perdon", "perdona", "perdone", "disculpa", "disculpe", "disculpad", "lo siento", "ups", "olvidalo"},
		"fr": {"desole", "desolee", "pardon", "excusez moi", "excuse moi", "oups", "mes excuses", "laissez tomber", "laisse tomber"},
		"ca": {"perdo", "perdona", "perdoni", "disculpa", "disculpi", "ho sento", "ups", "oblida ho"},
	}, strings.Fields(`wrong chat window tab page person site mistake meant typed that was for someone else
		ignore it message i
		me he equivocado equivoque equivocada de chat ventana pagina persona error era para otra otro no
		nada ignora mensaje sin querer
		je me suis trompe trompee de fenetre chat page erreur c etait pour quelqu un autre rien ignorez
		message
		m he equivocat equivocada de xat finestra pagina error era per una altra persona res deixa ho
		missatge sense voler`)),
	phrased(TurnAsk, map[string][]string{
		"en": {"can i ask you something", "can i ask something", "can i ask a question", "can i ask you a question",
			"i hope you can help me", "hope you can help me", "hope you can help", "i need your help",
			"may i ask something", "may i ask a question", "i have a question", "i have a quick question",
			"quick question", "got a question", "i ve got a question", "i have a doubt", "question for you",
			"i need help", "i need some help", "can you help me", "could you help me", "need help",
			"can you help", "i have a problem", "help", "help me", "please help", "help please",
			"can someone help me", "can somebody help me", "can anyone help me", "anyone to help",
			"is this the right place to ask", "is this where i ask", "right place to ask"},
		"es": {"tengo una duda", "tengo una pregunta", "una pregunta", "una duda", "puedo preguntarte algo",
			"espero que puedas ayudarme", "espero que me puedas ayudar", "necesito tu ayuda",
			"a ver si me podeis ayudar", "a ver si me puedes ayudar", "a ver si me pueden ayudar",
			"ayuda", "ayudame", "alguien que me pueda ayudar", "alguien me puede ayudar", "es aqui donde se pregunta",
			"puedo preguntar algo", "puedo hacerte una pregunta", "puedo hacer una pregunta",
			"te puedo preguntar algo", "te puedo hacer una pregunta", "necesito ayuda", "me puedes ayudar",
			"me podeis ayudar", "me puede ayudar", "me ayudas", "tengo un problema"},
		"fr": {"j ai une question", "une question", "petite question", "je peux vous poser une question",
			"je peux poser une question", "puis je poser une question", "puis je vous poser une question",
			"j ai besoin d aide", "vous pouvez m aider", "pouvez vous m aider", "tu peux m aider",
			"j ai un probleme", "j ai une petite question", "aide", "aidez moi", "aide moi",
			"quelqu un pour m aider", "quelqu un peut m aider", "c est ici pour poser une question"},
		"ca": {"tinc un dubte", "tinc una pregunta", "una pregunta", "un dubte", "puc fer una pregunta",
			"et puc fer una pregunta", "puc preguntar una cosa", "et puc preguntar una cosa",
			"necessito ajuda", "em pots ajudar", "em podeu ajudar", "tinc un problema", "ajuda", "ajuda m",
			"algu em pot ajudar", "algu que m ajudi"},
	}, strings.Fields(`please pls quick small little one someone somebody anyone por favor porfa rapida pequena
		alguien que hay svp petite quelqu un il y a pour si us plau rapida petita algu hi ha`)),
}

// phrasedTurn reports the phrased kind of a message (its folded words) and the language of its
// phrase (msgLang, the clear language of the message's other words, or else conv, the
// conversation's, when the phrase is one of that language's too: "un moment" is French and
// Catalan): one phrase of the kind and nothing but its company, conversational words and fillers.
func phrasedTurn(ws []string, msgLang, conv string) (kind, lang string) {
	for _, pk := range phrasedKinds {
		said := make([]bool, len(ws))
		found := ""
		for _, l := range KBLanguages {
			for _, p := range pk.phrases[l] {
				if markPhrase(ws, p, said) && (found == "" || l == msgLang || l == conv && found != msgLang) {
					found = l
				}
			}
		}
		if found == "" {
			continue
		}
		if pk.kind == TurnAsk && slices.ContainsFunc(ws, func(w string) bool {
			return slices.Contains(turnIndex[w], TurnThanks)
		}) {
			continue // "thanks for the help": thanks, not a question announced
		}
		ok := true
		for i, w := range ws {
			if said[i] || slices.Contains(pk.company, w) || slices.Contains(turnFillers, w) {
				continue
			}
			if _, isTurn := turnIndex[w]; isTurn {
				continue
			}
			ok = false
			break
		}
		if ok {
			return pk.kind, found
		}
	}
	return TurnQuestion, ""
}

// praiseWords say that the visitor likes the shop or its products ("love your coffee!!", "sois
// los mejores", "j'adore votre café"): a short message with one that asks nothing and that no
// article answers surely is thanked for, never told "I couldn't find" nor offered an article
// (praisedTurn).
var praiseWords = strings.Fields(`love loved loving adore best awesome amazing fantastic wonderful delicious
	encanta encantan encanto mejores buenisimo buenisima delicioso deliciosa riquisimo riquisima cracks
	maravilla adoro adore j adore meilleurs meilleur delicieux excellent excellente star stars
	millors bonissim bonissima delicios deliciosa`)

// maxPraiseWords caps a message read as praise among words that are not all conversational.
const maxPraiseWords = 6

// praisedTurn reports a short message of praise (praiseWords or praisePhrases) that asks nothing.
func praisedTurn(text string) bool {
	ws := words(text)
	if len(ws) == 0 || len(ws) > maxPraiseWords || asks(text) {
		return false
	}
	return slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(praiseWords, w) })
}

// introducers open a visitor's introduction ("Hi, my name is Anna", "hola, soy Marta", "bonjour,
// je m'appelle Julie", "hola, em dic Pere"), by language; the name that follows is written with a
// capital.
var introducers = map[string][][]string{
	"en": {strings.Fields("my name is"), strings.Fields("my name s"), strings.Fields("this is"), strings.Fields("i am"), strings.Fields("i m")},
	"es": {strings.Fields("me llamo"), strings.Fields("mi nombre es"), strings.Fields("soy")},
	"fr": {strings.Fields("je m appelle"), strings.Fields("mon nom est"), strings.Fields("je suis"), strings.Fields("c est")},
	"ca": {strings.Fields("em dic"), strings.Fields("el meu nom es"), strings.Fields("soc")},
}

// introduction reports a message (text and its folded words) that is a greeting with the visitor's
// name and nothing else: conversational words, an introducer and at most two capitalised words
// ("Hi, my name is Anna"; not "soy estudiante, ¿hay descuento?"), and the introducer's language.
func introduction(text string, ws []string) (string, bool) {
	capital := capitalised(text)
	for _, l := range KBLanguages {
		for _, p := range introducers[l] {
			for i := 0; i+len(p) <= len(ws); i++ {
				if !slices.Equal(ws[i:i+len(p)], p) {
					continue
				}
				name := ws[i+len(p):]
				if len(name) == 0 || len(name) > 2 || !slices.ContainsFunc(name, func(w string) bool { return capital[w] }) {
					continue
				}
				rest := ws[:i]
				if slices.ContainsFunc(rest, func(w string) bool {
					_, isTurn := turnIndex[w]
					return !isTurn && !slices.Contains(turnFillers, w)
				}) {
					continue
				}
				return l, true
			}
		}
	}
	return "", false
}

// fromWords join a greeting to where the visitor writes from ("hi from London", "hola desde
// Madrid", "bonjour de Paris").
var fromWords = strings.Fields("from desde de des d")

// namedGreeting reports a greeting followed only by capitalised words (the shop's or a team's
// name, "Hello Nimbus team!", "Hi Nimbus Coffee"), or by where the visitor writes from ("greetings
// from Spain"), with fillers: at most three such names. It returns the greeting's language.
func namedGreeting(text string, ws []string) (string, bool) {
	if len(ws) < 2 || !slices.Contains(turnIndex[ws[0]], TurnGreeting) {
		return "", false
	}
	capital := capitalised(text)
	names := 0
	for i, w := range ws[1:] {
		switch {
		case capital[w] && !slices.Contains(turnIndex[w], TurnGreeting):
			names++
		case slices.Contains(fromWords, w) && i+2 < len(ws) && capital[ws[i+2]]:
		case slices.Contains(turnFillers, w) || slices.Contains(turnIndex[w], TurnGreeting):
		default:
			return "", false
		}
	}
	if names == 0 || names > 3 {
		return "", false
	}
	return turnLangs[ws[0]][0], true
}

// humanOffers are the strings by which an answer offers a person from the team ("Would you like
// to talk to a person from our team?", the frustration and identity answers' "just ask").
var humanOffers = []string{StrOfferHuman, StrFrustration, StrIdentity}

// offeredHuman reports that the assistant's newest turn before the visitor's newest message
// offered a person, in any language of the website's strings or the defaults.
func offeredHuman(w Website, h []Turn) bool {
	seenVisitor := false
	for i := len(h) - 1; i >= 0; i-- {
		switch h[i].Role {
		case RoleVisitor:
			if seenVisitor {
				return false
			}
			seenVisitor = true
		case RoleAssistant:
			if !seenVisitor {
				continue
			}
			for _, table := range []StringTable{w.Strings, defaultStrings} {
				for lang := range table {
					for _, key := range humanOffers {
						if s := strings.TrimSpace(table.Get(lang, key)); s != "" && strings.Contains(h[i].Text, s) {
							return true
						}
					}
				}
			}
			return false
		}
	}
	return false
}

// assentWords say yes; assentCompany may go with them ("yes please, a person", "sí, por favor").
var (
	assentWords   = strings.Fields("yes yeah yep yup sure please si claro oui ouais volontiers")
	assentPhrases = [][]string{strings.Fields("of course"), strings.Fields("por favor"), strings.Fields("bien sur"),
		strings.Fields("es clar"), strings.Fields("si us plau"), strings.Fields("s il vous plait"), strings.Fields("i would like that"),
		strings.Fields("i d like that"), strings.Fields("me gustaria"), strings.Fields("m agradaria")}
	assentCompany = strings.Fields(`ok okay a an the person human someone somebody agent please thanks thank you
		that would be great good vale una persona alguien humano gracias d accord une personne quelqu un humain
		merci svp entesos una persona algu huma gracies i d like to talk speak with con avec amb`)
)

// assents reports a short message that says yes and nothing else ("yes please", "sí, por favor",
// "oui", "sure, a person"), after an offer of a person: the visitor accepts it.
func assents(text string) bool {
	ws := words(text)
	if len(ws) == 0 || len(ws) > maxTurnWords {
		return false
	}
	said := make([]bool, len(ws))
	yes := false
	for i, w := range ws {
		if slices.Contains(assentWords, w) {
			said[i], yes = true, true
		}
	}
	for _, p := range assentPhrases {
		if markPhrase(ws, p, said) {
			yes = true
		}
	}
	if !yes {
		return false
	}
	for i, w := range ws {
		if !said[i] && !slices.Contains(assentCompany, w) {
			return false
		}
	}
	return true
}

// capitalised returns the folded words of text written with a capital and at least two letters
// (a name: "Anna", "Nimbus", "Madrid").
func capitalised(text string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if r := []rune(w); unicode.IsUpper(r[0]) && len(r) > 1 {
			out[Fold(strings.ToLower(w))] = true
		}
	}
	return out
}

// markPhrase reports whether the folded words ws hold phrase p, and marks in said (when not nil)
// the words of every place it stands.
func markPhrase(ws, p []string, said []bool) bool {
	found := false
	for i := 0; i+len(p) <= len(ws); i++ {
		if slices.Equal(ws[i:i+len(p)], p) {
			if said == nil {
				return true
			}
			for j := range p {
				said[i+j] = true
			}
			found = true
		}
	}
	return found
}
