package main

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/signalbridge/signalbridge/bridge"
)

// Config is the whole configuration: a YAML file plus environment variables for secrets and
// addresses. Defaults come from defaultConfig; Validate names the first wrong field of each kind.
type Config struct {
	Listen     string `yaml:"listen"`      // SIGNALBRIDGE_ADDR
	Data       string `yaml:"data"`        // SIGNALBRIDGE_DATA: bbolt file
	AdminToken string `yaml:"admin_token"` // SIGNALBRIDGE_ADMIN_TOKEN (secret; prefer the environment)
	// AdminScenarioToken is the narrow token of POST /v1/control?token= (Crisp "Submit Web Hooks"):
	// SIGNALBRIDGE_SCENARIO_TOKEN (secret). It can start, pause, hand over and resume only.
	AdminScenarioToken string `yaml:"admin_scenario_token"`
	// AdminCORSOrigins are the browser origins allowed to call /v1 from another origin.
	AdminCORSOrigins []string `yaml:"admin_cors_origins"`
	LogLevel         string   `yaml:"log_level"`  // debug, info, warn, error
	LogFormat        string   `yaml:"log_format"` // json, text, auto (text on a terminal)

	Redis    RedisConfig              `yaml:"redis"` // shared store for several replicas (store.go)
	Crisp    CrispConfig              `yaml:"crisp"`
	OpenAI   OpenAIConfig             `yaml:"openai"`
	Websites map[string]WebsiteConfig `yaml:"websites"` // by website id; "default" for the rest
	Bridge   BridgeConfig             `yaml:"bridge"`
	// AllowUnknown is websites.allow_unknown: whether a website not listed by id is served with the
	// default block (its knowledge base, its model key). Off by default: an unlisted website gets a
	// log line and nothing else. The demo turns it on for its one sandbox website.
	AllowUnknown bool `yaml:"-"`

	lines map[string]int    // line in the file of each field path it sets, for Validate's messages
	env   map[string]string // field path -> the environment variable that set it (configenv.go)
}

// BridgeConfig tunes the core: answers in flight, timeouts, retries of Crisp writes, storage bounds.
// Zero values take the defaults.
type BridgeConfig struct {
	Generations     int           `yaml:"generations"`      // answers generated at once (256)
	ReplyTimeout    time.Duration `yaml:"reply_timeout"`    // one answer, model retries included, from when it starts (60s)
	CallTimeout     time.Duration `yaml:"call_timeout"`     // one Crisp call made while processing (15s)
	WriteDeadline   time.Duration `yaml:"write_deadline"`   // a failing write-back, state or segment is retried this long (1h)
	MessageDeadline time.Duration `yaml:"message_deadline"` // a failing notice or note is retried this long (10m)
	MaxTurnText     int           `yaml:"max_turn_text"`    // characters kept per transcript turn (2000)
	Retention       time.Duration `yaml:"retention"`        // erase conversations idle this long (2160h = 90 days; -1 keeps them)
	LeaseTTL        time.Duration `yaml:"lease_ttl"`        // with Redis: a dead replica's conversations wait about 1.5x this long (3s)
}

// CrispConfig is how we reach Crisp.
type CrispConfig struct {
	Identifier     string        `yaml:"identifier"`       // CRISP_IDENTIFIER
	Key            string        `yaml:"key"`              // CRISP_KEY (secret)
	Tier           string        `yaml:"tier"`             // CRISP_TIER: plugin, website or user
	APIURL         string        `yaml:"api_url"`          // CRISP_API_URL
	RTMURL         string        `yaml:"rtm_url"`          // CRISP_RTM_URL: skips endpoint discovery
	Events         string        `yaml:"events"`           // CRISP_EVENTS: rtm, hooks or both
	EIO            int           `yaml:"eio"`              // Engine.IO protocol: 4 (default) or 3
	HooksSecret    string        `yaml:"hooks_secret"`     // CRISP_HOOKS_SECRET (secret): plugin hooks signing secret
	WebsiteHookKey string        `yaml:"website_hook_key"` // CRISP_WEBSITE_HOOK_KEY (secret): ?key= of website hooks
	HookMaxAge     time.Duration `yaml:"hook_max_age"`     // freshness window of signed hooks
	PluginURN      string        `yaml:"plugin_urn"`       // CRISP_PLUGIN_URN: origin of our messages
	// MergeMeta: Crisp merges PATCH meta data and segments (UNCONFIRMED), so a write-back is one
	// PATCH of our keys only, without the read first.
	MergeMeta   bool          `yaml:"merge_meta"`
	DailyQuota  int           `yaml:"daily_quota"` // client-side REST quota per day (0 = unlimited)
	Timeout     time.Duration `yaml:"timeout"`     // REST request timeout
	BotNickname string        `yaml:"bot_nickname"`
	BotAvatar   string        `yaml:"bot_avatar"`
	// CatchupLookBack bounds the REST catch-up after an RTM reconnect or a restart (0: 24h).
	CatchupLookBack time.Duration `yaml:"catchup_look_back"`
}

