package assistant

import (
	"iter"
	"slices"
	"unicode/utf8"
)

// typoIndex finds vocabulary words one edit away (a letter inserted, deleted, replaced, or two
// neighbours swapped) from a word, through the words' one-letter deletions (the symmetric delete
// method): two words are one edit apart only if they share the word itself or a deletion.
//
// It is compact: the words (their strings shared with the caller's) and one uint64 per deletion,
// the deletion's 32-bit hash above the word's number, sorted by freeze. A deletion's words are the
// entries of its hash, in the order they were added, less those a hash collision brought (each is
// checked to have the deletion). For the demo knowledge base's 1,175 words of five letters or more
// (9,922 deletions): about 0.1 MB of heap instead of 0.98 MB with a map of deletion strings.
type typoIndex struct {
	words   []string
	entries []uint64 // hash(deletion)<<32 | word number
	sorted  bool     // entries sorted (freeze); otherwise they are searched in order
}

// minTypoLen is the shortest word corrected: shorter words have too many neighbours.
const minTypoLen = 5

func newTypoIndex() *typoIndex { return &typoIndex{} }

func (ti *typoIndex) add(w string) {
	if len([]rune(w)) < minTypoLen {
		return
	}
	n := uint64(len(ti.words))
	ti.words = append(ti.words, w)
	prev := ""
	for i, d := range deletions(w) {
		if i > 0 && d == prev {
			continue // a doubled letter: the same deletion again
		}
		prev = d
		ti.entries = append(ti.entries, uint64(typoHash(d))<<32|n)
	}
	ti.sorted = false
}

// freeze sorts the entries (lookups by binary search) and trims them to their length. Lookups are
// correct without it, only slower; an index is frozen once built, before it is shared.
func (ti *typoIndex) freeze() {
	slices.Sort(ti.entries)
	ti.entries = slices.Clip(append(make([]uint64, 0, len(ti.entries)), ti.entries...))
	ti.words = slices.Clip(append(make([]string, 0, len(ti.words)), ti.words...))
	ti.sorted = true
}

// typoHash is FNV-1a (32 bits).
func typoHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// bucket yields the words that have d among their deletions, in the order they were added.
func (ti *typoIndex) bucket(d string) iter.Seq[string] {
	return func(yield func(string) bool) {
		h := uint64(typoHash(d))
		es := ti.entries
		if ti.sorted {
			i, _ := slices.BinarySearch(es, h<<32)
			es = es[i:]
		}
		for _, e := range es {
			if e>>32 != h {
				if ti.sorted {
					return
				}
				continue
			}
			// In word order: sorted entries of one hash are ordered by word number, and entries
			// not sorted were appended in that order.
			if c := ti.words[uint32(e)]; hasDeletion(c, d) && !yield(c) {
				return
			}
		}
	}
}

// deletions returns w and every string with one rune of w removed.
func deletions(w string) []string {
	r := []rune(w)
	out := []string{w}
	for i := range r {
		out = append(out, string(r[:i])+string(r[i+1:]))
	}
	return out
}

// hasDeletion reports whether d is one of deletions(c), without building them.
func hasDeletion(c, d string) bool {
	if c == d {
		return true
	}
	if !utf8.ValidString(c) {
		c = string([]rune(c)) // as deletions converts it
	}
	if len(d) >= len(c) {
		return false
	}
	p := 0
	for p < len(d) && c[p] == d[p] {
		p++
	}
	for i, r := range c { // the rune removed starts at or before the first difference
		if i > p {
			break
		}
		n := utf8.RuneLen(r)
		if len(c)-n == len(d) && c[:i] == d[:i] && c[i+n:] == d[i:] {
			return true
		}
	}
	return false
}

// near returns the vocabulary words at one edit from w (w itself excluded), for a word of
// minTypoLen letters or more.
func (ti *typoIndex) near(w string) []string {
	if len([]rune(w)) < minTypoLen {
		return nil
	}
	return ti.edits(w)
}

// one returns the single word of the index one edit from w, if exactly one is; w may be one letter
// shorter than the words ("helo" for "hello").
func (ti *typoIndex) one(w string) (string, bool) {
	if cs := ti.edits(w); len(cs) == 1 {
		return cs[0], true
	}
	return "", false
}

// edits returns the words of the index at one edit from w (w itself excluded), in index order.
func (ti *typoIndex) edits(w string) []string {
	seen := map[string]bool{w: true}
	var out []string
	for _, d := range deletions(w) {
		for c := range ti.bucket(d) {
			if !seen[c] && oneEdit(w, c) {
				out = append(out, c)
			}
			seen[c] = true
		}
	}
	return out
}

// oneEdit reports whether a and b differ by exactly one insertion, deletion, substitution or
// transposition of neighbours.
func oneEdit(a, b string) bool {
	x, y := []rune(a), []rune(b)
	if len(x) > len(y) {
		x, y = y, x
	}
	switch len(y) - len(x) {
	case 0:
		var diff []int
		for i := range x {
			if x[i] != y[i] {
				diff = append(diff, i)
			}
		}
		switch len(diff) {
		case 1:
			return true
		case 2:
			i, j := diff[0], diff[1]
			return j == i+1 && x[i] == y[j] && x[j] == y[i]
		}
		return false
	case 1:
		i := 0
		for i < len(x) && x[i] == y[i] {
			i++
		}
		return string(x[i:]) == string(y[i+1:])
	}
	return false
}
