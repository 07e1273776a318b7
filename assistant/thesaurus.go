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

// thesaurus holds, by language, the stems of the headwords with their synonyms (lowercase words,
// separated by "|"; the synonyms of headwords that share a stem joined in file order), read through
// synonyms. Each language's table is sorted by stem, front-coded in blocks, and stores each
// distinct synonym once, the synonyms of a stem as numbers of words (synonymIndex): 2.6 MB of heap
// for the four languages, against 9.9 MB for the former maps of stem -> synonyms pointing into
// one string per language (4.8 MB of it the maps' tables), and 14.8 MB before that
// (TestThesaurusHeap, TestMemoryHeap).
var thesaurus = sync.OnceValue(loadThesaurus)

// loadThesaurus reads the embedded thesauri into thesaurus's tables.
func loadThesaurus() map[string]*synonymIndex {
	out := map[string]*synonymIndex{}
	for lang, text := range thesaurusTexts() {
		out[lang] = synonymTable(analyzerFor(lang), text)
	}
	return out
}

// synonymIndex is one language's thesaurus: its stems in sorted order, each with the synonyms of
// the headwords of that stem. Each stem's payload in stems is the uvarint number of its synonyms
// (at least one), then the uvarint number of each synonym in words.
//
// The words are the distinct synonyms, numbered in the order they first come, each stored as its
// uvarint length and its bytes; wordAt holds where every wordBlock-th starts.
type synonymIndex struct {
	stems  keyTable
	words  string
	wordAt []uint32 // word i*wordBlock starts at words[wordAt[i]]
}

const wordBlock = 8

// len returns the number of stems.
func (si *synonymIndex) len() int { return si.stems.n }

// find returns where the synonyms of stem start in si.stems.data (for synonymsAt).
func (si *synonymIndex) find(stem string) (at int, ok bool) {
	if si == nil {
		return 0, false
	}
	return si.stems.find(stem, si.skipSynonyms)
}

// skipSynonyms returns where the synonyms that start at si.stems.data[at] end.
func (si *synonymIndex) skipSynonyms(at int) int {
	data := si.stems.data
	count, i := uvarintIn(data, at)
	for range count {
		for data[i] >= 0x80 {
			i++
		}
		i++
	}
	return i
}

// synonymsAt returns the synonyms that start at si.stems.data[at], separated by "|".
func (si *synonymIndex) synonymsAt(at int) string {
	data := si.stems.data
	count, first := uvarintIn(data, at)
	size := max(int(count)-1, 0)
	for k, i := uint64(0), first; k < count; k++ {
		w, next := uvarintIn(data, i)
		size += len(si.word(w))
		i = next
	}
	var b strings.Builder
	b.Grow(size)
	for k, i := uint64(0), first; k < count; k++ {
		w, next := uvarintIn(data, i)
		if k > 0 {
			b.WriteByte('|')
		}
		b.WriteString(si.word(w))
		i = next
	}
	return b.String()
}

// word returns word w.
func (si *synonymIndex) word(w uint64) string {
	i := int(si.wordAt[w/wordBlock])
	for range w % wordBlock {
		n, next := uvarintIn(si.words, i)
		i = next + int(n)
	}
	n, i := uvarintIn(si.words, i)
	return si.words[i : i+int(n)]
}

// all yields every stem with its synonyms, in order.
func (si *synonymIndex) all() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for stem, at := range si.stems.all(si.skipSynonyms) {
			if !yield(stem, si.synonymsAt(at)) {
				return
			}
		}
	}
}

// keyTable is a sorted set of keys, each followed by a payload of its owner's, front-coded in
// blocks of keyBlock keys: an entry is the uvarint number of leading bytes its key shares with the
// key before it in the block (0 for a block's first), the uvarint length of the rest of the key,
// the rest, then the payload. A look-up bisects the blocks by their first key and reads one block;
// it needs to know where a payload ends (skip).
type keyTable struct {
	data   string
	blocks []uint32 // block b is data[blocks[b]:blocks[b+1]]; one more than there are blocks
	n      int      // keys
}

const keyBlock = 8

// find returns where the payload of key starts in t.data.
func (t *keyTable) find(key string, skip func(at int) int) (at int, ok bool) {
	// The last block whose first key is not after key.
	b := sort.Search(len(t.blocks)-1, func(b int) bool {
		_, i := uvarintIn(t.data, int(t.blocks[b])) // 0: nothing shared
		n, i := uvarintIn(t.data, i)
		return t.data[i:i+int(n)] > key
	}) - 1
	if b < 0 {
		return 0, false
	}
	var buf [64]byte
	cur := buf[:0]
	for i, end := int(t.blocks[b]), int(t.blocks[b+1]); i < end; i = skip(i) {
		shared, next := uvarintIn(t.data, i)
		n, next := uvarintIn(t.data, next)
		cur = append(cur[:shared], t.data[next:next+int(n)]...)
		i = next + int(n)
		switch c := compareBytes(cur, key); {
		case c == 0:
			return i, true
		case c > 0:
			return 0, false
		}
	}
	return 0, false
}

// all yields every key with where its payload starts, in order.
func (t *keyTable) all(skip func(at int) int) iter.Seq2[string, int] {
	return func(yield func(string, int) bool) {
		var cur []byte
		for i := 0; i < len(t.data); i = skip(i) {
			shared, next := uvarintIn(t.data, i)
			n, next := uvarintIn(t.data, next)
			cur = append(cur[:shared], t.data[next:next+int(n)]...)
			i = next + int(n)
			if !yield(string(cur), i) {
				return
			}
		}
	}
}

