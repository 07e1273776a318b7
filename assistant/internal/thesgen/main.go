// Command thesgen converts MyThes thesauri (the LibreOffice thesauri Debian ships in the
// mythes-en-us, mythes-es, mythes-fr and mythes-ca packages, under /usr/share/mythes) into the
// compact files the assistant embeds (assistant/thesaurus/LANG.txt.gz): one line per headword,
// "head|synonym|synonym...", lowercase single words only, the first senses only, antonyms and
// broader ("generic") terms left out. Run it through go generate in package assistant:
//
//	apt-get install mythes-en-us mythes-es mythes-fr mythes-ca
//	go generate ./assistant/
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// Sizes that keep the data compact and the synonyms close: the first senses of a word are its
// most common ones (WordNet's order for English).
const (
	maxSenses   = 3
	maxSynonyms = 12
)

func main() {
	dir := flag.String("dir", "/usr/share/mythes", "directory of the MyThes .dat files")
	out := flag.String("out", "thesaurus", "output directory")
	flag.Parse()
	files := map[string]string{"en": "th_en_US_v2.dat", "es": "th_es_ES_v2.dat", "fr": "thes_fr.dat", "ca": "th_ca_ES_v3.dat"}
	for _, lang := range []string{"en", "es", "fr", "ca"} {
		n, err := convert(filepath.Join(*dir, files[lang]), filepath.Join(*out, lang+".txt.gz"))
		if err != nil {
			log.Fatalf("%s: %v", lang, err)
		}
		fmt.Printf("%s: %d headwords\n", lang, n)
	}
}

func convert(src, dst string) (int, error) {
	raw, err := os.ReadFile(src)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(string(raw), "\n")
	latin1 := strings.Contains(strings.ToUpper(lines[0]), "8859")
	if latin1 {
		var b strings.Builder
		for _, c := range raw {
			b.WriteRune(rune(c))
		}
		lines = strings.Split(b.String(), "\n")
	}
	var buf bytes.Buffer
	n := 0
	for i := 1; i < len(lines); {
		head, count, ok := strings.Cut(strings.TrimSpace(lines[i]), "|")
		i++
		if !ok {
			continue
		}
		var senses int
		fmt.Sscan(count, &senses)
		var syns []string
		for s := 0; s < senses && i < len(lines); s, i = s+1, i+1 {
			if s >= maxSenses {
				continue
			}
			for _, f := range strings.Split(lines[i], "|")[1:] {
				if strings.Contains(f, "(antonym)") || strings.Contains(f, "(generic term)") {
					continue
				}
				f = strings.TrimSpace(f)
				if w, ok := word(f); ok && w != strings.ToLower(head) && !slices.Contains(syns, w) && len(syns) < maxSynonyms {
					syns = append(syns, w)
				}
			}
		}
		h, ok := word(head)
		if !ok || len(syns) == 0 {
			continue
		}
		buf.WriteString(h + "|" + strings.Join(syns, "|") + "\n")
		n++
	}
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	w := bufio.NewWriter(zw)
	w.Write(buf.Bytes())
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return n, f.Close()
}

// word returns a lowercase single word of at least three letters, or false (phrases, proper
// nouns, abbreviations, words with digits or marks).
func word(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len([]rune(s)) < 3 {
		return "", false
	}
	for i, r := range s {
		if !unicode.IsLetter(r) || (i == 0 && unicode.IsUpper(r)) {
			return "", false
		}
	}
	return strings.ToLower(s), true
}
