package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signalbridge/signalbridge/bridge"
)

// Owners serves the pages a website's owner opens from Crisp: the plugin's settings page and the
// insights page. cmd implements it over the store and the live configuration.
type Owners interface {
	// WebsiteToken reports whether token is websiteID's own plugin token (the one Crisp gives the
	// plugin for that website, in plugin/connect/websites, and appends to the settings page's URL).
	WebsiteToken(ctx context.Context, websiteID, token string) bool
	// Settings returns the website's saved settings beside what the configuration file sets.
	Settings(ctx context.Context, websiteID string) (OwnerSettings, error)
	// SaveSettings stores the website's settings and applies them; a bridge.ErrInvalidSettings
	// error names what is wrong.
	SaveSettings(ctx context.Context, websiteID string, s bridge.WebsiteSettings) (OwnerSettings, error)
}

// OwnerSettings is a website's settings as its page shows them.
type OwnerSettings struct {
	WebsiteID string `json:"website_id"`
	// Saved is what the owner saved: its non-zero fields win over the file's.
	Saved bridge.WebsiteSettings `json:"saved"`
	// File is what the configuration file sets for the website (its own block over the default
	// block), in the same fields.
	File bridge.WebsiteSettings `json:"file"`
	// FileKnowledge describes the file's knowledge source ("folder kb", "crisp-helpdesk", "none").
	FileKnowledge string `json:"file_knowledge"`
	// Version is the store-wide settings version this replica applies.
	Version int64 `json:"version"`
	// Pages are the public help pages of the knowledge source applied now (the saved ones, else the
	// file's), as this replica last read them.
	Pages []PageStatus `json:"pages,omitempty"`
}

// PageStatus is one public help page of a website's knowledge source.
type PageStatus struct {
	URL    string    `json:"url"`
	Title  string    `json:"title,omitempty"`  // once read
	Error  string    `json:"error,omitempty"`  // "could not read …: …" when the last attempt failed
	ReadAt time.Time `json:"read_at,omitzero"` // the last successful read
}

// ownerRoutes registers the owners' pages and their JSON under /v1.
func (s *Server) ownerRoutes(r *gin.Engine, v1 *gin.RouterGroup) {
	r.GET("/owners/settings", s.ownerAuth(), s.settingsPage)
	r.POST("/owners/settings", s.ownerAuth(), s.settingsForm)
	v1.GET("/websites/:website/settings", s.ownerAuth(), s.settingsJSON)
	v1.PUT("/websites/:website/settings", s.ownerAuth(), s.settingsPut)
	if _, ok := s.Owners.(InsightsSource); ok {
		s.insightsRoutes(r, v1)
	}
}

// ownerWebsite is the website of an owners' request: the path's, else website_id of the query or
// form (the settings page's URL, as Crisp opens it, carries website_id and token).
func ownerWebsite(c *gin.Context) string {
	if w := c.Param("website"); w != "" {
		return w
	}
	if w := c.Query("website_id"); w != "" {
		return w
	}
	return c.PostForm("website_id")
}

// ownerAuth admits the admin token (Authorization header only) or the website's own plugin token
// (header, ?token= or the form's token, as Crisp's settings page URL carries it). Anything else gets
// the same 403, which says nothing of the website.
func (s *Server) ownerAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			// The form's largest field is the Markdown (bridge.MaxSettingsMarkdown).
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)
		}
		website := ownerWebsite(c)
		h := bearer(c)
		if website != "" && (tokenIs(h, s.AdminToken) || s.websiteToken(c.Request.Context(), website, h) ||
			s.websiteToken(c.Request.Context(), website, c.Query("token")) ||
			s.websiteToken(c.Request.Context(), website, c.PostForm("token"))) {
			c.Set("website", website)
			c.Next()
			return
		}
		if strings.HasPrefix(c.Request.URL.Path, "/v1/") {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "forbidden: use this website's plugin token or the admin token"})
			return
		}
		c.Header("Content-Type", "text/html; charset=utf-8")
		c.AbortWithStatus(http.StatusForbidden)
		_, _ = io.WriteString(c.Writer, forbiddenPage)
	}
}

func (s *Server) websiteToken(ctx context.Context, website, token string) bool {
	if token == "" || s.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.AdminToken)) == 1 {
		return false // the admin token is never taken from a URL or a form
	}
	return s.Owners.WebsiteToken(ctx, website, token)
}

const forbiddenPage = `<!doctype html><meta charset="utf-8"><title>signalbridge</title>
<p style="font:15px system-ui;margin:40px">This page needs the website's own link from Crisp (plugin settings).</p>`

// pageHeaders lets Crisp frame the owners' pages and nothing load from elsewhere.
func pageHeaders(c *gin.Context) {
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "+
		"frame-ancestors 'self' https://app.crisp.chat")
	c.Header("Referrer-Policy", "no-referrer") // the URL carries the website's token
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
}