// OpenAIConfig is the OpenAI-compatible model endpoint. No API key means the offline assistant.
type OpenAIConfig struct {
	APIKey       string                `yaml:"api_key"`  // OPENAI_API_KEY (secret)
	BaseURL      string                `yaml:"base_url"` // OPENAI_BASE_URL
	Model        string                `yaml:"model"`    // OPENAI_MODEL
	Organization string                `yaml:"organization"`
	Headers      map[string]string     `yaml:"headers"` // extra headers (proxies such as Helicone)
	Timeout      time.Duration         `yaml:"timeout"`
	Prices       map[string]PriceEntry `yaml:"prices"` // by model: USD per 1M tokens
	// EmbeddingModel (OPENAI_EMBEDDING_MODEL) embeds the knowledge bases for hybrid retrieval when a
	// model is configured (default text-embedding-3-small); "off" keeps retrieval lexical.
	EmbeddingModel string `yaml:"embedding_model"`
	// QueryRewrite makes the model rewrite each visitor question into a search query per article
	// language before retrieval (the production path; docs/knowledge-base.md). One short extra
	// call per question, cached per message.
	QueryRewrite bool `yaml:"query_rewrite"`
}

// PriceEntry is a model's price in US dollars per million tokens.
type PriceEntry struct {
	Prompt     float64 `yaml:"prompt"`
	Completion float64 `yaml:"completion"`
}

// KBCrispHelpdesk as a website's knowledge_base reads the website's published Crisp Helpdesk
// articles (optionally only helpdesk_locales) and re-syncs them every HelpdeskSyncInterval.
const KBCrispHelpdesk = "crisp-helpdesk"

// KBURLs as a website's knowledge_base reads the public help pages listed in knowledge_urls (one
// article a page) and reads them again every PagesSyncInterval.
const KBURLs = "urls"

// PagesSyncInterval is how often a urls knowledge base reads its pages again (conditional requests:
// an unchanged page costs a 304).
const PagesSyncInterval = time.Hour

// HelpdeskSyncInterval is how often a crisp-helpdesk knowledge base re-syncs (a few listing calls
// per locale; articles are read again only when their updated_at changed).
const HelpdeskSyncInterval = 5 * time.Minute

// WebsiteConfig is one website's block. KnowledgeBase is a folder or KBCrispHelpdesk, whose
// HelpdeskLocales restrict it to some locales.
type WebsiteConfig struct {
	Name            string                       `yaml:"name"`
	StartMode       string                       `yaml:"start_mode"` // auto or wait_for_signal
	Signals         SignalsConfig                `yaml:"signals"`
	Prompt          string                       `yaml:"prompt"`
	Model           string                       `yaml:"model"`
	Temperature     *float64                     `yaml:"temperature"`
	MaxAnswerTokens int                          `yaml:"max_answer_tokens"`
	HistoryTokens   int                          `yaml:"history_tokens"`
	Language        string                       `yaml:"language"`
	Languages       []string                     `yaml:"languages"`
	Strings         map[string]map[string]string `yaml:"strings"`       // lang -> key -> text
	HumanPhrases    map[string][]string          `yaml:"human_phrases"` // lang -> phrases
	KnowledgeBase   string                       `yaml:"knowledge_base"`
	KBBaseURL       string                       `yaml:"knowledge_base_url"`
	HelpdeskLocales []string                     `yaml:"helpdesk_locales"`
	KnowledgeURLs   []string                     `yaml:"knowledge_urls"` // with knowledge_base: urls
	Handover        HandoverConfig               `yaml:"handover"`
	Scenario        string                       `yaml:"scenario"` // YAML file of guided steps, or "default"
	Budgets         BudgetsConfig                `yaml:"budgets"`
	Limits          LimitsConfig                 `yaml:"limits"`
	Hours           *HoursConfig                 `yaml:"hours"`    // support hours (hours.go)
	Webhooks        *WebhooksConfig              `yaml:"webhooks"` // endpoints of guided steps' webhook blocks (webhooks.go)
	Greeting        *GreetingConfig              `yaml:"greeting"` // proactive greeting (greet.go)
	// Drafts writes suggested replies as private notes while a human owns a conversation, and
	// lets operators ask for one with the note "/ai draft" (docs/drafts.md).
	Drafts *bool `yaml:"drafts"`
	// Burst answers a burst of visitor lines once (burst.go, docs/burst.md).
	Burst *BurstConfig `yaml:"burst"`
}

