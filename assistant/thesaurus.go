package assistant

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"io"
	"iter"
	"math"
	"path"
	"slices"
	"sort"
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
// "|"; the synonyms of headwords that share a stem joined in file order). Keys and values are
// pieces of one string per language that holds each stem once followed by its synonyms (no
// headwords, no copy for joined lines): 10.0 MB of heap for the four languages, against 15.0 MB
// when the values were pieces of the decompressed file and the keys strings of their own
// (TestThesaurusHeap); 4.8 MB of it are the maps' tables. The maps stay because places.go and kb.go
// index them; read through synonyms instead, they could give way to a sorted table of offsets into
// the same strings (about 0.6 MB).
var thesaurus = sync.OnceValue(loadThesaurus)

// loadThesaurus reads the embedded thesauri into thesaurus's maps.
func loadThesaurus() map[string]map[string]string {
	out := map[string]map[string]string{}
	for lang, text := range thesaurusTexts() {
		out[lang] = synonymTable(analyzerFor(lang), text)
	}
	return out
}

// synonymTable returns the stem -> synonyms map of one thesaurus text ("head|syn|syn" lines):
// the lines are ordered by their head's stem (stably, so file order within a stem), and each stem
// with the synonyms of its lines is copied once into one string the map's keys and values share.
func synonymTable(a *analyzer, text string) map[string]string {
	type line struct{ stem, syns string }
	lines := make([]line, 0, strings.Count(text, "\n")+1)
	for l := range strings.Lines(text) {
		head, syns, ok := strings.Cut(strings.TrimSuffix(l, "\n"), "|")
		if !ok || syns == "" {
			continue
		}
		lines = append(lines, line{a.term(head), syns})
	}
	slices.SortStableFunc(lines, func(x, y line) int { return strings.Compare(x.stem, y.stem) })
	size, stems := 0, 0
	for i, l := range lines {
		if i == 0 || l.stem != lines[i-1].stem {
			size += len(l.stem)
			stems++
		} else {
			size++ // the "|" joining two lines' synonyms
		}
		size += len(l.syns)
	}
	// starts[2k], starts[2k+1]: where the k-th stem and its synonyms start; starts[2k+2] (or the
	// end) where they end.
	starts := make([]int, 0, 2*stems)
	var b strings.Builder
	b.Grow(size)
	for i, l := range lines {
		if i == 0 || l.stem != lines[i-1].stem {
			starts = append(starts, b.Len())
			b.WriteString(l.stem)
			starts = append(starts, b.Len())
		} else {
			b.WriteByte('|')
		}
		b.WriteString(l.syns)
	}
	blob := b.String()
	starts = append(starts, len(blob))
	m := map[string]string{} // not make(…, stems): the hint rounds every table up, 0.5 MB more
	for k := 0; k+2 < len(starts); k += 2 {
		m[blob[starts[k]:starts[k+1]]] = blob[starts[k+1]:starts[k+2]]
	}
	return m
}

// thesaurusTexts yields the language and the decompressed text of each embedded thesaurus file,
// in file name order; a file that cannot be read is left out.
func thesaurusTexts() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
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
			if !yield(lang, text) {
				return
			}
		}
	}
}

// readThesaurus returns the decompressed text of one embedded thesaurus file.
func readThesaurus(name string) (string, error) {
	gz, err := thesaurusFiles.ReadFile(path.Join("thesaurus", name))
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", err
	}
	defer zr.Close()
	var sb strings.Builder
	// A gzip file ends with the size of its data (ISIZE, modulo 4 GiB): room for the text at once,
	// rather than growing and copying it a dozen times.
	if len(gz) >= 4 {
		if size := binary.LittleEndian.Uint32(gz[len(gz)-4:]); size <= 1<<28 {
			sb.Grow(int(size))
		}
	}
	if _, err := io.Copy(&sb, zr); err != nil {
		return "", err
	}
	return sb.String(), nil
}

