package assistant

import (
	"maps"
	"strings"
)

// Keys of the localized strings table.
const (
	StrApology      = "apology"       // the model failed; a human will take over
	StrClosing      = "closing"       // the conversation was resolved
	StrNoAnswer     = "no_answer"     // offline mode found nothing relevant
	StrOfferHuman   = "offer_human"   // text of the "talk to a human" picker
	StrTalkToHuman  = "talk_to_human" // button label
	StrResolved     = "resolved"      // button label: my question is answered
	StrNobodyOnline = "nobody_online" // handover while no operator is online
	StrAskEmail     = "ask_email"     // ask for an email to be contacted back
	StrHandoverAck  = "handover_ack"  // handover while operators are online
	StrReadMore     = "read_more"     // link line of offline answers; "{url}" is replaced
	StrLanguage     = "language"      // the language's own name, for language pickers
	StrEmailThanks  = "email_thanks"  // the visitor left an email at handover
	StrInvalidEmail = "invalid_email" // the email field's answer is not an email
	// StrOtherLang heads an offline answer taken from an article in another language than the
	// visitor's; "{language}" is replaced by that language's name in the visitor's language.
	StrOtherLang = "other_language"
	// StrClosedHours is a handover outside the website's support hours; "{when}" is replaced by
	// when the team is back ("Monday at 9:00", in the visitor's language and time zone).
	StrClosedHours = "closed_hours"
	// StrMayHelp heads a weak match: an article that may answer, offered with the human option;
	// "{title}" and "{url}" are replaced.
	StrMayHelp = "may_help"
	// StrSupportHours answers a question about opening hours from the website's support hours:
	// "{hours}" is the week ("Monday to Friday 9:00–18:00"), "{zone}" its time zone; StrOpenNow or
	// StrBackAt ("{when}": the next opening) follows.
	StrSupportHours = "support_hours"
	StrOpenNow      = "open_now"
	StrBackAt       = "back_at"
	StrGreeting     = "greeting"      // answer to a greeting
	StrPresence     = "presence"      // answer to "are you there?"
	StrAnythingElse = "anything_else" // answer to "ok"
	StrGoodbye      = "goodbye"       // answer to a goodbye
	StrIdentity     = "identity"      // answer to "are you a bot?"
	StrFrustration  = "frustration"   // answer to "this is useless", before the offer of a person
	StrWait         = "wait"          // answer to "one sec", "un momento"
	StrNoProblem    = "no_problem"    // answer to "sorry, wrong chat", "perdón"
	StrAskAway      = "ask_away"      // answer to "can I ask you something?", "tengo una duda"
	StrPraise       = "praise"        // answer to "love your coffee!!", "sois los mejores"
	StrRephrase     = "rephrase"      // answer to "what do you mean?", "no entiendo"
)

// StringTable holds localized strings: language (primary subtag) -> key -> text.
type StringTable map[string]map[string]string

