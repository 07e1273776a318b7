package main

import (
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/assistant/webpages"
	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/web"
	"github.com/signalbridge/signalbridge/signals"
)

// The settings a website's owner saves on the plugin's settings page live in the store (bbolt or
// Redis) and win over the file's, field by field. Each replica applies them live: the one that
// saves at once, the others when they see the store-wide settings version move (they read it every
// settingsPoll). Applying rebuilds the assistant (prompt, languages, messages, budgets, knowledge)
// and the bridge's per-website policy (start mode, languages) from what the file built, so nothing
// else restarts and conversations in progress keep their state.

// settingsPoll is how often a replica reads the settings version.
const settingsPoll = time.Second

// pagesSaveWait is how long a save of public help pages waits for their first reading, so that the
// page it returns to shows what could not be read.
const pagesSaveWait = 20 * time.Second

// assistantBase is what openAssistant built the assistant from.
type assistantBase struct {
	cfg      assistant.Config
	c        assistant.Completer
	kb       *assistant.KnowledgeBase
	opts     []assistant.Option
	kbCommon []assistant.KBOption
	kbs      map[string]*assistant.KnowledgeBase // the file's (and the demo's) knowledge bases by website id
}

// liveState is one applied version of the owners' settings.
type liveState struct {
	version  int64
	settings map[string]bridge.WebsiteSettings
	asst     *assistant.Assistant
	sites    map[string]*bridge.Website
	markdown map[string]markdownKB // per website, rebuilt only when its Markdown changes
	helpdesk map[string]helpdeskKB // per website, started once while chosen
	pages    map[string]pagesKB    // per website, started again when its URLs change
}

type markdownKB struct {
	text string
	kb   *assistant.KnowledgeBase
}

// helpdeskKB is a website's Crisp Helpdesk knowledge base chosen on its settings page, synced in
// the background until another source is chosen or the app stops.
type helpdeskKB struct {
	kb   *assistant.KnowledgeBase
	stop context.CancelFunc
}

// pagesKB is a website's knowledge base of public help pages chosen on its settings page, read in
// the background until another source (or other URLs) is chosen or the app stops.
type pagesKB struct {
	urls []string
	src  *webpages.Source
	kb   *assistant.KnowledgeBase
	stop context.CancelFunc
}

// owners applies the saved settings and serves the owners' pages (web.Owners).
type owners struct {
	a      *app
	store  bridge.SettingsStore
	mu     sync.Mutex // one apply at a time
	state  atomic.Pointer[liveState]
	tokens websiteTokens

	ctx      context.Context // the app's: ends the helpdesk syncs
	pluginMu sync.Mutex
	pluginID string // the plugin's id in Crisp, read once (mirror)
}

// openOwners applies the settings saved so far and starts watching the version. The assistant is
// the file's alone when the store keeps no settings.
func (a *app) openOwners(ctx context.Context) error {
	st := &liveState{asst: a.asst, sites: map[string]*bridge.Website{}, settings: map[string]bridge.WebsiteSettings{}}
	store, ok := a.store.(bridge.SettingsStore)
	if !ok {
		a.owners = &owners{a: a}
		a.owners.state.Store(st)
		return nil
	}
	o := &owners{a: a, store: store, tokens: websiteTokens{list: a.installedTokens}, ctx: ctx}
	o.state.Store(st)
	a.owners = o
	if err := o.reload(ctx); err != nil {
		return fmt.Errorf("owners' settings: %w", err)
	}
	a.metrics.GaugeFunc("signalbridge_settings_version", "Version of the website owners' settings this replica applies.",
		func() float64 { return float64(o.state.Load().version) })
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		o.watch(ctx)
	}()
	return nil
}

// webOwners is the web server's Owners: none without a settings store.
func (a *app) webOwners() web.Owners {
	if a.owners == nil || a.owners.store == nil {
		return nil
	}
	return a.owners
}

