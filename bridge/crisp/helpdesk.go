package crisp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
)

// Helpdesk routes, as the official clients name them (crisp-api's WebsiteHelpdesk resource up to
// 10.x and go-crisp-api: listHelpdeskLocales, listHelpdeskLocaleArticles,
// resolveHelpdeskLocaleArticle).
const (
	RouteHelpdeskLocales  = "website/{website}/helpdesk/locales/{page}"
	RouteHelpdeskArticles = "website/{website}/helpdesk/locale/{locale}/articles/{page}"
	RouteHelpdeskArticle  = "website/{website}/helpdesk/locale/{locale}/article/{article}"
)

// maxHelpdeskPages guards the helpdesk listings against a server that never returns an empty page.
const maxHelpdeskPages = 1000

// HelpdeskLocale is one locale of a website's helpdesk.
type HelpdeskLocale struct {
	LocaleID   string `json:"locale_id"`
	Locale     string `json:"locale"` // "en", "es", "pt-br"...
	URL        string `json:"url"`
	Articles   int    `json:"articles"`
	Categories int    `json:"categories"`
}

// HelpdeskArticle is a helpdesk article: listings leave Content empty, HelpdeskArticle fills it.
// Times are in milliseconds.
type HelpdeskArticle struct {
	ArticleID   string `json:"article_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Content     string `json:"content"` // Markdown
	Status      string `json:"status"`  // "published" or "draft"
	Visibility  string `json:"visibility"`
	Featured    bool   `json:"featured"`
	Visits      int    `json:"visits"`
	Order       int    `json:"order"`
	URL         string `json:"url"`
	CreatedAt   int64  `json:"created_at"`
	UpdatedAt   int64  `json:"updated_at"`
	PublishedAt int64  `json:"published_at"`
}

// HelpdeskLocales returns one page (from 1) of the website's helpdesk locales; an empty page ends
// the list.
func (c *Client) HelpdeskLocales(ctx context.Context, websiteID string, page int) ([]HelpdeskLocale, error) {
	if websiteID == "" || page < 1 {
		return nil, fmt.Errorf("list helpdesk locales: website id and a page >= 1 are required")
	}
	var out []HelpdeskLocale
	err := c.do(ctx, restCall{op: "list helpdesk locales", method: http.MethodGet, route: RouteHelpdeskLocales,
		path: restPath("website", websiteID, "helpdesk", "locales", strconv.Itoa(page)), out: &out})
	return out, err
}

// HelpdeskArticles returns one page (from 1) of a locale's articles, without their content; an
// empty page ends the list.
func (c *Client) HelpdeskArticles(ctx context.Context, websiteID, locale string, page int) ([]HelpdeskArticle, error) {
	if websiteID == "" || locale == "" || page < 1 {
		return nil, fmt.Errorf("list helpdesk articles: website id, locale and a page >= 1 are required")
	}
	var out []HelpdeskArticle
	err := c.do(ctx, restCall{op: "list helpdesk articles", method: http.MethodGet, route: RouteHelpdeskArticles,
		path: restPath("website", websiteID, "helpdesk", "locale", locale, "articles", strconv.Itoa(page)), out: &out})
	return out, err
}

// HelpdeskArticle reads one article with its content.
func (c *Client) HelpdeskArticle(ctx context.Context, websiteID, locale, articleID string) (HelpdeskArticle, error) {
	var out HelpdeskArticle
	if websiteID == "" || locale == "" || articleID == "" {
		return out, errors.New("get helpdesk article: website id, locale and article id are required")
	}
	err := c.do(ctx, restCall{op: "get helpdesk article", method: http.MethodGet, route: RouteHelpdeskArticle,
		path: restPath("website", websiteID, "helpdesk", "locale", locale, "article", articleID), out: &out})
	return out, err
}

// HelpdeskSync keeps a knowledge base in step with a website's published helpdesk articles. Each
// Sync lists the locales and their articles (a few listing calls) and fetches only the articles
// that are new or whose updated_at changed; an unchanged helpdesk costs no article read and no
// re-index. It is safe for concurrent use.
type HelpdeskSync struct {
	client    *Client
	websiteID string
	locales   []string // only these locales (primary subtags or full locales); empty: all
	kb        *assistant.KnowledgeBase

	mu       sync.Mutex
	articles map[string]helpdeskEntry // locale + "/" + article id
	reads    int64                    // article reads so far
	retry    bool                     // the last SetArticles failed (embeddings): set again
}

type helpdeskEntry struct {
	updatedAt int64
	article   assistant.Article
}

// NewHelpdeskSync returns a sync of websiteID's helpdesk into kb (a knowledge base made with
// assistant.NewKnowledgeBase), restricted to locales when not empty ("es" keeps "es" and "es-mx").
func NewHelpdeskSync(c *Client, websiteID string, locales []string, kb *assistant.KnowledgeBase) *HelpdeskSync {
	ls := make([]string, 0, len(locales))
	for _, l := range locales {
		if l = strings.ToLower(strings.TrimSpace(l)); l != "" {
			ls = append(ls, l)
		}
	}
	return &HelpdeskSync{client: c, websiteID: websiteID, locales: ls, kb: kb, articles: map[string]helpdeskEntry{}}
}

// ArticleReads returns how many articles Sync has read so far (the listings aside).
func (h *HelpdeskSync) ArticleReads() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

func (h *HelpdeskSync) wants(locale string) bool {
	if len(h.locales) == 0 {
		return true
	}
	l := strings.ToLower(locale)
	primary, _, _ := strings.Cut(l, "-")
	return slices.Contains(h.locales, l) || slices.Contains(h.locales, primary)
}

// Sync brings the knowledge base up to date and reports whether it changed. Published, visible
// articles are kept; drafts, hidden and removed ones are dropped. On error the knowledge base keeps
// its previous articles.
func (h *HelpdeskSync) Sync(ctx context.Context) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var locales []HelpdeskLocale
	for page := 1; ; page++ {
		if page > maxHelpdeskPages {
			return false, fmt.Errorf("sync helpdesk: more than %d pages of locales", maxHelpdeskPages)
		}
		ls, err := h.client.HelpdeskLocales(ctx, h.websiteID, page)
		if err != nil {
			return false, fmt.Errorf("sync helpdesk: %w", err)
		}
		if len(ls) == 0 {
			break
		}
		locales = append(locales, ls...)
	}
	next := map[string]helpdeskEntry{}
	changed := false
	for _, loc := range locales {
		if !h.wants(loc.Locale) {
			continue
		}
		for page := 1; ; page++ {
			if page > maxHelpdeskPages {
				return false, fmt.Errorf("sync helpdesk: more than %d pages of %s articles", maxHelpdeskPages, loc.Locale)
			}
			list, err := h.client.HelpdeskArticles(ctx, h.websiteID, loc.Locale, page)
			if err != nil {
				return false, fmt.Errorf("sync helpdesk: %w", err)
			}
			if len(list) == 0 {
				break
			}
			for _, ex := range list {
				if ex.Status != "published" || ex.Visibility == "hidden" {
					continue
				}
				key := loc.Locale + "/" + ex.ArticleID
				if old, ok := h.articles[key]; ok && old.updatedAt == ex.UpdatedAt {
					next[key] = old
					continue
				}
				full, err := h.client.HelpdeskArticle(ctx, h.websiteID, loc.Locale, ex.ArticleID)
				h.reads++
				if err != nil {
					return false, fmt.Errorf("sync helpdesk: %w", err)
				}
				url := full.URL
				if url == "" {
					url = ex.URL
				}
				next[key] = helpdeskEntry{updatedAt: ex.UpdatedAt, article: assistant.Article{
					Name: "helpdesk/" + key, Title: full.Title, Lang: loc.Locale, URL: url, Content: full.Content,
				}}
				changed = true
			}
		}
	}
	if len(next) != len(h.articles) || h.retry {
		changed = true
	}
	if !changed {
		return false, nil
	}
	keys := make([]string, 0, len(next))
	for k := range next {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	arts := make([]assistant.Article, 0, len(keys))
	for _, k := range keys {
		arts = append(arts, next[k].article)
	}
	h.articles = next
	err := h.kb.SetArticles(arts)
	// On failure the lexical index is in place; only the embeddings failed and the next sync sets
	// the articles again, without reading them again.
	h.retry = err != nil
	if err != nil {
		return true, fmt.Errorf("sync helpdesk: %w", err)
	}
	return true, nil
}

// Run syncs every interval (default 5 minutes) until ctx is done; errors go to onError (may be
// nil). It does not sync at once: call Sync first.
func (h *HelpdeskSync) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := h.Sync(ctx); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}
