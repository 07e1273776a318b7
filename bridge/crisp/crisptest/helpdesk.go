package crisptest

import (
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HelpdeskArticle is an article of a website's helpdesk, with the fields of Crisp's
// HelpdeskLocaleArticle (crisp-api WebsiteHelpdesk, go-crisp-api). Times are in milliseconds.
type HelpdeskArticle struct {
	ArticleID   string
	Title       string
	Description string
	Content     string // Markdown
	Status      string // "published" (default) or "draft"
	Visibility  string // "visible" (default) or "hidden"
	Order       int
	URL         string
	CreatedAt   int64
	UpdatedAt   int64
	PublishedAt int64
}

func (a *HelpdeskArticle) json(withContent bool) map[string]any {
	m := map[string]any{
		"article_id": a.ArticleID, "title": a.Title, "description": a.Description, "status": a.Status,
		"visibility": a.Visibility, "featured": false, "visits": 0, "order": a.Order, "url": a.URL,
		"created_at": a.CreatedAt, "updated_at": a.UpdatedAt, "published_at": a.PublishedAt,
	}
	if withContent {
		m["content"] = a.Content
	}
	return m
}

// PutHelpdeskArticle creates (empty ArticleID) or replaces an article of a website's helpdesk in
// locale, creating the locale, and returns it as stored: defaults filled, UpdatedAt set to now (and
// past the previous value), so that a sync sees the change.
func (s *Server) PutHelpdeskArticle(websiteID, locale string, a HelpdeskArticle) (HelpdeskArticle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.site(websiteID)
	if err != nil {
		return HelpdeskArticle{}, fmt.Errorf("put helpdesk article: website %s: %w", websiteID, err)
	}
	locale = strings.ToLower(strings.TrimSpace(locale))
	if locale == "" || strings.TrimSpace(a.Title) == "" {
		return HelpdeskArticle{}, fmt.Errorf("put helpdesk article: locale and title are required")
	}
	if w.helpdesk == nil {
		w.helpdesk = map[string]map[string]*HelpdeskArticle{}
	}
	arts := w.helpdesk[locale]
	if arts == nil {
		arts = map[string]*HelpdeskArticle{}
		w.helpdesk[locale] = arts
	}
	now := time.Now().UnixMilli()
	if a.ArticleID == "" {
		s.helpdeskSeq++
		a.ArticleID = fmt.Sprintf("%08x-0000-4000-8000-%012x", s.helpdeskSeq, s.helpdeskSeq)
	}
	if old, ok := arts[a.ArticleID]; ok {
		if a.CreatedAt == 0 {
			a.CreatedAt = old.CreatedAt
		}
		now = max(now, old.UpdatedAt+1)
	}
	if a.Status == "" {
		a.Status = "published"
	}
	if a.Visibility == "" {
		a.Visibility = "visible"
	}
	if a.CreatedAt == 0 {
		a.CreatedAt = now
	}
	a.UpdatedAt = now
	if a.Status == "published" && a.PublishedAt == 0 {
		a.PublishedAt = now
	}
	if a.URL == "" {
		a.URL = fmt.Sprintf("%s/helpdesk/%s/%s/article/%s/", s.url, websiteID, locale, a.ArticleID)
	}
	stored := a
	arts[a.ArticleID] = &stored
	return a, nil
}

// RemoveHelpdeskArticle deletes an article of a website's helpdesk.
func (s *Server) RemoveHelpdeskArticle(websiteID, locale, articleID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.site(websiteID)
	if err != nil {
		return fmt.Errorf("remove helpdesk article: website %s: %w", websiteID, err)
	}
	if _, ok := w.helpdesk[locale][articleID]; !ok {
		return fmt.Errorf("remove helpdesk article: %s/%s: %w", locale, articleID, errNotFound("article not found"))
	}
	delete(w.helpdesk[locale], articleID)
	return nil
}

// SeedHelpdesk publishes Markdown articles (name -> content, as in a knowledge-base folder) in a
// website's helpdesk: the front matter's "lang" is the locale (default "en"), its "title" the title
// (default the first heading, then the file name) and its "url" the article's URL when set. It
// returns the stored articles by name.
func (s *Server) SeedHelpdesk(websiteID string, files map[string]string) (map[string]HelpdeskArticle, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]HelpdeskArticle{}
	for i, n := range names {
		meta, body := splitFrontMatter(strings.ReplaceAll(files[n], "\r\n", "\n"))
		title := meta["title"]
		if title == "" {
			for _, l := range strings.Split(body, "\n") {
				if h, ok := strings.CutPrefix(strings.TrimSpace(l), "# "); ok {
					title = strings.TrimSpace(h)
					break
				}
			}
		}
		if title == "" {
			title = strings.TrimSuffix(path.Base(n), path.Ext(n))
		}
		locale := meta["lang"]
		if locale == "" {
			locale = "en"
		}
		a, err := s.PutHelpdeskArticle(websiteID, locale, HelpdeskArticle{Title: title, Content: strings.TrimSpace(body), URL: meta["url"], Order: i})
		if err != nil {
			return nil, fmt.Errorf("seed helpdesk: %s: %w", n, err)
		}
		out[n] = a
	}
	return out, nil
}

