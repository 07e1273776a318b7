package webpages

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
)

// MaxURLs is how many pages one website's knowledge source may list.
const MaxURLs = 50

// DefaultInterval is how often Run reads the pages again (conditional requests: an unchanged page
// costs a 304 and no re-index).
const DefaultInterval = time.Hour

// fetchParallel is how many pages of one source are read at a time.
const fetchParallel = 4

// Source keeps a knowledge base in step with a list of public pages: each page is one article
// (Extract). A page that cannot be read keeps its previous article, if it had one, and its error
// is kept for Status. It is safe for concurrent use.
type Source struct {
	fetcher *Fetcher
	urls    []string
	kb      *assistant.KnowledgeBase

	sync   sync.Mutex // one Sync at a time
	mu     sync.Mutex // guards pages, retry, synced
	pages  map[string]*pageState
	retry  bool // the last SetArticles failed (embeddings): set again
	synced bool
	done   chan struct{} // closed when the first Sync ends
}

type pageState struct {
	page   *Page // nil until read once
	err    error
	readAt time.Time
}

// Status is a page's state, as the settings page shows it.
type Status struct {
	URL    string    `json:"url"`
	Title  string    `json:"title,omitempty"`  // the article's title, once read
	Error  string    `json:"error,omitempty"`  // "could not read …: …" after the last attempt failed
	ReadAt time.Time `json:"read_at,omitzero"` // the last successful read (or 304)
}

// NewSource returns a source of the pages at urls (duplicates dropped) into kb, a knowledge base
// made with assistant.NewKnowledgeBase. Nothing is read before Sync.
func NewSource(f *Fetcher, urls []string, kb *assistant.KnowledgeBase) *Source {
	var us []string
	for _, u := range urls {
		if !slices.Contains(us, u) {
			us = append(us, u)
		}
	}
	return &Source{fetcher: f, urls: us, kb: kb, pages: map[string]*pageState{}, done: make(chan struct{})}
}

// URLs returns the source's pages.
func (s *Source) URLs() []string { return slices.Clone(s.urls) }

// Synced is closed once the first Sync has ended, whatever its outcome.
func (s *Source) Synced() <-chan struct{} { return s.done }

// Status returns every page's state, in the order of the URLs.
func (s *Source) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.urls))
	for _, u := range s.urls {
		st := Status{URL: u}
		if p := s.pages[u]; p != nil {
			if p.page != nil {
				st.Title = p.page.Article.Title
			}
			if p.err != nil {
				st.Error = p.err.Error()
			}
			st.ReadAt = p.readAt
		}
		out = append(out, st)
	}
	return out
}

// Sync reads every page again (conditionally) and re-indexes the knowledge base when one changed;
// it reports whether it did. The error joins one "could not read URL: reason" per page that failed;
// the other pages are indexed all the same.
func (s *Source) Sync(ctx context.Context) (bool, error) {
	s.sync.Lock()
	defer s.sync.Unlock()
	defer func() {
		s.mu.Lock()
		if !s.synced {
			s.synced = true
			close(s.done)
		}
		s.mu.Unlock()
	}()
	type result struct {
		page Page
		err  error
	}
	results := make([]result, len(s.urls))
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for i, u := range s.urls {
		s.mu.Lock()
		var prev *Page
		if p := s.pages[u]; p != nil {
			prev = p.page
		}
		s.mu.Unlock()
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i].page, results[i].err = s.fetcher.Fetch(ctx, u, prev)
		}()
	}
	wg.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.retry
	var errs []error
	now := time.Now()
	for i, u := range s.urls {
		p := s.pages[u]
		if p == nil {
			p = &pageState{}
			s.pages[u] = p
		}
		r := results[i]
		switch {
		case errors.Is(r.err, ErrNotModified):
			p.err, p.readAt = nil, now
		case r.err != nil:
			p.err = fmt.Errorf("could not read %s: %w", u, r.err)
			errs = append(errs, p.err)
		default:
			if p.page == nil || !sameArticle(p.page.Article, r.page.Article) {
				changed = true
			}
			page := r.page
			p.page, p.err, p.readAt = &page, nil, now
		}
	}
	if !changed {
		return false, errors.Join(errs...)
	}
	var arts []assistant.Article
	for _, u := range s.urls {
		if p := s.pages[u]; p.page != nil {
			arts = append(arts, p.page.Article)
		}
	}
	err := s.kb.SetArticles(arts)
	// On failure the lexical index is in place; only the embeddings failed: set them again next time.
	s.retry = err != nil
	if err != nil {
		errs = append(errs, fmt.Errorf("index pages: %w", err))
	}
	return true, errors.Join(errs...)
}

// Run syncs every interval (default DefaultInterval) until ctx is done; errors go to onError (may
// be nil). It does not sync at once: call Sync first.
func (s *Source) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sync(ctx); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}

func sameArticle(a, b assistant.Article) bool {
	return a.Name == b.Name && a.Title == b.Title && a.Lang == b.Lang && a.URL == b.URL && a.Content == b.Content &&
		slices.Equal(a.Questions, b.Questions)
}