// SignalsConfig overrides the signal vocabulary.
type SignalsConfig struct {
	Key          string `yaml:"key"`
	Start        string `yaml:"start"`
	Pause        string `yaml:"pause"`
	Handover     string `yaml:"handover"`
	StartButton  string `yaml:"start_button"`
	PauseButton  string `yaml:"pause_button"`
	PausedPrefix string `yaml:"paused_prefix"`
	ReasonKey    string `yaml:"reason_key"`
	AtKey        string `yaml:"at_key"`
	StateKey     string `yaml:"state_key"`
	// UntrustedStartOverridesHuman lets session data, a page value or a button start the assistant
	// in a conversation a human owns (handed over, or paused by an operator); off by default.
	UntrustedStartOverridesHuman *bool `yaml:"untrusted_start_overrides_human"`
	// StartSecretEnv names the environment variable holding the website's start signing secret:
	// when set, starts from session data or the page must be signed by the website's backend.
	StartSecretEnv string `yaml:"start_secret_env"`
	// StartButtonUnsigned lets the start button start a website that requires signed starts (off:
	// the button would be an unsigned way round the signature).
	StartButtonUnsigned *bool `yaml:"start_button_unsigned"`
	// LegacySignedUntil is the last day (YYYY-MM-DD, UTC) version 1 signed starts are accepted
	// (default legacySignedUntil); "none" refuses them now.
	LegacySignedUntil string `yaml:"legacy_signed_until"`
}

// HandoverConfig is the handover policy.
type HandoverConfig struct {
	Segment         string `yaml:"segment"`
	ResolvedSegment string `yaml:"resolved_segment"`
	OfferHuman      string `yaml:"offer_human"` // always, never, after:N
	AskEmailOffline *bool  `yaml:"ask_email_offline"`
	PauseOnOperator *bool  `yaml:"pause_on_operator"`
	NoteCommands    *bool  `yaml:"note_commands"`
	// ResumeAfter gives the conversation back to the assistant after this long without a human
	// reply (0 = never, the default).
	ResumeAfter time.Duration `yaml:"resume_after"`
}

// BudgetsConfig caps model spending; reaching a cap hands the conversation over with reason budget.
// 0 takes the default, -1 means no cap.
type BudgetsConfig struct {
	// ConversationTokens caps one conversation's tokens over its whole life (a Crisp session can
	// last months): no cap by default, the daily answer cap bounds a conversation instead.
	ConversationTokens int64 `yaml:"conversation_tokens"`
	WebsiteTokensDay   int64 `yaml:"website_tokens_per_day"` // per website per UTC day (default 2,000,000)
	// ConversationAnswers caps the assistant's answers in one conversation per day (default 40).
	ConversationAnswers int `yaml:"conversation_answers"`
}

// Default budgets: see docs/security.md for what they cost at list prices.
const (
	defaultWebsiteTokensDay    = 2_000_000
	defaultConversationAnswers = 40
)

// LimitsConfig bounds what a visitor can make one conversation do. Each is a burst and a refill
// period (one more every ...); 0 takes the default, -1 means no limit.
type LimitsConfig struct {
	SignalEdges     int           `yaml:"signal_edges"`      // start/pause edges from the page, data or buttons at once (4)
	SignalEdgeEvery time.Duration `yaml:"signal_edge_every"` // then one more every (30s)
	Answers         int           `yaml:"answers"`           // answers at once (8)
	AnswerEvery     time.Duration `yaml:"answer_every"`      // then one more every (6s)
}

