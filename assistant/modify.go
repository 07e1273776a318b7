package assistant

import (
	"slices"
	"strings"
)

// Requests to change something ("can I change my delivery address?", "¿cómo cambio el email de
// mi cuenta?", "je peux modifier mon adresse ?") are answered by a passage that says how something
// is changed (updated, edited, reset...), not by one that shares the request's other words: a help
// centre that has no article about changing an address has no answer to it.

// modifyWords are the verbs (and nouns) of changing something, per language: a passage with one
// says how something is changed.
var modifyWords = map[string]string{
	"en": "change changes changed changing modify modified update updates updated updating edit edited editing switch switched amend reset",
	"es": "cambiar cambio cambios cambia cambiado cambiáis modificar modifico modificado actualizar actualizo actualiza actualizado editar edito corregir restablecer",
	"fr": "changer change changes changé changement changements modifier modifie modifié modification actualiser éditer corriger réinitialiser",
	"ca": "canviar canvio canvia canvi canvis canviat modificar modifico modificat actualitzar actualitzo editar corregir restablir",
}

// changeRequests are the verbs by which a visitor asks to change something, per language: fewer than
// modifyWords ("the tracking hasn't updated" asks to change nothing).
var changeRequests = map[string]string{
	"en": "change changing modify edit switch amend",
	"es": "cambiar cambio cambia modificar modifico editar",
	"fr": "changer change modifier modifie",
	"ca": "canviar canvio canvia modificar modifico editar",
}

// mindWords follow a verb of changing in the idiom of changing one's mind ("I changed my mind",
// "he cambiado de opinión", "j'ai changé d'avis"), which asks to change nothing.
var mindWords = wordSet("mind minds opinion opinión opinion idea avis opinió")

// modifyStems and changeRequestStems hold the stems of modifyWords and changeRequests per language.
var modifyStems, changeRequestStems = stemSets(modifyWords), stemSets(changeRequests)

func stemSets(words map[string]string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for lang, list := range words {
		a := analyzerFor(lang)
		out[lang] = map[string]bool{}
		for _, w := range strings.Fields(list) {
			out[lang][a.term(w)] = true
		}
	}
	return out
}

// saysModify reports whether text, in lang, has a word of changing something.
func saysModify(text, lang string) bool {
	a, stems := analyzerFor(lang), modifyStems[primaryTag(lang)]
	for _, w := range lowerWords(text) {
		if stems[a.term(w)] {
			return true
		}
	}
	return false
}

// objectWords stand right after a verb of changing that asks to change something: a determiner or
// a possessive ("change my address", "cambiar el día", "modifier mon adresse", "canviar l'adreça").
var objectWords = wordSet(`my the our your a an this that it its
	el la los las lo mi mis tu tus su sus un una
	mon ma mes ton ta tes son sa ses le la les l un une
	el la els les l meu meva meus meves teu teva seu seva un una`)

// changeRequest finds the words of a visitor's message, read in any of langs, that ask to change
// something: a verb of changing (changeRequests) followed by its object (objectWords). It returns
// the message without them ("how do I change my password?" is a question about the password,
// whatever else changes in the articles) and whether there were any; "will the price change?"
// asks to change nothing. The idiom of changing one's mind ("I changed my mind") is dropped too:
// neither a request nor a subject.
func changeRequest(text string, langs []string) (rest string, ok bool) {
	ws := lowerWords(text)
	keep := make([]string, 0, len(ws))
	dropped := false
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		if !slices.ContainsFunc(langs, func(l string) bool { return modifyStems[primaryTag(l)][analyzerFor(l).term(w)] }) {
			keep = append(keep, w)
			continue
		}
		mind := 0
		for j := i + 1; j < len(ws) && j <= i+3 && mind == 0; j++ {
			if mindWords[Fold(ws[j])] {
				mind = j
			}
		}
		switch {
		case mind > 0:
			// "I changed my mind": neither a request nor a subject.
			keep = append(keep, ws[i+1:mind]...)
			i, dropped = mind, true
		case i+1 < len(ws) && objectWords[Fold(ws[i+1])] && slices.ContainsFunc(langs, func(l string) bool { return changeRequestStems[primaryTag(l)][analyzerFor(l).term(w)] }):
			ok, dropped = true, true
		default:
			keep = append(keep, w)
		}
	}
	if !dropped {
		return text, false
	}
	return strings.Join(keep, " "), ok
}

// asksModify reports whether a visitor's message asks to change something (changeRequest).
func asksModify(text string, langs []string) bool {
	_, ok := changeRequest(text, langs)
	return ok
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[Fold(w)] = true
	}
	return m
}
