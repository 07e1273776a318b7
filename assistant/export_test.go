package assistant

// WithoutLexicon replaces the built-in lexicon by an empty one until the returned function is
// called: the ablation test measures what the hand list adds. Knowledge bases built meanwhile
// index without it. Not for parallel tests.
func WithoutLexicon() (restore func()) {
	saved := kbLexicon
	kbLexicon = &lexicon{byStem: map[string][]string{}, byFold: map[string][]string{}, phrases: map[string][][]string{}, words: map[string][]string{}}
	return func() { kbLexicon = saved }
}

// WithoutPlaces empties the place table until the returned function is called: the ablation test
// measures what it adds. Not for parallel tests.
func WithoutPlaces() (restore func()) {
	saved := places
	places = func() *placeTable { return &placeTable{byName: map[string]string{}, countries: map[string][]string{}} }
	return func() { places = saved }
}

// WithoutLead disables the weak offer of a passage whose article leads clearly (leads) until the
// returned function is called. Not for parallel tests.
func WithoutLead() (restore func()) {
	saved := leadRatio
	leadRatio = -1
	return func() { leadRatio = saved }
}

// WithoutDictionaryHints disables the dictionary votes of language detection until the returned
// function is called. Not for parallel tests.
func WithoutDictionaryHints() (restore func()) {
	dictionaryHints = false
	return func() { dictionaryHints = true }
}

// WithoutLightWords empties the light words until the returned function is called: the ablation
// test measures what they add. Not for parallel tests.
func WithoutLightWords() (restore func()) {
	saved := lightWords
	lightWords = map[string]map[string]bool{}
	return func() { lightWords = saved }
}
