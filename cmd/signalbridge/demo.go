package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signalbridge/signalbridge/assistant"
	"github.com/signalbridge/signalbridge/bridge/crisp"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest"
	"github.com/signalbridge/signalbridge/bridge/crisp/crisptest/ui"
)

// demoDrafts turns drafts for operators on in the demo.
var demoDrafts = true

// DemoWebsiteID is the sandbox website of the demo.
const DemoWebsiteID = "42286ab3-b29a-4fde-8538-da0ae501d825"

//go:embed demokb
var demoKB embed.FS

// demo is a running sandbox: the fake Crisp and the real bridge wired to it over RTM and signed hooks.
type demo struct {
	fake *crisptest.Server
	app  *app
	dir  string // temporary data dir to remove, if any
	tok  string

	booking *demoBooking // the website's own booking system of -scenario booking (demobooking.go)

	streams    context.Context    // ends the page's event streams (long-lived requests) at Close
	endStreams context.CancelFunc // first thing Close does: the web server then shuts down at once
}

type demoOptions struct {
	addr      string
	data      string
	startMode string
	scenario  string
	events    string
	getenv    func(string) string
	log       io.Writer
	logLevel  string
	kb        string // "embedded" (default) or "helpdesk": the sample articles served by the sandbox's Crisp Helpdesk
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// demoKBFiles returns the embedded sample knowledge base as name -> content.
func demoKBFiles() map[string]string {
	files := map[string]string{}
	_ = fs.WalkDir(demoKB, "demokb", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := demoKB.ReadFile(p)
		if err == nil {
			files[strings.TrimPrefix(p, "demokb/")] = string(b)
		}
		return err
	})
	return files
}

