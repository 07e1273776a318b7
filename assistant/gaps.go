package assistant

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// GapRecorder records the questions a website's knowledge base did not answer surely. Gaps
// implements it; the assistant calls Record from Reply (WithGaps).
type GapRecorder interface {
	Record(websiteID, question string)
}

// Gap is one knowledge gap: a question visitors asked that was refused or answered weakly, with
// how many times it was asked (questions are grouped by their folded words).
type Gap struct {
	Question string    `json:"question"` // the latest wording, clipped, personal data removed
	Count    int       `json:"count"`
	Last     time.Time `json:"last"`
}

// Gaps keeps the knowledge gaps of each website in memory, most frequent first: the questions to
// write an article (or a "questions:" line) for. It is safe for concurrent use. Each website keeps
// at most MaxPerWebsite distinct questions; the least asked, oldest one makes room.
type Gaps struct {
	MaxPerWebsite int              // 0: 500
	Now           func() time.Time // nil: time.Now

	mu    sync.Mutex
	sites map[string]map[string]*Gap
}

var _ GapRecorder = (*Gaps)(nil)

// maxGapRunes clips a recorded question.
const maxGapRunes = 200

var (
	gapEmail = regexp.MustCompile(`[^\s@]+@[^\s@]+\.[^\s@]+`)
	gapPhone = regexp.MustCompile(`\+?\d[\d\s().-]{6,}\d`)
	gapURL   = regexp.MustCompile(`https?://\S+`)
)

// CleanGapQuestion removes personal data from a visitor's question (email addresses, phone and
// other long numbers such as order or card numbers, links) and clips it to 200 characters.
func CleanGapQuestion(q string) string {
	q = gapEmail.ReplaceAllString(q, "[email]")
	q = gapURL.ReplaceAllString(q, "[link]")
	q = gapPhone.ReplaceAllString(q, "[number]")
	q = strings.Join(strings.Fields(q), " ")
	if utf8.RuneCountInString(q) > maxGapRunes {
		r := []rune(q)
		q = strings.TrimSpace(string(r[:maxGapRunes])) + "…"
	}
	return q
}

// Record counts one refused or weakly answered question of a website.
func (g *Gaps) Record(websiteID, question string) {
	q := CleanGapQuestion(question)
	key := strings.Join(words(q), " ")
	if key == "" {
		return
	}
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sites == nil {
		g.sites = map[string]map[string]*Gap{}
	}
	m := g.sites[websiteID]
	if m == nil {
		m = map[string]*Gap{}
		g.sites[websiteID] = m
	}
	if gp, ok := m[key]; ok {
		gp.Count++
		gp.Question, gp.Last = q, now()
		return
	}
	limit := g.MaxPerWebsite
	if limit <= 0 {
		limit = 500
	}
	if len(m) >= limit {
		var victim string
		for k, gp := range m {
			if v := m[victim]; victim == "" || gp.Count < v.Count || gp.Count == v.Count && gp.Last.Before(v.Last) {
				victim = k
			}
		}
		delete(m, victim)
	}
	m[key] = &Gap{Question: q, Count: 1, Last: now()}
}

// List returns a website's gaps, most frequent first (then the most recent), at most limit (0:
// all).
func (g *Gaps) List(websiteID string, limit int) []Gap {
	g.mu.Lock()
	out := make([]Gap, 0, len(g.sites[websiteID]))
	for _, gp := range g.sites[websiteID] {
		out = append(out, *gp)
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Question < out[j].Question
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
