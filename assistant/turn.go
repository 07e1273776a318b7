package assistant

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"unicode"
)

// Kinds of conversational turns: messages that are conversation, not questions, answered without
// a knowledge-base search.
const (
	TurnQuestion = ""         // a question (or anything else): search the knowledge base
	TurnGreeting = "greeting" // "hello", "hola", "bonjour"
	TurnThanks   = "thanks"   // "thanks!", "merci beaucoup"
	TurnPresence = "presence" // "are you there?", "¿hay alguien?"
	TurnAck      = "ack"      // "ok", "got it", "vale", "d'accord"
	TurnBye      = "bye"      // "bye", "adiós", "au revoir"
	TurnIdentity = "identity" // "are you a bot?", "¿eres un robot?", "je parle à une machine ?"
	// TurnFrustration: "this is useless", "no me ayudas", "ça ne sert à rien": the answers did not
	// help; the reply says sorry and offers a person (OffersHuman).
	TurnFrustration = "frustration"
)

// frustrationWords say, on their own, that the answers did not help; frustrationPhrases (folded
// words) say it together. A message is frustration when it holds one of them and every other word
// is a stop word, a filler or a word of frustrationWords' company ("none of this helps me").
var (
	frustrationWords = strings.Fields(`useless unhelpful pointless rubbish garbage stupid dumb terrible awful annoying ugh argh
		frustrating ridiculous inutil inservible pesimo estupido absurdo nul nulle inutile debile stupide ridicule lamentable`)
	frustrationPhrases = [][]string{
		strings.Fields("not helpful"), strings.Fields("not helping"), strings.Fields("no help"),
		strings.Fields("doesn t help"), strings.Fields("doesnt help"), strings.Fields("does not help"),
		strings.Fields("didn t help"), strings.Fields("didnt help"), strings.Fields("helps me"),
		strings.Fields("waste of time"), strings.Fields("no sirve"), strings.Fields("no sirves"),
		strings.Fields("no me ayuda"), strings.Fields("no me ayudas"), strings.Fields("no me ayudo"),
		strings.Fields("perdida de tiempo"), strings.Fields("sert a rien"), strings.Fields("m aide pas"),
		strings.Fields("m aidez pas"), strings.Fields("perte de temps"), strings.Fields("no serveix"),
		strings.Fields("no m ajuda"), strings.Fields("no m ajudes"), strings.Fields("perdua de temps"),
		strings.Fields("you don t understand"), strings.Fields("you dont understand"), strings.Fields("not what i asked"),
		strings.Fields("no entiendes"), strings.Fields("no me entiendes"), strings.Fields("no es lo que he preguntado"),
		strings.Fields("tu ne comprends rien"), strings.Fields("tu comprends rien"), strings.Fields("vous ne comprenez rien"),
		strings.Fields("vous comprenez rien"), strings.Fields("no entens"), strings.Fields("no m entens"),
		strings.Fields("waiting forever"), strings.Fields("come on"), strings.Fields("seriously"),
		strings.Fields("venga ya"), strings.Fields("llevo un rato esperando"), strings.Fields("llevo mucho esperando"),
		strings.Fields("llevo esperando"), strings.Fields("une eternite"), strings.Fields("j attends depuis"),
		strings.Fields("fa molta estona"), strings.Fields("fa estona que espero"),
	}
	frustrationCompany = strings.Fields(`none nothing any of at all not no help helps helping helpful answer answers
		bot robot chatbot this that what so really totally completely nada de esto eso me ayuda sirve
		rien du tout ca ce m aide pas res d aixo m ajuda serveix gens gaire`)
)

// frustrationTurn reports a message (its folded words; ClassifyTurn bounds their number) that says
// the answers did not help and asks nothing else.
func frustrationTurn(ws []string) bool {
	said := make([]bool, len(ws))
	for _, p := range frustrationPhrases {
		markPhrase(ws, p, said)
	}
	for i, w := range ws {
		if slices.Contains(frustrationWords, w) {
			said[i] = true
		}
	}
	if !slices.Contains(said, true) {
		return false
	}
	for i, w := range ws {
		if !said[i] && !slices.Contains(frustrationCompany, w) && !slices.Contains(turnFillers, w) && !isStopIn(KBLanguages, w) {
			return false
		}
	}
	return true
}

