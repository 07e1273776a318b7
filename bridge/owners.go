package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/hours"
)

// WebsiteSettings are what a website's owner edits on the plugin's settings page. A zero field
// keeps the value of the configuration file (signalbridge.yaml): saved settings win over the file
// for the fields they set, field by field.
type WebsiteSettings struct {
	// AssistantOff switches the assistant off for the website: new conversations wait for a
	// signal, and a conversation a signal starts is handed to a human instead of answered.
	AssistantOff bool `json:"assistant_off,omitempty"`
	// StartMode is "auto" or "wait_for_signal"; "" keeps the file's.
	StartMode string `json:"start_mode,omitempty"`
	// Prompt is the assistant's system prompt (tone included); "" keeps the file's.
	Prompt string `json:"prompt,omitempty"`
	// Language is the default answer language; Languages the supported ones.
	Language  string   `json:"language,omitempty"`
	Languages []string `json:"languages,omitempty"`
	// Knowledge is the knowledge source: "" keeps the file's (a folder or the Crisp Helpdesk);
	// KnowledgeMarkdown uses the Markdown of KnowledgeMarkdown, an article at each "# " heading;
	// KnowledgeHelpdesk the website's published Crisp Helpdesk articles; KnowledgeURLs the public
	// help pages at KnowledgeURLs (https, at most MaxSettingsURLs), one article each.
	Knowledge         string   `json:"knowledge,omitempty"`
	KnowledgeMarkdown string   `json:"knowledge_markdown,omitempty"`
	KnowledgeURLs     []string `json:"knowledge_urls,omitempty"`
	// HandoverMessage is said to the visitor at a handover while operators are online;
	// ClosedMessage while nobody is online. Both in the default language; "" keeps the built-in.
	HandoverMessage string `json:"handover_message,omitempty"`
	ClosedMessage   string `json:"closed_message,omitempty"`
	// ConversationTokens and DailyTokens are the model token budgets (0 keeps the file's).
	ConversationTokens int64 `json:"conversation_tokens,omitempty"`
	DailyTokens        int64 `json:"daily_tokens,omitempty"`
	// Hours are the website's support hours (nil keeps the file's; see docs/support-hours.md).
	Hours *SettingsHours `json:"hours,omitempty"`
	// UpdatedAt is when they were saved (Unix ms).
	UpdatedAt int64 `json:"updated_at,omitempty"`
}

// SettingsHours are support hours as the owner saves them: the weekly schedule in the website's
// time zone (days such as "mon", "mon-fri", "weekend" to spans "09:00-18:00"), holidays
// (2006-01-02) and whether a wait_for_signal website starts the assistant by itself when closed.
type SettingsHours struct {
	TimeZone        string              `json:"time_zone"`
	Weekly          map[string][]string `json:"weekly"`
	Holidays        []string            `json:"holidays,omitempty"`
	StartWhenClosed bool                `json:"start_when_closed,omitempty"`
}

// Schedule builds the schedule of the saved hours.
func (h *SettingsHours) Schedule() (*hours.Schedule, error) {
	return hours.New(h.TimeZone, h.Weekly, h.Holidays)
}

// WebsiteSettings.Knowledge values: Markdown saved with the settings, the website's published
// Crisp Helpdesk articles, or public help pages.
const (
	KnowledgeMarkdown = "markdown"
	KnowledgeHelpdesk = "crisp-helpdesk"
	KnowledgeURLs     = "urls"
)

// Bounds of WebsiteSettings.
const (
	MaxSettingsPrompt   = 8 << 10
	MaxSettingsMessage  = 1 << 10
	MaxSettingsMarkdown = 256 << 10
	MaxSettingsLangs    = 20
	MaxSettingsURLs     = 50
	MaxSettingsURL      = 2048
)

var settingsLangRe = regexp.MustCompile(`^[a-z]{2,3}$`)

// ErrInvalidSettings wraps every problem Validate reports.
var ErrInvalidSettings = errors.New("invalid settings")

