package crisp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
)

// demoKB reads the demo knowledge base (the assistant's copy) as name -> content.
func demoKB(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join("..", "..", "assistant", "testdata", "kb-demo")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func TestHelpdeskRoutes(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	seeded, err := s.SeedHelpdesk(testWebsite, demoKB(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	locales, err := c.HelpdeskLocales(ctx, testWebsite, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(locales) != 2 || locales[0].Locale != "en" || locales[0].Articles != 8 || locales[1].Locale != "es" || locales[1].Articles != 2 {
		t.Fatalf("locales = %+v, want en (8 articles) and es (2)", locales)
	}
	if more, err := c.HelpdeskLocales(ctx, testWebsite, 2); err != nil || len(more) != 0 {
		t.Fatalf("locales page 2 = %v, %v; want an empty page", more, err)
	}
	list, err := c.HelpdeskArticles(ctx, testWebsite, "es", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Content != "" || list[0].Status != "published" || list[0].UpdatedAt == 0 {
		t.Fatalf("es articles = %+v, want two published excerpts without content", list)
	}
	envios := seeded["envios.md"]
	full, err := c.HelpdeskArticle(ctx, testWebsite, "es", envios.ArticleID)
	if err != nil {
		t.Fatal(err)
	}
	if full.Title != "Envíos y entregas" || full.URL != "https://help.nimbus.example/es/envios" || !strings.Contains(full.Content, "## Gastos de envío") {
		t.Fatalf("article = %+v, want the envios article with its URL and Markdown", full)
	}
	if _, err := c.HelpdeskArticle(ctx, testWebsite, "es", "nope"); err == nil {
		t.Fatal("HelpdeskArticle(unknown) = nil error, want not found")
	}
	if _, err := c.HelpdeskArticles(ctx, testWebsite, "", 1); err == nil {
		t.Fatal("HelpdeskArticles without a locale = nil error")
	}
}

// TestHelpdeskSync syncs the demo knowledge base from the fake's helpdesk, then checks that an
// unchanged helpdesk costs no article read, that an edit reads that article alone, and that drafts,
// removals and the locale restriction apply.
func TestHelpdeskSync(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	seeded, err := s.SeedHelpdesk(testWebsite, demoKB(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	kb := assistant.NewKnowledgeBase(nil)
	h := crisp.NewHelpdeskSync(c, testWebsite, nil, kb)
	if changed, err := h.Sync(ctx); err != nil || !changed {
		t.Fatalf("first Sync = %v, %v; want true, nil", changed, err)
	}
	if h.ArticleReads() != 10 {
		t.Errorf("first sync read %d articles, want 10", h.ArticleReads())
	}
	got := kb.Find(assistant.Query{Text: "¿Cuánto cuesta el envío?", Lang: "es", MinMatch: 0.5}, 1)
	if len(got) != 1 || got[0].Lang != "es" || got[0].URL != "https://help.nimbus.example/es/envios#gastos-de-envío" {
		t.Fatalf("Find after sync = %+v, want the Spanish shipping costs with the helpdesk URL", got)
	}

	s.ResetCalls()
	if changed, err := h.Sync(ctx); err != nil || changed {
		t.Fatalf("unchanged Sync = %v, %v; want false, nil", changed, err)
	}
	if n := s.CallCount("GET", "/article/"); n != 0 || h.ArticleReads() != 10 {
		t.Errorf("unchanged sync: %d article reads, want 0 (listings only: %d calls)", n, len(s.Calls()))
	}

	a := seeded["returns.md"]
	a.Content = "## Return window\nYou can return anything within 60 days of delivery.\n"
	if _, err := s.PutHelpdeskArticle(testWebsite, "en", a); err != nil {
		t.Fatal(err)
	}
	if changed, err := h.Sync(ctx); err != nil || !changed || h.ArticleReads() != 11 {
		t.Fatalf("Sync after an edit = %v, %v with %d reads; want true, nil, 11", changed, err, h.ArticleReads())
	}
	if got := kb.Search("60 days return", 1); len(got) != 1 || !strings.Contains(got[0].Text, "60 days") {
		t.Fatalf("Search after the edit = %+v, want the new text", got)
	}

	d := seeded["warranty.md"]
	d.Status = "draft"
	if _, err := s.PutHelpdeskArticle(testWebsite, "en", d); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveHelpdeskArticle(testWebsite, "en", seeded["pricing.md"].ArticleID); err != nil {
		t.Fatal(err)
	}
	if changed, err := h.Sync(ctx); err != nil || !changed {
		t.Fatalf("Sync after a draft and a removal = %v, %v", changed, err)
	}
	for _, q := range []string{"grinder warranty", "student discount"} {
		for _, p := range kb.Search(q, 3) {
			if strings.Contains(p.File, seeded["warranty.md"].ArticleID) || strings.Contains(p.File, seeded["pricing.md"].ArticleID) {
				t.Errorf("Search(%q) still finds %s (%s)", q, p.File, p.Title)
			}
		}
	}

	esOnly := assistant.NewKnowledgeBase(nil)
	if _, err := crisp.NewHelpdeskSync(c, testWebsite, []string{"es"}, esOnly).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range esOnly.Search("shipping envío devoluciones password", 10) {
		if p.Lang != "es" {
			t.Errorf("locale-restricted sync indexed %s (%s)", p.File, p.Lang)
		}
	}
	if esOnly.Len() == 0 {
		t.Error("locale-restricted sync indexed nothing")
	}
}

// TestHelpdeskSyncPaging syncs more articles than a listing page holds.
func TestHelpdeskSyncPaging(t *testing.T) {
	s, _, c := startFake(t, crisptest.Options{})
	for i := range 45 {
		if _, err := s.PutHelpdeskArticle(testWebsite, "en", crisptest.HelpdeskArticle{
			Title: fmt.Sprintf("Topic %d", i), Content: fmt.Sprintf("## Part\nThe answer number %d is zebra%d.\n", i, i), Order: i,
		}); err != nil {
			t.Fatal(err)
		}
	}
	kb := assistant.NewKnowledgeBase(nil)
	if _, err := crisp.NewHelpdeskSync(c, testWebsite, nil, kb).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kb.Len() != 45 {
		t.Fatalf("synced %d chunks, want 45 over three listing pages", kb.Len())
	}
	if got := kb.Search("zebra44", 1); len(got) != 1 || got[0].Title != "Topic 44" {
		t.Fatalf("Search(zebra44) = %+v, want the last page's article", got)
	}
}