// identityNouns are what a visitor asks the assistant to be or not to be; identityWords are the
// other words such a question is made of (besides turnFillers). "are you a bot?" and "am I talking
// to a human?" are conversation; a bare "human" is not (a visitor may be asking for one).
var (
	identityNouns = strings.Fields(`bot robot chatbot ai ia machine maquina ordinateur program programa programme
		human humano humana humain humaine huma real reel person persona personne`)
	identityWords = strings.Fields(`am i talking chatting speaking with to actually
		eres es hablo hablando estoy con un una esto verdad de
		vrai vraie veritat
		etes suis je parle avec une ce
		ets parlo estic parlant amb aixo`)
)

// identityPhrases ask who the assistant is without naming what it might be.
var identityPhrases = [][]string{
	strings.Fields("who are you"), strings.Fields("what are you"), strings.Fields("who am i talking to"),
	strings.Fields("quien eres"), strings.Fields("que eres"), strings.Fields("con quien hablo"),
	strings.Fields("qui es tu"), strings.Fields("qui etes vous"), strings.Fields("a qui je parle"),
	strings.Fields("qui ets"), strings.Fields("amb qui parlo"),
}

// identityTurn reports a question about what the assistant is: one of identityPhrases, or an
// identity noun, two words or more, every other word one of identityWords or a filler.
func identityTurn(ws []string) bool {
	if len(ws) < 2 || len(ws) > maxTurnWords {
		return false
	}
	if slices.ContainsFunc(identityPhrases, func(p []string) bool { return slices.Equal(ws, p) }) {
		return true
	}
	noun := false
	for _, w := range ws {
		switch {
		case slices.Contains(identityNouns, w):
			noun = true
		case slices.Contains(identityWords, w) || slices.Contains(turnFillers, w):
		default:
			return false
		}
	}
	return noun
}

// turnWords is the conversational vocabulary: folded words (and a few fixed phrases, written with
// spaces) by kind and language. A message is conversation when every word of it is one of these
// or a filler word, so "hi, how do I register?" is a question and "hi there!" is not.
var turnWords = map[string]map[string]string{
	TurnGreeting: {
		"en": "hi hello hey hiya howdy yo greetings morning afternoon evening",
		"es": "hola buenas buenos dias buen tardes noches saludos ola salu2",
		"fr": "bonjour bonsoir salut coucou allo rebonjour",
		"ca": "hola bon bona dia tarda vespre nit ei",
	},
	TurnThanks: {
		"en": "thanks thank thx thnx thanx tks ty tysm tyvm cheers appreciated appreciate grateful helpful ta",
		"es": "gracias mil muchas muchisimas agradezco amable grax graciass",
		"fr": "merci remercie beaucoup mille",
		"ca": "gracies merces moltes merci",
	},
	TurnPresence: {
		"en": "there anyone anybody someone somebody still alive here around online home test testing",
		"es": "ahi alguien hay sigues estas",
		"fr": "quelqu un personne etes es t il y toujours la",
		"ca": "algu hi ha ets sou aqui encara",
	},
	TurnAck: {
		"en": "ok okay k kk good sure fine great perfect cool nice awesome excellent brilliant lovely alright right understood got gotcha noted yes yeah yep no nope sounds wow omg whoa really np welcome please oki okey okk sweet",
		"es": "vale bien perfecto genial estupendo guay entendido claro si de acuerdo ok nada okey dale listo venga",
		"fr": "ok d accord parfait super entendu compris oui non bien genial nickel marche",
		"ca": "vale perfecte entesos entes genial molt be d acord si val fet",
	},
	TurnBye: {
		"en": "bye goodbye later see cya farewell night care day bb",
		"es": "adios chao chau hasta luego pronto vemos manana besos besitos",
		"fr": "revoir bientot plus tard bonne journee soiree tchao bisous bises",
		"ca": "adeu fins aviat despres dema reveure petons besades",
	},
}

