package assistant

import (
	"bufio"
	"compress/gzip"
	"embed"
	"io"
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

// thesaurus maps language -> stem of a headword -> its synonyms (lowercase words, separated by
// "|"). The values are pieces of one string per language (the decompressed file), not a slice of
// strings each: about 30 MB less of heap for the four languages.
var thesaurus = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	entries, _ := thesaurusFiles.ReadDir("thesaurus")
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".txt.gz")
		if !ok {
			continue
		}
		text, err := readThesaurus(e.Name())
		if err != nil {
			continue
		}
		a := analyzerFor(lang)
		m := map[string]string{}
		for line := range strings.Lines(text) {
			head, syns, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "|")
			if !ok || syns == "" {
				continue
			}
			st := a.term(head)
			if prev, dup := m[st]; dup {
				syns = prev + "|" + syns
			}
			m[st] = syns
		}
		out[lang] = m
	}
	return out
})

// readThesaurus returns the decompressed text of one embedded thesaurus file.
func readThesaurus(name string) (string, error) {
	f, err := thesaurusFiles.Open(path.Join("thesaurus", name))
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	defer zr.Close()
	var sb strings.Builder
	if _, err := io.Copy(&sb, zr); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// synonymTerms returns the terms the index knows among the synonyms of word (lowercase, read in
// lang): their stems and lexicon concepts that have postings.
func (idx *index) synonymTerms(lang, word string) []string {
	th := thesaurus()[primaryTag(lang)]
	if th == nil {
		return nil
	}
	a := analyzerFor(lang)
	var out []string
	for syn := range strings.SplitSeq(th[a.term(word)], "|") {
		if syn == "" {
			continue
		}
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
