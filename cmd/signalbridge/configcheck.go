package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The configuration file is checked as a YAML node tree against the Config struct before it is
// decoded, so every unknown field and every value of the wrong type is reported at once, each with
// its path (crisp.events), its line and, for a misspelt field, the nearest known name. The bad
// entries are dropped and the rest is decoded, so Validate still reports the other problems.

// ConfigError lists the problems of a configuration file; Unwrap gives each as its own error.
type ConfigError struct {
	Path     string  // the file
	Problems []error // each a *FieldProblem
}

// Error lists the problems, one a line, under the file's name.
func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return fmt.Sprintf("config %s:\n%s", e.Path, strings.Join(lines, "\n"))
}

// Unwrap returns the problems, one error each.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// FieldProblem is one wrong entry of the configuration file.
type FieldProblem struct {
	Field string // dotted path, e.g. crisp.events or websites.default.languages[1]
	Line  int    // 1-based line in the file; 0 when unknown
	Msg   string
}

// Error is "line N: field: message" ("field: message" when the line is unknown).
func (p *FieldProblem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Msg)
	}
	return p.Field + ": " + p.Msg
}

// yamlFile is a parsed configuration file: its entries checked against Config, and the line of each
// field path that the file sets.
type yamlFile struct {
	doc      *yaml.Node
	lines    map[string]int
	problems []error
}

// checkYAML walks the document against the type of Config, recording lines and problems and
// removing the entries that cannot be decoded.
func checkYAML(doc *yaml.Node) *yamlFile {
	f := &yamlFile{doc: doc, lines: map[string]int{}}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	f.walk(root, reflect.TypeFor[Config](), "", root.Line)
	return f
}

var durationType = reflect.TypeFor[time.Duration]()

// scalarFormType is implemented by configuration types that also accept a plain scalar (hours.go).
var scalarFormType = reflect.TypeFor[interface{ scalarForm() }]()

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (f *yamlFile) bad(line int, path, format string, a ...any) {
	if path == "" {
		path = "(file)"
	}
	f.problems = append(f.problems, &FieldProblem{Field: path, Line: line, Msg: fmt.Sprintf(format, a...)})
}

// walk checks node n as a value of type t at path. line is the line that names the entry: its
// key's for a field or a map entry (a block mapping or list value starts on the line below), its
// own for a list element. It returns false when n cannot be decoded as t (the caller drops it).
func (f *yamlFile) walk(n *yaml.Node, t reflect.Type, path string, line int) bool {
	if path != "" {
		f.lines[path] = line
	}
	if n.Kind == yaml.AliasNode {
		return true // anchors and aliases are decoded as written
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true // an empty value keeps the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && reflect.PointerTo(t).Implements(scalarFormType) {
		return true // a type with its own short form (a plain string for a list of one, or for every language)
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == durationType {
			break
		}
		if n.Kind != yaml.MappingNode {
			f.bad(line, path, "want a mapping (indented key: value lines), got %s", describeNode(n))
			return false
		}
		fields := yamlFields(t)
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				msg := "unknown field"
				if s := suggest(k.Value, names); s != "" {
					msg += "; did you mean " + s + "?"
				} else {
					slices.Sort(names)
					msg += "; known fields: " + strings.Join(names, ", ")
				}
				f.problems = append(f.problems, &FieldProblem{Field: join(path, k.Value), Line: k.Line, Msg: msg})
				continue
			}
			if f.walk(v, ft, join(path, k.Value), k.Line) {
				kept = append(kept, k, v)
			}
		}
		n.Content = kept
		return true
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			f.bad(line, path, "want a mapping (indented key: value lines), got %s", describeNode(n))
			return false
		}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if f.walk(v, t.Elem(), join(path, k.Value), k.Line) {
				kept = append(kept, k, v)
			}
		}
		n.Content = kept
		return true
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			f.bad(line, path, "want a list ([a, b] or - lines), got %s", describeNode(n))
			return false
		}
		ok := true
		for i, e := range n.Content {
			ok = f.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), e.Line) && ok
		}
		return ok
	}
	// A scalar: decode it alone to see whether it fits.
	if n.Kind != yaml.ScalarNode {
		f.bad(line, path, "want %s, got %s", describeType(t), describeNode(n))
		return false
	}
	isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64 && t != durationType
	if isInt && n.Tag == "!!float" {
		// yaml.v3 would silently truncate 1.5 to 1.
		f.bad(line, path, "want %s, got %q", describeType(t), n.Value)
		return false
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		f.bad(line, path, "want %s, got %q", describeType(t), n.Value)
		return false
	}
	return true
}

// yamlFields maps the yaml names of a struct's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		out[name] = sf.Type
	}
	return out
}

func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 30s, 10m or 1h"
	}
	switch t.Kind() {
	case reflect.String:
		return "a text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// suggest returns the known name nearest to name (at most max(2, a third of its letters) edits
// away, or a prefix either way), or "".
func suggest(name string, known []string) string {
	name = strings.ToLower(name)
	best, bestD := "", max(2, len(name)/3)+1
	for _, k := range known {
		d := editDistance(name, k)
		if d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best == "" && len(name) >= 3 {
		for _, k := range slices.Sorted(slices.Values(known)) {
			if strings.HasPrefix(k, name) || strings.HasPrefix(name, k) {
				return k
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// fieldProblem builds Validate's problem for field: with its line when the file sets it, or noted as
// inherited when a website block takes the value from the default block.
func (c Config) fieldProblem(field, msg string) *FieldProblem {
	p := &FieldProblem{Field: field, Line: c.lines[field], Msg: msg + c.envNote(field)}
	if rest, ok := strings.CutPrefix(field, "websites."); ok && p.Line == 0 {
		if id, sub, ok := strings.Cut(rest, "."); ok && id != "default" {
			if l := c.lines["websites.default."+sub]; l > 0 {
				p.Msg += fmt.Sprintf(" (inherited from websites.default.%s, line %d)", sub, l)
			}
		}
	}
	return p
}

// resolvePaths makes the file paths the configuration file sets (data, and each website's
// knowledge_base and scenario file) relative to the file's folder instead of the working directory.
func (c *Config) resolvePaths(dir string, set map[string]int) {
	abs := func(p *string, field string) {
		if _, ok := set[field]; ok && *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Data, "data")
	for id, w := range c.Websites {
		if w.KnowledgeBase != KBCrispHelpdesk && w.KnowledgeBase != KBURLs {
			abs(&w.KnowledgeBase, "websites."+id+".knowledge_base")
		}
		if w.Scenario != "default" {
			abs(&w.Scenario, "websites."+id+".scenario")
		}
		c.Websites[id] = w
	}
}