// turnFillers may stand in a conversational message without making it a question.
var turnFillers = strings.Fields(`a an the you u your so very much lot for all is are it that this and
	me again to everyone everybody guys team folks that's thats just oh ah well then too really have
	take hmm hm mmm uh um lol haha jaja jeje mdr xd today tonight help helped helping
	de la el los las muy por todo tu usted te le y pues hoy ayuda
	le les vous tu a au de pour tout tres et ca c est aujourd hui aide
	el la els per tot molt i et us avui ajuda euh bah pff bueno vaya alors doncs aha ai ay uy re tothom todos
	partner mate buddy friend friends amigo amiga amigos ami amie amis amic amiga amics people gent gente`)

// laughOrHum reports a word of laughter or hesitation ("jajaja", "hahaha", "jejeje", "mmmm",
// "hmmm"): said alone, an acknowledgement.
func laughOrHum(w string) bool {
	if len(w) < 2 {
		return false
	}
	if strings.Trim(w, "hm") == "" && strings.Contains(w, "m") {
		return true
	}
	if len(w)%2 != 0 && !strings.HasSuffix(w, "h") && !strings.HasSuffix(w, "j") {
		w += "a"
	}
	for i := 0; i+1 < len(w); i += 2 {
		if !strings.ContainsRune("hj", rune(w[i])) || !strings.ContainsRune("aei", rune(w[i+1])) {
			return false
		}
	}
	return len(w) >= 4
}

var turnIndex = func() map[string][]string {
	m := map[string][]string{}
	for kind, byLang := range turnWords {
		for _, list := range byLang {
			for _, w := range strings.Fields(list) {
				if !slices.Contains(m[w], kind) {
					m[w] = append(m[w], kind)
				}
			}
		}
	}
	return m
}()

// turnLangs are the languages whose conversational vocabulary has a word.
var turnLangs = func() map[string][]string {
	m := map[string][]string{}
	for _, byLang := range turnWords {
		for lang, list := range byLang {
			for _, w := range strings.Fields(list) {
				if !slices.Contains(m[w], lang) {
					m[w] = append(m[w], lang)
				}
			}
		}
	}
	return m
}()

// greetingPhrases are greetings shaped as questions, and acknowledgements and goodbyes of several
// words, folded, with the conversational word of their language that stands for them.
var (
	greetingOf = map[string]string{"how are you doing": "hello", "how are you": "hello", "how is it going": "hello",
		"how s it going": "hello", "how are things": "hello", "how are u": "hello", "how r u": "hello",
		"how you doing": "hello", "what s up": "hello", "whats up": "hello", "hope you re doing well": "hello",
		"hope you are doing well": "hello", "hope you re well": "hello", "hope you are well": "hello",
		"hope all is well": "hello", "que tal": "hola", "como estas": "hola", "como esta": "hola",
		"como estais": "hola", "como va": "hola", "comment allez vous": "bonjour", "comment ca va": "bonjour",
		"ca va": "bonjour", "vous allez bien": "bonjour", "tu vas bien": "bonjour", "com estas": "hola",
		"com va": "hola", "com esteu": "hola", "com anem": "hola", "que tal estas": "hola",
		// Acknowledgements and goodbyes said in several words.
		"makes sense": "ok", "that makes sense": "ok", "i see": "ok", "fair enough": "ok", "no worries": "ok",
		"no problem": "ok", "all good": "ok", "ya veo": "vale", "ya lo tengo": "vale", "ya esta": "vale",
		"lo tengo": "vale", "je vois": "d accord", "c est bon": "d accord", "ca marche": "d accord",
		"ja ho tinc": "entesos", "ja ho veig": "entesos", "ja esta": "entesos",
		"que vagi be": "adeu", "que te vaya bien": "adios", "have a good one": "bye", "bonne continuation": "revoir",
		"have a nice evening": "bye", "have a good evening": "bye", "have a great evening": "bye",
		"have a nice weekend": "bye", "have a good weekend": "bye", "have a great weekend": "bye",
		"have a great day": "bye", "enjoy your day": "bye", "enjoy your weekend": "bye", "buen finde": "adios",
		"buen fin de semana": "adios", "bon cap de setmana": "adeu", "bon week end": "revoir",
		"bonne soiree": "revoir", "bon weekend": "revoir", "un saludo": "adios", "saludos": "adios",
		"de nada": "vale", "de rien": "d accord", "de res": "entesos", "you re welcome": "ok", "no way": "ok",
		"see ya": "bye", "que tengas buen dia": "adios", "que tengas un buen dia": "adios", "que vaya bien": "adios",
		"en serio": "vale", "de debo": "entesos", "ah bon": "d accord", "anda": "vale",
		"s il vous plait": "d accord", "si us plau": "entesos", "por favor": "vale",
		"i m back": "hello", "i am back": "hello", "ya estoy aqui": "hola", "ya estoy": "hola", "de nuevo": "hola",
		"me revoila": "bonjour", "je suis de retour": "bonjour", "ja soc aqui": "hola", "ja torno a ser aqui": "hola",
		"i ll try": "ok", "i ll try that": "ok", "i will try": "ok", "let me try": "ok", "i ll give it a try": "ok",
		"will do": "ok", "lo intentare": "vale", "lo probare": "vale", "voy a probar": "vale", "lo pruebo": "vale",
		"je vais essayer": "d accord", "j essaie": "d accord", "je vais tester": "d accord", "ho provare": "entesos",
		"ho intentare": "entesos", "ho provo": "entesos", "c est gentil": "merci", "talk soon": "bye",
		"speak soon": "bye", "hasta otra": "adios", "hasta la proxima": "adios", "fins la propera": "adeu",
		"fins una altra": "adeu", "tout le monde": "bonjour"}
	greetingPhrases = func() []string {
		out := slices.Collect(maps.Keys(greetingOf))
		// The longest first: "that makes sense" before "makes sense".
		slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
		return out
	}()
)