// Default limits.
const (
	defaultSignalEdges     = 4
	defaultSignalEdgeEvery = 30 * time.Second
	defaultAnswers         = 8
	defaultAnswerEvery     = 6 * time.Second
)

// legacySignedUntil is the default end of the grace period of version 1 signed starts (their MAC
// joined the fields with "|"): three months after the release that replaced them.
const legacySignedUntil = "2027-03-01"

func defaultConfig() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		Data:      "signalbridge.db",
		LogLevel:  "info",
		LogFormat: "auto",
		Crisp: CrispConfig{Tier: "plugin", APIURL: "https://api.crisp.chat/v1/", Events: "rtm", EIO: 4,
			HookMaxAge: 5 * time.Minute, DailyQuota: 5000, Timeout: 10 * time.Second, BotNickname: "Assistant",
			PluginURN: defaultPluginURN},
		OpenAI: OpenAIConfig{BaseURL: defaultOpenAIURL, Model: "gpt-4o-mini", Timeout: 30 * time.Second,
			Prices: map[string]PriceEntry{"gpt-4o-mini": {Prompt: 0.15, Completion: 0.60}, "gpt-4.1-mini": {Prompt: 0.40, Completion: 1.60}, "gpt-4o": {Prompt: 2.50, Completion: 10}}},
		Websites: map[string]WebsiteConfig{},
	}
}

// LoadConfig reads the YAML file (if path is not empty) over the defaults, then the environment.
//
// Relative file paths in the file (data, knowledge_base, scenario) are relative to the file's
// folder. Unknown fields and values of the wrong type come back as one *ConfigError naming each
// with its line; the returned Config then holds everything else, so Validate can report the rest.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := defaultConfig()
	var fileErr error
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return cfg, fmt.Errorf("parse config %s: %w", path, err)
		}
		if len(doc.Content) > 0 {
			allow, perr := takeAllowUnknown(&doc)
			cfg.AllowUnknown = allow
			f := checkYAML(&doc)
			if perr != nil {
				f.problems = append(f.problems, perr)
			}
			if err := doc.Decode(&cfg); err != nil && len(f.problems) == 0 {
				return cfg, fmt.Errorf("parse config %s: %w", path, err)
			}
			cfg.lines = f.lines
			cfg.resolvePaths(filepath.Dir(path), f.lines)
			if len(f.problems) > 0 {
				fileErr = &ConfigError{Path: path, Problems: f.problems}
			}
		}
	}
	env := map[string]*string{
		"SIGNALBRIDGE_ADDR": &cfg.Listen, "SIGNALBRIDGE_DATA": &cfg.Data, "SIGNALBRIDGE_ADMIN_TOKEN": &cfg.AdminToken,
		"SIGNALBRIDGE_SCENARIO_TOKEN": &cfg.AdminScenarioToken,
		"CRISP_IDENTIFIER":            &cfg.Crisp.Identifier, "CRISP_KEY": &cfg.Crisp.Key, "CRISP_TIER": &cfg.Crisp.Tier,
		"CRISP_API_URL": &cfg.Crisp.APIURL, "CRISP_RTM_URL": &cfg.Crisp.RTMURL, "CRISP_EVENTS": &cfg.Crisp.Events,
		"CRISP_HOOKS_SECRET": &cfg.Crisp.HooksSecret, "CRISP_WEBSITE_HOOK_KEY": &cfg.Crisp.WebsiteHookKey,
		"CRISP_PLUGIN_URN": &cfg.Crisp.PluginURN, "OPENAI_API_KEY": &cfg.OpenAI.APIKey,
		"OPENAI_BASE_URL": &cfg.OpenAI.BaseURL, "OPENAI_MODEL": &cfg.OpenAI.Model,
		"OPENAI_EMBEDDING_MODEL": &cfg.OpenAI.EmbeddingModel,
		"SIGNALBRIDGE_REDIS_URL": &cfg.Redis.URL,
	}
	for name, dst := range env {
		if v := getenv(name); v != "" {
			*dst = v
			cfg.noteEnv(name)
		}
	}
	if _, ok := cfg.Websites["default"]; !ok {
		cfg.Websites["default"] = WebsiteConfig{}
	}
	def := cfg.Websites["default"]
	for id, w := range cfg.Websites {
		if id != "default" {
			w = w.inherit(def)
		}
		cfg.Websites[id] = w.withDefaults()
	}
	return cfg, fileErr
}

