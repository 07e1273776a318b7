package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Graph is a scenario as written, before validation: blocks refer to each other by id.
type Graph struct {
	Start     string   // id of the first block
	Languages []string // configured languages; the first is the fallback
	Blocks    []Spec   // in the order written
}

// Spec is one block as written. Only the fields of its Kind are used; Compile rejects the others.
type Spec struct {
	ID       string            `yaml:"id"`
	Kind     string            `yaml:"kind"`     // message, picker, field, set_data, segment, branch, assistant, handover, resolve, end
	Text     Text              `yaml:"text"`     // message, picker, field
	Explain  Text              `yaml:"explain"`  // field: placeholder
	Invalid  Text              `yaml:"invalid"`  // picker, field: said before asking again
	Next     string            `yaml:"next"`     // successor; for pickers the default of choices without one
	Choices  []ChoiceSpec      `yaml:"choices"`  // picker
	Validate string            `yaml:"validate"` // field: email, phone or text (default)
	Store    List              `yaml:"store"`    // picker, field: email, language, data:<key>
	Data     map[string]string `yaml:"data"`     // set_data
	Segments List              `yaml:"segments"` // segment
	Cases    []CaseSpec        `yaml:"cases"`    // branch
	Else     string            `yaml:"else"`     // branch
	SkipIf   *Cond             `yaml:"skip_if"`  // picker, field
	Webhook  string            `yaml:"webhook"`  // webhook: the configured endpoint's name
	Branches map[string]string `yaml:"branches"` // webhook: reply branch -> block id
	Failed   string            `yaml:"failed"`   // webhook: successor when the call fails for good
	Line     int               `yaml:"-"`        // line in the YAML source, 0 when unknown
}

// ChoiceSpec is one button of a picker.
type ChoiceSpec struct {
	Value string `yaml:"value"`
	Label Text   `yaml:"label"`
	Next  string `yaml:"next"` // optional; the picker's next when empty
}

// CaseSpec is one case of a branch block.
type CaseSpec struct {
	When Cond   `yaml:"when"`
	Next string `yaml:"next"`
}

// Cond is a condition on what is known about the conversation; every set part must hold.
type Cond struct {
	Data       map[string]string `yaml:"data"`        // each key has exactly this value
	Has        List              `yaml:"has"`         // each key has a non-empty value
	Missing    List              `yaml:"missing"`     // each key is absent or empty
	Segment    List              `yaml:"segment"`     // each segment is present
	Language   List              `yaml:"language"`    // the conversation language is one of these
	EmailKnown *bool             `yaml:"email_known"` // the visitor's email is (not) known
	Open       *bool             `yaml:"open"`        // the website is (not) within its support hours
}

func (c *Cond) empty() bool {
	return len(c.Data) == 0 && len(c.Has) == 0 && len(c.Missing) == 0 && len(c.Segment) == 0 &&
		len(c.Language) == 0 && c.EmailKnown == nil && c.Open == nil
}

// Text is a localized text: language -> text. The key "" applies to every language without its own
// entry; in YAML a plain string sets it.
type Text map[string]string

// List is a list of strings; in YAML a single string is a list of one.
type List []string

// Error is one problem found in a scenario. Parse and Compile return every problem found, joined
// with errors.Join; each one names its block.
type Error struct {
	Block string // block id, "" for a problem of the whole scenario
	Line  int    // YAML line, 0 when unknown
	Msg   string
}

