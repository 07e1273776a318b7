// Package web is the HTTP face of signalbridge, on gin: the Crisp web-hook intake, the admin API,
// health and readiness, Prometheus metrics and the website snippet. It is the only package that
// imports gin.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signalbridge/signalbridge/bridge"
	"github.com/signalbridge/signalbridge/signals"
)

// Hooks verifies and decodes Crisp web hooks; bridge/crisp implements the pieces and cmd wires them.
type Hooks interface {
	// Decode verifies the request (signature or key, freshness) on the raw body and decodes the event.
	Decode(h http.Header, query url.Values, body []byte) (bridge.Event, error)
	// Status maps a Decode error to the HTTP status to answer (401/403 bad signature, 400 malformed,
	// 413 too large, 200 for events we do not handle).
	Status(err error) int
}

// HookReleaser is implemented by Hooks that remember accepted hooks to refuse replays: Release is
// called with the body of a verified hook that could not be queued, so that its retry is accepted.
type HookReleaser interface {
	Release(body []byte)
}

// Controller is what the admin API drives; *bridge.Bridge implements it.
type Controller interface {
	HandleEvent(ctx context.Context, ev bridge.Event) error
	Control(ctx context.Context, key bridge.Key, command string, reason signals.Reason, detail string) (bridge.Conversation, error)
	Conversation(ctx context.Context, key bridge.Key, auditLimit int) (bridge.Conversation, []bridge.AuditEntry, error)
	List(ctx context.Context, mode signals.Mode, limit int) ([]bridge.Conversation, error)
	// Erase deletes a conversation's stored state (an erasure request).
	Erase(ctx context.Context, key bridge.Key) error
}

// Server is the HTTP server. Set the fields, then Open; Close shuts it down gracefully.
type Server struct {
	Addr       string // listen address, e.g. "127.0.0.1:8080" (":0" picks a port)
	Bridge     Controller
	Hooks      Hooks // nil disables /webhooks/crisp
	Metrics    *Metrics
	Script     http.Handler // /signalbridge.js
	AdminToken string       // bearer token of /v1 (Authorization header only); empty disables the admin API
	// ScenarioToken is the narrower token of POST /v1/control, the route a Crisp Bot scenario's
	// "Submit Web Hooks" block calls: accepted as ?token= (or a bearer header) on that route only,
	// where it can start, pause, hand over and resume and nothing else. Empty disables it.
	ScenarioToken string
	Ready         func() error // readiness check (store open, RTM connected when enabled)
	// ReadyDetail, when set, adds details to /readyz (the Crisp quota per class, for one): shown,
	// like the readiness error's text, only to a caller with the admin token. Anyone else gets the
	// status alone.
	ReadyDetail func() map[string]any
	// AllowHost, when set, is asked for the Host of every request; a request whose Host it refuses
	// is answered 421 before any route. The demo sets LoopbackHost, so that a page of another site
	// whose name is rebound to 127.0.0.1 (DNS rebinding) reaches nothing.
	AllowHost func(host string) bool
	MaxBody   int64 // web-hook body cap (default 1 MiB)
	// CORSOrigins are the browser origins ("https://admin.example.com") allowed to call /v1 from
	// another origin, preflight included; empty = none.
	CORSOrigins []string
	Logger      *slog.Logger
	Fallback    http.Handler // serves every path the server does not (the demo page); nil = 404
	// Owners serves the website owners' settings and insights pages (settings.go); nil = none.
	Owners Owners
	Gaps   GapLister // GET /v1/websites/:website/gaps (knowledge gaps); nil disables it

	engine   *gin.Engine
	srv      *http.Server
	ln       net.Listener
	wg       sync.WaitGroup
	closeMu  sync.Mutex
	draining bool
}

// Open validates the fields, builds the routes and starts serving.
func (s *Server) Open() error {
	if s.Bridge == nil {
		return errors.New("open web server: Bridge is required")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxBody <= 0 {
		s.MaxBody = 1 << 20
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	s.engine = s.Handler()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.engine, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http serve", "err", err)
		}
	}()
	return nil
}

// URL returns the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops intake and waits for in-flight requests (up to ctx).
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	s.closeMu.Lock()
	s.draining = true
	s.closeMu.Unlock()
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	return err
}