// inherit fills the fields a website block leaves empty from the default block.
func (w WebsiteConfig) inherit(d WebsiteConfig) WebsiteConfig {
	str := func(v *string, dv string) {
		if *v == "" {
			*v = dv
		}
	}
	str(&w.StartMode, d.StartMode)
	str(&w.Prompt, d.Prompt)
	str(&w.Model, d.Model)
	str(&w.Language, d.Language)
	str(&w.KnowledgeBase, d.KnowledgeBase)
	str(&w.KBBaseURL, d.KBBaseURL)
	if len(w.HelpdeskLocales) == 0 {
		w.HelpdeskLocales = d.HelpdeskLocales
	}
	if len(w.KnowledgeURLs) == 0 {
		w.KnowledgeURLs = d.KnowledgeURLs
	}
	str(&w.Scenario, d.Scenario)
	s, ds := &w.Signals, d.Signals
	for _, f := range []struct {
		v *string
		d string
	}{{&s.Key, ds.Key}, {&s.Start, ds.Start}, {&s.Pause, ds.Pause},
		{&s.Handover, ds.Handover}, {&s.StartButton, ds.StartButton}, {&s.PauseButton, ds.PauseButton},
		{&s.PausedPrefix, ds.PausedPrefix}, {&s.ReasonKey, ds.ReasonKey}, {&s.AtKey, ds.AtKey},
		{&s.StateKey, ds.StateKey}, {&s.StartSecretEnv, ds.StartSecretEnv}, {&s.LegacySignedUntil, ds.LegacySignedUntil}} {
		str(f.v, f.d)
	}
	if s.UntrustedStartOverridesHuman == nil {
		s.UntrustedStartOverridesHuman = ds.UntrustedStartOverridesHuman
	}
	if s.StartButtonUnsigned == nil {
		s.StartButtonUnsigned = ds.StartButtonUnsigned
	}
	h, dh := &w.Handover, d.Handover
	str(&h.Segment, dh.Segment)
	str(&h.ResolvedSegment, dh.ResolvedSegment)
	str(&h.OfferHuman, dh.OfferHuman)
	if h.AskEmailOffline == nil {
		h.AskEmailOffline = dh.AskEmailOffline
	}
	if h.PauseOnOperator == nil {
		h.PauseOnOperator = dh.PauseOnOperator
	}
	if h.NoteCommands == nil {
		h.NoteCommands = dh.NoteCommands
	}
	if h.ResumeAfter == 0 {
		h.ResumeAfter = dh.ResumeAfter
	}
	if w.Temperature == nil {
		w.Temperature = d.Temperature
	}
	if w.MaxAnswerTokens == 0 {
		w.MaxAnswerTokens = d.MaxAnswerTokens
	}
	if w.HistoryTokens == 0 {
		w.HistoryTokens = d.HistoryTokens
	}
	if w.Languages == nil {
		w.Languages = d.Languages
	}
	if w.Strings == nil {
		w.Strings = d.Strings
	}
	if w.HumanPhrases == nil {
		w.HumanPhrases = d.HumanPhrases
	}
	b, db := &w.Budgets, d.Budgets
	b.ConversationTokens = cmp.Or(b.ConversationTokens, db.ConversationTokens)
	b.WebsiteTokensDay = cmp.Or(b.WebsiteTokensDay, db.WebsiteTokensDay)
	b.ConversationAnswers = cmp.Or(b.ConversationAnswers, db.ConversationAnswers)
	l, dl := &w.Limits, d.Limits
	l.SignalEdges, l.Answers = cmp.Or(l.SignalEdges, dl.SignalEdges), cmp.Or(l.Answers, dl.Answers)
	l.SignalEdgeEvery, l.AnswerEvery = cmp.Or(l.SignalEdgeEvery, dl.SignalEdgeEvery), cmp.Or(l.AnswerEvery, dl.AnswerEvery)
	w.Hours, w.Webhooks, w.Greeting = cmp.Or(w.Hours, d.Hours), cmp.Or(w.Webhooks, d.Webhooks), cmp.Or(w.Greeting, d.Greeting)
	w.Drafts, w.Burst = cmp.Or(w.Drafts, d.Drafts), cmp.Or(w.Burst, d.Burst)
	return w
}