// startDemo starts the fake Crisp and the bridge on loopback.
func startDemo(o demoOptions) (*demo, error) {
	d := &demo{tok: randomHex(16)}
	d.streams, d.endStreams = context.WithCancel(context.Background())
	ident, key, secret := "demo-"+randomHex(4), randomHex(16), randomHex(16)
	fake, err := crisptest.Start(crisptest.Options{Identifier: ident, Key: key, Websites: []string{DemoWebsiteID},
		HookSecret: secret, Operators: []crisptest.Operator{{UserID: "7e9ac3b4-1f1d-4b39-9e5a-1b2d4f2e6a01", Nickname: "Alex (operator)", Online: true}}})
	if err != nil {
		return nil, fmt.Errorf("start crisp sandbox: %w", err)
	}
	d.fake = fake
	if o.data == "" {
		dir, err := os.MkdirTemp("", "signalbridge-demo-")
		if err != nil {
			d.Close(context.Background())
			return nil, err
		}
		d.dir = dir
		o.data = filepath.Join(dir, "signalbridge.db")
	}
	cfg := defaultConfig()
	cfg.Listen, cfg.Data, cfg.AdminToken, cfg.LogLevel = o.addr, o.data, d.tok, o.logLevel
	cfg.Crisp = CrispConfig{Identifier: ident, Key: key, Tier: "plugin", APIURL: fake.RESTURL(), RTMURL: fake.RTMURL(),
		Events: o.events, EIO: 4, HooksSecret: secret, HookMaxAge: 10 * time.Minute, PluginURN: "urn:signalbridge:demo:0",
		DailyQuota: 0, Timeout: 10 * time.Second, BotNickname: "Assistant"}
	cfg.OpenAI.APIKey = o.getenv("OPENAI_API_KEY")
	if v := o.getenv("OPENAI_BASE_URL"); v != "" {
		cfg.OpenAI.BaseURL = v
	}
	if v := o.getenv("OPENAI_MODEL"); v != "" {
		cfg.OpenAI.Model = v
	}
	cfg.Websites = map[string]WebsiteConfig{"default": {Name: "Demo shop", StartMode: o.startMode, Language: "en",
		Languages: []string{"en", "es", "ca", "fr"}, Scenario: o.scenario,
		// Support hours: the page's switch forces the website closed to show the closed handover.
		Hours: &HoursConfig{TimeZone: "Europe/Madrid", Weekly: map[string]Spans{"mon-fri": {"09:00-18:00"}}},
		// Drafts for operators: once a human owns a conversation, visitor messages get a draft note.
		Drafts: &demoDrafts,
		// Proactive greeting: the page's "Greet me" button (the snippet's greet()) asks for it.
		Greeting: &GreetingConfig{Text: LocalText{"en": "Hi! I'm the Nimbus Coffee assistant. Ask me about orders, shipping or returns.",
			"es": "¡Hola! Soy el asistente de Nimbus Coffee. Pregúntame por pedidos, envíos o devoluciones.",
			"ca": "Hola! Sóc l'assistent de Nimbus Coffee. Pregunta'm per comandes, enviaments o devolucions.",
			"fr": "Bonjour ! Je suis l'assistant de Nimbus Coffee. Posez-moi vos questions sur les commandes, la livraison ou les retours."}},
		Prompt: "You are the friendly support assistant of Nimbus Coffee. Answer briefly from the knowledge base; " +
			"when you cannot help, call handover_to_human."}}
	if o.scenario == "booking" { // demobooking.go: a webhook block and the website's booking system
		if d.booking, err = startDemoBooking(); err != nil {
			d.Close(context.Background())
			return nil, err
		}
		if d.dir == "" {
			if d.dir, err = os.MkdirTemp("", "signalbridge-demo-"); err != nil {
				d.Close(context.Background())
				return nil, err
			}
		}
		site := cfg.Websites["default"]
		if err := useDemoBooking(&site, d.dir, d.booking); err != nil {
			d.Close(context.Background())
			return nil, err
		}
		cfg.Websites["default"] = site
	}
	var kbs map[string]*assistant.KnowledgeBase
	// The sandbox website is listed by id: websites.allow_unknown stays off, as in production.
	cfg.Websites[DemoWebsiteID] = WebsiteConfig{}.inherit(cfg.Websites["default"])
	switch o.kb {
	case "", "embedded":
		kbs = map[string]*assistant.KnowledgeBase{"default": assistant.NewKnowledgeBase(demoKBFiles(), assistant.WithBaseURL("https://help.nimbus.example/"))}
	case "helpdesk":
		// The sample articles are published in the sandbox's helpdesk and the website reads them
		// through Crisp's REST API, as a Crisp customer's bridge would.
		if _, err := fake.SeedHelpdesk(DemoWebsiteID, demoKBFiles()); err != nil {
			d.Close(context.Background())
			return nil, err
		}
		site := WebsiteConfig{KnowledgeBase: KBCrispHelpdesk}
		cfg.Websites[DemoWebsiteID] = site.inherit(cfg.Websites["default"])
	default:
		d.Close(context.Background())
		return nil, fmt.Errorf("demo: -kb must be embedded or helpdesk, got %q", o.kb)
	}
	if err := cfg.Validate(); err != nil {
		d.Close(context.Background())
		return nil, fmt.Errorf("demo config: %w", err)
	}
	log := newLogger(o.log, cfg.LogLevel, "auto")
	// The sandbox website's plugin token opens its owner's pages, as Crisp's settings link would.
	siteToken, err := demoWebsiteToken(cfg)
	if err != nil {
		d.Close(context.Background())
		return nil, err
	}
	sandbox, _ := url.Parse(fake.URL())
	proxy := httputil.NewSingleHostReverseProxy(sandbox)
	proxy.FlushInterval = -1 // stream the sandbox's live events
	page := ui.Handler(ui.Config{AdminToken: d.tok, WebsiteID: DemoWebsiteID,
		SettingsURL: ownerURL("/owners/settings", DemoWebsiteID, siteToken),
		InsightsURL: ownerURL("/owners/insights", DemoWebsiteID, siteToken)})
	a, err := openApp(cfg, log, appOptions{
		kbs:      kbs,
		fallback: demoMux(d.streams, proxy, page),
		demo:     true,
	})
	if err != nil {
		d.Close(context.Background())
		return nil, err
	}
	d.app = a
	if o.events != "rtm" {
		fake.SetHookURL(a.web.URL() + "/webhooks/crisp")
	}
	return d, nil
}

// demoMux serves the sandbox page at /demo/ (with / redirecting there) and proxies the sandbox's
// control API, so the page, the bridge and the sandbox share one origin. The sandbox's event stream
// and long poll (/_sandbox/events...) have no write deadline (the web server's write timeout would
// cut a stream every minute; the stream's keep-alive comments take its place) and end when streams
// is done, so a shutdown does not wait for an open page.
func demoMux(streams context.Context, sandbox, page http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/_sandbox/", sandbox)
	mux.Handle("/_sandbox/events", liveStream(streams, sandbox))
	mux.Handle("/_sandbox/events/", liveStream(streams, sandbox))
	mux.Handle("/demo/", http.StripPrefix("/demo", page))
	mux.Handle("/demo", http.RedirectHandler("/demo/", http.StatusMovedPermanently))
	mux.Handle("/{$}", http.RedirectHandler("/demo/", http.StatusFound))
	mux.Handle("/favicon.ico", favicon(page))
	return mux
}