// assistant is the assistant of the settings applied now.
func (a *app) assistant() *assistant.Assistant {
	if a.owners != nil {
		if st := a.owners.state.Load(); st != nil && st.asst != nil {
			return st.asst
		}
	}
	return a.asst
}

// website is the bridge's policy of a website: its owner's settings over the file's.
func (a *app) website(id string) *bridge.Website {
	if a.owners != nil {
		if w, ok := a.owners.state.Load().sites[id]; ok {
			return w
		}
	}
	if w, ok := a.baseSites[id]; ok {
		return w
	}
	return a.baseSites["default"]
}

// liveReplier answers with the assistant of the settings applied now; a website whose owner
// switched the assistant off is handed to a human instead.
type liveReplier struct{ a *app }

func (r liveReplier) Reply(ctx context.Context, q assistant.Question) (assistant.Answer, error) {
	if r.a.owners != nil && r.a.owners.state.Load().settings[q.WebsiteID].AssistantOff {
		return assistant.Answer{Handover: true, HandoverReason: "the website's owner switched the assistant off"}, nil
	}
	return r.a.assistant().Reply(ctx, q)
}

// watch applies the settings again whenever the store-wide version moves.
func (o *owners) watch(ctx context.Context) {
	tick := time.NewTicker(settingsPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rctx, cancel := context.WithTimeout(ctx, settingsPoll)
		v, err := o.store.SettingsVersion(rctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				o.a.log.Warn("settings version", "err", err)
			}
			continue
		}
		if v != o.state.Load().version {
			if err := o.reload(ctx); err != nil && ctx.Err() == nil {
				o.a.log.Warn("apply owners' settings", "err", err)
			}
		}
	}
}

// reload reads every website's settings and applies them.
func (o *owners) reload(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	all, v, err := o.store.AllSettings(ctx)
	if err != nil {
		return err
	}
	cur := o.state.Load()
	if v == cur.version && v != 0 {
		return nil
	}
	st, err := o.build(all, v, cur)
	if err != nil {
		return err
	}
	o.state.Store(st)
	if v > 0 {
		o.a.log.Info("owners' settings applied", "version", v, "websites", len(all))
	}
	return nil
}