// keyTableBuilder writes a keyTable: key, then the key's payload appended to buf, for each key in
// increasing order, then done.
type keyTableBuilder struct {
	t    keyTable
	buf  []byte
	prev string
}

// key starts the entry of k, which is greater than the keys before it.
func (b *keyTableBuilder) key(k string) {
	shared := 0
	if b.t.n%keyBlock == 0 {
		b.t.blocks = append(b.t.blocks, uint32(len(b.buf)))
	} else {
		for shared < len(k) && shared < len(b.prev) && k[shared] == b.prev[shared] {
			shared++
		}
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(k)-shared))
	b.buf = append(b.buf, k[shared:]...)
	b.t.n++
	b.prev = k
}

// done returns the table.
func (b *keyTableBuilder) done() keyTable {
	t := b.t
	t.blocks = slices.Clip(append(t.blocks, uint32(len(b.buf))))
	t.data = string(b.buf)
	return t
}

// compareBytes is strings.Compare(string(b), s) without the conversion.
func compareBytes(b []byte, s string) int {
	for i := 0; i < len(b) && i < len(s); i++ {
		if b[i] != s[i] {
			return int(b[i]) - int(s[i])
		}
	}
	return len(b) - len(s)
}

// uvarintIn decodes the uvarint at s[i:] (as encoding/binary writes it) and returns it with the
// index after it.
func uvarintIn(s string, i int) (uint64, int) {
	var v uint64
	for shift := 0; ; shift += 7 {
		c := s[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i
		}
	}
}

// synonymTable returns the synonymIndex of one thesaurus text ("head|syn|syn" lines): the lines
// are ordered by their head's stem (stably, so file order within a stem), and each stem is stored
// once with the synonyms of its lines.
func synonymTable(a *analyzer, text string) *synonymIndex {
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

	var kb keyTableBuilder
	num := make(map[string]uint64, len(lines)) // word -> its number
	var words []string
	for i := 0; i < len(lines); {
		kb.key(lines[i].stem)
		// The synonyms of the lines of this stem: their count, then their numbers.
		j, count := i, 0
		for ; j < len(lines) && lines[j].stem == lines[i].stem; j++ {
			count += strings.Count(lines[j].syns, "|") + 1
		}
		kb.buf = binary.AppendUvarint(kb.buf, uint64(count))
		for ; i < j; i++ {
			for w := range strings.SplitSeq(lines[i].syns, "|") {
				n, ok := num[w]
				if !ok {
					n = uint64(len(words))
					num[w] = n
					words = append(words, w)
				}
				kb.buf = binary.AppendUvarint(kb.buf, n)
			}
		}
	}
	si := &synonymIndex{stems: kb.done()}

	size := 0
	for _, w := range words {
		size += binary.MaxVarintLen64 + len(w)
	}
	wb := make([]byte, 0, size)
	si.wordAt = make([]uint32, 0, (len(words)+wordBlock-1)/wordBlock)
	for i, w := range words {
		if i%wordBlock == 0 {
			si.wordAt = append(si.wordAt, uint32(len(wb)))
		}
		wb = binary.AppendUvarint(wb, uint64(len(w)))
		wb = append(wb, w...)
	}
	si.words = string(wb)
	return si
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
// separated by "|" ("" when none, or no thesaurus for lang).
func synonyms(lang, stem string) string {
	si := thesaurus()[primaryTag(lang)]
	if at, ok := si.find(stem); ok {
		return si.synonymsAt(at)
	}
	return ""
}

// hasSynonyms reports whether synonyms(lang, stem) is not "" (every stem of a table has synonyms).
func hasSynonyms(lang, stem string) bool {
	_, ok := thesaurus()[primaryTag(lang)].find(stem)
	return ok
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
// dictionaryLanguage). One front-coded table of the sorted words, each with its language: 0.6 MB of
// heap, against 1.2 MB for one string of the words with offsets and 5.7 MB for the former maps of
// language -> folded headword -> true (TestThesaurusHeap, TestMemoryHeap).
var thesaurusWords = sync.OnceValue(loadThesaurusWords)

// dictionary lists words in sorted order, each with one language.
type dictionary struct {
	words keyTable // payload: one byte, the number of the word's language in names
	names []string
}

// len returns the number of words.
func (d *dictionary) len() int { return d.words.n }

// skipByte is a keyTable's skip when every payload is one byte.
func skipByte(at int) int { return at + 1 }

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
	// Keep each word whose entries (adjacent now) all have one language, once, in order.
	var kb keyTableBuilder
	for i := 0; i < len(entries); {
		j, one := i+1, true
		for ; j < len(entries) && entries[j].word == entries[i].word; j++ {
			one = one && entries[j].lang == entries[i].lang
		}
		if one {
			kb.key(entries[i].word)
			kb.buf = append(kb.buf, entries[i].lang)
		}
		i = j
	}
	d.words = kb.done()
	return d
}

// dictionaryLanguage returns the one language whose thesaurus has the folded word as a headword,
// or "" when none or several do.
func dictionaryLanguage(folded string) string {
	d := thesaurusWords()
	at, found := d.words.find(folded, skipByte)
	if !found {
		return ""
	}
	return d.names[d.words.data[at]]
}