// turnSpelling returns the conversational word w stands for when it is one spelt with a letter
// held ("holaaa", "mercii", "thxxx") or, for a word of five letters or more, one edit away
// ("helo", "thnaks", "grcias"): visitors type greetings and thanks fast.
func turnSpelling(w string) (string, bool) {
	var b strings.Builder
	var last rune
	for _, r := range w {
		if r != last {
			b.WriteRune(r)
		}
		last = r
	}
	if c := b.String(); c != w {
		if _, ok := turnIndex[c]; ok {
			return c, true
		}
		w = c
	}
	if len([]rune(w)) < minTypoLen-1 {
		return "", false
	}
	return turnTypos.one(w)
}

// turnTypos finds the conversational words of five letters or more one edit from a word.
var turnTypos = func() *typoIndex {
	ti := newTypoIndex()
	for w := range turnIndex {
		ti.add(w)
	}
	ti.freeze()
	return ti
}()

// maxTurnWords caps a conversational message: a longer one is read as a question.
const maxTurnWords = 8

// ClassifyTurn tells whether a visitor message is conversation (a greeting, thanks, "are you
// there?", "ok", goodbye) and which, and the language its conversational words point to ("" when
// they do not say). Anything else is TurnQuestion.
func ClassifyTurn(text string) (kind, lang string) { return classifyTurn(text, "") }