var defaultStrings = StringTable{
	"en": {
		StrApology:      "Sorry, I'm having trouble answering right now. I'm passing your conversation to our team.",
		StrClosing:      "Glad I could help! Feel free to write again if you need anything else.",
		StrNoAnswer:     "I couldn't find an answer to that in our help articles.",
		StrOfferHuman:   "Would you like to talk to a person from our team?",
		StrTalkToHuman:  "Talk to a human",
		StrResolved:     "That answers my question",
		StrNobodyOnline: "Nobody from our team is online right now, but we'll get back to you as soon as possible.",
		StrAskEmail:     "Leave your email address and we'll reply there.",
		StrHandoverAck:  "I'm passing you to someone from our team. They'll reply here shortly.",
		StrReadMore:     "Read more: {url}",
		StrLanguage:     "English",
		StrEmailThanks:  "Thanks, we will reply to you by email.",
		StrInvalidEmail: "That does not look like an email address. Could you check it?",
		StrOtherLang:    "We only have this in {language}:",
		StrClosedHours:  "Our team is away right now. We're back {when} and will reply here.",
		StrMayHelp:      "This article may help: {title} — {url}",
		StrSupportHours: "Our team's hours: {hours} ({zone} time).",
		StrOpenNow:      "We are open now.",
		StrBackAt:       "We are closed right now; we are back {when}.",
		StrGreeting:     "Hello! How can I help you today?",
		StrPresence:     "Yes, I'm here. How can I help?",
		StrAnythingElse: "Is there anything else I can help you with?",
		StrGoodbye:      "Goodbye! Write to us again whenever you need.",
		StrIdentity:     "I'm a virtual assistant: I answer from our help articles. If you'd rather talk to a person from our team, just ask.",
		StrFrustration:  "I'm sorry I couldn't help. A person from our team can take it from here: just ask.",
		StrWait:         "No rush, I'm here whenever you're ready.",
		StrNoProblem:    "No problem! If there's anything I can help with, just ask.",
		StrAskAway:      "Of course, tell me: what can I help you with?",
		StrPraise:       "Thank you, that's lovely to hear! Is there anything I can help you with?",
		StrRephrase:     "Sorry if that wasn't clear. Could you tell me in other words what you need?",
	},
	"es": {
		StrApology:      "Lo siento, ahora mismo tengo problemas para responder. Paso tu conversación a nuestro equipo.",
		StrClosing:      "¡Me alegro de haber ayudado! Escríbenos de nuevo si necesitas algo más.",
		StrNoAnswer:     "No he encontrado una respuesta a eso en nuestros artículos de ayuda.",
		StrOfferHuman:   "¿Quieres hablar con una persona de nuestro equipo?",
		StrTalkToHuman:  "Hablar con una persona",
		StrResolved:     "Esto responde mi pregunta",
		StrNobodyOnline: "Ahora mismo no hay nadie de nuestro equipo conectado, pero te responderemos lo antes posible.",
		StrAskEmail:     "Déjanos tu correo electrónico y te responderemos allí.",
		StrHandoverAck:  "Te paso con alguien de nuestro equipo. Te responderá aquí en breve.",
		StrReadMore:     "Más información: {url}",
		StrLanguage:     "Español",
		StrEmailThanks:  "Gracias, te responderemos por correo electrónico.",
		StrInvalidEmail: "Eso no parece una dirección de correo. ¿Puedes revisarla?",
		StrOtherLang:    "Solo tenemos esta información en {language}:",
		StrClosedHours:  "Nuestro equipo no está disponible ahora. Volvemos {when} y te responderemos aquí.",
		StrMayHelp:      "Este artículo puede ayudarte: {title} — {url}",
		StrSupportHours: "Horario de nuestro equipo: {hours} (hora de {zone}).",
		StrOpenNow:      "Ahora estamos abiertos.",
		StrBackAt:       "Ahora estamos cerrados; volvemos {when}.",
		StrGreeting:     "¡Hola! ¿En qué puedo ayudarte?",
		StrPresence:     "Sí, aquí estoy. ¿En qué puedo ayudarte?",
		StrAnythingElse: "¿Hay algo más en lo que pueda ayudarte?",
		StrGoodbye:      "¡Hasta pronto! Escríbenos cuando lo necesites.",
		StrIdentity:     "Soy un asistente virtual: respondo a partir de nuestros artículos de ayuda. Si prefieres hablar con una persona de nuestro equipo, solo tienes que pedirlo.",
		StrFrustration:  "Siento no haberte ayudado. Una persona de nuestro equipo puede seguir contigo: solo tienes que pedirlo.",
		StrWait:         "Sin prisa, aquí estoy cuando quieras.",
		StrNoProblem:    "¡No pasa nada! Si necesitas algo, aquí estoy.",
		StrAskAway:      "Claro, cuéntame: ¿en qué puedo ayudarte?",
		StrPraise:       "¡Muchas gracias, qué alegría leerlo! ¿Puedo ayudarte en algo?",
		StrRephrase:     "Perdona si no me he explicado bien. ¿Puedes contarme con otras palabras qué necesitas?",
	},
	"ca": {
		StrApology:      "Ho sento, ara mateix tinc problemes per respondre. Passo la teva conversa al nostre equip.",
		StrClosing:      "M'alegro d'haver-te ajudat! Torna'ns a escriure si necessites res més.",
		StrNoAnswer:     "No he trobat cap resposta a això als nostres articles d'ajuda.",
		StrOfferHuman:   "Vols parlar amb una persona del nostre equip?",
		StrTalkToHuman:  "Parlar amb una persona",
		StrResolved:     "Això respon la meva pregunta",
		StrNobodyOnline: "Ara mateix no hi ha ningú del nostre equip connectat, però et respondrem tan aviat com puguem.",
		StrAskEmail:     "Deixa'ns el teu correu electrònic i et respondrem allà.",
		StrHandoverAck:  "Et passo amb algú del nostre equip. Et respondrà aquí aviat.",
		StrReadMore:     "Més informació: {url}",
		StrLanguage:     "Català",
		StrEmailThanks:  "Gràcies, et respondrem per correu electrònic.",
		StrInvalidEmail: "Això no sembla una adreça de correu. La pots revisar?",
		StrOtherLang:    "Només tenim aquesta informació en {language}:",
		StrClosedHours:  "El nostre equip no està disponible ara. Tornem {when} i et respondrem aquí.",
		StrMayHelp:      "Aquest article et pot ajudar: {title} — {url}",
		StrSupportHours: "Horari del nostre equip: {hours} (hora de {zone}).",
		StrOpenNow:      "Ara som oberts.",
		StrBackAt:       "Ara som tancats; tornem {when}.",
		StrGreeting:     "Hola! En què et puc ajudar?",
		StrPresence:     "Sí, sóc aquí. En què et puc ajudar?",
		StrAnythingElse: "Et puc ajudar en res més?",
		StrGoodbye:      "Fins aviat! Escriu-nos quan ho necessitis.",
		StrIdentity:     "Sóc un assistent virtual: responc a partir dels nostres articles d'ajuda. Si prefereixes parlar amb una persona del nostre equip, només cal que ho demanis.",
		StrFrustration:  "Em sap greu no haver-te ajudat. Una persona del nostre equip pot continuar amb tu: només cal que ho demanis.",
		StrWait:         "Sense pressa, aquí estic quan vulguis.",
		StrNoProblem:    "Cap problema! Si necessites res, aquí estic.",
		StrAskAway:      "És clar, explica-m'ho: en què et puc ajudar?",
		StrPraise:       "Moltes gràcies, ens fa molta il·lusió! Et puc ajudar en alguna cosa?",
		StrRephrase:     "Perdona si no m'he explicat bé. Em pots dir amb altres paraules què necessites?",
	},
	"fr": {
		StrApology:      "Désolé, j'ai du mal à répondre pour le moment. Je transmets votre conversation à notre équipe.",
		StrClosing:      "Ravi d'avoir pu aider ! N'hésitez pas à nous écrire à nouveau si besoin.",
		StrNoAnswer:     "Je n'ai pas trouvé de réponse à cela dans nos articles d'aide.",
		StrOfferHuman:   "Voulez-vous parler à une personne de notre équipe ?",
		StrTalkToHuman:  "Parler à un humain",
		StrResolved:     "Cela répond à ma question",
		StrNobodyOnline: "Personne de notre équipe n'est en ligne pour le moment, mais nous vous répondrons dès que possible.",
		StrAskEmail:     "Laissez-nous votre adresse e-mail et nous vous répondrons.",
		StrHandoverAck:  "Je vous mets en relation avec quelqu'un de notre équipe. Il vous répondra ici sous peu.",
		StrReadMore:     "En savoir plus : {url}",
		StrLanguage:     "Français",
		StrEmailThanks:  "Merci, nous vous répondrons par e-mail.",
		StrInvalidEmail: "Cela ne ressemble pas à une adresse e-mail. Pouvez-vous la vérifier ?",
		StrOtherLang:    "Nous n'avons cette information qu'en {language} :",
		StrClosedHours:  "Notre équipe est absente pour le moment. Nous revenons {when} et vous répondrons ici.",
		StrMayHelp:      "Cet article peut vous aider : {title} — {url}",
		StrSupportHours: "Horaires de notre équipe : {hours} (heure de {zone}).",
		StrOpenNow:      "Nous sommes ouverts en ce moment.",
		StrBackAt:       "Nous sommes fermés pour le moment ; nous revenons {when}.",
		StrGreeting:     "Bonjour ! Comment puis-je vous aider ?",
		StrPresence:     "Oui, je suis là. Comment puis-je vous aider ?",
		StrAnythingElse: "Puis-je vous aider pour autre chose ?",
		StrGoodbye:      "Au revoir ! Écrivez-nous quand vous voulez.",
		StrIdentity:     "Je suis un assistant virtuel : je réponds à partir de nos articles d'aide. Si vous préférez parler à une personne de notre équipe, il suffit de le demander.",
		StrFrustration:  "Désolé de ne pas avoir pu vous aider. Une personne de notre équipe peut prendre le relais : il suffit de le demander.",
		StrWait:         "Prenez votre temps, je suis là quand vous voulez.",
		StrNoProblem:    "Pas de souci ! Si je peux vous aider, n'hésitez pas.",
		StrAskAway:      "Bien sûr, dites-moi : en quoi puis-je vous aider ?",
		StrPraise:       "Merci beaucoup, ça fait plaisir ! Puis-je vous aider ?",
		StrRephrase:     "Désolé si ce n'était pas clair. Pouvez-vous me dire avec d'autres mots ce dont vous avez besoin ?",
	},
}