// withDefaults fills the budgets and limits a block leaves at 0 with the defaults; -1 (none) stays.
func (w WebsiteConfig) withDefaults() WebsiteConfig {
	b, l := &w.Budgets, &w.Limits
	b.WebsiteTokensDay = cmp.Or(b.WebsiteTokensDay, defaultWebsiteTokensDay)
	b.ConversationAnswers = cmp.Or(b.ConversationAnswers, defaultConversationAnswers)
	l.SignalEdges, l.SignalEdgeEvery = cmp.Or(l.SignalEdges, defaultSignalEdges), cmp.Or(l.SignalEdgeEvery, defaultSignalEdgeEvery)
	l.Answers, l.AnswerEvery = cmp.Or(l.Answers, defaultAnswers), cmp.Or(l.AnswerEvery, defaultAnswerEvery)
	w.Signals.LegacySignedUntil = cmp.Or(w.Signals.LegacySignedUntil, legacySignedUntil)
	return w
}

var (
	websiteIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	urnRe       = regexp.MustCompile(`^urn:[^:\s]+:[^:\s]+:\d+$`)
	langRe      = regexp.MustCompile(`^[a-z]{2,3}$`)
	localeRe    = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)
)

// defaultPluginURN is the plugin URN used when none is configured; it names no real plugin, so
// `run` and `check` warn about it.
const defaultPluginURN = "urn:signalbridge:assistant:0"

// defaultOpenAIURL is OpenAI's own API root.
const defaultOpenAIURL = "https://api.openai.com/v1"

// UsesModel reports whether answers come from a model: an API key is set, or a base URL other than
// OpenAI's (a local OpenAI-compatible server may need no key). Otherwise the offline assistant
// answers from the knowledge base.
func (c Config) UsesModel() bool {
	return c.OpenAI.APIKey != "" || strings.TrimRight(c.OpenAI.BaseURL, "/") != defaultOpenAIURL
}