// classifyTurn is ClassifyTurn in a conversation in conv: the language its conversational words
// point to is, among equals, the one the message's other words say clearly ("hola, com estàs?":
// Catalan), else conv ("un moment" in a Catalan conversation, "euh ok" in a French one), else the
// first of KBLanguages.
func classifyTurn(text, conv string) (kind, lang string) {
	raw := words(text)
	ws := raw
	if len(ws) > 1 {
		// Greetings that are questions in form ("how are you?") read as greetings.
		j := " " + strings.Join(ws, " ") + " "
		for _, p := range greetingPhrases {
			j = strings.ReplaceAll(j, " "+p+" ", " "+greetingOf[p]+" ")
		}
		ws = strings.Fields(j)
	}
	if len(ws) == 0 || len(ws) > maxTurnWords {
		return TurnQuestion, ""
	}
	if identityTurn(ws) {
		return TurnIdentity, DetectLanguage(text)
	}
	if l, ok := introduction(text, ws); ok {
		return TurnGreeting, l
	}
	if l, ok := namedGreeting(text, ws); ok {
		if msgl := MessageLanguage(text); msgl != "" && slices.Contains(turnLangs[ws[0]], msgl) {
			l = msgl
		} else if slices.Contains(turnLangs[ws[0]], conv) {
			l = conv
		}
		return TurnGreeting, l
	}
	if frustrationTurn(raw) {
		return TurnFrustration, DetectLanguage(text)
	}
	// The language of the words that are neither fillers nor conversational words of several
	// languages ("com estàs" of "hola, com estàs?"; none in "euh ok": "ok" is every language's).
	var other []string
	for _, w := range lowerWords(text) {
		if f := Fold(w); len(turnLangs[f]) < 2 && !slices.Contains(turnFillers, f) {
			other = append(other, w)
		}
	}
	msgLang := MessageLanguage(strings.Join(other, " "))
	if k, l := phrasedTurn(ws, msgLang, conv); k != TurnQuestion {
		return k, l
	}
	found := map[string]bool{}
	votes := map[string]int{}
	for _, w := range ws {
		kinds, ok := turnIndex[w]
		if !ok && laughOrHum(w) {
			found[TurnAck] = true
			continue
		}
		if !ok && slices.Contains(turnFillers, w) {
			continue
		}
		if !ok {
			if w, ok = turnSpelling(w); !ok {
				return TurnQuestion, ""
			}
			kinds = turnIndex[w]
		}
		for _, k := range kinds {
			found[k] = true
		}
		for _, l := range turnLangs[w] {
			votes[l]++
		}
	}
	// The language with most votes; among equals, the other words' clear language, else conv,
	// else the first of KBLanguages ("hola" is Spanish and Catalan: Spanish).
	best := 0
	for _, l := range KBLanguages {
		if votes[l] > best {
			lang, best = l, votes[l]
		}
	}
	switch {
	case best == 0:
	case msgLang != "" && votes[msgLang] == best:
		lang = msgLang // "hola, com estàs?": Catalan, whose "hola" Spanish shares
	case conv != "" && votes[conv] == best:
		lang = conv
	}
	// A message mixing kinds is answered for the one that matters most: thanks close, a goodbye
	// ends, a presence check ("are you there?", but not "hi there") wants a sign of life, then
	// greetings, then acknowledgements.
	switch {
	case found[TurnThanks]:
		return TurnThanks, lang
	case found[TurnBye]:
		return TurnBye, lang
	case found[TurnPresence] && (!found[TurnGreeting] || strings.Contains(text, "?")):
		return TurnPresence, lang
	case found[TurnGreeting]:
		return TurnGreeting, lang
	case found[TurnAck]:
		return TurnAck, lang
	}
	return TurnQuestion, ""
}

// maxClosingWords caps a message read as thanks or a goodbye among other words (closingTurn).
const maxClosingWords = 14

// closingPhrases are what makes a longer message thanks or a goodbye (closingTurn): the words and
// phrases that say it on their own, not the words that only go with them in a short message ("mil",
// "beaucoup", "later", "day", "mañana", "plus" are in turnWords, where every other word of the
// message must be conversational too, but "il n'avance plus" is no goodbye).
var closingPhrases = map[string]map[string][]string{
	TurnThanks: {
		"en": {"thanks", "thank you", "thx", "thnx", "thanx", "tks", "ty", "tysm", "tyvm", "cheers", "much appreciated"},
		"es": {"gracias", "te lo agradezco", "se lo agradezco", "os lo agradezco"},
		"fr": {"merci", "je vous remercie", "je te remercie"},
		"ca": {"gracies", "merces", "moltes gracies"},
	},
	TurnBye: {
		"en": {"bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "cya", "farewell", "good night", "take care", "have a nice day", "have a good day", "talk later", "talk to you later"},
		"es": {"adios", "chao", "chau", "hasta luego", "hasta pronto", "hasta manana", "nos vemos", "buenas noches"},
		"fr": {"au revoir", "a bientot", "a plus tard", "bonne journee", "bonne soiree", "bonne nuit", "tchao", "a la prochaine"},
		"ca": {"adeu", "fins aviat", "fins despres", "fins dema", "fins ara", "bona nit"},
	},
}

// praisePhrases say that the assistant did well ("lol you're quicker than the last support chat I
// used", "genial, muy rápido"): a message with one that asks nothing and finds no article is
// acknowledged ("anything else?"), not told "I couldn't find".
var praisePhrases = strings.Fields(`quick quicker fast faster great awesome amazing brilliant excellent perfect
	nice cool helpful impressive genial rapido rapida perfecto perfecta estupendo buenisimo increible
	rapide parfait parfaite super top bravo impressionnant rapid perfecte fantastic`)

// praiseTurn reports a message of praise (praisePhrases) of up to maxClosingWords words.
func praiseTurn(text string) bool {
	ws := words(text)
	return len(ws) > 0 && len(ws) <= maxClosingWords && slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(praisePhrases, w) })
}

