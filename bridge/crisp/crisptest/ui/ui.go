// Package ui is the demo sandbox page of `signalbridge demo`: a visitor chatbox, an operator inbox
// and the conversation's session data, segments, state and typing indicator, driven by the fake
// Crisp's JSON control API under /_sandbox/ (package crisptest), next to the bridge's mode and audit
// trail read from its admin API. Its Start / Pause / Human buttons are handled by the real website
// snippet (signalbridge.js) loaded from the bridge, through a small $crisp shim that forwards
// session:data writes to the sandbox visitor control.
//
// The page is static (one HTML, one JS, one CSS file, no build step, no external network); Handler
// serves it with Config inline in the HTML. The admin token is in no script file: a page of another
// site may include a script of ours (a script tag is not subject to CORS) but cannot read our HTML.
package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Config is what the page needs to know, set as window.SANDBOX_CONFIG by a script inline in the
// page's HTML.
type Config struct {
	// BridgeURL is the bridge's base URL ("http://127.0.0.1:8080"): the page loads
	// BridgeURL+"/signalbridge.js" and polls BridgeURL+"/v1/conversations/{website}/{session}".
	// "" means the page's own origin. The bridge must allow the page's origin (CORS) for /v1.
	BridgeURL string
	// AdminToken is the bridge's admin bearer token. It is sent to the browser: use it only for a
	// local demo, never with a production token.
	AdminToken string
	// WebsiteID is the sandbox website shown; "" picks the sandbox's first website.
	WebsiteID string
	// SandboxURL is the base URL of the fake Crisp serving /_sandbox/; "" means the page's own
	// origin (the page is mounted on the fake Crisp's server). A different origin must allow CORS.
	SandboxURL string
	// SettingsURL and InsightsURL are the website owner's pages of the sandbox website (the plugin's
	// settings page and the insights page, token included); "" hides their links.
	SettingsURL string
	InsightsURL string
}

// pageConfig is Config as the page's JavaScript reads it.
type pageConfig struct {
	BridgeURL   string `json:"bridgeURL"`
	AdminToken  string `json:"adminToken"`
	WebsiteID   string `json:"websiteID"`
	SandboxURL  string `json:"sandboxURL"`
	SettingsURL string `json:"settingsURL,omitempty"`
	InsightsURL string `json:"insightsURL,omitempty"`
}

// configTag is the page's placeholder for its inline config.
const configTag = `<script src="config.js"></script>`

// files are the page's assets by the last element of the request path.
var files = map[string]struct{ name, contentType string }{
	"":            {"static/index.html", "text/html; charset=utf-8"},
	"index.html":  {"static/index.html", "text/html; charset=utf-8"},
	"app.js":      {"static/app.js", "text/javascript; charset=utf-8"},
	"app.css":     {"static/app.css", "text/css; charset=utf-8"},
	"favicon.svg": {"static/favicon.svg", "image/svg+xml"},
}

// Handler returns the page's handler. It serves index.html (with the config inline) for a path
// ending in "/", and app.js, app.css and favicon.svg by the last element of the path, so it works under any prefix: mount it
// with mux.Handle("/ui/", ui.Handler(cfg)) and open /ui/. A path of a directory without its
// trailing slash ("/ui", or "/demo" behind http.StripPrefix("/demo", ...)) is redirected to it, so
// the page's relative asset URLs (app.js, app.css) resolve: serve those next to the page.
func Handler(cfg Config) http.Handler {
	conf, err := json.Marshal(pageConfig{
		BridgeURL:   strings.TrimRight(cfg.BridgeURL, "/"),
		AdminToken:  cfg.AdminToken,
		WebsiteID:   cfg.WebsiteID,
		SandboxURL:  strings.TrimRight(cfg.SandboxURL, "/"),
		SettingsURL: cfg.SettingsURL,
		InsightsURL: cfg.InsightsURL,
	})
	if err != nil {
		panic(fmt.Sprintf("ui: encode config: %v", err)) // cannot happen: strings only
	}
	// json.Marshal escapes <, > and &: the config cannot end the inline script.
	inline := []byte("<script>window.SANDBOX_CONFIG = " + string(conf) + ";</script>")
	page, err := fs.ReadFile(static, "static/index.html")
	if err != nil || !bytes.Contains(page, []byte(configTag)) {
		panic("ui: index.html without its config script tag") // cannot happen: embedded
	}
	page = bytes.Replace(page, []byte(configTag), inline, 1)
	started := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// The request's own path (before any http.StripPrefix) decides the trailing-slash redirect:
		// the page's relative asset URLs only resolve from a path ending in "/".
		orig := r.URL.Path
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
			orig = u.Path
		}
		if origLast := orig[strings.LastIndexByte(orig, '/')+1:]; origLast != "" && !strings.Contains(origLast, ".") {
			// A relative Location, so it is right under any mount prefix.
			w.Header().Set("Location", origLast+"/")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		last := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		w.Header().Set("X-Content-Type-Options", "nosniff")
		f, ok := files[last]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(static, f.name)
		if err != nil {
			http.Error(w, "asset missing", http.StatusInternalServerError)
			return
		}
		if f.name == "static/index.html" {
			// The page carries the admin token: never cached, never framed by another site.
			w.Header().Set("Content-Type", f.contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("X-Frame-Options", "DENY")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.ServeContent(w, r, last, time.Time{}, bytes.NewReader(page))
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, last, started, bytes.NewReader(b))
	})
}