// DefaultStrings returns a copy of the built-in strings (en, es, ca, fr).
func DefaultStrings() StringTable {
	return defaultStrings.Merge(nil)
}

// Merge returns a new table with over's strings replacing t's, key by key; languages only in over
// are added (their missing keys fall back to English in Get).
func (t StringTable) Merge(over StringTable) StringTable {
	out := make(StringTable, len(t)+len(over))
	for lang, m := range t {
		out[lang] = maps.Clone(m)
	}
	for lang, m := range over {
		lang = primaryTag(lang)
		if out[lang] == nil {
			out[lang] = map[string]string{}
		}
		for k, v := range m {
			out[lang][k] = v
		}
	}
	return out
}

// Get returns the string for key in lang, falling back to English and then to the key itself.
func (t StringTable) Get(lang, key string) string {
	if s, ok := t[primaryTag(lang)][key]; ok {
		return s
	}
	if s, ok := t["en"][key]; ok {
		return s
	}
	return key
}

// languageNames are English names, used in the prompt's language line.
var languageNames = map[string]string{
	"en": "English", "es": "Spanish", "ca": "Catalan", "fr": "French", "de": "German",
	"it": "Italian", "pt": "Portuguese", "nl": "Dutch", "eu": "Basque", "gl": "Galician",
	"pl": "Polish", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish",
	"ro": "Romanian", "cs": "Czech", "el": "Greek", "tr": "Turkish", "ru": "Russian",
	"uk": "Ukrainian", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi", "ja": "Japanese",
	"ko": "Korean", "zh": "Chinese",
}