// Handler builds the gin engine (exported for tests that use httptest).
func (s *Server) Handler() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Metrics == nil {
		s.Metrics = NewMetrics()
	}
	if s.MaxBody <= 0 {
		s.MaxBody = 1 << 20
	}
	r := gin.New()
	// A panicking handler is logged through slog (no request dump: headers may carry signatures)
	// and answered 500; gin stays silent on broken pipes and http.ErrAbortHandler.
	r.Use(gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		s.Logger.Error("handler panic", "method", c.Request.Method, "route", c.FullPath(), "panic", fmt.Sprint(rec))
		c.AbortWithStatus(http.StatusInternalServerError)
	}), s.requestID())
	if s.AllowHost != nil {
		r.Use(s.hostCheck())
	}
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	if s.Script != nil {
		r.GET("/signalbridge.js", gin.WrapH(s.Script))
		r.HEAD("/signalbridge.js", gin.WrapH(s.Script))
	}
	if s.Hooks != nil {
		r.POST("/webhooks/crisp", s.webhook)
	}
	r.OPTIONS("/v1/*path", s.cors()) // CORS preflight: answered before any token check
	v1 := r.Group("/v1", s.cors())
	v1.GET("/conversations", s.auth(), s.list)
	v1.GET("/conversations/:website/:session", s.auth(), s.get)
	v1.DELETE("/conversations/:website/:session", s.auth(), s.erase)
	v1.POST("/conversations/:website/:session/:command", s.auth(), s.control)
	v1.POST("/control", s.scenarioAuth(), s.controlBody)
	if s.Owners != nil {
		s.ownerRoutes(r, v1)
	}
	s.hoursRoutes(r, v1) // hours.go
	if s.Gaps != nil {
		v1.GET("/websites/:website/gaps", s.auth(), s.gaps)
	}
	if s.Fallback != nil {
		r.NoRoute(gin.WrapH(s.Fallback))
	}
	return r
}

func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Header("X-Request-Id", id)
		start := time.Now()
		c.Next()
		lvl := slog.LevelDebug
		switch st := c.Writer.Status(); {
		case st == http.StatusServiceUnavailable:
			lvl = slog.LevelWarn // not ready yet, busy or shutting down
		case st >= 500:
			lvl = slog.LevelError
		}
		// Checked first: the attributes would be boxed (allocated) even for a record the handler drops,
		// and at debug level it drops the one every hook makes.
		if ctx := c.Request.Context(); s.Logger.Enabled(ctx, lvl) {
			s.Logger.Log(ctx, lvl, "http request", "request_id", id, "method", c.Request.Method,
				"path", c.FullPath(), "status", c.Writer.Status(), "took", time.Since(start))
		}
	}
}

func (s *Server) readyz(c *gin.Context) {
	s.closeMu.Lock()
	draining := s.draining
	s.closeMu.Unlock()
	// The details (a store's error text, the quota) are for the operator, not for anyone who can
	// reach the port.
	admin := tokenIs(bearer(c), s.AdminToken)
	out := gin.H{"status": "ready"}
	status := http.StatusOK
	switch {
	case draining:
		out["status"], status = "shutting down", http.StatusServiceUnavailable
	case s.Ready != nil:
		if err := s.Ready(); err != nil {
			out["status"], status = "not ready", http.StatusServiceUnavailable
			if admin {
				out["reason"] = err.Error()
			}
		}
	}
	if admin && s.ReadyDetail != nil {
		for k, v := range s.ReadyDetail() {
			out[k] = v
		}
	}
	c.JSON(status, out)
}

// hostCheck refuses a request whose Host AllowHost refuses.
func (s *Server) hostCheck() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.AllowHost(c.Request.Host) {
			c.AbortWithStatusJSON(http.StatusMisdirectedRequest, gin.H{"error": "host not allowed"})
			return
		}
		c.Next()
	}
}

// LoopbackHost reports whether host (a Host header, with or without a port) names the loopback
// interface: localhost (or a name under .localhost), 127.0.0.0/8 or ::1. Any other name, including
// one that resolves to 127.0.0.1 today, is refused: its owner could rebind it.
func LoopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// webhook answers fast: verify on the raw bytes, decode, queue on the conversation's shard, 200.
func (s *Server) webhook(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			s.hookAnswer(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", mb.Limit))
			return
		}
		s.hookAnswer(c, http.StatusBadRequest, "cannot read body")
		return
	}
	ev, err := s.Hooks.Decode(c.Request.Header, c.Request.URL.Query(), body)
	if err != nil {
		status := s.Hooks.Status(err)
		if status >= 300 {
			s.Logger.Warn("web hook rejected", "status", status, "err", err)
			s.hookAnswer(c, status, err.Error())
			return
		}
		s.hookAnswer(c, status, "ignored")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	if err := s.Bridge.HandleEvent(ctx, ev); err != nil {
		// Overloaded or shutting down: a 503 makes Crisp retry later; nothing is lost.
		s.Logger.Warn("web hook not queued", "event", ev.Name, "err", err)
		if r, ok := s.Hooks.(HookReleaser); ok {
			r.Release(body)
		}
		s.hookAnswer(c, http.StatusServiceUnavailable, "busy")
		return
	}
	s.hookAnswer(c, http.StatusOK, "accepted")
}