// requestWords make a message a request even without a question mark ("please just delete my
// account, thanks").
var requestWords = strings.Fields("please pls plz favor porfa porfavor plait svp stp plau sisplau")

// asks reports a message that asks something: a question mark or a word of request.
func asks(text string) bool {
	if strings.Contains(text, "?") || strings.Contains(text, "¿") {
		return true
	}
	return slices.ContainsFunc(words(text), func(w string) bool { return slices.Contains(requestWords, w) })
}

// closingTurn reports a message that thanks or says goodbye among words that are not all
// conversational ("great, thanks a lot for sorting that out"): when it asks nothing (asks) and the
// knowledge base has no sure answer for it, it is answered as thanks (or a goodbye), never with "I
// couldn't find". "Thanks! Do you sell mugs?" or "please delete my data, thanks" is a question or
// a request: answered, offered an article, or told honestly that nothing was found.
func closingTurn(text string) (kind, lang string) {
	ws := words(text)
	if len(ws) == 0 || len(ws) > maxClosingWords {
		return TurnQuestion, ""
	}
	joined := " " + strings.Join(ws, " ") + " "
	for _, k := range []string{TurnThanks, TurnBye} {
		for _, l := range KBLanguages {
			for _, p := range closingPhrases[k][l] {
				if strings.Contains(joined, " "+p+" ") {
					return k, l
				}
			}
		}
	}
	return TurnQuestion, ""
}

// turnString is the localized string answering each kind of conversational turn.
var turnString = map[string]string{
	TurnGreeting:    StrGreeting,
	TurnThanks:      StrClosing,
	TurnPresence:    StrPresence,
	TurnAck:         StrAnythingElse,
	TurnBye:         StrGoodbye,
	TurnIdentity:    StrIdentity,
	TurnFrustration: StrFrustration,
	TurnWait:        StrWait,
	TurnApology:     StrNoProblem,
	TurnAsk:         StrAskAway,
	TurnPraise:      StrPraise,
	TurnConfused:    StrRephrase,
}

// followWords open or mark a follow-up: a conjunction first ("and to Norway?", "y a Francia?"), or
// a word pointing back ("can I pause it instead?", "how long does that take?").
var (
	followOpeners = strings.Fields("and also what how or but y e o pero tambien et ou mais aussi i pero tambe")
	// Not "la", "lo", "le": articles as often as pronouns ("dar de baja la suscripción", "quelle
	// est la capitale du Canada ?"); nor "one", a number as often ("price of one bag?").
	followPointer = strings.Fields("it that this them those these instead ones there eso esto ello ese esa alli ahi ca cela ceci celui celle aixo allo ho")
	// followPrep open a fragment ("to Norway?", "para estudiantes?", "en Suisse ?").
	followPrep = strings.Fields("to for in from with a para en con de pour avec per amb")
)

// maxFragmentWords caps a fragment opened by a preposition.
const maxFragmentWords = 6

// maxFollowWords caps a follow-up: a longer message stands on its own.
const maxFollowWords = 8

