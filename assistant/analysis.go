package assistant

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/german"
	"github.com/blevesearch/snowballstem/italian"
	"github.com/blevesearch/snowballstem/portuguese"
	"github.com/blevesearch/snowballstem/spanish"
)

// An analyzer turns the text of one language into search terms: lowercase words (accents kept for
// the stemmer), stop words dropped, a Snowball stemmer where Snowball has one (en, es, fr, de, pt,
// it; Catalan and unknown languages get a light suffix stripper), and the stem folded (no accents).
type analyzer struct {
	lang string
	stop map[string]struct{} // folded stop words
	stem func(string) string // lowercase word -> stem, before folding
}

// KBLanguages are the languages the knowledge base analyzes with their own stop words and stemmer;
// text in another language gets the language-neutral analysis.
var KBLanguages = []string{"en", "es", "fr", "ca", "de", "pt", "it"}

func snowball(stem func(*snowballstem.Env) bool) func(string) string {
	return func(w string) string {
		env := snowballstem.NewEnv(w)
		stem(env)
		return env.Current()
	}
}

var analyzers = func() map[string]*analyzer {
	stemmers := map[string]func(string) string{
		"en": snowball(english.Stem), "es": snowball(spanish.Stem), "fr": snowball(french.Stem),
		"de": snowball(german.Stem), "pt": snowball(portuguese.Stem), "it": snowball(italian.Stem),
		"ca": lightStem,
	}
	m := map[string]*analyzer{}
	all := map[string]struct{}{}
	for lang, list := range stopWordLists {
		a := &analyzer{lang: lang, stop: map[string]struct{}{}, stem: stemmers[lang]}
		for _, w := range strings.Fields(list) {
			// Words split at apostrophes ("don't" -> "don", "t"): a contraction of the list
			// stops its pieces too.
			for _, f := range append(lowerWords(w), w) {
				a.stop[Fold(f)] = struct{}{}
				all[Fold(f)] = struct{}{}
			}
		}
		m[lang] = a
	}
	// The neutral analyzer (language unknown) drops every language's stop words.
	m[""] = &analyzer{stop: all, stem: lightStem}
	return m
}()

// analyzerFor returns the analyzer of a language code ("es-ES" and "es" alike), or the neutral one.
func analyzerFor(lang string) *analyzer {
	if a, ok := analyzers[primaryTag(lang)]; ok {
		return a
	}
	return analyzers[""]
}

// lowerWords splits s into lowercase words, accents kept: runs of letters and digits. The Catalan
// middle dot joins ("cancel·lar"), apostrophes and other punctuation separate ("l'envoi").
func lowerWords(s string) []string {
	s = strings.ReplaceAll(s, "·", "")
	s = strings.ReplaceAll(s, "l.l", "ll")
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
}

// isStop reports a stop word of the analyzer's language, or a token too short to mean anything.
func (a *analyzer) isStop(folded string) bool {
	if _, ok := a.stop[folded]; ok {
		return true
	}
	return len(folded) == 1 && !unicode.IsDigit(rune(folded[0]))
}

// term returns the search term of one lowercase word.
func (a *analyzer) term(w string) string {
	if w == "" || (w[0] >= '0' && w[0] <= '9') {
		return Fold(w)
	}
	return Fold(a.stem(w))
}

// Terms returns the search terms of s in the language detected from its words: folded, stop words
// dropped, stemmed. Queries and documents go through the same analysis.
func Terms(s string) []string { return TermsIn(DetectLanguage(s), s) }

// TermsIn returns the search terms of s analyzed as language lang (a code; "" or an unsupported
// one selects the language-neutral analysis).
func TermsIn(lang, s string) []string {
	a := analyzerFor(lang)
	var out []string
	for _, w := range lowerWords(s) {
		if a.isStop(Fold(w)) {
			continue
		}
		out = append(out, a.term(w))
	}
	return out
}

// DetectLanguage guesses the language of s among KBLanguages by counting its stop words and
// language-typical letters; "" when nothing points anywhere (a single noun, a product name).
func DetectLanguage(s string) string {
	best, bestN, second := detectLanguage(s)
	if bestN < 1 || bestN == second {
		return ""
	}
	return best
}

// detectLanguage returns the best language of s with its score and the runner-up's score.
func detectLanguage(s string) (best string, bestN, second float64) {
	return rankScores(languageScores(s))
}

// clearLanguage returns the language that scores (languageScores) say clearly, a whole word ahead
// of any other, or "".
func clearLanguage(scores map[string]float64) string {
	if lang, n, second := rankScores(scores); n >= 1 && n >= second+1 {
		return lang
	}
	return ""
}

// rankScores returns the best language of scores with its score and the runner-up's score.
func rankScores(scores map[string]float64) (best string, bestN, second float64) {
	for _, lang := range KBLanguages {
		switch n := scores[lang]; {
		case n > bestN:
			best, bestN, second = lang, n, bestN
		case n > second:
			second = n
		}
	}
	return best, bestN, second
}

