package webpages_test

import (
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/webpages"
)

// A help-centre page as generators write them: a site header with navigation, a cookie banner,
// scripts and styles, breadcrumbs, a sidebar, the article in <main> with nested lists and a table,
// and a site footer.
const helpCentrePage = `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Shipping and delivery | Nimbus Coffee Help Centre</title>
<style>body{font-family:sans-serif} .x::before{content:"STYLE TEXT"}</style>
<script>window.dataLayer=[];function track(){console.log("SCRIPT TEXT")}</script>
<link rel="stylesheet" href="/main.css">
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies. <button>Accept all</button></div>
<header class="site-header">
  <a href="/">Nimbus Help</a>
  <nav><ul><li><a href="/shipping">Shipping</a></li><li><a href="/returns">Returns</a></li></ul></nav>
  <form action="/search"><input name="q" placeholder="Search articles"><button>Search</button></form>
</header>
<main>
  <ol class="breadcrumbs"><li><a href="/">Home</a></li><li>Shipping</li></ol>
  <article>
    <header><h1>Shipping and delivery</h1><p class="meta">Updated 3 days ago</p></header>
    <p>We ship from our roastery in <strong>Lisbon</strong>
       every weekday.</p>
    <h2 id="costs">Shipping costs</h2>
    <p>Shipping is free for orders over 30 EUR.</p>
    <ul>
      <li>Portugal and Spain: 2 days
        <ul>
          <li>Islands: <em>4 days</em></li>
          <li>Ceuta and Melilla: 6 days</li>
        </ul>
      </li>
      <li><p>Rest of the EU:</p><p>3 to 5 days</p></li>
    </ul>
    <h3>Express delivery</h3>
    <p>Order before 11:00 for next-day delivery.</p>
    <table><tr><th>Zone</th><th>Price</th></tr><tr><td>EU</td><td>9 EUR</td></tr></table>
    <div style="display: none">Hidden promo text</div>
    <p hidden>Also hidden</p>
    <noscript>Enable JavaScript</noscript>
    <p>#1 rule: pack it well.</p>
  </article>
  <aside><h2>Related articles</h2><ul><li>Returns</li></ul></aside>
</main>
<footer class="site-footer"><p>© Nimbus Coffee</p><nav>Privacy</nav></footer>
<script src="/app.js"></script>
</body></html>`

func TestExtractHelpCentrePage(t *testing.T) {
	a, err := webpages.Extract("https://help.example.com/shipping", strings.NewReader(helpCentrePage))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "Shipping and delivery" || a.URL != "https://help.example.com/shipping" || a.Lang != "en" {
		t.Errorf("title %q, url %q, lang %q", a.Title, a.URL, a.Lang)
	}
	want := `Updated 3 days ago

We ship from our roastery in Lisbon every weekday.

## Shipping costs {#costs}

Shipping is free for orders over 30 EUR.

- Portugal and Spain: 2 days
  - Islands: 4 days
  - Ceuta and Melilla: 6 days
- Rest of the EU: 3 to 5 days

### Express delivery

Order before 11:00 for next-day delivery.

Zone | Price
EU | 9 EUR

\#1 rule: pack it well.
`
	if a.Content != want {
		t.Errorf("content:\n%s\nwant:\n%s", a.Content, want)
	}
	for _, gone := range []string{"SCRIPT", "STYLE", "cookies", "Search", "Returns", "Related", "Hidden", "Also hidden", "JavaScript", "©", "Home"} {
		if strings.Contains(a.Content, gone) {
			t.Errorf("content keeps %q", gone)
		}
	}
}

// A page without <main> or <article>: the body is the content, the <title> the title when there is
// no <h1>, navigation recognised by its role and class; an ordered list is numbered.
func TestExtractPlainPage(t *testing.T) {
	const page = `<html lang="es"><head><title>Devoluciones</title></head><body>
<div role="navigation"><a href="/">Inicio</a> <a href="/faq">Preguntas</a></div>
<div class="sidebar">Categorías</div>
<div class="content">
<p>Tienes 30 días para devolver un pedido.</p>
<h2>Cómo devolver</h2>
<ol><li>Entra en tu cuenta</li><li>Elige el pedido<ol><li>Pulsa «Devolver»</li></ol></li></ol>
<h4>Nota</h4>
<p>El reembolso llega en 5 días.<br>Sin coste.</p>
</div>
<div role="contentinfo">Aviso legal</div>
</body></html>`
	a, err := webpages.Extract("https://ayuda.example.es/devoluciones", strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	want := "Tienes 30 días para devolver un pedido.\n\n## Cómo devolver\n\n1. Entra en tu cuenta\n2. Elige el pedido\n  1. Pulsa «Devolver»\n\nNota\n\nEl reembolso llega en 5 días. Sin coste.\n"
	if a.Title != "Devoluciones" || a.Lang != "es" || a.Content != want {
		t.Errorf("title %q lang %q content:\n%s\nwant:\n%s", a.Title, a.Lang, a.Content, want)
	}
}

// Extracted pages index like any article: the page's sections answer with the page's link (and the
// heading's own anchor when it has one).
func TestExtractedPageIsIndexed(t *testing.T) {
	a, err := webpages.Extract("https://help.example.com/shipping", strings.NewReader(helpCentrePage))
	if err != nil {
		t.Fatal(err)
	}
	kb := assistant.NewKnowledgeBase(nil)
	if err := kb.SetArticles([]assistant.Article{a}); err != nil {
		t.Fatal(err)
	}
	ps := kb.Search("is shipping free over 30 EUR?", 3)
	if len(ps) == 0 {
		t.Fatal("no passage found")
	}
	if ps[0].URL != "https://help.example.com/shipping#costs" || ps[0].Section != "Shipping costs" || ps[0].Title != "Shipping and delivery" {
		t.Errorf("first passage: %q %q %q", ps[0].URL, ps[0].Section, ps[0].Title)
	}
	// A heading without an id links to the page itself, not to an anchor the page does not have.
	ps = kb.Search("next-day express delivery", 1)
	if len(ps) == 0 || ps[0].Section != "Express delivery" || ps[0].URL != "https://help.example.com/shipping" {
		t.Errorf("express passage: %+v", ps)
	}
}

func TestExtractBrokenMarkup(t *testing.T) {
	a, err := webpages.Extract("https://x.example/", strings.NewReader(`<p>Unclosed <b>bold<p>Second <script>alert(1)`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "https://x.example/" || a.Content != "Unclosed bold\n\nSecond\n" {
		t.Errorf("title %q content %q", a.Title, a.Content)
	}
}

func TestExtractKeepsAtMostMaxContent(t *testing.T) {
	para := "<p>" + strings.Repeat("word ", 1000) + "</p>"
	a, err := webpages.Extract("https://x.example/", strings.NewReader("<h1>Long</h1>"+strings.Repeat(para, 100)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Content); n > webpages.MaxContent || n < webpages.MaxContent-5000 {
		t.Errorf("content of a 500 KB page = %d bytes, want at most %d (whole paragraphs)", n, webpages.MaxContent)
	}
	if !strings.HasSuffix(a.Content, "word\n") {
		t.Errorf("content ends %q, want a whole paragraph", a.Content[len(a.Content)-20:])
	}
}
