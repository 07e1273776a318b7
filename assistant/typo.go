package assistant

// typoIndex finds vocabulary words one edit away (a letter inserted, deleted, replaced, or two
// neighbours swapped) from a word, through the words' one-letter deletions (the symmetric delete
// method): two words are one edit apart only if they share the word itself or a deletion.
type typoIndex struct {
	deletes map[string][]string
}

// minTypoLen is the shortest word corrected: shorter words have too many neighbours.
const minTypoLen = 5

func newTypoIndex() *typoIndex { return &typoIndex{deletes: map[string][]string{}} }

func (ti *typoIndex) add(w string) {
	if len([]rune(w)) < minTypoLen {
		return
	}
	for _, d := range deletions(w) {
		ti.deletes[d] = append(ti.deletes[d], w)
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

// near returns the vocabulary words at one edit from w (w itself excluded).
func (ti *typoIndex) near(w string) []string {
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