// Validate checks every field and returns all problems, each naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, c.fieldProblem(field, fmt.Sprintf(format, a...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "must be host:port, got %q", c.Listen)
	}
	if c.Data == "" {
		bad("data", "must be a file path")
	}
	br := c.Bridge
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"bridge.reply_timeout", br.ReplyTimeout}, {"bridge.call_timeout", br.CallTimeout},
		{"bridge.write_deadline", br.WriteDeadline}, {"bridge.message_deadline", br.MessageDeadline},
		{"bridge.lease_ttl", br.LeaseTTL}} {
		if d.v < 0 {
			bad(d.name, "must not be negative, got %s", d.v)
		}
	}
	if br.Generations < 0 || br.MaxTurnText < 0 {
		bad("bridge", "generations and max_turn_text must not be negative")
	}
	if br.Retention > 0 && br.Retention < time.Hour {
		bad("bridge.retention", "must be at least 1h (or -1 to keep conversations), got %s", br.Retention)
	}
	if c.AdminScenarioToken != "" && c.AdminScenarioToken == c.AdminToken {
		bad("admin_scenario_token", "must differ from admin_token: it is the narrow token a scenario may hold")
	}
	for _, o := range c.AdminCORSOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.User != nil || o != u.Scheme+"://"+u.Host {
			bad("admin_cors_origins", "%q must be an origin such as https://admin.example.com (no path, no trailing slash)", o)
		}
	}
	for _, err := range c.Redis.validate() {
		// "redis.url: must be ...": with the field's line, as every other problem.
		if field, msg, ok := strings.Cut(err.Error(), ": "); ok {
			err = c.fieldProblem(field, msg)
		}
		errs = append(errs, err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text", "auto":
	default:
		bad("log_format", "must be json, text or auto, got %q", c.LogFormat)
	}
	cr := c.Crisp
	if cr.Identifier == "" {
		bad("crisp.identifier", "is required (CRISP_IDENTIFIER)")
	}
	if cr.Key == "" {
		bad("crisp.key", "is required (CRISP_KEY)")
	}
	switch cr.Tier {
	case "plugin", "website", "user":
	default:
		bad("crisp.tier", "must be plugin, website or user, got %q", cr.Tier)
	}
	checkURL := func(field, v string, schemes ...string) {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			bad(field, "must be an absolute URL, got %q", redactURL(v))
			return
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return
			}
		}
		bad(field, "scheme must be one of %v, got %q", schemes, u.Scheme)
	}
	checkURL("crisp.api_url", cr.APIURL, "http", "https")
	if cr.RTMURL != "" {
		checkURL("crisp.rtm_url", cr.RTMURL, "ws", "wss", "http", "https")
	}
	switch cr.Events {
	case "rtm", "hooks", "both":
	default:
		bad("crisp.events", "must be rtm, hooks or both, got %q", cr.Events)
	}
	if (cr.Events == "hooks" || cr.Events == "both") && cr.HooksSecret == "" && cr.WebsiteHookKey == "" {
		bad("crisp.hooks_secret", "is required when events include hooks (CRISP_HOOKS_SECRET, or CRISP_WEBSITE_HOOK_KEY for website hooks)")
	}
	if cr.EIO != 3 && cr.EIO != 4 {
		bad("crisp.eio", "must be 3 or 4, got %d", cr.EIO)
	}
	if !urnRe.MatchString(cr.PluginURN) {
		bad("crisp.plugin_urn", "must look like urn:<account>:<plugin>:0, got %q", cr.PluginURN)
	}
	if cr.DailyQuota < 0 {
		bad("crisp.daily_quota", "must be >= 0")
	}
	if cr.Timeout <= 0 {
		bad("crisp.timeout", "must be > 0")
	}
	if cr.CatchupLookBack < 0 || cr.CatchupLookBack > 72*time.Hour {
		// Beyond the 72 h retention of processed event ids, a replayed message would be answered again.
		bad("crisp.catchup_look_back", "must be between 0 (24h) and 72h, got %s", cr.CatchupLookBack)
	}
	if c.UsesModel() {
		checkURL("openai.base_url", c.OpenAI.BaseURL, "http", "https")
		if c.OpenAI.Model == "" {
			bad("openai.model", "is required when an API key is set")
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.Websites)) {
		w, p := c.Websites[id], "websites."+id
		if id != "default" && !websiteIDRe.MatchString(id) {
			bad(p, "website id must be a lowercase UUID")
		}
		switch w.StartMode {
		case "", "auto", "wait_for_signal":
		default:
			bad(p+".start_mode", "must be auto or wait_for_signal, got %q", w.StartMode)
		}
		if w.Language != "" && !langRe.MatchString(w.Language) {
			bad(p+".language", "must be a language code such as en, got %q", w.Language)
		}
		for i, l := range w.Languages {
			if !langRe.MatchString(l) {
				bad(fmt.Sprintf("%s.languages[%d]", p, i), "must be a language code such as en, got %q", l)
			}
		}
		if w.Temperature != nil && (*w.Temperature < 0 || *w.Temperature > 2) {
			bad(p+".temperature", "must be between 0 and 2")
		}
		if w.KnowledgeBase != "" && w.KnowledgeBase != KBCrispHelpdesk && w.KnowledgeBase != KBURLs {
			switch fi, err := os.Stat(w.KnowledgeBase); {
			case err != nil:
				bad(p+".knowledge_base", "folder %q not found (a relative path in the file is relative to the file's folder); or use %s or %s",
					w.KnowledgeBase, KBCrispHelpdesk, KBURLs)
			case !fi.IsDir():
				bad(p+".knowledge_base", "%q is a file: give the folder of the Markdown articles, or %s or %s", w.KnowledgeBase, KBCrispHelpdesk, KBURLs)
			}
		}
		switch {
		case w.KnowledgeBase == KBURLs && len(w.KnowledgeURLs) == 0:
			bad(p+".knowledge_urls", "list the public help pages of knowledge_base: %s", KBURLs)
		case w.KnowledgeBase != KBURLs && len(w.KnowledgeURLs) > 0:
			bad(p+".knowledge_urls", "is read only with knowledge_base: %s", KBURLs)
		case len(w.KnowledgeURLs) > bridge.MaxSettingsURLs:
			bad(p+".knowledge_urls", "at most %d pages, got %d", bridge.MaxSettingsURLs, len(w.KnowledgeURLs))
		}
		for i, u := range w.KnowledgeURLs {
			if err := bridge.CheckPageURL(u); err != nil {
				bad(fmt.Sprintf("%s.knowledge_urls[%d]", p, i), "%v", err)
			}
		}
		for i, l := range w.HelpdeskLocales {
			if !localeRe.MatchString(strings.ToLower(l)) {
				bad(fmt.Sprintf("%s.helpdesk_locales[%d]", p, i), "must be a helpdesk locale such as en or pt-br, got %q", l)
			}
		}
		if _, err := loadSteps(w.Scenario, w.Languages); err != nil {
			bad(p+".scenario", "%v", err)
		}
		if _, err := parseOfferHuman(w.Handover.OfferHuman); err != nil {
			bad(p+".handover.offer_human", "%v", err)
		}
		if w.Handover.ResumeAfter < 0 {
			bad(p+".handover.resume_after", "must be >= 0")
		}
		if w.Budgets.ConversationTokens < -1 || w.Budgets.WebsiteTokensDay < -1 || w.Budgets.ConversationAnswers < -1 {
			bad(p+".budgets", "must be > 0, or -1 for no cap")
		}
		if l := w.Limits; l.SignalEdges < -1 || l.Answers < -1 || l.SignalEdgeEvery < 0 || l.AnswerEvery < 0 {
			bad(p+".limits", "counts must be > 0 (or -1 for no limit), periods > 0")
		}
		if _, err := legacyUntil(w.Signals.LegacySignedUntil); err != nil {
			bad(p+".signals.legacy_signed_until", "%v", err)
		}
		errs = append(errs, c.validateHours(p, w)...)    // hours.go
		errs = append(errs, c.validateWebhooks(p, w)...) // webhooks.go
		errs = append(errs, c.validateGreeting(p, w)...) // greet.go
		errs = append(errs, c.validateBurst(p, w)...)    // burst.go
	}
	return errors.Join(errs...)
}