// build makes the assistant and the per-website policies of settings over the file's.
func (o *owners) build(all map[string]bridge.WebsiteSettings, version int64, prev *liveState) (_ *liveState, err error) {
	a := o.a
	base := a.asstBase
	st := &liveState{version: version, settings: all, sites: map[string]*bridge.Website{}, markdown: map[string]markdownKB{},
		helpdesk: map[string]helpdeskKB{}, pages: map[string]pagesKB{}}
	defer func() {
		// Applied: stop the syncs of websites that chose another source. Not applied: stop the
		// syncs this build started; the previous state keeps its own.
		stop, keep := prev.helpdesk, st.helpdesk
		stopPages, keepPages := prev.pages, st.pages
		if err != nil {
			stop, keep = st.helpdesk, prev.helpdesk
			stopPages, keepPages = st.pages, prev.pages
		}
		for id, h := range stop {
			if k, kept := keep[id]; !kept || k.kb != h.kb {
				h.stop()
			}
		}
		for id, p := range stopPages {
			if k, kept := keepPages[id]; !kept || k.kb != p.kb {
				p.stop()
			}
		}
	}()
	if len(all) == 0 {
		st.asst = a.asst
		return st, nil
	}
	acfg := base.cfg
	acfg.Websites = maps.Clone(base.cfg.Websites)
	if acfg.Websites == nil {
		acfg.Websites = map[string]assistant.Website{}
	}
	opts := slices.Clone(base.opts)
	for _, id := range slices.Sorted(maps.Keys(all)) {
		ws := all[id]
		aw := acfg.Websites[id]
		if ws.Prompt != "" {
			aw.SystemPrompt = ws.Prompt
		}
		if ws.Language != "" {
			aw.DefaultLanguage = ws.Language
		}
		if len(ws.Languages) > 0 {
			aw.Languages = ws.Languages
		}
		if ws.ConversationTokens > 0 {
			aw.ConversationTokenBudget = ws.ConversationTokens
		}
		if ws.DailyTokens > 0 {
			aw.DailyTokenBudget = ws.DailyTokens
		}
		lang := acfg.Website(id).DefaultLanguage
		if ws.Language != "" {
			lang = ws.Language
		}
		if lang == "" {
			lang = "en"
		}
		if ws.HandoverMessage != "" || ws.ClosedMessage != "" {
			over := assistant.StringTable{lang: {}}
			if ws.HandoverMessage != "" {
				over[lang][assistant.StrHandoverAck] = ws.HandoverMessage
			}
			if ws.ClosedMessage != "" {
				over[lang][assistant.StrNobodyOnline] = ws.ClosedMessage
			}
			aw.Strings = aw.Strings.Merge(over)
		}
		acfg.Websites[id] = aw
		if ws.Knowledge == bridge.KnowledgeMarkdown {
			m, ok := prev.markdown[id]
			if !ok || m.text != ws.KnowledgeMarkdown {
				m = markdownKB{text: ws.KnowledgeMarkdown, kb: assistant.NewKnowledgeBase(splitMarkdown(ws.KnowledgeMarkdown), base.kbCommon...)}
			}
			st.markdown[id] = m
			opts = append(opts, assistant.WithKnowledgeBase(id, m.kb))
		}
		if ws.Knowledge == bridge.KnowledgeHelpdesk {
			h, ok := prev.helpdesk[id]
			if !ok {
				h = o.startHelpdesk(id)
			}
			st.helpdesk[id] = h
			opts = append(opts, assistant.WithKnowledgeBase(id, h.kb))
		}
		if ws.Knowledge == bridge.KnowledgeURLs {
			p, ok := prev.pages[id]
			if !ok || !slices.Equal(p.urls, ws.KnowledgeURLs) {
				ctx, stop := context.WithCancel(o.ctx)
				src, kb := a.startPages(ctx, id, ws.KnowledgeURLs, base.kbCommon)
				p = pagesKB{urls: slices.Clone(ws.KnowledgeURLs), src: src, kb: kb, stop: stop}
			}
			st.pages[id] = p
			opts = append(opts, assistant.WithKnowledgeBase(id, p.kb))
		}

		// The file's policy (its website block, or the default block) is the base.
		b, ok := a.baseSites[id]
		if !ok {
			b = a.baseSites["default"]
		}
		bw := *b
		siteID := id
		bw.ID = id
		bw.Text = func(l, key string) string { return a.assistant().Text(siteID, l, key) }
		bw.ResolveLanguage = func(data string, locales []string) string { return a.assistant().Language(siteID, data, locales) }
		if ws.StartMode != "" {
			bw.Signals.StartMode = signals.StartMode(ws.StartMode)
		}
		if ws.AssistantOff {
			bw.Signals.StartMode = signals.StartMode("wait_for_signal")
		}
		if ws.Language != "" {
			bw.Language = ws.Language
		}
		if len(ws.Languages) > 0 {
			bw.Languages = ws.Languages
		}
		if ws.Hours != nil {
			sched, err := ws.Hours.Schedule()
			if err != nil {
				return nil, fmt.Errorf("website %s: hours: %w", id, err)
			}
			bw.Hours = &bridge.SupportHours{Schedule: sched, StartWhenClosed: ws.Hours.StartWhenClosed}
			bw.Steps = withHours(bw.Steps, bw.Hours, a.now)
		}
		if err := bw.Signals.Validate(); err != nil {
			return nil, fmt.Errorf("website %s: %w", id, err)
		}
		st.sites[id] = &bw
	}
	asst, err := assistant.New(acfg, base.c, base.kb, opts...)
	if err != nil {
		return nil, err
	}
	st.asst = asst
	return st, nil
}