func (s *Server) settingsJSON(c *gin.Context) {
	st, err := s.Owners.Settings(c.Request.Context(), c.GetString("website"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (s *Server) settingsPut(c *gin.Context) {
	var ws bridge.WebsiteSettings
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ws); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be the JSON settings: " + err.Error()})
		return
	}
	st, err := s.Owners.SaveSettings(c.Request.Context(), c.GetString("website"), ws)
	if errors.Is(err, bridge.ErrInvalidSettings) {
		c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// settingsView is the page's data.
type settingsView struct {
	OwnerSettings
	Token   string
	Saved   bool
	Error   string
	Form    bridge.WebsiteSettings // the values in the form: saved ones, or the ones just refused
	Message string
}

func (s *Server) settingsPage(c *gin.Context) {
	st, err := s.Owners.Settings(c.Request.Context(), c.GetString("website"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderSettings(c, http.StatusOK, settingsView{OwnerSettings: st, Token: c.Query("token"), Saved: c.Query("saved") == "1", Form: st.Saved})
}

func (s *Server) renderSettings(c *gin.Context, status int, v settingsView) {
	pageHeaders(c)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	if err := settingsTmpl.Execute(c.Writer, v); err != nil {
		s.Logger.Error("settings page", "err", err)
	}
}

// settingsForm saves the page's form; it answers 303 to the page (saved=1) or the page again with
// the problem and the values as typed.
func (s *Server) settingsForm(c *gin.Context) {
	website := c.GetString("website")
	num := func(name string) (int64, bool) {
		v := strings.TrimSpace(c.PostForm(name))
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	var langs []string
	for l := range strings.FieldsFuncSeq(c.PostForm("languages"), func(r rune) bool { return r == ',' || r == ' ' }) {
		langs = append(langs, strings.ToLower(l))
	}
	ws := bridge.WebsiteSettings{
		AssistantOff: c.PostForm("assistant") == "off", StartMode: c.PostForm("start_mode"),
		Prompt: strings.TrimSpace(c.PostForm("prompt")), Language: strings.ToLower(strings.TrimSpace(c.PostForm("language"))), Languages: langs,
		Knowledge: c.PostForm("knowledge"), KnowledgeMarkdown: strings.ReplaceAll(c.PostForm("knowledge_markdown"), "\r\n", "\n"),
		KnowledgeURLs:   urlLines(c.PostForm("knowledge_urls")),
		HandoverMessage: strings.TrimSpace(c.PostForm("handover_message")), ClosedMessage: strings.TrimSpace(c.PostForm("closed_message")),
	}
	ws.Hours = hoursForm(c)
	var ok1, ok2 bool
	ws.ConversationTokens, ok1 = num("conversation_tokens")
	ws.DailyTokens, ok2 = num("daily_tokens")
	var err error
	if !ok1 || !ok2 {
		err = errors.New("budgets must be whole numbers of tokens")
	} else {
		_, err = s.Owners.SaveSettings(c.Request.Context(), website, ws)
	}
	if err != nil {
		if !errors.Is(err, bridge.ErrInvalidSettings) && ok1 && ok2 {
			s.fail(c, err)
			return
		}
		st, gerr := s.Owners.Settings(c.Request.Context(), website)
		if gerr != nil {
			s.fail(c, gerr)
			return
		}
		s.renderSettings(c, http.StatusBadRequest, settingsView{OwnerSettings: st, Token: c.PostForm("token"), Error: err.Error(), Form: ws})
		return
	}
	q := url.Values{"website_id": {website}, "saved": {"1"}}
	if t := c.PostForm("token"); t != "" {
		q.Set("token", t)
	}
	c.Redirect(http.StatusSeeOther, "/owners/settings?"+q.Encode())
}

// urlLines reads the page's URLs, one a line (blank lines dropped).
func urlLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// hoursForm reads the page's support hours: a time zone, one line per day or range of days with its
// spans ("mon-fri 09:00-14:00 15:00-18:00", "sat closed"), holidays separated by spaces or commas.
// No time zone and no lines: the file's hours.
func hoursForm(c *gin.Context) *bridge.SettingsHours {
	zone := strings.TrimSpace(c.PostForm("hours_time_zone"))
	lines := strings.TrimSpace(c.PostForm("hours_weekly"))
	if zone == "" && lines == "" {
		return nil
	}
	h := &bridge.SettingsHours{TimeZone: zone, Weekly: map[string][]string{}, StartWhenClosed: c.PostForm("hours_start_when_closed") == "on"}
	for line := range strings.Lines(lines) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		h.Weekly[strings.ToLower(f[0])] = append(h.Weekly[strings.ToLower(f[0])], f[1:]...)
	}
	for d := range strings.FieldsFuncSeq(c.PostForm("hours_holidays"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		h.Holidays = append(h.Holidays, d)
	}
	return h
}

// hoursLines writes saved hours back as the form's lines.
func hoursLines(h *bridge.SettingsHours) string {
	if h == nil {
		return ""
	}
	var b strings.Builder
	for _, day := range slices.Sorted(maps.Keys(h.Weekly)) {
		b.WriteString(day + " " + strings.Join(h.Weekly[day], " ") + "\n")
	}
	return b.String()
}

var settingsTmpl = template.Must(template.New("settings").Funcs(template.FuncMap{
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"lines": func(s []string) string { return strings.Join(s, "\n") },
	"ago": func(t time.Time) string {
		switch d := time.Since(t); {
		case d < time.Minute:
			return "just now"
		case d < time.Hour:
			return fmt.Sprintf("%d min ago", int(d.Minutes()))
		default:
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
	},
	"hoursLines": hoursLines,
	"or": func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	},
	"num": func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	},
	"insightsURL": func(website, token string) string {
		q := url.Values{"website_id": {website}}
		if token != "" {
			q.Set("token", token)
		}
		return "/owners/insights?" + q.Encode()
	},
}).Parse(ownerCSS + settingsHTML))

// ownerCSS is shared by the owners' pages (no external stylesheet: the CSP allows none).
const ownerCSS = `{{define "css"}}<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1c2433;background:#f5f7fb;margin:0}
main{max-width:760px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.sub{color:#5b6577;margin:0 0 16px} code{background:#eef1f6;padding:1px 5px;border-radius:4px}
.card{background:#fff;border:1px solid #e2e7ef;border-radius:10px;padding:16px 18px;margin:12px 0}
label{display:block;font-weight:600;margin:14px 0 4px} label:first-child{margin-top:0}
input[type=text],input[type=number],textarea,select{width:100%;box-sizing:border-box;font:inherit;padding:7px 9px;border:1px solid #cbd3df;border-radius:6px;background:#fff}
textarea{min-height:90px}
.file{font-size:12.5px;color:#5b6577;margin-top:3px}
.ok{background:#dcf5e7;color:#176b43;padding:10px 14px;border-radius:8px}
.err{background:#fde4e4;color:#9b1c1c;padding:10px 14px;border-radius:8px} .err-line{color:#9b1c1c}
.row{display:flex;gap:16px} .row>div{flex:1}
button{font:inherit;font-weight:600;background:#1972f5;color:#fff;border:0;border-radius:8px;padding:9px 18px;cursor:pointer}
nav a{margin-right:14px}
</style>{{end}}`

const settingsHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assistant settings</title>{{template "css"}}</head>
<body><main>
<nav><b>Settings</b> <a id="insights-link" href="{{insightsURL .WebsiteID .Token}}">Insights</a></nav>
<h1>AI assistant settings</h1>
<p class="sub">Website <code id="website">{{.WebsiteID}}</code></p>
{{if .Saved}}<p class="ok" id="saved" role="status">Saved. The assistant uses these settings now, on every replica.</p>{{end}}
{{if .Error}}<p class="err" id="error" role="alert">{{.Error}}</p>{{end}}
<p class="card" id="precedence">What you save here wins over the server's configuration file
(<code>signalbridge.yaml</code>) for this website, field by field. A field left empty keeps the file's value,
shown under it as <i>From the file</i>.</p>
<form method="post" action="/owners/settings" class="card">
<input type="hidden" name="website_id" value="{{.WebsiteID}}"><input type="hidden" name="token" value="{{.Token}}">
<label>Assistant</label>
<div class="row"><div><label style="font-weight:400"><input type="radio" name="assistant" value="on" id="assistant-on"{{if not .Form.AssistantOff}} checked{{end}}> On</label></div>
<div><label style="font-weight:400"><input type="radio" name="assistant" value="off" id="assistant-off"{{if .Form.AssistantOff}} checked{{end}}> Off: conversations go to your team</label></div></div>
<label for="start_mode">Start mode</label>
<select id="start_mode" name="start_mode">
<option value=""{{if eq .Form.StartMode ""}} selected{{end}}>As in the file</option>
<option value="auto"{{if eq .Form.StartMode "auto"}} selected{{end}}>auto: answers from the first message</option>
<option value="wait_for_signal"{{if eq .Form.StartMode "wait_for_signal"}} selected{{end}}>wait_for_signal: silent until your Crisp Bot or page starts it</option>
</select>
<div class="file">From the file: {{or .File.StartMode "auto"}}</div>
<label for="prompt">Prompt and tone</label>
<textarea id="prompt" name="prompt" placeholder="You are the friendly assistant of …">{{.Form.Prompt}}</textarea>
<div class="file">From the file: {{or .File.Prompt "(built-in prompt)"}}</div>
<div class="row"><div>
<label for="language">Default language</label><input type="text" id="language" name="language" value="{{.Form.Language}}" placeholder="en">
<div class="file">From the file: {{or .File.Language "en"}}</div></div><div>
<label for="languages">Languages answered</label><input type="text" id="languages" name="languages" value="{{join .Form.Languages}}" placeholder="en, fr">
<div class="file">From the file: {{or (join .File.Languages) "any"}}</div></div></div>
<label for="knowledge">Knowledge source</label>
<select id="knowledge" name="knowledge">
<option value=""{{if eq .Form.Knowledge ""}} selected{{end}}>As in the file</option>
<option value="markdown"{{if eq .Form.Knowledge "markdown"}} selected{{end}}>Markdown articles pasted below</option>
<option value="crisp-helpdesk"{{if eq .Form.Knowledge "crisp-helpdesk"}} selected{{end}}>The website's Crisp Helpdesk articles</option>
<option value="urls"{{if eq .Form.Knowledge "urls"}} selected{{end}}>Public help pages (URLs below)</option>
</select>
<div class="file">From the file: {{.FileKnowledge}}</div>
<label for="knowledge_urls">Public help pages <span style="font-weight:400">(one <code>https://</code> URL a line, at most 50; each page is read, not the pages it links to, and read again every hour)</span></label>
<textarea id="knowledge_urls" name="knowledge_urls" rows="4" placeholder="https://help.example.com/shipping">{{lines .Form.KnowledgeURLs}}</textarea>
{{if .Pages}}<ul id="pages" class="file">{{range .Pages}}
<li>{{if .Error}}<span class="err-line">{{.Error}}</span>{{if .Title}} (still answering from the page as last read: {{.Title}}){{end}}{{else if .Title}}{{.Title}} <code>{{.URL}}</code>, read {{ago .ReadAt}}{{else}}<code>{{.URL}}</code>: not read yet{{end}}</li>{{end}}
</ul>{{end}}
<label for="knowledge_markdown">Markdown articles <span style="font-weight:400">(each starts with a line <code># Title</code>)</span></label>
<textarea id="knowledge_markdown" name="knowledge_markdown" rows="8">{{.Form.KnowledgeMarkdown}}</textarea>
<label for="handover_message">Handover message (operators online)</label>
<input type="text" id="handover_message" name="handover_message" value="{{.Form.HandoverMessage}}">
<div class="file">Empty: the built-in message in the visitor's language</div>
<label for="closed_message">Message when nobody is online</label>
<input type="text" id="closed_message" name="closed_message" value="{{.Form.ClosedMessage}}">
<div class="file">Empty: the built-in message in the visitor's language</div>
<div class="row"><div>
<label for="conversation_tokens">Token budget per conversation</label><input type="number" min="0" id="conversation_tokens" name="conversation_tokens" value="{{num .Form.ConversationTokens}}">
<div class="file">From the file: {{if .File.ConversationTokens}}{{.File.ConversationTokens}}{{else}}no limit{{end}}</div></div><div>
<label for="daily_tokens">Token budget per day</label><input type="number" min="0" id="daily_tokens" name="daily_tokens" value="{{num .Form.DailyTokens}}">
<div class="file">From the file: {{if .File.DailyTokens}}{{.File.DailyTokens}}{{else}}no limit{{end}}</div></div></div>
<label for="hours_time_zone">Support hours: time zone</label>
<input type="text" id="hours_time_zone" name="hours_time_zone" value="{{with .Form.Hours}}{{.TimeZone}}{{end}}" placeholder="Europe/Madrid">
<label for="hours_weekly">Opening hours <span style="font-weight:400">(a line per day or days: <code>mon-fri 09:00-14:00 15:00-18:00</code>, <code>sat 10:00-13:00</code>; an end before its start closes the next day)</span></label>
<textarea id="hours_weekly" name="hours_weekly" rows="4">{{hoursLines .Form.Hours}}</textarea>
<label for="hours_holidays">Holidays <span style="font-weight:400">(dates such as 2026-12-25)</span></label>
<input type="text" id="hours_holidays" name="hours_holidays" value="{{with .Form.Hours}}{{join .Holidays}}{{end}}">
<label><input type="checkbox" name="hours_start_when_closed"{{with .Form.Hours}}{{if .StartWhenClosed}} checked{{end}}{{end}}> Start the assistant by itself outside hours (wait-for-signal websites)</label>
<div class="file">Empty: the file's support hours ({{with .File.Hours}}{{.TimeZone}}: {{hoursLines .}}{{else}}none: always open{{end}}). Outside hours a handover says when the team is back.</div>
<p><button type="submit" id="save">Save</button></p>
</form>
<p class="file">Settings version {{.Version}}.</p>
</main></body></html>`
