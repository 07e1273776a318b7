package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/openai"
	"github.com/signalbridge/signalbridge/assistant/webpages"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/js"
	"github.com/signalbridge/signalbridge/signals"
)

// app is the wired product: store, Crisp adapter, assistant, bridge and HTTP server.
type app struct {
	cfg      Config
	log      *slog.Logger
	store    appStore // bbolt or Redis (store.go)
	client   *crisp.Client
	platform *crisp.Platform
	rtm      *crisp.RTM
	// rtmLeader is true while this process runs the RTM socket (always with one replica; with
	// several, on the replica holding the socket's lease).
	rtmLeader atomic.Bool
	asst      *assistant.Assistant
	gaps      *assistant.Gaps // knowledge gaps, listed by the admin API
	kbs       []*assistant.KnowledgeBase
	bridge    *bridge.Bridge
	web       *web.Server
	metrics   *web.Metrics
	catchup   *bridge.Reconciler // REST catch-up after a gap (catchup.go)
	unknown   unknownWebsites    // unlisted websites already logged (guards.go)
	// owners applies the settings website owners save on their page, live (owners.go); nil when
	// the store keeps none.
	owners    *owners
	asstBase  assistantBase // what openAssistant built the assistant from, to rebuild it
	baseSites map[string]*bridge.Website
	insights  *bridge.InsightsRecorder // nil when the store keeps no insights
	// pageFetcher reads public help pages (knowledge_base: urls, or an owner's URLs); pageSources are
	// the file's sources by website id.
	pageFetcher *webpages.Fetcher
	pageSources map[string]*webpages.Source

	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    func() time.Time // the bridge's clock
}

// appOptions are the extras the demo and tests add.
type appOptions struct {
	corsOrigins []string
	fallback    http.Handler                        // extra pages (the demo)
	demo        bool                                // loopback Host names only (DNS rebinding)
	completer   assistant.Completer                 // overrides the OpenAI client (tests)
	kbs         map[string]*assistant.KnowledgeBase // knowledge bases by website id, over the config's folders
	cursors     bridge.Cursors                      // catch-up cursors when the store keeps none (tests)
	now         func() time.Time                    // the bridge's clock (tests); nil = time.Now
	// pageFetch configures the fetcher of public help pages (tests: an address check that admits
	// their loopback servers, their TLS certificate).
	pageFetch []webpages.Option
}

