package assistant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Passage is one chunk of a knowledge-base article, as returned by Search.
type Passage struct {
	Title   string  // article title (front matter "title" or first heading)
	Section string  // heading of the section the chunk belongs to, "" for the article's top
	URL     string  // link to the article (or its section anchor)
	Text    string  // the chunk: one or a few paragraphs, at most the chunk size cap
	Lang    string  // primary language subtag: front matter "lang", else detected; "" when unknown
	File    string  // path relative to the knowledge-base directory
	Score   float64 // BM25 score
	// Match is 0..1: the share of the question's weight found in the chunk, each content word of the
	// question weighing the rarity of its best known term (stem, concept or typo correction); a
	// word the knowledge base never uses weighs a fixed small amount instead of the most.
	Match float64
	// Similarity is the cosine of the question's and the chunk's embeddings (Retrieve with
	// embeddings), 0 otherwise.
	Similarity float64
	// Unknown is the share of the question's words that the knowledge base does not use, nor any
	// near spelling or synonym of them (stop words aside): how much of the question is about
	// something it never mentions.
	Unknown float64
	// Thin: the question has two words or more (stop words aside) and the passage has only one of
	// them ("opening hours" against a passage that says "one hour"), or has only places and words
	// reached through synonyms ("the capital of Canada" against "we ship to Canada"): at most a
	// weak match.
	Thin bool
	// Lead is the rank of the best passage of another article in this passage's language as a
	// share of this passage's rank (Find, for the first passage only; 1 for the others): near 0
	// when this article stands alone, 1 for a tie. A passage that leads clearly is a plausible answer even when the
	// question's other words are ones the articles never use.
	Lead float64
	// Named: the question names every content word of the passage's section heading (of the
	// article's title for its top), two or more of them ("sauter la prochaine livraison" and
	// "Skip a delivery"): what the passage is about is what the visitor asks.
	Named bool
	// PlaceOnly: the question has two words or more and the passage has only the places among them,
	// and words reached through synonyms ("what's the capital of Canada?" against "we ship to
	// Canada"; "capital" reaches "customs" as a synonym): no answer, not even an offer.
	PlaceOnly bool
	// Words is how many words of the question the passage has (each by its stem, a concept or a
	// typo correction; places and words reached only through synonyms aside).
	Words int
	// Modifies: the passage says how something is changed (a verb of changing: change, update,
	// edit, reset, cambiar, modifier...).
	Modifies bool
	// Questions are questions the article's owner listed ("questions:" in the front matter) that
	// this chunk answers: indexed with it, never shown.
	Questions string
	// doc is the passage's place in the index it came from (Translation).
	doc int32
}

// KnowledgeBase is an in-memory BM25 index over the Markdown and text files of a directory. It is
// safe for concurrent use; Reload and Run swap the index atomically.
type KnowledgeBase struct {
	dir  string
	opts kbOptions

	mu    sync.RWMutex
	idx   *index
	stamp string // file names, sizes and mtimes of the loaded version

	embedCalls atomic.Int64
}

// KBOption configures LoadKnowledgeBase.
type KBOption func(*kbOptions)

type kbOptions struct {
	baseURL   string
	chunkSize int
	embedder  Embedder
	cache     EmbeddingCache
	// noSynonyms turns the thesaurus off (WithSynonyms(false)).
	noSynonyms bool
}

// WithSynonyms turns the thesaurus expansion of question words on (the default) or off: a word of
// the question that the articles never use also matches the articles' words for the same thing.
func WithSynonyms(on bool) KBOption {
	return func(o *kbOptions) { o.noSynonyms = !on }
}

// WithBaseURL links articles without a "url:" front-matter line to baseURL + their path without
// extension ("shipping/returns.md" -> baseURL + "/shipping/returns").
func WithBaseURL(baseURL string) KBOption {
	return func(o *kbOptions) { o.baseURL = strings.TrimRight(baseURL, "/") }
}

// WithChunkSize caps a chunk's text at n characters (default 700).
func WithChunkSize(n int) KBOption {
	return func(o *kbOptions) {
		if n > 0 {
			o.chunkSize = n
		}
	}
}