// hookReplies are the hook answers that carry no error text, encoded once: every hook gets one.
var hookReplies = map[string][]byte{
	"accepted": []byte(`{"status":"accepted"}`),
	"ignored":  []byte(`{"status":"ignored"}`),
	"busy":     []byte(`{"status":"busy"}`),
}

// hookAnswer answers a hook {"status": msg}, the bytes c.JSON would write, without encoding a map
// by reflection for the answers that never change.
func (s *Server) hookAnswer(c *gin.Context, status int, msg string) {
	s.Metrics.hooks.WithLabelValues(strconv.Itoa(status)).Inc()
	body, ok := hookReplies[msg]
	if !ok {
		body, _ = json.Marshal(map[string]string{"status": msg})
	}
	c.Data(status, "application/json; charset=utf-8", body)
}

// cors lets the configured origins call /v1 from a browser: it adds the CORS headers to their
// requests and answers their preflight (OPTIONS) itself, 204, before any token check. A preflight
// from another origin is 403.
func (s *Server) cors() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		allowed := origin != "" && slices.Contains(s.CORSOrigins, origin)
		if len(s.CORSOrigins) > 0 {
			c.Header("Vary", "Origin")
		}
		if allowed {
			c.Header("Access-Control-Allow-Origin", origin)
			c.Header("Access-Control-Expose-Headers", "X-Request-Id")
		}
		if c.Request.Method != http.MethodOptions {
			c.Next()
			return
		}
		switch {
		case allowed:
			c.Header("Access-Control-Allow-Methods", "GET, POST")
			c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type")
			c.Header("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
		case origin != "":
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "origin not allowed"})
		default:
			c.Header("Allow", "GET, POST, OPTIONS")
			c.AbortWithStatus(http.StatusNoContent)
		}
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header, "" when there is none.
func bearer(c *gin.Context) string {
	scheme, tok, ok := strings.Cut(c.GetHeader("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func tokenIs(got, want string) bool {
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func unauthorized(c *gin.Context, msg string) {
	c.Header("WWW-Authenticate", `Bearer realm="signalbridge"`)
	c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": msg})
}

// auth checks the admin token, in the Authorization header only (a query string ends up in logs,
// proxies and browser history), in constant time.
func (s *Server) auth() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !tokenIs(bearer(c), s.AdminToken) {
			msg := "unauthorized"
			if c.Query("token") != "" {
				msg = "unauthorized: the admin token goes in the Authorization header; ?token= takes the scenario token on POST /v1/control only"
			}
			unauthorized(c, msg)
			return
		}
		c.Next()
	}
}

// scenarioAuth guards POST /v1/control: the admin token in the header, or the scenario token in
// the header or as ?token= (Crisp's "Submit Web Hooks" block cannot always set headers). The
// admin token is never taken from the query.
func (s *Server) scenarioAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := bearer(c)
		if tokenIs(h, s.AdminToken) || tokenIs(h, s.ScenarioToken) || tokenIs(c.Query("token"), s.ScenarioToken) {
			c.Next()
			return
		}
		msg := "unauthorized"
		if c.Query("token") != "" {
			msg = "unauthorized: ?token= takes the scenario token; the admin token goes in the Authorization header"
		}
		unauthorized(c, msg)
	}
}

// ConversationView is the admin API's JSON view of a conversation.
type ConversationView struct {
	WebsiteID  string            `json:"website_id"`
	SessionID  string            `json:"session_id"`
	Mode       signals.Mode      `json:"mode"`
	Reason     signals.Reason    `json:"reason"`
	Since      int64             `json:"since"`
	Language   string            `json:"language,omitempty"`
	Email      string            `json:"email,omitempty"`
	Signals    map[string]string `json:"signals,omitempty"`
	CrispState string            `json:"crisp_state,omitempty"`
	Answers    int               `json:"answers"`
	Replies    int               `json:"replies"`
	TokensUsed int64             `json:"tokens_used"`
	CostUSD    float64           `json:"cost_usd"`
	UpdatedAt  int64             `json:"updated_at"`
	// ReplyDue is when an answer became owed (Unix ms), absent when none is.
	ReplyDue int64 `json:"reply_due,omitempty"`
	// Pending are the Crisp writes decided and not yet performed (the journal), oldest first.
	Pending []bridge.JournalEntry `json:"pending,omitempty"`
	Audit   []bridge.AuditEntry   `json:"audit,omitempty"`
}