// splitFrontMatter parses a leading "---" block of "key: value" lines.
func splitFrontMatter(s string) (map[string]string, string) {
	meta := map[string]string{}
	rest, ok := strings.CutPrefix(s, "---\n")
	if !ok {
		return meta, s
	}
	block, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return map[string]string{}, s
	}
	for _, l := range strings.Split(block, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			meta[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return meta, body
}

func pageParam(r *http.Request) (int, error) {
	page, err := strconv.Atoi(r.PathValue("page"))
	if err != nil || page < 1 {
		return 0, errInvalid("page should be >= 1")
	}
	return page, nil
}

func (s *Server) restHelpdeskLocales(r *http.Request, _ []byte) (result, error) {
	page, err := pageParam(r)
	if err != nil {
		return result{}, err
	}
	return s.getSite(r, listed, func(w *website) any {
		locales := make([]string, 0, len(w.helpdesk))
		for l := range w.helpdesk {
			locales = append(locales, l)
		}
		sort.Strings(locales)
		out := []any{}
		for i := (page - 1) * listPage; i < len(locales) && i < page*listPage; i++ {
			l := locales[i]
			out = append(out, map[string]any{
				"locale_id": fmt.Sprintf("%s-%s", w.id, l), "locale": l,
				"url": fmt.Sprintf("%s/helpdesk/%s/%s/", s.url, w.id, l), "articles": len(w.helpdesk[l]), "categories": 0,
			})
		}
		return out
	})
}

func (s *Server) restHelpdeskArticles(r *http.Request, _ []byte) (result, error) {
	page, err := pageParam(r)
	if err != nil {
		return result{}, err
	}
	var out []any
	err = s.view(func() error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		arts, ok := w.helpdesk[r.PathValue("locale")]
		if !ok {
			return errNotFound("locale not found")
		}
		list := make([]*HelpdeskArticle, 0, len(arts))
		for _, a := range arts {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Order != list[j].Order {
				return list[i].Order < list[j].Order
			}
			return list[i].ArticleID < list[j].ArticleID
		})
		out = []any{}
		for i := (page - 1) * listPage; i < len(list) && i < page*listPage; i++ {
			out = append(out, list[i].json(false))
		}
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return listed(out), nil
}

func (s *Server) restHelpdeskArticle(r *http.Request, _ []byte) (result, error) {
	var out map[string]any
	err := s.view(func() error {
		w, err := s.site(r.PathValue("w"))
		if err != nil {
			return err
		}
		a, ok := w.helpdesk[r.PathValue("locale")][r.PathValue("id")]
		if !ok {
			return errNotFound("article not found")
		}
		out = a.json(true)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return resolved(out), nil
}