// languageScores counts, for each of KBLanguages, the signs of s that point to it: stop words,
// typical letters, marks and word endings.
// dictionaryHint is what one dictionary word adds to its language's score; dictionaryHints
// enables it (a variable for the ablation test).
var (
	dictionaryHint  = 0.5
	dictionaryHints = true
)

func languageScores(s string) map[string]float64 {
	ws := lowerWords(s)
	scores := map[string]float64{}
	if dictionaryHints {
		// A word of one language's dictionary alone (thesaurus headwords; stop words aside) says a
		// little: "suscripcion", "arribat", "oublié".
		for _, w := range ws {
			if f := Fold(w); len(f) >= 4 {
				if l := dictionaryLanguage(f); l != "" {
					scores[l] += dictionaryHint
				}
			}
		}
	}
	for _, lang := range KBLanguages {
		a := analyzers[lang]
		n := 0.0
		for _, w := range ws {
			if _, ok := a.stop[Fold(w)]; ok && len(w) > 1 {
				n++
			}
			if slices.Contains(accentWords[lang], w) {
				n++
			}
			if hint, ok := letterHints[lang]; ok && strings.ContainsAny(w, hint) {
				n += 0.5
			} else if slices.ContainsFunc(sequenceHints[lang], func(q string) bool { return strings.Contains(w, q) }) {
				n += 0.5
			}
			ending := 0.0
			if len(w) >= 5 {
				for _, suf := range endingHints[lang] {
					if strings.HasSuffix(w, suf) {
						ending = 0.5
						break
					}
				}
			}
			if len(w) >= 6 {
				for _, suf := range addressEndings[lang] {
					if strings.HasSuffix(w, suf) {
						ending = 1
						break
					}
				}
			}
			n += ending
		}
		if marks, ok := markHints[lang]; ok && strings.ContainsAny(s, marks) {
			n++
		}
		if lang == "ca" || lang == "fr" {
			// An elided article or pronoun ("l'any", "s'ha", "j'ai", "qu'il") is Catalan or
			// French, never Spanish.
			n += 0.5 * float64(min(2, len(elision.FindAllStringIndex(s, 2))))
		}
		scores[lang] += n
	}
	return scores
}

// markHints are punctuation marks that point to a language (they are not part of words).
var markHints = map[string]string{"es": "¿¡"}

// endingHints are word endings typical of a language's inflection (second person plural verbs,
// nouns of action), counted on words of five letters or more.
var endingHints = map[string][]string{
	"es": {"éis", "áis", "ción", "ciones"},
	"fr": {"ez", "eux", "ée", "ées", "ait", "ment"},
	"ca": {"eu", "iu", "ció", "cions", "ny", "ment"},
	"pt": {"ção", "ções"},
}

// addressEndings are the endings of the verb forms by which a visitor addresses a company (the
// second person plural: "¿enviáis?", "teneis", "envieu", "pouvez"), written with or without
// accents, on words of six letters or more: they count a whole word (other endings half), so that
// a short question in one of them ("aceptais bizum?", "envieu a Noruega?") says its language.
var addressEndings = map[string][]string{
	"es": {"áis", "éis", "ais", "eis"},
	"ca": {"eu", "iu"},
	"fr": {"ez"},
}

// accentWords are function words whose accent says their language: Catalan "és", "què", "més"
// are Spanish "es", "qué", "más" and French "es", "que", "mes"; they count a whole word (folded,
// they are stop words of every one of those languages alike).
var accentWords = map[string][]string{
	"ca": strings.Fields("és més què perquè també però així això allò està estàs són sóc només després vostè"),
	"es": strings.Fields("qué más también así cómo cuándo dónde cuánto cuánta cuántos cuántas está están estás después sólo allí"),
	"fr": strings.Fields("où là à déjà très après voilà été"),
}

// sequenceHints are letter sequences that point to a language when they occur in a word: Catalan
// writes "ny" where Spanish writes "ñ" ("contrasenya", "any"), "tx" where it writes "ch", and
// "tll" ("espatllat"), which Spanish never does.
var sequenceHints = map[string][]string{"ca": {"ny", "tx", "tll"}}

// elision is an elided one-letter word (or "qu") before a word.
var elision = regexp.MustCompile(`(?i)(^|[^\pL])(qu|[cdjlmnst])['’]\pL`)

// letterHints are letters that point to a language when they occur in a word.
var letterHints = map[string]string{
	"es": "ñá", "fr": "œêâîûçù", "ca": "ŀ·òï", "de": "ßäöü", "pt": "ãõ", "it": "",
}

// lightStem is the language-neutral stemmer (also Catalan's, which Snowball's Go ports lack):
// plural and common verb and adverb endings of the Romance languages and English, at most twice,
// keeping a stem of at least three letters.
func lightStem(w string) string {
	w = Fold(w)
	for pass := 0; pass < 2; pass++ {
		stripped := false
		for _, suf := range lightSuffixes {
			if len(w)-len(suf) >= 3 && strings.HasSuffix(w, suf) {
				w = w[:len(w)-len(suf)]
				stripped = true
				break
			}
		}
		if !stripped {
			break
		}
	}
	return w
}