func view(c bridge.Conversation, audit []bridge.AuditEntry) ConversationView {
	return ConversationView{WebsiteID: c.WebsiteID, SessionID: c.SessionID, Mode: c.Mode, Reason: c.Reason,
		Since: c.Since, Language: c.Language, Email: c.Email, Signals: c.Last, CrispState: c.CrispState,
		Answers: c.Answers, Replies: c.Replies, TokensUsed: c.TokensUsed, CostUSD: c.CostUSD,
		UpdatedAt: c.UpdatedAt, ReplyDue: c.ReplyDue, Pending: c.Journal, Audit: audit}
}

// erase deletes a conversation's stored state: 204 whether or not it was stored.
func (s *Server) erase(c *gin.Context) {
	key := bridge.Key{WebsiteID: c.Param("website"), SessionID: c.Param("session")}
	if err := s.Bridge.Erase(c.Request.Context(), key); err != nil {
		s.fail(c, err)
		return
	}
	s.Logger.Info("conversation erased", "website", key.WebsiteID, "session", key.SessionID)
	c.Status(http.StatusNoContent)
}

func (s *Server) list(c *gin.Context) {
	mode := signals.Mode(c.Query("mode"))
	switch mode {
	case "", signals.ModeWaiting, signals.ModeActive, signals.ModePaused, signals.ModeHuman:
	default:
		c.JSON(http.StatusBadRequest, gin.H{"error": "mode must be waiting, active, paused or human"})
		return
	}
	limit := 100
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			c.JSON(http.StatusBadRequest, gin.H{"error": "limit must be 1..1000"})
			return
		}
		limit = n
	}
	convs, err := s.Bridge.List(c.Request.Context(), mode, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]ConversationView, 0, len(convs))
	for _, cv := range convs {
		out = append(out, view(cv, nil))
	}
	c.JSON(http.StatusOK, gin.H{"conversations": out})
}

func (s *Server) get(c *gin.Context) {
	key := bridge.Key{WebsiteID: c.Param("website"), SessionID: c.Param("session")}
	conv, audit, err := s.Bridge.Conversation(c.Request.Context(), key, 200)
	if errors.Is(err, bridge.ErrNotFound) && c.Query("optional") == "true" {
		c.Status(http.StatusNoContent) // not stored yet, and the caller polls for it: not an error
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view(conv, audit))
}

type controlRequest struct {
	WebsiteID string `json:"website_id"`
	SessionID string `json:"session_id"`
	Command   string `json:"command"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail"`
}

func (s *Server) control(c *gin.Context) {
	var req controlRequest
	if c.Request.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(c.Request.Body, 64<<10)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON: {\"reason\": ..., \"detail\": ...}"})
			return
		}
	}
	req.WebsiteID, req.SessionID, req.Command = c.Param("website"), c.Param("session"), c.Param("command")
	s.doControl(c, req)
}

// controlBody is the same control call with everything in the body, for no-code web-hook blocks.
func (s *Server) controlBody(c *gin.Context) {
	var req controlRequest
	if err := json.NewDecoder(io.LimitReader(c.Request.Body, 64<<10)).Decode(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON with website_id, session_id and command"})
		return
	}
	if req.WebsiteID == "" || req.SessionID == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "website_id and session_id are required"})
		return
	}
	s.doControl(c, req)
}

func (s *Server) doControl(c *gin.Context, req controlRequest) {
	reason := signals.Reason(req.Reason)
	switch reason {
	case "", signals.ReasonHuman, signals.ReasonSignal, signals.ReasonOperator, signals.ReasonBudget, signals.ReasonError:
	default:
		c.JSON(http.StatusBadRequest, gin.H{"error": "reason must be human, signal, operator, budget or error"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
	defer cancel()
	key := bridge.Key{WebsiteID: req.WebsiteID, SessionID: req.SessionID}
	conv, err := s.Bridge.Control(ctx, key, req.Command, reason, req.Detail)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view(conv, nil))
}

// fail is the one table from error kind to HTTP status.
func (s *Server) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, bridge.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "conversation not found"})
	case errors.Is(err, bridge.ErrUnknownControl):
		c.JSON(http.StatusNotFound, gin.H{"error": "unknown command: use start, pause, handover or resume"})
	case errors.Is(err, bridge.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "busy or shutting down"})
	default:
		s.Logger.Error("admin api", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	}
}