// startHelpdesk makes a website's knowledge base from its Crisp Helpdesk: it starts empty, is
// synced at once in the background, then every HelpdeskSyncInterval until stopped.
func (o *owners) startHelpdesk(websiteID string) helpdeskKB {
	a := o.a
	kb := assistant.NewKnowledgeBase(nil, a.asstBase.kbCommon...)
	h := crisp.NewHelpdeskSync(a.client, websiteID, nil, kb)
	ctx, stop := context.WithCancel(o.ctx)
	log := a.log.With("component", "helpdesk", "website", websiteID)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := h.Sync(sctx); err != nil && ctx.Err() == nil {
			log.Warn("helpdesk sync failed, retrying later", "err", err)
		} else if err == nil {
			log.Info("helpdesk synced", "chunks", kb.Len(), "articles_read", h.ArticleReads())
		}
		cancel()
		h.Run(ctx, HelpdeskSyncInterval, func(err error) { log.Warn("helpdesk sync", "err", err) })
	}()
	return helpdeskKB{kb: kb, stop: stop}
}

// splitMarkdown cuts the owner's Markdown into articles, one at each "# " heading.
func splitMarkdown(md string) map[string]string {
	files := map[string]string{}
	var cur []string
	flush := func() {
		if text := strings.TrimSpace(strings.Join(cur, "\n")); text != "" {
			files[fmt.Sprintf("article-%02d.md", len(files)+1)] = text + "\n"
		}
		cur = cur[:0]
	}
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "# ") {
			flush()
		}
		cur = append(cur, line)
	}
	flush()
	return files
}

// WebsiteToken reports whether token is the website's own plugin token.
func (o *owners) WebsiteToken(ctx context.Context, websiteID, token string) bool {
	return o.tokens.check(ctx, websiteID, token)
}

// Settings returns the website's saved settings beside the file's.
func (o *owners) Settings(ctx context.Context, websiteID string) (web.OwnerSettings, error) {
	st := o.state.Load()
	out := web.OwnerSettings{WebsiteID: websiteID, Saved: st.settings[websiteID], Version: st.version}
	w, ok := o.a.cfg.Websites[websiteID]
	if !ok {
		w = o.a.cfg.Websites["default"]
	}
	out.File = bridge.WebsiteSettings{StartMode: w.StartMode, Prompt: w.Prompt, Language: w.Language, Languages: w.Languages,
		ConversationTokens: w.Budgets.ConversationTokens, DailyTokens: w.Budgets.WebsiteTokensDay}
	if h := w.Hours; h != nil {
		out.File.Hours = &bridge.SettingsHours{TimeZone: h.TimeZone, Weekly: map[string][]string{}, Holidays: h.Holidays,
			StartWhenClosed: h.StartWhenClosed}
		for k, v := range h.Weekly {
			out.File.Hours.Weekly[k] = v
		}
	}
	src := o.a.pageSources[websiteID]
	if _, own := o.a.cfg.Websites[websiteID]; !own {
		src = o.a.pageSources["default"]
	}
	if p, ok := st.pages[websiteID]; ok && out.Saved.Knowledge == bridge.KnowledgeURLs {
		src = p.src
	} else if out.Saved.Knowledge != "" {
		src = nil
	}
	if src != nil {
		for _, p := range src.Status() {
			out.Pages = append(out.Pages, web.PageStatus{URL: p.URL, Title: p.Title, Error: p.Error, ReadAt: p.ReadAt})
		}
	}
	switch {
	case w.KnowledgeBase == KBURLs:
		out.FileKnowledge = fmt.Sprintf("the public help pages listed in the file (%d)", len(w.KnowledgeURLs))
	case w.KnowledgeBase == KBCrispHelpdesk:
		out.FileKnowledge = "the website's Crisp Helpdesk articles"
	case w.KnowledgeBase != "":
		out.FileKnowledge = "the articles of the folder " + filepath.Base(w.KnowledgeBase)
	case o.a.asstBase.kbs[websiteID] != nil || o.a.asstBase.kbs["default"] != nil:
		out.FileKnowledge = "the built-in articles"
	default:
		out.FileKnowledge = "none"
	}
	return out, nil
}

