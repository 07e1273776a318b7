package assistant

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// oldTypoIndex is the former typo index (a map from every one-letter deletion to its words), kept
// to test the compact one against.
type oldTypoIndex struct {
	deletes map[string][]string
}

func newOldTypoIndex() *oldTypoIndex { return &oldTypoIndex{deletes: map[string][]string{}} }

func (ti *oldTypoIndex) add(w string) {
	if len([]rune(w)) < minTypoLen {
		return
	}
	for _, d := range deletions(w) {
		ti.deletes[d] = append(ti.deletes[d], w)
	}
}

func (ti *oldTypoIndex) near(w string) []string {
	if len([]rune(w)) < minTypoLen {
		return nil
	}
	seen := map[string]bool{w: true}
	var out []string
	for _, d := range deletions(w) {
		for _, c := range ti.deletes[d] {
			if !seen[c] && oneEdit(w, c) {
				out = append(out, c)
			}
			seen[c] = true
		}
	}
	return out
}

func (ti *oldTypoIndex) one(w string) (string, bool) {
	seen := map[string]bool{w: true}
	found := ""
	for _, d := range deletions(w) {
		for _, c := range ti.deletes[d] {
			if !seen[c] && oneEdit(w, c) {
				if found != "" {
					return "", false
				}
				found = c
			}
			seen[c] = true
		}
	}
	return found, found != ""
}

// typoVariants returns w and its one-edit typos: every deletion, transposition of neighbours, and
// insertion and substitution of each letter of alphabet.
func typoVariants(w string, alphabet []rune) []string {
	r := []rune(w)
	out := []string{w}
	for i := range r {
		out = append(out, string(r[:i])+string(r[i+1:]))
		if i+1 < len(r) {
			t := slices.Clone(r)
			t[i], t[i+1] = t[i+1], t[i]
			out = append(out, string(t))
		}
	}
	for i := 0; i <= len(r); i++ {
		for _, a := range alphabet {
			out = append(out, string(r[:i])+string(a)+string(r[i:]))
			if i < len(r) && r[i] != a {
				out = append(out, string(r[:i])+string(a)+string(r[i+1:]))
			}
		}
	}
	return out
}