// Error returns `block "id" (line n): msg`.
func (e *Error) Error() string {
	switch {
	case e.Block != "" && e.Line > 0:
		return fmt.Sprintf("block %q (line %d): %s", e.Block, e.Line, e.Msg)
	case e.Block != "":
		return fmt.Sprintf("block %q: %s", e.Block, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("scenario (line %d): %s", e.Line, e.Msg)
	default:
		return "scenario: " + e.Msg
	}
}

// Parse reads a scenario from YAML. It reports syntax errors, wrongly typed values and unknown keys;
// Compile checks the meaning.
func Parse(src []byte) (*Graph, error) {
	var doc struct {
		Start     string    `yaml:"start"`
		Languages List      `yaml:"languages"`
		Blocks    yaml.Node `yaml:"blocks"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Msg: "empty document"}
		}
		return nil, fmt.Errorf("parse scenario: %w", err)
	}
	g := &Graph{Start: doc.Start, Languages: doc.Languages}
	var errs []error
	add := func(id string, n *yaml.Node, err error) {
		e := &Error{Block: id, Line: n.Line, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		var ke *keyError
		if errors.As(err, &ke) {
			e.Line, e.Msg = ke.line, ke.msg
		}
		errs = append(errs, e)
	}
	decode := func(id string, n *yaml.Node) {
		var s Spec
		if n.Kind != yaml.MappingNode {
			add(id, n, errors.New("a block must be a mapping"))
			return
		}
		if err := n.Decode(&s); err != nil {
			if id == "" {
				id = s.ID
			}
			add(id, n, err)
			return
		}
		if id != "" && s.ID != "" && s.ID != id {
			add(id, n, fmt.Errorf("id %q differs from its key", s.ID))
			return
		}
		if id != "" {
			s.ID = id
		}
		s.Line = n.Line
		g.Blocks = append(g.Blocks, s)
	}
	switch n := &doc.Blocks; n.Kind {
	case 0:
		// No blocks; Compile reports it.
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			decode(n.Content[i].Value, n.Content[i+1])
		}
	case yaml.SequenceNode:
		for _, b := range n.Content {
			decode("", b)
		}
	default:
		errs = append(errs, &Error{Line: n.Line, Msg: "blocks must be a list or a map of blocks"})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// keyError is an unknown or misplaced key, at a line.
type keyError struct {
	line int
	msg  string
}

func (e *keyError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// checkKeys rejects keys of a mapping node that are not known, so that a typo is an error rather
// than a silently ignored setting.
func checkKeys(n *yaml.Node, what string, known ...string) error {
	if n.Kind != yaml.MappingNode {
		return &keyError{n.Line, what + " must be a mapping"}
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(known, k) {
			return &keyError{n.Content[i].Line, fmt.Sprintf("unknown key %q in %s (known: %s)", k, what,
				strings.Join(known, ", "))}
		}
	}
	return nil
}

// UnmarshalYAML decodes a block and rejects unknown keys.
func (s *Spec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "block", "id", "kind", "text", "explain", "invalid", "next", "choices",
		"validate", "store", "data", "segments", "cases", "else", "skip_if", "webhook", "branches", "failed"); err != nil {
		// Keep the id for the error message when it can be read.
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "id" {
				s.ID = n.Content[i+1].Value
			}
		}
		return err
	}
	type plain Spec
	return n.Decode((*plain)(s))
}

// UnmarshalYAML decodes a picker choice and rejects unknown keys.
func (c *ChoiceSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "choice", "value", "label", "next"); err != nil {
		return err
	}
	type plain ChoiceSpec
	return n.Decode((*plain)(c))
}

// UnmarshalYAML decodes a branch case and rejects unknown keys.
func (c *CaseSpec) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "case", "when", "next"); err != nil {
		return err
	}
	type plain CaseSpec
	return n.Decode((*plain)(c))
}

// UnmarshalYAML decodes a condition and rejects unknown keys.
func (c *Cond) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n, "condition", "data", "has", "missing", "segment", "language", "email_known", "open"); err != nil {
		return err
	}
	type plain Cond
	return n.Decode((*plain)(c))
}

// UnmarshalYAML accepts a plain string (every language) or a map of language to text.
func (t *Text) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = Text{"": n.Value}
		return nil
	}
	m := map[string]string{}
	if err := n.Decode(&m); err != nil {
		return err
	}
	*t = m
	return nil
}

// UnmarshalYAML accepts a single string or a list of strings.
func (l *List) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = List{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}