// openApp opens everything in order; on error, what was opened is closed again.
func openApp(cfg Config, log *slog.Logger, opt appOptions) (a *app, err error) {
	// Budgets and limits are on unless a block turns them off (-1), however cfg was made.
	sites := make(map[string]WebsiteConfig, len(cfg.Websites))
	for id, w := range cfg.Websites {
		sites[id] = w.withDefaults()
	}
	cfg.Websites = sites
	a = &app{cfg: cfg, log: log, metrics: web.NewMetrics(), now: opt.now, pageFetcher: webpages.NewFetcher(opt.pageFetch...),
		pageSources: map[string]*webpages.Source{}}
	if a.now == nil {
		a.now = time.Now
	}
	if w := cfg.unservedWarning(); w != "" {
		log.Warn(w)
	}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel

	// Store: Redis when redis.url is set (several replicas), else the bbolt file (store.go).
	var storeName string
	a.store, storeName, err = openStore(cfg, log)
	if err != nil {
		return a, err
	}

	a.client, err = crisp.NewClient(crisp.ClientConfig{
		BaseURL: cfg.Crisp.APIURL, Identifier: cfg.Crisp.Identifier, Key: cfg.Crisp.Key, Tier: cfg.Crisp.Tier,
		Timeout: cfg.Crisp.Timeout, DailyQuota: cfg.Crisp.DailyQuota, PluginURN: cfg.Crisp.PluginURN,
		BotNickname: cfg.Crisp.BotNickname, BotAvatar: cfg.Crisp.BotAvatar,
		Logger: log.With("component", "crisp"), Observe: a.metrics.CrispCall,
	})
	if err != nil {
		return a, fmt.Errorf("crisp client: %w", err)
	}
	a.platform = crisp.NewPlatform(a.client, crisp.PlatformOptions{Logger: log.With("component", "crisp"), MergeMeta: cfg.Crisp.MergeMeta})
	a.metrics.GaugeFunc("signalbridge_crisp_quota_left", "Crisp REST calls left in the client-side daily quota.",
		func() float64 { return float64(a.client.QuotaLeft()) })
	a.metrics.CrispQuota(func() []web.QuotaClassUse {
		var out []web.QuotaClassUse
		for _, q := range a.client.QuotaStats() {
			out = append(out, web.QuotaClassUse{Class: q.Class, Granted: q.Granted, Waited: q.Waited, Refused: q.Refused, Waiting: q.Waiting})
		}
		return out
	})

	a.asst, err = a.openAssistant(ctx, opt)
	if err != nil {
		return a, err
	}

	served, err := a.websites()
	if err != nil {
		return a, err
	}
	a.baseSites = served
	if err := a.openOwners(ctx); err != nil { // owners' saved settings over the file's (owners.go)
		return a, err
	}
	a.openInsights() // the insights page's counters (insights.go)
	a.bridge, err = bridge.Open(bridge.Options{
		Store: a.store, Platform: a.platform, Assistant: liveReplier{a}, PluginURN: cfg.Crisp.PluginURN,
		ResumeEnabled: resumeEnabled(cfg), DrainTimeout: 25 * time.Second,
		HoursEnabled: hoursEnabled(cfg) || a.owners != nil, Now: opt.now, Webhooks: newWebhookPoster(), // owners may save hours
		// The owners' settings over the file's; "default" only for an allowed unknown website (events
		// of others never get here).
		Websites: a.website,
		Logger:   log.With("component", "bridge"), Metrics: a.bridgeMetrics(), TypingDelay: 400 * time.Millisecond,
		Generations: cfg.Bridge.Generations, ReplyTimeout: cfg.Bridge.ReplyTimeout, CallTimeout: cfg.Bridge.CallTimeout,
		JournalDeadline: cfg.Bridge.WriteDeadline, MessageDeadline: cfg.Bridge.MessageDeadline,
		MaxTurnText: cfg.Bridge.MaxTurnText, Retention: cfg.Bridge.Retention,
		// Replicas share a Redis store: one writer per conversation under leases (bridge/replicas.go).
		Shared: cfg.Redis.URL != "", LeaseTTL: cfg.Bridge.LeaseTTL,
	})
	if err != nil {
		return a, err
	}

	a.metrics.GaugeFunc("signalbridge_generations_in_flight", "Assistant answers being generated.",
		func() float64 { return float64(a.bridge.Generating()) })
	if err := a.openCatchup(opt.cursors); err != nil { // catch-up after a gap: catchup.go
		return a, err
	}
	var hooks web.Hooks
	if cfg.Crisp.Events != "rtm" {
		hooks = hookIntake{v: crisp.HookVerifier{Secret: cfg.Crisp.HooksSecret, WebsiteKey: cfg.Crisp.WebsiteHookKey, MaxAge: cfg.Crisp.HookMaxAge},
			replays: crisp.NewReplayCache(0)}
	}
	if cfg.Crisp.Events != "hooks" {
		if err := a.openRTM(ctx); err != nil {
			return a, err
		}
	}
	if cfg.AdminToken == "" {
		log.Warn("admin API disabled: set SIGNALBRIDGE_ADMIN_TOKEN to enable /v1")
	}
	a.web = &web.Server{Addr: cfg.Listen, Bridge: observed{a.bridge, a.catchup, a.served}, Hooks: hooks, Metrics: a.metrics, Script: js.Handler(),
		AdminToken: cfg.AdminToken, Ready: a.ready, ReadyDetail: a.readyDetail, ScenarioToken: cfg.AdminScenarioToken, Owners: a.webOwners(), Gaps: a.gaps,
		CORSOrigins: append(slices.Clone(cfg.AdminCORSOrigins), opt.corsOrigins...), Logger: log.With("component", "web")}
	a.web.Fallback = opt.fallback
	if opt.demo {
		a.web.AllowHost = web.LoopbackHost
	}
	if err := a.web.Open(); err != nil {
		return a, err
	}
	if a.rtm == nil {
		a.catchup.Trigger() // hooks only: catch up what the downtime hid (with RTM, OnConnect does)
	}
	log.Info("signalbridge started", "version", Version, "listen", a.web.URL(), "events", cfg.Crisp.Events,
		"offline_assistant", a.asst.Offline(), "store", storeName)
	return a, nil
}