// alphabetOf returns the letters of words.
func alphabetOf(words []string) []rune {
	seen := map[rune]bool{}
	var out []rune
	for _, w := range words {
		for _, r := range w {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return out
}

// demoVocabulary returns the vocabulary of the demo knowledge base (sorted), the words buildIndex
// added to its typo index (in that order), and that index.
func demoVocabulary(t testing.TB) (vocab, added []string, built *typoIndex) {
	t.Helper()
	kb, err := LoadKnowledgeBase("testdata/kb-demo")
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(kb.idx.vocab)), slices.Clone(kb.idx.typos.words), kb.idx.typos
}

// The compact typo index finds exactly what the former map of deletions found, in the same order:
// over every word of the demo knowledge base's vocabulary and every one-edit typo of them (letters
// of the vocabulary inserted and substituted, letters deleted, neighbours swapped), frozen and
// not, and for the conversational words of turn.go (near and one).
func TestTypoIndexMatchesFormer(t *testing.T) {
	vocab, added, built := demoVocabulary(t)
	if len(added) < 1000 || !built.sorted {
		t.Fatalf("the demo knowledge base's typo index has %d words (frozen: %v)", len(added), built.sorted)
	}
	old, unfrozen := newOldTypoIndex(), newTypoIndex()
	for _, w := range added {
		old.add(w)
		unfrozen.add(w)
	}
	// Insertions and substitutions of every letter of the vocabulary for a quarter of the words,
	// of the commonest letters for the others (the test stays within a few seconds).
	alphabet, common := alphabetOf(vocab), []rune("aeinorsu")
	queries, found := 0, 0
	seen := map[string]bool{}
	check := func(name string, ti *typoIndex, w string, one bool) {
		want, got := old.near(w), ti.near(w)
		if !slices.Equal(got, want) {
			t.Errorf("%s: near(%q) = %q, want %q", name, w, got, want)
		}
		if one {
			wantOne, wantOK := old.one(w)
			if gotOne, gotOK := ti.one(w); gotOne != wantOne || gotOK != wantOK {
				t.Errorf("%s: one(%q) = %q, %v; want %q, %v", name, w, gotOne, gotOK, wantOne, wantOK)
			}
		}
		queries++
		if len(want) > 0 {
			found++
		}
	}
	for i, w := range vocab {
		letters := common
		if i%4 == 0 {
			letters = alphabet
		}
		for _, q := range typoVariants(w, letters) {
			if seen[q] {
				continue
			}
			seen[q] = true
			check("demo", built, q, i%4 == 1)
			if i%50 == 0 { // the unfrozen index searches linearly: a sample
				check("demo, not frozen", unfrozen, q, true)
			}
		}
	}
	if found < len(vocab) {
		t.Errorf("only %d of %d queries have near words", found, queries)
	}
	t.Logf("%d words, %d queries (%d letters), %d with near words", len(vocab), queries, len(alphabet), found)

	// Every deletion's words, as the former map holds them (less repeats of a word).
	for d, ws := range old.deletes {
		want := slices.Compact(slices.Clone(ws))
		if got := slices.Collect(built.bucket(d)); !slices.Equal(got, want) {
			t.Errorf("bucket(%q) = %q, want %q", d, got, want)
		}
	}

	// The conversational words, added in one order to both.
	turnWords := slices.Sorted(maps.Keys(turnIndex))
	oldTurn, turn := newOldTypoIndex(), newTypoIndex()
	for _, w := range turnWords {
		oldTurn.add(w)
		turn.add(w)
	}
	turn.freeze()
	old = oldTurn
	alphabet = alphabetOf(turnWords)
	for _, w := range turnWords {
		for _, q := range typoVariants(w, alphabet) {
			check("turn", turn, q, true)
		}
	}
	// turnTypos itself (its words added in the map's order: one does not depend on it).
	for _, w := range turnWords {
		for _, q := range typoVariants(w, alphabet) {
			wantOne, wantOK := oldTurn.one(q)
			if gotOne, gotOK := turnTypos.one(q); gotOne != wantOne || gotOK != wantOK {
				t.Errorf("turnTypos.one(%q) = %q, %v; want %q, %v", q, gotOne, gotOK, wantOne, wantOK)
			}
		}
	}
}

// Words with repeated letters, several scripts and bytes that are not UTF-8 (deletions converts
// them to U+FFFD), and deletions whose hashes collide: the same words as the former index.
func TestTypoIndexEdgeCases(t *testing.T) {
	collide := fnvCollision(t)
	words := []string{"shipping", "shiping", "committee", "aaaaa", "aaaaaa", "aaaab", "llamar", "llama",
		"envío", "envíos", "envio", "größe", "grösse", "größen", "доставка", "достaвка", "配送时间很长", "配送时间长",
		"caf\xe9s", "cafés", "bad\xffbyte", "bad\ufffdbyte", "\xff\xfe\xfdabc", collide[0]}
	old, ti := newOldTypoIndex(), newTypoIndex()
	for _, w := range words {
		old.add(w)
		ti.add(w)
	}
	ti.freeze()
	for _, w := range append(slices.Clone(words), collide[1], "\xff\xfeabc", "bad\xffbyt", "aaaa", "shippingg") {
		for _, q := range typoVariants(w, []rune("abé\ufffd")) {
			if got, want := ti.near(q), old.near(q); !slices.Equal(got, want) {
				t.Errorf("near(%q) = %q, want %q", q, got, want)
			}
			gotOne, gotOK := ti.one(q)
			if wantOne, wantOK := old.one(q); gotOne != wantOne || gotOK != wantOK {
				t.Errorf("one(%q) = %q, %v; want %q, %v", q, gotOne, gotOK, wantOne, wantOK)
			}
		}
	}
	if got := slices.Collect(ti.bucket(collide[1])); len(got) != 0 {
		t.Errorf("bucket(%q) = %q: a word of another deletion with the same hash", collide[1], got)
	}
	if got := slices.Collect(ti.bucket(collide[0])); !slices.Equal(got, []string{collide[0]}) {
		t.Errorf("bucket(%q) = %q", collide[0], got)
	}
}

// fnvCollision returns two different words of eight letters with the same typoHash.
func fnvCollision(t *testing.T) [2]string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	byHash := map[uint32]string{}
	b := make([]byte, 8)
	for range 1 << 22 {
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		w := string(b)
		h := typoHash(w)
		if o, ok := byHash[h]; ok && o != w {
			return [2]string{o, w}
		}
		byHash[h] = w
	}
	t.Fatal("no collision")
	return [2]string{}
}

// BenchmarkTypoHeap reports the heap of the demo knowledge base's typo index, former and compact
// (MB-heap), and the time of a lookup.
func BenchmarkTypoHeap(b *testing.B) {
	_, vocab, built := demoVocabulary(b)
	for _, c := range []struct {
		name string
		load func() any
	}{
		{"former", func() any {
			ti := newOldTypoIndex()
			for _, w := range vocab {
				ti.add(w)
			}
			return ti
		}},
		{"compact", func() any {
			ti := newTypoIndex()
			for _, w := range vocab {
				ti.add(w)
			}
			ti.freeze()
			return ti
		}},
	} {
		benchHeap(b, c.name, c.load)
	}
	old := newOldTypoIndex()
	for _, w := range vocab {
		old.add(w)
	}
	queries := []string{"shiping", "delivry", "retrns", "acount", "pasword", "refnud", "subscrption"}
	for _, c := range []struct {
		name string
		near func(string) []string
	}{{"near/former", old.near}, {"near/compact", built.near}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for _, q := range queries {
					_ = c.near(q)
				}
			}
		})
	}
}