// liveStream serves a long-lived request with no write deadline, cancelled when streams is done.
func liveStream(streams context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not every writer supports deadlines (httptest's recorder): then there is none to clear.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(streams, cancel)
		defer stop()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// favicon serves the page's icon for browsers that ask /favicon.ico.
func favicon(page http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.RequestURI = "/favicon.svg", "/favicon.svg"
		page.ServeHTTP(w, r2)
	})
}

// Close ends the page's event streams, stops the bridge, then the sandbox, and removes the
// temporary data.
func (d *demo) Close(ctx context.Context) error {
	d.endStreams()
	var err error
	if d.app != nil {
		err = d.app.Close(ctx)
	}
	if d.fake != nil {
		d.fake.Close()
	}
	if d.booking != nil {
		d.booking.Close()
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
	return err
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("demo", "Run the bridge against a local Crisp sandbox: no account, no key.\n"+
		"Open the printed URL: a visitor chatbox, an operator inbox, the session data and the audit trail.\n"+
		"With OPENAI_API_KEY set the assistant uses the model; otherwise it answers from the sample knowledge base.", stderr)
	o := demoOptions{getenv: getenv, log: stderr}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address of the demo page and the bridge (or $SIGNALBRIDGE_ADDR)")
	fs.StringVar(&o.data, "data", "", "bbolt data file (or $SIGNALBRIDGE_DATA; default: a temporary file removed at exit)")
	fs.StringVar(&o.startMode, "start-mode", "auto", "start mode of the demo website: auto or wait_for_signal")
	fs.StringVar(&o.scenario, "scenario", "", `guided steps before the assistant: "default" (ask email and language), "booking" (a table booking sent to a local booking system by a webhook block) or a YAML file`)
	fs.StringVar(&o.events, "events", "both", "how the bridge receives Crisp events: rtm, hooks or both")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.kb, "kb", "embedded", "knowledge base: embedded (the sample articles) or helpdesk (the same articles served by the sandbox's Crisp Helpdesk)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Like run, the demo honours SIGNALBRIDGE_ADDR and SIGNALBRIDGE_DATA; a flag wins.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := getenv("SIGNALBRIDGE_ADDR"); v != "" && !set["addr"] {
		o.addr = v
	}
	if v := getenv("SIGNALBRIDGE_DATA"); v != "" && !set["data"] {
		o.data = v
	}
	d, err := startDemo(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `signalbridge demo is running.

  Demo page:            %s/demo/
  Crisp sandbox REST:   %s   (Basic auth %s:%s, X-Crisp-Tier: plugin; a throwaway local key)
  Crisp sandbox RTM:    %s
  Admin API:            %s/v1/conversations   (Authorization: Bearer %s)
  Metrics:              %s/metrics

Press Ctrl+C to stop.
`, d.app.web.URL(), d.fake.RESTURL(), d.app.cfg.Crisp.Identifier, d.app.cfg.Crisp.Key, d.fake.RTMURL(), d.app.web.URL(), d.tok, d.app.web.URL())
	<-ctx.Done()
	log := newLogger(stderr, o.logLevel, "auto")
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Close(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// demoWebsiteToken reads the sandbox website's plugin token from the sandbox's list of the
// websites that installed the plugin, as the bridge itself does to check it.
func demoWebsiteToken(cfg Config) (string, error) {
	client, err := crisp.NewClient(crisp.ClientConfig{BaseURL: cfg.Crisp.APIURL, Identifier: cfg.Crisp.Identifier,
		Key: cfg.Crisp.Key, Tier: cfg.Crisp.Tier, Timeout: cfg.Crisp.Timeout})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, err := client.AllInstalledWebsites(ctx, false)
	if err != nil {
		return "", fmt.Errorf("demo: list the sandbox's websites: %w", err)
	}
	for _, w := range ws {
		if w.WebsiteID == DemoWebsiteID {
			return w.Token, nil
		}
	}
	return "", fmt.Errorf("demo: the sandbox does not list website %s", DemoWebsiteID)
}

// ownerURL is the path of an owner's page of a website, with the website's plugin token.
func ownerURL(path, websiteID, token string) string {
	return path + "?" + url.Values{"website_id": {websiteID}, "token": {token}}.Encode()
}
