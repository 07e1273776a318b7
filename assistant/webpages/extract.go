// Package webpages is the knowledge source of public help pages: it reads the pages a website's
// owner lists, over HTTP, treating every URL as untrusted (Fetcher), keeps the readable text of each
// (Extract) and keeps a knowledge base in step with them (Source). It is the only package that
// imports an HTML parser (golang.org/x/net/html).
package webpages

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/signalbridge/signalbridge/assistant"
)

// Extract reads an HTML page and returns it as an article: its URL as the link and the name, the
// first <h1> of its content as the title (else its <title>, else the URL), its <h2> and <h3> as
// sections (linked to the heading's id when it has one, else to the page), and its paragraphs, lists, tables and preformatted text as Markdown paragraphs.
// Scripts, styles, forms, hidden elements and what is recognisably navigation (nav, aside, the
// page's header and footer, role="navigation" and the like) are dropped. The language is the
// page's lang attribute ("" detects it from the text). At most MaxContent bytes of text are kept.
func Extract(pageURL string, r io.Reader) (assistant.Article, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return assistant.Article{}, fmt.Errorf("parse html: %w", err)
	}
	e := &extractor{}
	var htmlEl, head, body *html.Node
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.DataAtom {
		case atom.Html:
			if htmlEl == nil {
				htmlEl = n
			}
		case atom.Head:
			if head == nil {
				head = n
			}
		case atom.Body:
			if body == nil {
				body = n
			}
		}
	}
	a := assistant.Article{Name: pageURL, URL: pageURL, ExplicitAnchors: true}
	if htmlEl != nil {
		lang := strings.ToLower(strings.TrimSpace(attr(htmlEl, "lang")))
		a.Lang, _, _ = strings.Cut(lang, "-")
	}
	if head != nil {
		for n := range head.Descendants() {
			if n.Type == html.ElementNode && n.DataAtom == atom.Title {
				a.Title = squash(textOf(n))
				break
			}
		}
	}
	root := body
	if root == nil {
		root = doc
	}
	// The main content when the page marks it: <main> (or role="main"), else its only <article>.
	var mains, articles []*html.Node
	for n := range root.Descendants() {
		if n.Type != html.ElementNode || skipped(n) {
			continue
		}
		if n.DataAtom == atom.Main || attr(n, "role") == "main" {
			mains = append(mains, n)
		}
		if n.DataAtom == atom.Article {
			articles = append(articles, n)
		}
	}
	switch {
	case len(mains) > 0:
		root = mains[0]
	case len(articles) == 1:
		root = articles[0]
	}
	e.walk(root)
	e.flush()
	if e.h1 != "" {
		a.Title = e.h1
	}
	if a.Title == "" {
		a.Title = pageURL
	}
	var b strings.Builder
	for _, bl := range e.blocks {
		if b.Len()+len(bl) > MaxContent {
			break
		}
		b.WriteString(bl + "\n\n")
	}
	a.Content = strings.TrimSuffix(b.String(), "\n")
	return a, nil
}

// MaxContent bounds the text kept of one page (its first blocks), as pasted Markdown is bounded: 50
// pages of a website stay a few megabytes in memory whatever their HTML.
const MaxContent = 256 << 10

// extractor collects a page's blocks of Markdown.
type extractor struct {
	blocks []string
	inline strings.Builder
	h1     string // the first <h1>: the title
}

// flush ends the current paragraph.
func (e *extractor) flush() {
	if t := squash(e.inline.String()); t != "" {
		e.blocks = append(e.blocks, escapeLine(t))
	}
	e.inline.Reset()
}

func (e *extractor) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		e.inline.WriteString(n.Data)
		return
	case html.ElementNode:
	case html.DocumentNode:
		e.children(n)
		return
	default:
		return
	}
	if skipped(n) || chrome(n) {
		return
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3:
		e.flush()
		t := squash(textOf(n))
		if t == "" {
			return
		}
		if n.DataAtom == atom.H1 && e.h1 == "" {
			e.h1 = t
			return
		}
		mark := "## "
		if n.DataAtom == atom.H3 {
			mark = "### "
		}
		if id := strings.TrimSpace(attr(n, "id")); id != "" && !strings.ContainsAny(id, "{}# \t\n") {
			t += " {#" + id + "}"
		}
		e.blocks = append(e.blocks, mark+t)
	case atom.Ul, atom.Ol:
		e.flush()
		var lines []string
		list(n, 0, &lines)
		if len(lines) > 0 {
			e.blocks = append(e.blocks, strings.Join(lines, "\n"))
		}
	case atom.Pre:
		e.flush()
		var lines []string
		for l := range strings.Lines(textOf(n)) {
			if l = strings.TrimRight(l, " \t\r\n"); strings.TrimSpace(l) != "" {
				lines = append(lines, escapeLine(l))
			}
		}
		if len(lines) > 0 {
			e.blocks = append(e.blocks, strings.Join(lines, "\n"))
		}
	case atom.Table:
		e.flush()
		var rows []string
		for tr := range n.Descendants() {
			if tr.Type != html.ElementNode || tr.DataAtom != atom.Tr {
				continue
			}
			var cells []string
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) && !skipped(c) {
					if t := squash(textOf(c)); t != "" {
						cells = append(cells, t)
					}
				}
			}
			if len(cells) > 0 {
				rows = append(rows, escapeLine(strings.Join(cells, " | ")))
			}
		}
		if len(rows) > 0 {
			e.blocks = append(e.blocks, strings.Join(rows, "\n"))
		}
	case atom.Br:
		e.inline.WriteByte(' ')
	case atom.Img:
	default:
		if block[n.DataAtom] {
			e.flush()
			e.children(n)
			e.flush()
			return
		}
		e.children(n)
	}
}