// SaveSettings stores the settings and applies them on this replica before it returns.
func (o *owners) SaveSettings(ctx context.Context, websiteID string, s bridge.WebsiteSettings) (web.OwnerSettings, error) {
	if !websiteIDRe.MatchString(websiteID) {
		return web.OwnerSettings{}, fmt.Errorf("%w: website id %q is not a Crisp website id", bridge.ErrInvalidSettings, websiteID)
	}
	s.UpdatedAt = time.Now().UnixMilli()
	if err := s.Validate(); err != nil {
		return web.OwnerSettings{}, err
	}
	if _, err := o.store.SaveSettings(ctx, websiteID, s); err != nil {
		return web.OwnerSettings{}, fmt.Errorf("save settings: %w", err)
	}
	if err := o.reload(ctx); err != nil {
		return web.OwnerSettings{}, fmt.Errorf("apply settings: %w", err)
	}
	st := o.state.Load()
	v := st.version
	o.a.log.Info("website settings saved", "website", websiteID, "version", v)
	if p, ok := st.pages[websiteID]; ok && s.Knowledge == bridge.KnowledgeURLs {
		// The owner sees each page's outcome on the page the save returns to, when it comes soon.
		wctx, cancel := context.WithTimeout(ctx, pagesSaveWait)
		select {
		case <-p.src.Synced():
		case <-wctx.Done():
		}
		cancel()
	}
	o.mirror(ctx, websiteID, s, v)
	return o.Settings(ctx, websiteID)
}

// mirror saves a summary of the settings as the plugin's subscription settings in Crisp (so the
// website counts as configured in plugin/connect/websites, and Crisp emits plugin:settings:saved).
// The store stays the source: a failure is logged, not returned, and the next save mirrors again.
func (o *owners) mirror(ctx context.Context, websiteID string, s bridge.WebsiteSettings, version int64) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	o.pluginMu.Lock()
	if o.pluginID == "" {
		id, err := o.a.client.ConnectAccount(ctx)
		if err != nil {
			o.pluginMu.Unlock()
			o.a.log.Warn("mirror settings to crisp: plugin id", "website", websiteID, "err", err)
			return
		}
		o.pluginID = id
	}
	pluginID := o.pluginID
	o.pluginMu.Unlock()
	assistantOn, mode := "on", s.StartMode
	if s.AssistantOff {
		assistantOn = "off"
	}
	if mode == "" {
		mode = "as_configured"
	}
	summary := map[string]any{"assistant": assistantOn, "start_mode": mode, "knowledge": cmp.Or(s.Knowledge, "as_configured"),
		"settings_version": version, "updated_at": s.UpdatedAt}
	if err := o.a.client.SaveSubscriptionSettings(ctx, websiteID, pluginID, summary); err != nil {
		o.a.log.Warn("mirror settings to crisp", "website", websiteID, "err", err)
	}
}

// websiteTokens knows each website's plugin token, read from Crisp's list of the websites that
// installed the plugin; an unknown website or a token that does not match reads the list again, at
// most once every tokenRefresh.
type websiteTokens struct {
	list    func(ctx context.Context) (map[string]string, error)
	mu      sync.Mutex
	tokens  map[string]string
	fetched time.Time
}

const tokenRefresh = 10 * time.Second

func (t *websiteTokens) check(ctx context.Context, websiteID, token string) bool {
	if token == "" || t.list == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	match := func() bool {
		want, ok := t.tokens[websiteID]
		return ok && want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
	}
	if match() {
		return true
	}
	if !t.fetched.IsZero() && time.Since(t.fetched) < tokenRefresh {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tokens, err := t.list(lctx)
	t.fetched = time.Now()
	if err != nil {
		return false
	}
	t.tokens = tokens
	return match()
}

// installedTokens lists the websites that installed the plugin with their plugin tokens.
func (a *app) installedTokens(ctx context.Context) (map[string]string, error) {
	ws, err := a.client.AllInstalledWebsites(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ws))
	for _, w := range ws {
		out[w.WebsiteID] = w.Token
	}
	return out, nil
}