// IsFollowUp reports a short message that leans on the previous one: it opens with a conjunction,
// is a fragment opened by a preposition (not by a preposition and an interrogative: "¿a qué hora
// pasa el repartidor?"), or points back with a pronoun ("instead", but not "instead of euros").
// Only then does the previous message join the search, at a lower weight.
func IsFollowUp(text string) bool {
	ws := words(text)
	if len(ws) == 0 || len(ws) > maxFollowWords {
		return false
	}
	// "où" folds to "ou" (or): the accent tells "où je trouve ma facture" from "ou en Suisse ?".
	first := strings.ToLower(strings.Fields(text)[0])
	if slices.Contains(followOpeners, ws[0]) && (ws[0] != "what" && ws[0] != "how" || len(ws) > 1 && ws[1] == "about") && !strings.HasPrefix(first, "où") {
		return true
	}
	if slices.Contains(followPrep, ws[0]) && len(ws) <= maxFragmentWords && !ownQuestion(ws) {
		return true
	}
	for i, w := range ws {
		if slices.Contains(followPointer, w) && !(w == "instead" && i+1 < len(ws) && ws[i+1] == "of") {
			return true
		}
	}
	return false
}

// interrogatives after a preposition open a question of its own ("¿con qué transportista
// enviáis?", "¿a qué hora pasa el repartidor?", "to which countries do you ship?"), not a
// fragment of the previous one, when it has a subject besides (ownQuestion); measureWords are no
// subject ("for how long max?", "pour combien de temps ?" ask about the previous one's).
var (
	interrogatives = strings.Fields(`what which when where who whom how que cual cuales cuando cuanto cuanta cuantos
		cuantas quien quienes donde como quel quelle quels quelles quand combien qui quoi ou quin quina quins quines
		quan quant quanta quants quantes on com`)
	measureWords = strings.Fields(`long much many time max maximum min minimum tiempo maximo minimo temps
		mes more plus days dias jours dies`)
)

// ownQuestion reports a message (its folded words) opened by a preposition and an interrogative
// that names a subject of its own.
func ownQuestion(ws []string) bool {
	if len(ws) < 3 || !slices.Contains(interrogatives, ws[1]) {
		return false
	}
	return slices.ContainsFunc(ws[2:], func(w string) bool {
		return !isStopIn(KBLanguages, w) && !slices.Contains(measureWords, w) && !slices.Contains(interrogatives, w)
	})
}

// MessageLanguage returns the language a message's own words say clearly (function words, letters,
// marks and endings of one language, a whole word ahead of any other), or "" when they
// do not.
func MessageLanguage(text string) string { return clearLanguage(languageScores(text)) }

// questionOpeners announce a new question without being part of it ("different question: can I
// skip a month?", "otra pregunta, ...", "au fait, ..."): their words ("different", "cosa", "duda")
// would otherwise be searched for as a subject, and what follows them is no follow-up of the
// previous message. ("Also" and "and" open follow-ups: IsFollowUp.)
var questionOpeners = func() [][]string {
	var out [][]string
	for _, p := range []string{
		"different question", "another question", "other question", "quick question", "one more question",
		"separate question", "unrelated question", "new question", "next question", "one more thing",
		"another thing", "one last thing", "i have a question", "i have another question",
		"got a question", "by the way", "btw",
		"otra pregunta", "una pregunta", "otra cosa", "una cosa", "otra duda", "una duda", "tengo una duda",
		"tengo una pregunta", "tengo otra pregunta", "por cierto",
		"autre question", "une autre question", "une question", "petite question", "autre chose",
		"j ai une question", "j ai une autre question", "au fait",
		"una altra pregunta", "una pregunta", "una altra cosa", "altra cosa", "un altre dubte", "un dubte",
		"tinc un dubte", "tinc una pregunta", "per cert",
	} {
		out = append(out, strings.Fields(p))
	}
	// The longest first: "one more thing" before "also".
	slices.SortStableFunc(out, func(a, b []string) int { return len(b) - len(a) })
	return out
}()

// stripOpener returns text without a question opener at its start, when a question follows it.
func stripOpener(text string) string {
	ws := words(text)
	for _, p := range questionOpeners {
		if len(ws) > len(p)+1 && slices.Equal(ws[:len(p)], p) {
			return skipWords(text, len(p))
		}
	}
	return text
}

// skipWords returns text after its first n words (words as words() cuts them).
func skipWords(text string, n int) string {
	in := false
	for i, r := range text {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		if word && !in {
			if n == 0 {
				return text[i:]
			}
			n--
		}
		in = word
	}
	return ""
}
