package assistant

import (
	"bufio"
	"compress/gzip"
	"embed"
	"path"
	"strings"
	"sync"
)

// The thesaurus gives a visitor's word that the knowledge base never uses the words it does use
// for the same thing ("erase" -> "delete", "factura" -> "recibo"). It is general data, not a list
// written for any knowledge base: the LibreOffice thesauri (MyThes) of English (from Princeton
// WordNet), Spanish, French and Catalan, as Debian packages them, converted by
// internal/thesgen into one line per headword with the synonyms of its first senses. See
// thesaurus/README.md for the sources and licenses.
//
//go:generate go run ./internal/thesgen -out thesaurus
//go:embed thesaurus/*.txt.gz
var thesaurusFiles embed.FS

// thesFactor scales a term reached through a synonym, below a typo correction: a synonym of one
// sense may be a stranger to another.
const thesFactor = 0.7

// thesMatchShare is the share of a synonym's weight that counts towards a passage's Match (the
// confidence that it answers): a word reached only through a synonym ranks passages, but on its
// own it seldom makes an answer sure (measured on the old set's tuning split: at 1, questions
// about products the articles do not cover matched through synonyms of "offer" or "card").
var thesMatchShare = 0.5

// thesaurus maps language -> stem of a headword -> its synonyms (lowercase words).
var thesaurus = sync.OnceValue(func() map[string]map[string][]string {
	out := map[string]map[string][]string{}
	entries, _ := thesaurusFiles.ReadDir("thesaurus")
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt.gz")
		if !ok {
			continue
		}
		f, err := thesaurusFiles.Open(path.Join("thesaurus", e.Name()))
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		a := analyzerFor(lang)
		m := map[string][]string{}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			fields := strings.Split(sc.Text(), "|")
			if len(fields) < 2 {
				continue
			}
			st := a.term(fields[0])
			m[st] = append(m[st], fields[1:]...)
		}
		zr.Close()
		f.Close()
		out[lang] = m
	}
	return out
})

// synonymTerms returns the terms the index knows among the synonyms of word (lowercase, read in
// lang): their stems and lexicon concepts that have postings.
func (idx *index) synonymTerms(lang, word string) []string {
	th := thesaurus()[primaryTag(lang)]
	if th == nil {
		return nil
	}
	a := analyzerFor(lang)
	var out []string
	for _, syn := range th[a.term(word)] {
		t := a.term(syn)
		if len(idx.postings[t]) > 0 {
			out = append(out, t)
		}
		for _, c := range kbLexicon.concepts(lang, syn, t) {
			if len(idx.postings[c]) > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// thesaurusWords maps language -> the folded headwords of its thesaurus: a dictionary of the
// language's words, for telling which language a message is in (languageScores).
var thesaurusWords = sync.OnceValue(func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	entries, _ := thesaurusFiles.ReadDir("thesaurus")
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt.gz")
		if !ok {
			continue
		}
		f, err := thesaurusFiles.Open(path.Join("thesaurus", e.Name()))
		if err != nil {
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			continue
		}
		m := map[string]bool{}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			head, _, _ := strings.Cut(sc.Text(), "|")
			m[Fold(head)] = true
		}
		zr.Close()
		f.Close()
		out[lang] = m
	}
	return out
})

// dictionaryLanguage returns the one language whose thesaurus has the folded word as a headword,
// or "" when none or several do.
func dictionaryLanguage(folded string) string {
	found := ""
	for lang, m := range thesaurusWords() {
		if m[folded] {
			if found != "" {
				return ""
			}
			found = lang
		}
	}
	return found
}