func (e *extractor) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		e.walk(c)
	}
}

// list writes a list's items as Markdown list lines, nested lists indented under their item.
func list(n *html.Node, depth int, lines *[]string) {
	num := 0
	for li := n.FirstChild; li != nil; li = li.NextSibling {
		if li.Type != html.ElementNode || li.DataAtom != atom.Li || skipped(li) {
			continue
		}
		num++
		mark := "- "
		if n.DataAtom == atom.Ol {
			mark = fmt.Sprintf("%d. ", num)
		}
		var own strings.Builder
		var nested []*html.Node
		var walk func(*html.Node)
		walk = func(c *html.Node) {
			for ; c != nil; c = c.NextSibling {
				switch {
				case c.Type == html.TextNode:
					own.WriteString(c.Data)
				case c.Type != html.ElementNode || skipped(c):
				case c.DataAtom == atom.Ul || c.DataAtom == atom.Ol:
					nested = append(nested, c)
				default:
					if block[c.DataAtom] {
						own.WriteByte(' ')
					}
					walk(c.FirstChild)
					if block[c.DataAtom] || c.DataAtom == atom.Br {
						own.WriteByte(' ')
					}
				}
			}
		}
		walk(li.FirstChild)
		if t := squash(own.String()); t != "" {
			*lines = append(*lines, strings.Repeat("  ", depth)+mark+t)
		}
		for _, sub := range nested {
			list(sub, depth+1, lines)
		}
	}
}

// block are the elements that end a paragraph.
var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true, atom.Main: true, atom.Body: true,
	atom.Blockquote: true, atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Figure: true, atom.Figcaption: true,
	atom.Address: true, atom.Details: true, atom.Summary: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Li: true, atom.Hr: true, atom.Header: true, atom.Footer: true, atom.Caption: true, atom.Center: true,
}

// skipped reports an element that never holds readable text: code, styles, embedded media, forms,
// and what the page hides.
func skipped(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Svg, atom.Math, atom.Iframe, atom.Object,
		atom.Embed, atom.Canvas, atom.Video, atom.Audio, atom.Form, atom.Button, atom.Select, atom.Textarea,
		atom.Input, atom.Head, atom.Link, atom.Meta, atom.Dialog:
		return true
	}
	if _, hidden := attrOK(n, "hidden"); hidden || attr(n, "aria-hidden") == "true" {
		return true
	}
	style := strings.ReplaceAll(strings.ToLower(attr(n, "style")), " ", "")
	return strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden")
}

// chrome reports an element that is recognisably the site's navigation rather than the page's
// content: nav and aside, a header or footer that is not inside an article or section (the page's
// own), landmark roles other than main, and elements whose id or class says navigation, menu,
// sidebar, breadcrumbs or cookie banner.
func chrome(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Nav, atom.Aside:
		return true
	case atom.Header, atom.Footer:
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && (p.DataAtom == atom.Article || p.DataAtom == atom.Section || p.DataAtom == atom.Main) {
				return false
			}
		}
		return true
	}
	switch attr(n, "role") {
	case "navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog", "alertdialog":
		return true
	}
	for _, v := range []string{attr(n, "id"), attr(n, "class")} {
		for tok := range strings.FieldsSeq(strings.ToLower(v)) {
			switch tok {
			case "nav", "navbar", "navigation", "menu", "sidebar", "breadcrumb", "breadcrumbs", "cookie", "cookies",
				"cookie-banner", "cookie-consent", "skip-link", "site-header", "site-footer", "site-nav":
				return true
			}
		}
	}
	return false
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

// textOf is the text under n, skipped elements aside, with a space at each block's edge.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		for ; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				b.WriteString(c.Data)
			case c.Type != html.ElementNode || skipped(c):
			default:
				if block[c.DataAtom] || c.DataAtom == atom.Br {
					b.WriteByte(' ')
				}
				walk(c.FirstChild)
				if block[c.DataAtom] {
					b.WriteByte(' ')
				}
			}
		}
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	walk(n.FirstChild)
	return b.String()
}

// squash collapses runs of white space into one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// escapeLine keeps a line of text from reading as a Markdown heading.
func escapeLine(l string) string {
	if strings.HasPrefix(strings.TrimSpace(l), "#") {
		return "\\" + strings.TrimLeft(l, " \t")
	}
	return l
}