// synonyms returns the synonyms of the headwords whose stem is stem in lang's thesaurus,
// separated by "|" ("" when none, or no thesaurus for lang): thesaurus()[primaryTag(lang)][stem].
func synonyms(lang, stem string) string {
	return thesaurus()[primaryTag(lang)][stem]
}

// synonymTerms returns the terms the index knows among the synonyms of word (lowercase, read in
// lang): their stems and lexicon concepts that have postings.
func (idx *index) synonymTerms(lang, word string) []string {
	a := analyzerFor(lang)
	var out []string
	for syn := range strings.SplitSeq(synonyms(lang, a.term(word)), "|") {
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

// thesaurusWords is a dictionary of the words only one language has: the folded headwords that
// exactly one thesaurus has, for telling which language a message is in (languageScores through
// dictionaryLanguage). One string of the sorted words and two slices, searched by bisection: 1.2 MB
// of heap, against 5.7 MB for the former maps of language -> folded headword -> true
// (TestThesaurusHeap).
var thesaurusWords = sync.OnceValue(loadThesaurusWords)

// dictionary lists words in sorted order, each with one language.
type dictionary struct {
	words  string   // the words, concatenated in sorted order
	starts []uint32 // word i is words[starts[i]:starts[i+1]]; one more than there are words
	langs  []uint8  // word i is a word of language names[langs[i]]
	names  []string
}

// len returns the number of words.
func (d *dictionary) len() int { return len(d.langs) }

// word returns word i.
func (d *dictionary) word(i int) string { return d.words[d.starts[i]:d.starts[i+1]] }

// loadThesaurusWords reads the headwords of the embedded thesauri into thesaurusWords's
// dictionary, leaving out the words more than one language has.
func loadThesaurusWords() *dictionary {
	type entry struct {
		word string
		lang uint8
	}
	d := &dictionary{}
	var entries []entry
	for lang, text := range thesaurusTexts() {
		if len(d.names) > math.MaxUint8 {
			break // not with four files
		}
		l := uint8(len(d.names))
		d.names = append(d.names, lang)
		entries = slices.Grow(entries, strings.Count(text, "\n")+1)
		for line := range strings.Lines(text) {
			// Lines as bufio.ScanLines reads them: without "\n", nor a "\r" before it.
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			head, _, _ := strings.Cut(line, "|")
			entries = append(entries, entry{Fold(head), l})
		}
	}
	slices.SortFunc(entries, func(x, y entry) int {
		if c := strings.Compare(x.word, y.word); c != 0 {
			return c
		}
		return int(x.lang) - int(y.lang)
	})
	// Keep each word whose entries (adjacent now) all have one language, once.
	kept := entries[:0]
	for i := 0; i < len(entries); {
		j, one := i+1, true
		for ; j < len(entries) && entries[j].word == entries[i].word; j++ {
			one = one && entries[j].lang == entries[i].lang
		}
		if one {
			kept = append(kept, entries[i])
		}
		i = j
	}
	size := 0
	for _, e := range kept {
		size += len(e.word)
	}
	var b strings.Builder
	b.Grow(size)
	d.starts = make([]uint32, 0, len(kept)+1)
	d.langs = make([]uint8, 0, len(kept))
	for _, e := range kept {
		d.starts = append(d.starts, uint32(b.Len()))
		d.langs = append(d.langs, e.lang)
		b.WriteString(e.word)
	}
	d.starts = append(d.starts, uint32(b.Len()))
	d.words = b.String()
	return d
}

// dictionaryLanguage returns the one language whose thesaurus has the folded word as a headword,
// or "" when none or several do.
func dictionaryLanguage(folded string) string {
	d := thesaurusWords()
	i, found := sort.Find(d.len(), func(i int) int { return strings.Compare(folded, d.word(i)) })
	if !found {
		return ""
	}
	return d.names[d.langs[i]]
}