func parseOfferHuman(s string) (int, error) {
	switch s {
	case "", "always":
		return 1, nil
	case "never":
		return 0, nil
	}
	if n, ok := strings.CutPrefix(s, "after:"); ok {
		v, err := strconv.Atoi(n)
		if err == nil && v >= 1 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("must be always, never or after:N, got %q", s)
}

// String renders the configuration with every secret redacted, for logs and `check`.
func (c Config) String() string {
	r := c
	redact := func(s *string) {
		if *s != "" {
			*s = "[redacted]"
		}
	}
	redact(&r.AdminToken)
	redact(&r.AdminScenarioToken)
	redact(&r.Crisp.Key)
	redact(&r.Crisp.HooksSecret)
	redact(&r.Crisp.WebsiteHookKey)
	redact(&r.OpenAI.APIKey)
	for _, u := range []*string{&r.Redis.URL, &r.OpenAI.BaseURL, &r.Crisp.APIURL, &r.Crisp.RTMURL} {
		if *u != "" {
			*u = redactURL(*u)
		}
	}
	if len(r.OpenAI.Headers) > 0 {
		h := make(map[string]string, len(r.OpenAI.Headers))
		for k := range r.OpenAI.Headers {
			h[k] = "[redacted]"
		}
		r.OpenAI.Headers = h
	}
	out, err := yaml.Marshal(r)
	if err != nil {
		return "config: " + err.Error()
	}
	return string(out)
}

// legacyUntil parses signals.legacy_signed_until: the end (exclusive, Unix ms) of the day given,
// or 0 for "none".
func legacyUntil(s string) (int64, error) {
	switch s {
	case "", "none":
		return 0, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("must be a date YYYY-MM-DD or none, got %q", s)
	}
	return d.AddDate(0, 0, 1).UnixMilli(), nil
}

// takeAllowUnknown reads websites.allow_unknown out of the document and removes it, since every
// other key under websites is a website id.
func takeAllowUnknown(doc *yaml.Node) (bool, *FieldProblem) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return false, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "websites" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		ws := root.Content[i+1]
		for j := 0; j+1 < len(ws.Content); j += 2 {
			if ws.Content[j].Value != "allow_unknown" {
				continue
			}
			v := ws.Content[j+1]
			ws.Content = append(ws.Content[:j:j], ws.Content[j+2:]...)
			var b bool
			if err := v.Decode(&b); err != nil {
				return false, &FieldProblem{Field: "websites.allow_unknown", Line: v.Line, Msg: "must be true or false"}
			}
			return b, nil
		}
	}
	return false, nil
}