func (a *app) openRTM(ctx context.Context) error {
	rtm, err := crisp.NewRTM(crisp.RTMConfig{
		URL: a.cfg.Crisp.RTMURL, Discover: a.client.Endpoints, EIO: a.cfg.Crisp.EIO,
		Tier: a.cfg.Crisp.Tier, Identifier: a.cfg.Crisp.Identifier, Key: a.cfg.Crisp.Key,
		Logger:    a.log.With("component", "rtm"),
		OnConnect: func(context.Context, bool) { a.catchup.Trigger() }, // catch-up after every (re)connect
		OnState: func(up bool) {
			if !up {
				a.catchup.Disconnected() // a gap opens: the catch-up cursor stops
			}
		},
	}, func(ctx context.Context, ev bridge.Event) {
		if !a.served(ev.WebsiteID) {
			return
		}
		// The socket's reader hands events over without waiting for each fsync: they are made
		// durable in batches, in order, before they are processed.
		err := a.bridge.HandleEventAsync(ctx, ev, func(err error) {
			if err == nil {
				a.catchup.Observe(ev)
			} else if ctx.Err() == nil {
				a.log.Warn("rtm event not accepted", "event", ev.Name, "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			a.log.Warn("rtm event not accepted", "event", ev.Name, "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("rtm: %w", err)
	}
	a.rtm = rtm
	a.metrics.CounterFunc("signalbridge_rtm_reconnects_total", "RTM reconnections.", func() float64 { return float64(rtm.Reconnects()) })
	a.metrics.GaugeFunc("signalbridge_rtm_connected", "1 when the RTM connection is authenticated.", func() float64 {
		if rtm.Connected() {
			return 1
		}
		return 0
	})
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if leases, ok := a.store.(bridge.Leases); ok && a.cfg.Redis.URL != "" {
			a.runRTMLeader(ctx, leases)
			return
		}
		a.rtmLeader.Store(true)
		if err := rtm.Run(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("rtm stopped", "err", err)
		}
	}()
	return nil
}

// runRTMLeader holds the RTM socket on one replica at a time. Crisp delivers every event to every
// socket, so one socket for all replicas spends one connection and the de-duplication has nothing
// to absorb; the replica holding the lease "rtm:socket" runs it, the others try to take the lease
// every third of its time, and the one that takes it after a failover catches up what the gap hid
// (OnConnect). Hooks reach every replica meanwhile.
func (a *app) runRTMLeader(ctx context.Context, leases bridge.Leases) {
	ttl := a.cfg.Bridge.LeaseTTL
	if ttl <= 0 {
		ttl = 3 * time.Second
	}
	holder := a.bridge.Replica()
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	for {
		actx, cancel := context.WithTimeout(ctx, ttl/3)
		_, ok, err := leases.Acquire(actx, "rtm:socket", holder, ttl)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("rtm lease", "err", err)
		}
		if ok {
			a.log.Info("this replica holds the rtm socket", "replica", holder)
			a.rtmLeader.Store(true)
			rctx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				if err := a.rtm.Run(rctx); err != nil && rctx.Err() == nil {
					a.log.Error("rtm stopped", "err", err)
				}
			}()
			for held := true; held; {
				select {
				case <-ctx.Done():
					held = false
				case <-tick.C:
					actx, cancel := context.WithTimeout(ctx, ttl/3)
					_, ok, err := leases.Acquire(actx, "rtm:socket", holder, ttl)
					cancel()
					if !ok || err != nil {
						a.log.Warn("rtm lease lost: closing the socket", "err", err)
						held = false
					}
				}
			}
			stop()
			<-done
			a.rtmLeader.Store(false)
			if ctx.Err() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				_ = leases.Release(rctx, "rtm:socket", holder) // a successor need not wait for the lease to lapse
				cancel()
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ready is /readyz: the store answers and, when RTM is on, it is connected.
func (a *app) ready() error {
	if err := pingStore(context.Background(), a.store); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if a.rtm != nil && a.rtmLeader.Load() && !a.rtm.Connected() {
		return errors.New("crisp rtm not connected")
	}
	return nil
}

// Close shuts down in reverse order: stop intake (HTTP, RTM), drain the bridge, close the store.
func (a *app) Close(ctx context.Context) error {
	var errs []error
	if a.web != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		errs = append(errs, a.web.Close(sctx))
		cancel()
	}
	if a.catchup != nil {
		errs = append(errs, a.catchup.Flush(ctx)) // intake is up until here: a restart catches up from now
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.pageFetcher != nil {
		a.pageFetcher.CloseIdleConnections()
	}
	if a.catchup != nil {
		errs = append(errs, a.catchup.Close())
	}
	if a.bridge != nil {
		errs = append(errs, a.bridge.Close())
	}
	if a.insights != nil {
		a.insights.Close() // after the bridge: what its last steps recorded is written
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}

func (a *app) openAssistant(ctx context.Context, opt appOptions) (*assistant.Assistant, error) {
	cfg := a.cfg
	acfg := assistant.Config{Websites: map[string]assistant.Website{}}
	kbs := map[string]*assistant.KnowledgeBase{}
	var opts []assistant.Option
	opts = append(opts, assistant.WithLogger(a.log.With("component", "assistant")))
	var c assistant.Completer
	var kbCommon []assistant.KBOption
	switch {
	case opt.completer != nil:
		c = opt.completer
	case cfg.UsesModel():
		oc, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: cfg.OpenAI.APIKey,
			Organization: cfg.OpenAI.Organization, Headers: cfg.OpenAI.Headers, Model: cfg.OpenAI.Model,
			EmbeddingModel: cfg.OpenAI.EmbeddingModel, Timeout: cfg.OpenAI.Timeout, Logger: a.log.With("component", "openai")})
		if err != nil {
			return nil, fmt.Errorf("openai: %w", err)
		}
		c = oc
		if cfg.OpenAI.QueryRewrite {
			opts = append(opts, assistant.WithQueryRewrite(0))
		}
		if cfg.OpenAI.EmbeddingModel != "off" {
			// Hybrid retrieval. The cache is the store when it keeps embeddings (bbolt): a restart or
			// an unchanged article costs no embedding call; else it lives in memory.
			var cache assistant.EmbeddingCache = assistant.NewMemoryEmbeddingCache()
			if ec, ok := any(a.store).(assistant.EmbeddingCache); ok {
				cache = ec
			}
			kbCommon = append(kbCommon, assistant.WithEmbeddings(oc, cache))
		}
	}
	for id, w := range cfg.Websites {
		aw := assistant.Website{SystemPrompt: w.Prompt, Model: w.Model, Temperature: w.Temperature,
			MaxAnswerTokens: w.MaxAnswerTokens, DefaultLanguage: w.Language, Languages: w.Languages,
			Strings: assistant.StringTable(closedStrings(w)), HumanPhrases: w.HumanPhrases,
			ConversationTokenBudget: max(0, w.Budgets.ConversationTokens), DailyTokenBudget: max(0, w.Budgets.WebsiteTokensDay),
			HistoryTokens: w.HistoryTokens, Prices: map[string]assistant.Price{}}
		for m, p := range cfg.OpenAI.Prices {
			aw.Prices[m] = assistant.Price{Prompt: p.Prompt, Completion: p.Completion}
		}
		if id == "default" {
			acfg.Default = aw
		} else {
			acfg.Websites[id] = aw
		}
		if w.KnowledgeBase == KBCrispHelpdesk {
			if id != "default" {
				kbs[id] = a.openHelpdesk(ctx, id, w.HelpdeskLocales, kbCommon)
			}
		} else if w.KnowledgeBase == KBURLs {
			src, kb := a.startPages(ctx, id, w.KnowledgeURLs, kbCommon)
			a.pageSources[id] = src
			a.kbs = append(a.kbs, kb)
			kbs[id] = kb
		} else if w.KnowledgeBase != "" {
			kopts := slices.Clone(kbCommon)
			if w.KBBaseURL != "" {
				kopts = append(kopts, assistant.WithBaseURL(w.KBBaseURL))
			}
			kb, err := assistant.LoadKnowledgeBase(w.KnowledgeBase, kopts...)
			if err != nil {
				return nil, fmt.Errorf("websites.%s.knowledge_base: %w", id, err)
			}
			a.kbs = append(a.kbs, kb)
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				_ = kb.Run(ctx, 10*time.Second, func(err error) { a.log.Warn("knowledge base reload", "website", id, "err", err) })
			}()
			kbs[id] = kb
		}
	}
	for id, kb := range opt.kbs {
		kbs[id] = kb
	}
	// The "default" block's knowledge base serves every website without one of its own.
	var defaultKB *assistant.KnowledgeBase
	for id, kb := range kbs {
		if id == "default" {
			defaultKB = kb
		} else {
			opts = append(opts, assistant.WithKnowledgeBase(id, kb))
		}
	}
	a.gaps = &assistant.Gaps{}
	opts = append(opts, assistant.WithGaps(a.gaps))
	a.asstBase = assistantBase{cfg: acfg, c: c, kb: defaultKB, opts: slices.Clone(opts), kbCommon: kbCommon, kbs: kbs}
	asst, err := assistant.New(acfg, c, defaultKB, opts...)
	if err != nil {
		return nil, fmt.Errorf("assistant: %w", err)
	}
	return asst, nil
}

// openHelpdesk makes a website's knowledge base from its Crisp Helpdesk: a first sync (bounded,
// logged on failure: the knowledge base starts empty and the periodic sync retries), then a re-sync
// every HelpdeskSyncInterval until the app stops.
func (a *app) openHelpdesk(ctx context.Context, websiteID string, locales []string, kopts []assistant.KBOption) *assistant.KnowledgeBase {
	kb := assistant.NewKnowledgeBase(nil, kopts...)
	h := crisp.NewHelpdeskSync(a.client, websiteID, locales, kb)
	log := a.log.With("component", "helpdesk", "website", websiteID)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if _, err := h.Sync(sctx); err != nil {
		log.Warn("helpdesk sync failed, retrying later", "err", err)
	} else {
		log.Info("helpdesk synced", "chunks", kb.Len(), "articles_read", h.ArticleReads())
	}
	cancel()
	a.kbs = append(a.kbs, kb)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		h.Run(ctx, HelpdeskSyncInterval, func(err error) { log.Warn("helpdesk sync", "err", err) })
	}()
	return kb
}

// startPages makes a knowledge base of public help pages: it starts empty, its pages are read at
// once in the background, then every PagesSyncInterval until ctx ends. A page that cannot be read
// is logged ("could not read …") and the others are indexed; nothing here stops the service.
func (a *app) startPages(ctx context.Context, websiteID string, urls []string, kopts []assistant.KBOption) (*webpages.Source, *assistant.KnowledgeBase) {
	kb := assistant.NewKnowledgeBase(nil, kopts...)
	src := webpages.NewSource(a.pageFetcher, urls, kb)
	log := a.log.With("component", "pages", "website", websiteID)
	report := func(err error) {
		var joined interface{ Unwrap() []error }
		if errors.As(err, &joined) {
			for _, e := range joined.Unwrap() {
				log.Warn("knowledge page", "err", redactText(e.Error()))
			}
			return
		}
		log.Warn("knowledge page", "err", redactText(err.Error()))
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := src.Sync(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			report(err)
		}
		if ctx.Err() == nil {
			log.Info("knowledge pages read", "pages", len(urls), "chunks", kb.Len())
		}
		src.Run(ctx, PagesSyncInterval, report)
	}()
	return src, kb
}

// websites builds the bridge's per-website policies from the config.
func (a *app) websites() (map[string]*bridge.Website, error) {
	out := map[string]*bridge.Website{}
	for id, w := range a.cfg.Websites {
		sc := signals.DefaultConfig()
		v := &sc.Vocabulary
		set := func(dst *string, src string) {
			if src != "" {
				*dst = src
			}
		}
		set(&v.Key, w.Signals.Key)
		set(&v.Start, w.Signals.Start)
		set(&v.Pause, w.Signals.Pause)
		set(&v.StartButton, w.Signals.StartButton)
		set(&v.PauseButton, w.Signals.PauseButton)
		set(&v.PausedPrefix, w.Signals.PausedPrefix)
		set(&v.ReasonKey, w.Signals.ReasonKey)
		set(&v.AtKey, w.Signals.AtKey)
		set(&v.StateKey, w.Signals.StateKey)
		if w.StartMode != "" {
			sc.StartMode = signals.StartMode(w.StartMode)
		}
		if w.Handover.PauseOnOperator != nil {
			sc.PauseOnOperator = *w.Handover.PauseOnOperator
		}
		if o := w.Signals.UntrustedStartOverridesHuman; o != nil {
			sc.UntrustedStartOverridesHuman = *o
		}
		if name := w.Signals.StartSecretEnv; name != "" {
			secret := os.Getenv(name)
			if len(secret) < 16 {
				return nil, fmt.Errorf("websites.%s.signals.start_secret_env: environment variable %s must hold at least 16 bytes", id, name)
			}
			sc.StartSecret = []byte(secret)
		}
		if b := w.Signals.StartButtonUnsigned; b != nil {
			sc.StartButtonUnsigned = *b
		}
		sc.LegacyStartUntil, _ = legacyUntil(w.Signals.LegacySignedUntil) // checked by Validate
		sc.Limits = signals.Limits{MaxAnswers: max(0, w.Budgets.ConversationAnswers)}
		if l := w.Limits; l.SignalEdges > 0 && l.SignalEdgeEvery > 0 {
			sc.Limits.Edges = signals.Rate{Burst: l.SignalEdges, Every: l.SignalEdgeEvery.Milliseconds()}
		}
		if l := w.Limits; l.Answers > 0 && l.AnswerEvery > 0 {
			sc.Limits.Answers = signals.Rate{Burst: l.Answers, Every: l.AnswerEvery.Milliseconds()}
		}
		set(&sc.HandoverSegment, w.Handover.Segment)
		set(&sc.ResolvedSegment, w.Handover.ResolvedSegment)
		if err := sc.Validate(); err != nil {
			return nil, fmt.Errorf("websites.%s.signals: %w", id, err)
		}
		offer, _ := parseOfferHuman(w.Handover.OfferHuman)
		siteID := id
		lang := w.Language
		if lang == "" {
			lang = "en"
		}
		bw := &bridge.Website{ID: id, Signals: sc, Language: lang, Languages: w.Languages,
			Text:            func(l, key string) string { return a.assistant().Text(siteID, l, key) },
			ResolveLanguage: func(data string, locales []string) string { return a.assistant().Language(siteID, data, locales) },
			HandoverValue:   "handover_chatbot", OfferHuman: offer,
			AskEmailOffline: w.Handover.AskEmailOffline == nil || *w.Handover.AskEmailOffline,
			NoteCommands:    w.Handover.NoteCommands == nil || *w.Handover.NoteCommands,
			ResumeAfter:     w.Handover.ResumeAfter,
		}
		if w.Signals.Handover != "" {
			bw.HandoverValue = w.Signals.Handover
		}
		steps, err := loadSteps(w.Scenario, w.Languages)
		if err != nil {
			return nil, fmt.Errorf("websites.%s.scenario: %w", id, err)
		}
		if bw.Hours, err = supportHours(w); err != nil {
			return nil, fmt.Errorf("websites.%s.hours: %w", id, err)
		}
		bw.Steps = withHours(steps, bw.Hours, a.now)
		if bw.Webhooks, err = webhookSettings(id, w); err != nil {
			return nil, err
		}
		bw.Greeting = greeting(w)
		bw.Drafts = w.Drafts != nil && *w.Drafts
		bw.Burst = burstPolicy(w)
		out[id] = bw
	}
	return out, nil
}

func resumeEnabled(cfg Config) bool {
	for _, w := range cfg.Websites {
		if w.Handover.ResumeAfter > 0 {
			return true
		}
	}
	return false
}

// hookIntake verifies and decodes Crisp web hooks for bridge/web.
type hookIntake struct {
	v       crisp.HookVerifier
	replays *crisp.ReplayCache // hook bodies accepted within the freshness window
}

func (h hookIntake) Decode(hd http.Header, q url.Values, body []byte) (bridge.Event, error) {
	if err := h.v.Verify(hd, q, body); err != nil {
		return bridge.Event{}, err
	}
	ev, err := crisp.DecodeHook(body)
	if err != nil {
		return ev, err
	}
	if h.replays != nil {
		// Remembered for the window on both sides of now (the window a request is fresh in).
		w := h.v.Window()
		if w == 0 {
			w = crisp.DefaultHookMaxAge
		}
		now := time.Now()
		if err := h.replays.Reserve(body, now, now.Add(2*w)); err != nil {
			return bridge.Event{}, err
		}
	}
	return ev, nil
}

// Release forgets a hook that could not be queued, so that Crisp's retry is accepted.
func (h hookIntake) Release(body []byte) {
	if h.replays != nil {
		h.replays.Release(body)
	}
}

func (hookIntake) Status(err error) int {
	switch {
	case errors.Is(err, crisp.ErrUnhandled), errors.Is(err, crisp.ErrReplayed):
		return http.StatusOK
	case errors.Is(err, crisp.ErrMissingSignature):
		return http.StatusUnauthorized
	case errors.Is(err, crisp.ErrBadSignature), errors.Is(err, crisp.ErrStale):
		return http.StatusForbidden
	case errors.Is(err, crisp.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, crisp.ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, crisp.ErrNoSecret), errors.Is(err, crisp.ErrReplayCacheFull):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}