// Validate checks every field and names the wrong ones.
func (s WebsiteSettings) Validate() error {
	var errs []string
	switch s.StartMode {
	case "", "auto", "wait_for_signal":
	default:
		errs = append(errs, fmt.Sprintf("start_mode must be auto or wait_for_signal, got %q", s.StartMode))
	}
	if len(s.Prompt) > MaxSettingsPrompt {
		errs = append(errs, fmt.Sprintf("prompt is longer than %d bytes", MaxSettingsPrompt))
	}
	if s.Language != "" && !settingsLangRe.MatchString(s.Language) {
		errs = append(errs, fmt.Sprintf("language must be a code such as en, got %q", s.Language))
	}
	if len(s.Languages) > MaxSettingsLangs {
		errs = append(errs, fmt.Sprintf("at most %d languages", MaxSettingsLangs))
	}
	for _, l := range s.Languages {
		if !settingsLangRe.MatchString(l) {
			errs = append(errs, fmt.Sprintf("languages: %q is not a code such as en", l))
		}
	}
	switch s.Knowledge {
	case "", KnowledgeHelpdesk:
	case KnowledgeMarkdown:
		if strings.TrimSpace(s.KnowledgeMarkdown) == "" {
			errs = append(errs, "knowledge_markdown is empty: paste at least one article")
		}
	case KnowledgeURLs:
		if len(s.KnowledgeURLs) == 0 {
			errs = append(errs, "knowledge_urls is empty: list at least one page")
		}
	default:
		errs = append(errs, fmt.Sprintf("knowledge must be empty (the file's), %s, %s or %s, got %q", KnowledgeMarkdown, KnowledgeHelpdesk,
			KnowledgeURLs, s.Knowledge))
	}
	if len(s.KnowledgeURLs) > MaxSettingsURLs {
		errs = append(errs, fmt.Sprintf("knowledge_urls: at most %d pages, got %d", MaxSettingsURLs, len(s.KnowledgeURLs)))
	}
	for _, u := range s.KnowledgeURLs {
		if err := CheckPageURL(u); err != nil {
			errs = append(errs, fmt.Sprintf("knowledge_urls: %v", err))
		}
	}
	if len(s.KnowledgeMarkdown) > MaxSettingsMarkdown {
		errs = append(errs, fmt.Sprintf("knowledge_markdown is longer than %d bytes", MaxSettingsMarkdown))
	}
	if s.Hours != nil {
		if _, err := s.Hours.Schedule(); err != nil {
			errs = append(errs, fmt.Sprintf("hours: %v", err))
		}
	}
	if len(s.HandoverMessage) > MaxSettingsMessage || len(s.ClosedMessage) > MaxSettingsMessage {
		errs = append(errs, fmt.Sprintf("messages are limited to %d bytes", MaxSettingsMessage))
	}
	if s.ConversationTokens < 0 || s.DailyTokens < 0 {
		errs = append(errs, "budgets must not be negative")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidSettings, strings.Join(errs, "; "))
	}
	return nil
}

// CheckPageURL reports whether u may be listed as a public help page: an absolute https URL with a
// host, without credentials, at most MaxSettingsURL bytes.
func CheckPageURL(u string) error {
	if len(u) > MaxSettingsURL {
		return fmt.Errorf("a URL is longer than %d bytes", MaxSettingsURL)
	}
	p, err := url.Parse(u)
	switch {
	case err != nil || strings.ContainsAny(u, " \t\r\n"):
		return fmt.Errorf("%q is not a URL", u)
	case p.Scheme != "https":
		return fmt.Errorf("%q must start with https://", u)
	case p.Hostname() == "":
		return fmt.Errorf("%q has no host", u)
	case p.User != nil:
		return fmt.Errorf("%q must not carry a user name or password", u)
	}
	return nil
}

// SettingsStore keeps each website's saved settings, shared by every replica. The store-wide
// version grows with every save, so a replica learns that something changed with one cheap read.
type SettingsStore interface {
	// SaveSettings replaces websiteID's settings and returns the store-wide version after the save.
	SaveSettings(ctx context.Context, websiteID string, s WebsiteSettings) (int64, error)
	// AllSettings returns every website's settings and the version they are at.
	AllSettings(ctx context.Context) (map[string]WebsiteSettings, int64, error)
	// SettingsVersion returns the store-wide version (0 before the first save).
	SettingsVersion(ctx context.Context) (int64, error)
}

// InsightsStore keeps small per-website, per-day counters for the insights page: updated as
// decisions are made, read a few days at a time, never computed by scanning conversations.
type InsightsStore interface {
	// AddInsights adds deltas to websiteID's counters of day ("2006-01-02"). A counter the day does
	// not hold yet is created only while the day holds fewer than maxKeys counters, so a day's
	// record stays bounded whatever the traffic; the others are still added to.
	AddInsights(ctx context.Context, websiteID, day string, deltas map[string]int64, maxKeys int) error
	// Insights returns websiteID's counters of each day asked (an absent day is an empty map).
	Insights(ctx context.Context, websiteID string, days []string) (map[string]map[string]int64, error)
}

// InsightsRetention is how long a day of insights is kept: the 90 days the insights page can show,
// and a little more. A knowledge gap holds a visitor's question (bounded), so it is not kept longer.
const InsightsRetention = 92 * 24 * time.Hour