// LoadKnowledgeBase reads every .md, .markdown and .txt file under dir (recursively) and indexes
// it. An article's title comes from its front matter ("title:") or its first heading, its link
// from a "url:" front-matter line or WithBaseURL. Articles are chunked by headings and paragraphs.
func LoadKnowledgeBase(dir string, opts ...KBOption) (*KnowledgeBase, error) {
	kb := &KnowledgeBase{dir: dir, opts: kbOptions{chunkSize: 700}}
	for _, o := range opts {
		o(&kb.opts)
	}
	if _, err := kb.Reload(); err != nil && !errors.Is(err, errEmbed) {
		return nil, err
	}
	return kb, nil
}

// NewKnowledgeBase indexes articles given in memory (tests, embedded content), keyed by file name;
// the name stands in for the title and the link path when the content gives neither.
func NewKnowledgeBase(files map[string]string, opts ...KBOption) *KnowledgeBase {
	kb := &KnowledgeBase{opts: kbOptions{chunkSize: 700}}
	for _, o := range opts {
		o(&kb.opts)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var chunks []Passage
	for _, n := range names {
		chunks = append(chunks, parseArticle(n, files[n], kb.opts)...)
	}
	kb.idx, _ = kb.build(chunks)
	return kb
}

// build indexes chunks and, with embeddings, embeds them. An embedding failure leaves a lexical
// index and an error wrapping errEmbed.
func (kb *KnowledgeBase) build(chunks []Passage) (*index, error) {
	idx := buildIndex(chunks)
	if !kb.opts.noSynonyms {
		idx.synonyms = true
		thesaurus() // loaded once, here rather than in the first question
	}
	if kb.opts.embedder == nil || len(chunks) == 0 {
		return idx, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), embedTimeout)
	defer cancel()
	vecs, calls, err := embedDocs(ctx, kb.opts, chunks)
	kb.embedCalls.Add(int64(calls))
	if err != nil {
		return idx, err
	}
	idx.vecs = vecs
	return idx, nil
}

// EmbeddingCalls returns the number of embedding requests made for the knowledge base's chunks
// (cached vectors cost none).
func (kb *KnowledgeBase) EmbeddingCalls() int64 { return kb.embedCalls.Load() }

// Len returns the number of indexed chunks.
func (kb *KnowledgeBase) Len() int {
	kb.mu.RLock()
	defer kb.mu.RUnlock()
	return len(kb.idx.docs)
}

// Reload re-reads the directory when a file was added, removed or modified since the last load,
// and reports whether it did. On error the previous index is kept.
func (kb *KnowledgeBase) Reload() (bool, error) {
	if kb.dir == "" {
		return false, nil
	}
	files, stamp, err := scanDir(kb.dir)
	if err != nil {
		return false, fmt.Errorf("load knowledge base: %w", err)
	}
	kb.mu.RLock()
	same := kb.idx != nil && stamp == kb.stamp
	kb.mu.RUnlock()
	if same {
		return false, nil
	}
	var chunks []Passage
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(kb.dir, f))
		if err != nil {
			return false, fmt.Errorf("load knowledge base: %w", err)
		}
		chunks = append(chunks, parseArticle(filepath.ToSlash(f), string(b), kb.opts)...)
	}
	idx, err := kb.build(chunks)
	if err != nil {
		// Lexical search works meanwhile; the stamp is not kept, so the next Reload embeds again.
		kb.mu.Lock()
		kb.idx = idx
		kb.mu.Unlock()
		return true, fmt.Errorf("load knowledge base: %w", err)
	}
	kb.mu.Lock()
	kb.idx, kb.stamp = idx, stamp
	kb.mu.Unlock()
	return true, nil
}