// languageNamesIn are language names in the languages of the built-in strings (visitor language ->
// language -> name), for StrOtherLang; other pairs fall back to the English name.
var languageNamesIn = map[string]map[string]string{
	"es": {"en": "inglés", "es": "español", "ca": "catalán", "fr": "francés", "de": "alemán", "it": "italiano", "pt": "portugués"},
	"ca": {"en": "anglès", "es": "castellà", "ca": "català", "fr": "francès", "de": "alemany", "it": "italià", "pt": "portuguès"},
	"fr": {"en": "anglais", "es": "espagnol", "ca": "catalan", "fr": "français", "de": "allemand", "it": "italien", "pt": "portugais"},
}

// LanguageNameIn returns the name of language code as written in language in ("en" in "es" ->
// "inglés"), falling back to the English name.
func LanguageNameIn(in, code string) string {
	if n, ok := languageNamesIn[primaryTag(in)][primaryTag(code)]; ok {
		return n
	}
	return LanguageName(code)
}

// LanguageName returns the English name of a language code ("es" -> "Spanish"), or the code.
func LanguageName(code string) string {
	c := primaryTag(code)
	if n, ok := languageNames[c]; ok {
		return n
	}
	return code
}

// primaryTag lowercases a BCP 47 tag's primary subtag: "es-ES" -> "es", "pt_BR" -> "pt".
func primaryTag(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}
