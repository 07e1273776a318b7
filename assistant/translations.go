package assistant

import "strings"

// A website that writes its help centre in several languages often has the same section in each
// (a Spanish "Plazo de devolución" for the English "Return window"). The visitor's words may match
// the other language's version better (it may say a sentence more, or the visitor mixes
// languages), and answering with it then says "we only have this in English" when the visitor's
// own version exists. translations pairs such sections: what they are about, read through the
// lexicon's concepts and their numbers, which do not depend on the language.

// translationMin is the least overlap (Jaccard, of their concepts and numbers) of two passages in
// different languages that are each other's closest: the demo's six translated sections overlap
// 0.73 to 1.00; the closest passage that is no translation of it 0.38.
const translationMin = 0.6

// translationMaxDocs: a concept that more passages than this share says nothing of which section
// a passage translates (and would make the pairing quadratic in a large knowledge base).
const translationMaxDocs = 200

// languageNeutral reports a term that is the same whatever the passage's language: a lexicon
// concept or a number.
func languageNeutral(t string) bool {
	return strings.HasPrefix(t, "~") || t != "" && t[0] >= '0' && t[0] <= '9'
}

// findTranslations pairs each document with its version in each other language, if any: the
// passage of that language it overlaps most, when that one overlaps it most in return and the
// overlap reaches translationMin. It returns, per document, its versions' indices.
func findTranslations(docs []Passage, postings map[string][]posting) [][]int32 {
	if len(docs) < 2 {
		return nil
	}
	size := make([]int, len(docs))
	shared := make([]map[int32]int, len(docs))
	for t, ps := range postings {
		if !languageNeutral(t) || len(ps) > translationMaxDocs {
			continue
		}
		for _, p := range ps {
			size[p.doc]++
		}
		for i, p := range ps {
			for _, o := range ps[i+1:] {
				if docs[p.doc].Lang == docs[o.doc].Lang {
					continue
				}
				for _, pair := range [2][2]int32{{p.doc, o.doc}, {o.doc, p.doc}} {
					if shared[pair[0]] == nil {
						shared[pair[0]] = map[int32]int{}
					}
					shared[pair[0]][pair[1]]++
				}
			}
		}
	}
	// best[d][lang]: d's closest passage of lang and their overlap.
	type near struct {
		doc int32
		sim float64
	}
	best := make([]map[string]near, len(docs))
	for d, m := range shared {
		for o, n := range m {
			sim := float64(n) / float64(size[d]+size[o]-n)
			lang := docs[o].Lang
			if b, ok := best[d][lang]; !ok || sim > b.sim || sim == b.sim && o < b.doc {
				if best[d] == nil {
					best[d] = map[string]near{}
				}
				best[d][lang] = near{o, sim}
			}
		}
	}
	var out [][]int32
	for d := range docs {
		for lang, b := range best[d] {
			back, ok := best[b.doc][docs[d].Lang]
			if b.sim < translationMin || lang == "" || docs[d].Lang == "" || !ok || back.doc != int32(d) {
				continue
			}
			if out == nil {
				out = make([][]int32, len(docs))
			}
			out[d] = append(out[d], b.doc)
		}
	}
	return out
}

// translation returns p's version in lang (findTranslations), carrying p's scores: the same
// answer, in the visitor's language. ok is false when p is in lang already or has none.
func (idx *index) translation(p Passage, lang string) (Passage, bool) {
	if p.Lang == lang || lang == "" || p.doc < 0 || int(p.doc) >= len(idx.docs) || int(p.doc) >= len(idx.translations) {
		return Passage{}, false
	}
	if d := idx.docs[p.doc]; d.File != p.File || d.Text != p.Text {
		return Passage{}, false // p comes from an index since replaced
	}
	for _, t := range idx.translations[p.doc] {
		if d := idx.docs[t]; d.Lang == lang {
			v := p
			v.Title, v.Section, v.URL, v.Text, v.Lang, v.File, v.Questions = d.Title, d.Section, d.URL, d.Text, d.Lang, d.File, d.Questions
			v.doc = t
			v.Modifies = idx.modifies[t]
			return v, true
		}
	}
	return Passage{}, false
}

// Translation returns p's version in lang when the knowledge base has the same section in that
// language (findTranslations), with p's scores; ok is false otherwise.
func (kb *KnowledgeBase) Translation(p Passage, lang string) (Passage, bool) {
	if kb == nil {
		return Passage{}, false
	}
	kb.mu.RLock()
	idx := kb.idx
	kb.mu.RUnlock()
	if idx == nil {
		return Passage{}, false
	}
	return idx.translation(p, primaryTag(lang))
}