// Run polls the directory every interval (default 5s) and reloads it when it changed, until ctx is
// done. Errors are reported to onError (may be nil) and the previous index is kept.
func (kb *KnowledgeBase) Run(ctx context.Context, interval time.Duration, onError func(error)) error {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := kb.Reload(); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

func scanDir(dir string) ([]string, string, error) {
	var files []string
	var stamp strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".md", ".markdown", ".txt":
		default:
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files = append(files, rel)
		fmt.Fprintf(&stamp, "%s\x00%d\x00%d\n", rel, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return files, stamp.String(), err
}

// parseArticle splits one file into chunks.
func parseArticle(name, content string, o kbOptions) []Passage {
	content = strings.ReplaceAll(content, "\r\n", "\n")
	meta, body := frontMatter(content)
	title := meta["title"]
	lines := strings.Split(body, "\n")
	if title == "" {
		for i, l := range lines {
			if h, ok := heading(l); ok {
				title, _ = headingAnchor(h)
				lines = slices.Delete(lines, i, i+1)
				break
			}
		}
	}
	if title == "" {
		title = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	lang := primaryTag(meta["lang"])
	if lang == "" {
		lang = DetectLanguage(title + "\n" + body)
	}
	url := meta["url"]
	if url == "" && o.baseURL != "" {
		url = o.baseURL + "/" + strings.TrimSuffix(name, filepath.Ext(name))
	}

	var out []Passage
	section, anchor := "", ""
	explicit := meta["anchors"] == "explicit" // a section links to its {#anchor} only
	var paras []string
	var cur strings.Builder
	flushPara := func() {
		if p := strings.TrimSpace(cur.String()); p != "" {
			paras = append(paras, p)
		}
		cur.Reset()
	}
	flushSection := func() {
		flushPara()
		for _, text := range packParagraphs(paras, o.chunkSize) {
			p := Passage{Title: title, Section: section, URL: url, Text: text, Lang: lang, File: name}
			if section != "" && url != "" && !strings.Contains(url, "#") && (anchor != "" || !explicit) {
				p.URL = url + "#" + cmp.Or(anchor, slug(section))
			}
			out = append(out, p)
		}
		paras = paras[:0]
	}
	for _, l := range lines {
		if h, ok := heading(l); ok {
			flushSection()
			section, anchor = headingAnchor(h)
			continue
		}
		if strings.TrimSpace(l) == "" {
			flushPara()
			continue
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(strings.TrimRight(l, " \t"))
	}
	flushSection()
	if qs := meta["questions"]; qs != "" {
		attachQuestions(out, strings.FieldsFunc(qs, func(r rune) bool { return r == '\n' || r == '|' }), lang)
	}
	return out
}

// frontMatter parses a leading "---" block of "key: value" lines; a key with no value followed by
// "- item" lines (a YAML list, as "questions:") gets its items joined by newlines.
func frontMatter(s string) (map[string]string, string) {
	meta := map[string]string{}
	if !strings.HasPrefix(s, "---\n") {
		return meta, s
	}
	end := strings.Index(s[4:], "\n---")
	if end < 0 {
		return meta, s
	}
	list := ""
	for _, l := range strings.Split(s[4:4+end], "\n") {
		if item, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok && list != "" {
			item = strings.Trim(strings.TrimSpace(item), `"'`)
			if meta[list] != "" {
				meta[list] += "\n"
			}
			meta[list] += item
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		v = strings.Trim(v, `"'`)
		meta[k] = v
		list = ""
		if v == "" {
			list = k
		}
	}
	rest := s[4+end+4:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[i+1:]
	} else {
		rest = ""
	}
	return meta, rest
}

// attachQuestions gives each question an article lists in its front matter ("questions:", the
// words visitors use that the article does not) to the chunk it is closest to: the most of its
// terms in the chunk's heading and text, the article's first chunk when none shares any. A
// chunk's Questions are indexed with it and never shown.
func attachQuestions(chunks []Passage, questions []string, lang string) {
	if len(chunks) == 0 {
		return
	}
	terms := make([]map[string]bool, len(chunks))
	for i, c := range chunks {
		terms[i] = map[string]bool{}
		for _, t := range TermsIn(lang, c.Section+"\n"+c.Text) {
			terms[i][t] = true
		}
	}
	for _, q := range questions {
		q = strings.TrimSpace(q)
		if q == "" {
			continue
		}
		// The question's terms and those of their synonyms (the owner writes the visitor's words).
		qterms := TermsIn(lang, q)
		a := analyzerFor(lang)
		for _, t := range slices.Clone(qterms) {
			for syn := range strings.SplitSeq(synonyms(lang, t), "|") {
				if syn != "" {
					qterms = append(qterms, a.term(syn))
				}
			}
		}
		best, bestN := 0, 0
		for i := range chunks {
			n := 0
			for _, t := range qterms {
				if terms[i][t] {
					n++
				}
			}
			if n > bestN {
				best, bestN = i, n
			}
		}
		if chunks[best].Questions != "" {
			chunks[best].Questions += "\n"
		}
		chunks[best].Questions += q
	}
}

func heading(l string) (string, bool) {
	t := strings.TrimSpace(l)
	if !strings.HasPrefix(t, "#") {
		return "", false
	}
	h := strings.TrimLeft(t, "#")
	if len(t)-len(h) > 6 || (h != "" && h[0] != ' ') {
		return "", false
	}
	h = strings.TrimSpace(h)
	return h, h != ""
}

// headingAnchor splits a heading's explicit anchor off its text ("Shipping costs {#costs}", as
// Pandoc and kramdown write it): the section's link uses it instead of the heading's slug.
func headingAnchor(h string) (text, anchor string) {
	if !strings.HasSuffix(h, "}") {
		return h, ""
	}
	i := strings.LastIndex(h, " {#")
	if i < 0 {
		return h, ""
	}
	id := h[i+3 : len(h)-1]
	if id == "" || strings.ContainsAny(id, "{}# \t") {
		return h, ""
	}
	return strings.TrimSpace(h[:i]), id
}

// packParagraphs groups paragraphs into chunks of at most size characters; a longer paragraph is
// split at sentence ends.
func packParagraphs(paras []string, size int) []string {
	var out []string
	var cur strings.Builder
	emit := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, p := range paras {
		pieces := []string{p}
		if len(p) > size {
			pieces = splitSentences(p, size)
		}
		for _, piece := range pieces {
			if cur.Len() > 0 && cur.Len()+2+len(piece) > size {
				emit()
			}
			if cur.Len() > 0 {
				cur.WriteString("\n\n")
			}
			cur.WriteString(piece)
		}
	}
	emit()
	return out
}

func splitSentences(p string, size int) []string {
	var out []string
	for len(p) > size {
		cut := -1
		for i := 0; i < size-1; i++ {
			if (p[i] == '.' || p[i] == '?' || p[i] == '!' || p[i] == '\n') && (p[i+1] == ' ' || p[i+1] == '\n') {
				cut = i + 1
			}
		}
		if cut <= 0 {
			cut = strings.LastIndexByte(p[:size], ' ')
		}
		if cut <= 0 {
			cut = size
			for cut < len(p) && !isRuneStart(p[cut]) {
				cut++
			}
		}
		out = append(out, strings.TrimSpace(p[:cut]))
		p = strings.TrimSpace(p[cut:])
	}
	if p != "" {
		out = append(out, p)
	}
	return out
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// slug is a GitHub-style heading anchor.
func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Article is a knowledge-base article given by a source other than a folder (the Crisp
// Helpdesk): Markdown content chunked by its headings like a file.
type Article struct {
	Name    string // unique key, also the File of its passages ("helpdesk/es/envios")
	Title   string
	Lang    string // language code; "" detects it
	URL     string // link for "Read more"
	Content string // Markdown
	// Questions the article answers, in the visitor's words (indexed, never shown).
	Questions []string
	// ExplicitAnchors links a section to its heading's own anchor ("## Costs {#costs}") only; a
	// heading without one links to URL. For pages whose anchors are not the headings' slugs
	// (web pages).
	ExplicitAnchors bool
}

// SetArticles replaces the knowledge base's articles (a knowledge base made by NewKnowledgeBase,
// fed by a source such as the Crisp Helpdesk). With embeddings, only chunks whose text changed are
// embedded again (through the cache); an embedding failure keeps the new lexical index and is
// returned.
func (kb *KnowledgeBase) SetArticles(articles []Article) error {
	var chunks []Passage
	for _, a := range articles {
		var fm strings.Builder
		fm.WriteString("---\n")
		anchors := ""
		if a.ExplicitAnchors {
			anchors = "explicit"
		}
		for _, kv := range [][2]string{{"title", a.Title}, {"lang", a.Lang}, {"url", a.URL}, {"anchors", anchors}} {
			if v := strings.TrimSpace(strings.ReplaceAll(kv[1], "\n", " ")); v != "" {
				fmt.Fprintf(&fm, "%s: %s\n", kv[0], v)
			}
		}
		if len(a.Questions) > 0 {
			fm.WriteString("questions:\n")
			for _, q := range a.Questions {
				if q = strings.TrimSpace(strings.ReplaceAll(q, "\n", " ")); q != "" {
					fmt.Fprintf(&fm, "  - %s\n", q)
				}
			}
		}
		fm.WriteString("---\n")
		chunks = append(chunks, parseArticle(a.Name, fm.String()+a.Content, kb.opts)...)
	}
	idx, err := kb.build(chunks)
	kb.mu.Lock()
	kb.idx = idx
	kb.mu.Unlock()
	if err != nil {
		return fmt.Errorf("set articles: %w", err)
	}
	return nil
}