var lightSuffixes = []string{
	"acions", "ament", "ments", "cions", "ment", "acio", "cio", "ades", "ats", "ada", "at", "eu",
	"es", "ar", "er", "ir", "s", "a", "e", "o",
}

// stopWordLists hold everyday words that say nothing about what a question is about: function
// words, greetings, the word for the one asking ("customer", "cliente": every question of a
// help centre is a customer's), and the verbs and adverbs of asking ("can", "need", "much", "which", "never"
// is kept as it means something in support questions).
var stopWordLists = map[string]string{
	"en": `a about above after again all also am an and any are as at be because been before being below
		between both but by can can't cannot could couldn't did didn't do does doesn't doing don't dont
		down during each few for from further had has have having he her here hers herself him himself
		his how i i'm im if in into is isn't it it's its itself just know let's like me more most much
		my myself need no nor not now of on once only or other ought our ours ourselves out over own
		please same she should so some such tell than thank thanks that that's the their theirs them
		themselves then there there's these they this those through to too under until up us very want
		was we were what whats what's when where which while who whom why will with would you your
		yours yourself yourselves hi hello hey also get got guys ok okay many lot anything something
		really still yet ever way thing things does any one make made question questions quick another
		customer customers client clients hmm hm mmm uh um lol haha pls plz ur tho til cuz bc btw
		idk ive id didnt isnt wont cant doesnt hasnt havent wasnt arent everything everyone nothing
		stuff whole kind sort bit every you're we're they're i've we've you've they've i'll you'll it'll
		we'll they'll won't wasn't aren't weren't hasn't haven't hadn't wouldn't shouldn't i'd you'd`,
	"es": `a al algo algun alguna alguno algunos ante antes aqui asi aun bien cada como con contra cual
		cuales cualquier cuando de del desde donde dos el ella ellas ellos en entre era eres es esa ese
		eso esta estas este esto estos estoy estan fue ha hace hacer hay he la las le les lo los mas me
		mi mis mucho muy nada ni no nos nosotros o os otra otro para pero poco por porque puede puedo
		pueden que quien se ser si sin sobre soy su sus tambien te tener tengo tiene ti tu tus un una
		uno unos unas usted vosotros y ya yo hola gracias quiero necesito quisiera saber podeis podria
		vuestro vuestra vuestros mio algun cuanto cuanta cuantos cuantas esto favor pregunta preguntas otra
		cliente clientes jaja jeje pasa cada`,
	"fr": `a ai aie au aux chez avec avez avoir c ca ce ceci cela celle celui ces cet cette d dans de des du
		elle elles en est et etre eu fait faire il ils j je l la le les leur leurs lui m ma mais me mes
		moi mon n ne ni nos notre nous on ou par pas peu peut peux plus pour pouvez puis puisqu qu que
		quel quelle quelles quels qui quoi s sa sans se ses si son sont sur t ta te tes toi ton tu un
		une vos votre vous y bonjour merci svp voudrais veux aimerais savoir est-ce comment combien
		ete suis es sommes etes ont avons serai sera serons serez quand question questions autre seront serais serait aurai aura aurez auront aurais aurait
		client clients cliente clientes mdr jusqu lorsqu puisqu chaque`,
	"ca": `a al als sense algun alguna amb aquest aquesta aquests aquestes aquell aixo com de del dels des
		el els em en ens es et ha han he hi i jo la les li lo ma mes meu meva meus meves molt no nos
		nosaltres o on per pero perque puc pot poden que qui quin quina quins quines sa se seu seva si
		sobre son sou su teu teva tu un una uns unes vosaltres vostre vostra vull voldria necessito
		tinc teniu hola gracies saber podeu quan quant quanta sisplau favor pregunta preguntes altra
		client clients clienta clientes quants quantes fer faig fas fa fem feu fan estic esta estas estan
		ser era tambe ja encara aqui pots podria podries tenir tens cap mateix tot tota tots totes passa cada`,
	"de": `aber alle als am an auch auf aus bei bin bis bitte da das dass dein deine dem den der des
		die dies du durch ein eine einem einen einer es euer fur gibt habe haben hallo hat ich ihr im
		in ist ja kann kein konnen mein meine mich mir mit muss nach nicht noch nur oder sein sich sie
		sind so uber um und uns unser vom von vor wann war warum was welche wenn wer wie wir wo zu zum
		zur danke`,
	"pt": `a ao aos as com como da das de do dos e ela ele em entre era esta este eu foi ha isso isto
		ja mais mas me meu minha muito na nao nas no nos o os ou para pela pelo por posso pode qual
		quando que quem se sem seu sua te tem tenho um uma voce voces ola obrigado obrigada quero
		preciso`,
	"it": `a al alla alle anche che chi ci come con da dal dalla dei del della di e gli ha ho i il in
		io la le lei lo loro lui ma mi mia mio ne nel nella noi non o per perche piu posso puo quale
		quando questo se si sono su sua suo ti tu un una uno voi vorrei ciao grazie voglio`,
}

// allZero reports language scores that point nowhere.
func allZero(sc map[string]float64) bool {
	for _, v := range sc {
		if v != 0 {
			return false
		}
	}
	return true
}
